"""One rclpy node class and its ``main()`` per module: thin adapters over the ROS-free layers."""
