"""The node graph, described once as ROS-free data (no rclpy import here).

``launch/bringup.launch.py`` turns it into launch_ros ``Node`` actions and
``mm-robot up`` into one process per node; a test checks that both, setup.py's
console scripts and config/mm_robot.yaml agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

PACKAGE = "mm_robot"

# The topic table (DESIGN §4): relative name -> (type, QoS profile name in mm_robot.ros.qos).
TOPICS: dict[str, tuple[str, str]] = {
    "camera/image_raw": ("sensor_msgs/msg/Image", "sensor"),
    "camera/image_raw/compressed": ("sensor_msgs/msg/CompressedImage", "sensor"),
    "camera/camera_info": ("sensor_msgs/msg/CameraInfo", "sensor"),
    "audio/raw": ("sensor_msgs/msg/Image", "sensor"),
    "audio/info": ("std_msgs/msg/String", "latched"),
    "command": ("std_msgs/msg/String", "reliable"),
    "speech/transcript": ("std_msgs/msg/String", "reliable"),
    "perception/grounding": ("std_msgs/msg/String", "reliable"),
    "perception/target_roi": ("sensor_msgs/msg/RegionOfInterest", "reliable"),
    "perception/debug_image": ("sensor_msgs/msg/Image", "sensor"),
    "perception/markers": ("visualization_msgs/msg/MarkerArray", "reliable"),
    "decision": ("std_msgs/msg/String", "reliable"),
    "cmd_vel_proposal": ("geometry_msgs/msg/Twist", "cmd_vel"),
    "cmd_vel": ("geometry_msgs/msg/Twist", "cmd_vel"),
    "estop": ("std_msgs/msg/Bool", "latched"),
    "odom": ("nav_msgs/msg/Odometry", "reliable"),
    "/clock": ("rosgraph_msgs/msg/Clock", "reliable"),
    "sim/ground_truth": ("std_msgs/msg/String", "reliable"),
    "/diagnostics": ("diagnostic_msgs/msg/DiagnosticArray", "reliable"),
}


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph. ``parameters`` override the params file."""

    name: str
    executable: str
    parameters: dict = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()

    @property
    def module(self) -> str:
        return f"{PACKAGE}.nodes.{self.executable}"


@dataclass(frozen=True)
class GraphOptions:
    """The launch arguments, with the same names in bringup.launch.py and ``mm-robot up``."""

    namespace: str = ""
    use_sim_time: bool = False
    camera: str = "synthetic"  # 'synthetic', 'sim' (simulator provides the camera), device, file, URL
    policy: str = "baseline"
    checkpoint: str = ""
    microphone: bool = False
    params_file: Optional[str] = None


NODE_EXECUTABLES = ("camera_node", "microphone_node", "fusion_node", "safety_controller_node", "sim_node")


def default_params_file() -> Path:
    """config/mm_robot.yaml from a source checkout, or its installed copy in share/."""
    here = Path(__file__).resolve().parents[2] / "config" / "mm_robot.yaml"
    if here.exists():
        return here
    import sys
    return Path(sys.prefix) / "share" / PACKAGE / "config" / "mm_robot.yaml"


def bringup_graph(options: GraphOptions) -> list[NodeSpec]:
    """The nodes to start for ``options``, in start order (safety first, so it owns cmd_vel)."""
    nodes = [NodeSpec("safety_controller_node", "safety_controller_node")]
    if options.camera != "sim":
        nodes.append(NodeSpec("camera_node", "camera_node", {"source": options.camera}))
    if options.microphone:
        nodes.append(NodeSpec("microphone_node", "microphone_node"))
    fusion_params = {"policy": options.policy, "use_audio": options.microphone}
    if options.checkpoint:
        fusion_params["checkpoint"] = options.checkpoint
    nodes.append(NodeSpec("fusion_node", "fusion_node", fusion_params))
    return nodes


def simulation_options(options: GraphOptions) -> GraphOptions:
    """``options`` for a run on the MuJoCo simulator: the camera is ``sim_node`` and time is sim time."""
    return GraphOptions(**{**options.__dict__, "camera": "sim", "use_sim_time": True})


def simulation_graph(options: GraphOptions, sim_parameters: dict) -> list[NodeSpec]:
    """The bringup graph on the MuJoCo simulator: ``sim_node`` is the camera, the base and the clock.

    Run it with :func:`simulation_options`; the fusion node ticks at least as fast as the
    simulator, as lockstep needs.
    """
    nodes = bringup_graph(simulation_options(options))
    rate = float(sim_parameters.get("rate_hz", 15.0))
    nodes = [NodeSpec(n.name, n.executable, {**n.parameters, "rate_hz": max(rate, 15.0)}, n.remappings)
             if n.executable == "fusion_node" else n for n in nodes]
    return nodes + [NodeSpec("sim_node", "sim_node", dict(sim_parameters))]


def ros_arguments(spec: NodeSpec, options: GraphOptions) -> list[str]:
    """``--ros-args`` for running ``spec`` as a plain process (what ros2 launch would pass). Each
    node runs in its own SROS2 enclave, ``/mm_robot/<executable>`` (used only when security is on)."""
    args = ["--ros-args", "-r", f"__node:={spec.name}", "--enclave", f"/{PACKAGE}/{spec.executable}"]
    if options.namespace:
        args += ["-r", f"__ns:=/{options.namespace.strip('/')}"]
    params_file = options.params_file or str(default_params_file())
    if Path(params_file).exists():
        args += ["--params-file", params_file]
    values = dict(spec.parameters, use_sim_time=options.use_sim_time)
    for key, value in values.items():
        args += ["-p", f"{key}:={_yaml_value(value)}"]
    for source, target in spec.remappings:
        args += ["-r", f"{source}:={target}"]
    return args


def _yaml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"  # keep '0' a string, not an integer
    return str(value)
