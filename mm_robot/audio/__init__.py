"""Audio features, voice activity and speech recognition (ROS-free); filled in by the audio issue."""
