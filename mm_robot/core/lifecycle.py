"""Managed (lifecycle) nodes, ROS-free: the setting that brings one up by itself and the
transitions a person or a tool may ask for (``mm-robot lifecycle``).

A managed node (ROS 2's node life cycle, as in yolo_ros or whisper_ros) loads its model on
``configure``, publishes only while ``active``, stops proposing motion on ``deactivate`` and
releases the model on ``cleanup``/``shutdown``. With ``autostart`` (the default) it configures and
activates itself at startup, so a graph that knows nothing of life cycles runs as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import setting

# transition label (lifecycle_msgs/msg/Transition) -> the state it leads to on success.
TRANSITIONS: dict[str, str] = {
    "configure": "inactive",
    "activate": "active",
    "deactivate": "inactive",
    "cleanup": "unconfigured",
    "shutdown": "finalized",
}
# The nodes of the graph that are managed (they load models).
MANAGED_NODES = ("fusion_node", "speech_node")
# The services every managed node serves under its own name (rcl_lifecycle), and its topic.
LIFECYCLE_SERVICES = ("change_state", "get_state", "get_available_states", "get_available_transitions",
                      "get_transition_graph")
TRANSITION_EVENT_TOPIC = "transition_event"


@dataclass(frozen=True)
class ManagedNodeConfig:
    autostart: bool = setting(True, "Configure (load the model) and activate at startup; false: wait in "
                              "'unconfigured' for lifecycle transitions (mm-robot lifecycle, a lifecycle "
                              "manager).", read_only=True)
