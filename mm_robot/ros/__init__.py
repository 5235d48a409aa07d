"""The only library code that knows ROS. ``graph`` is ROS-free data, safe to import anywhere."""
