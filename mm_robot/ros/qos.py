"""QoS profiles of the topic table (README, Topics; ``mm_robot.bringup.graph.TOPICS``)."""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

# Best effort matches both best-effort and reliable publishers (R10); depth 1: drop, don't queue (R11).
SENSOR = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.BEST_EFFORT,
                    durability=DurabilityPolicy.VOLATILE)
SENSOR_PUB = qos_profile_sensor_data
RELIABLE = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE)
COMMAND_VELOCITY = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                              reliability=ReliabilityPolicy.RELIABLE)
# Subscriptions to `command`: keep every sample until taken (the reader's resource limits bound it;
# a writer that outruns them is slowed, never silently overwritten), so junk can never push a stop
# out of the history before its check. Compatible with the RELIABLE depth-10 publishers.
COMMAND_IN = QoSProfile(history=HistoryPolicy.KEEP_ALL, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)

BY_NAME = {"sensor": SENSOR, "reliable": RELIABLE, "cmd_vel": COMMAND_VELOCITY, "latched": LATCHED}
