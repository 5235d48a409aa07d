"""Recording and replay without ROS: rosbag2-layout MCAP bags (rosbags) and the replay verdict.

rclpy's parts (the recorder's subscriptions, the replay's publishers) live in ``mm_robot.ros``;
this package only writes and reads serialized CDR bytes and compares decision streams.
"""
