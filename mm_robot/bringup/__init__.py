"""Bringing the graph up, without ROS: which nodes with which parameters (``graph``), running them
as processes (``supervisor``), their parameter documentation (``parameter_docs``) and their SROS2
access-control policy (``security``). ``launch/bringup.launch.py`` and ``mm-robot up`` both start
from here; nothing in this package imports rclpy."""
