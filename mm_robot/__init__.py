"""mm_robot: multimodal (image, audio, text) grounding and safe action for ROS 2."""

__version__ = "0.1.0"
