"""ROS-free, torch-free building blocks: records, checks, parsing and the safety filter."""
