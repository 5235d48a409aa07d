"""Sensor sources without ROS: OpenCV capture, sounddevice capture, files and synthetic scenes."""
