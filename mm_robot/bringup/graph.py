"""The node graph, described once as ROS-free data (no rclpy import here).

``launch/bringup.launch.py`` turns it into launch_ros ``Node`` actions and
``mm-robot up`` into one process per node; a test checks that both, setup.py's
console scripts and config/mm_robot.yaml agree.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

PACKAGE = "mm_robot"

# The topic table (README, Topics): relative name -> (type, QoS profile name in mm_robot.ros.qos).
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

    @property
    def enclave(self) -> str:
        """Its SROS2 enclave (mm_robot.bringup.security), used only when security is enabled."""
        return f"/{PACKAGE}/{self.executable}"


@dataclass(frozen=True)
class GraphOptions:
    """The launch arguments, with the same names in bringup.launch.py and ``mm-robot up``."""

    namespace: str = ""
    use_sim_time: bool = False
    camera: str = "synthetic"  # 'synthetic', 'sim' (simulator provides the camera), device, file, URL
    policy: str = "fusion"  # the multimodal model; "baseline" is the OpenCV colour+shape policy
    checkpoint: str = ""
    microphone: bool = False
    speech: bool = False  # start speech_node: spoken commands from audio/raw (microphone or sim)
    params_file: Optional[str] = None
    autostart: bool = True  # managed nodes configure and activate themselves (mm_robot.core.lifecycle)


NODE_EXECUTABLES = ("camera_node", "microphone_node", "speech_node", "fusion_node", "safety_controller_node",
                    "sim_node")


def default_params_file() -> Optional[Path]:
    """The package's config/mm_robot.yaml, or None when no copy is found.

    A source checkout (pip's editable install) uses its own copy; an installed package (colcon,
    a ROS install) the copy in its share directory, found through the ament index; a plain pip
    install the copy its data_files put under the interpreter's prefix.
    """
    return find_params_file(Path(__file__).resolve())


def find_params_file(module_file: Path) -> Optional[Path]:
    """:func:`default_params_file` for this module at ``module_file`` (a parameter for tests)."""
    checkout = module_file.parents[2]
    candidates = []
    if (checkout / "package.xml").is_file():
        candidates.append(checkout / "config" / "mm_robot.yaml")
    share = _ament_share_directory()
    if share is not None:
        candidates.append(share / "config" / "mm_robot.yaml")
    candidates.append(Path(sys.prefix) / "share" / PACKAGE / "config" / "mm_robot.yaml")
    return next((path for path in candidates if path.is_file()), None)


def _ament_share_directory() -> Optional[Path]:
    """share/mm_robot of the package in the ament index (AMENT_PREFIX_PATH), if it is there."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:  # no ament_index_python: not a ROS environment
        return None
    try:
        return Path(get_package_share_directory(PACKAGE))
    except (PackageNotFoundError, OSError):  # not indexed, or no AMENT_PREFIX_PATH at all
        return None


def bringup_graph(options: GraphOptions) -> list[NodeSpec]:
    """The nodes to start for ``options``, in start order (safety first, so it owns cmd_vel)."""
    nodes = [NodeSpec("safety_controller_node", "safety_controller_node")]
    if options.camera != "sim":
        nodes.append(NodeSpec("camera_node", "camera_node", {"source": options.camera}))
    if options.microphone:
        nodes.append(NodeSpec("microphone_node", "microphone_node"))
    if options.speech:
        nodes.append(NodeSpec("speech_node", "speech_node", {"autostart": options.autostart}))
    fusion_params = {"policy": options.policy, "use_audio": options.microphone, "autostart": options.autostart}
    if options.checkpoint:
        fusion_params["checkpoint"] = options.checkpoint
    nodes.append(NodeSpec("fusion_node", "fusion_node", fusion_params))
    return nodes


def simulation_options(options: GraphOptions) -> GraphOptions:
    """``options`` for a run on the MuJoCo simulator: the camera is ``sim_node`` and time is sim time."""
    return GraphOptions(**{**options.__dict__, "camera": "sim", "use_sim_time": True})


def simulation_graph(options: GraphOptions, sim_parameters: dict) -> list[NodeSpec]:
    """The bringup graph on the MuJoCo simulator: ``sim_node`` is the camera, the microphones (when
    the scene has sound), the base and the clock, so no ``microphone_node`` runs; ``microphone``
    then only means that the fusion node listens.

    Run it with :func:`simulation_options`; the fusion node ticks at least as fast as the
    simulator, as lockstep needs.
    """
    nodes = [n for n in bringup_graph(simulation_options(options)) if n.executable != "microphone_node"]
    rate = float(sim_parameters.get("rate_hz", 15.0))
    nodes = [NodeSpec(n.name, n.executable, {**n.parameters, "rate_hz": max(rate, 15.0)}, n.remappings)
             if n.executable == "fusion_node" else n for n in nodes]
    return nodes + [NodeSpec("sim_node", "sim_node", dict(sim_parameters))]


def ros_arguments(spec: NodeSpec, options: GraphOptions) -> list[str]:
    """``--ros-args`` for running ``spec`` as a plain process (what ros2 launch would pass). Each
    node runs in its own SROS2 enclave, ``/mm_robot/<executable>`` (used only when security is on)."""
    args = ["--ros-args", "-r", f"__node:={spec.name}", "--enclave", spec.enclave]
    if options.namespace:
        args += ["-r", f"__ns:=/{options.namespace.strip('/')}"]
    params_file = options.params_file or default_params_file()
    if params_file is not None and Path(params_file).exists():
        args += ["--params-file", str(params_file)]
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
