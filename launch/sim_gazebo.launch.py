"""Gazebo Sim + ros_gz bridge + the mm_robot graph:
``ros2 launch mm_robot sim_gazebo.launch.py [world:=/path/to/world.sdf] [policy:=baseline] ...``

Needs ROS 2 with ros_gz (ros_gz_sim, ros_gz_bridge) and Gazebo Sim (Harmonic or newer); without
them it stops at once with an error that says what to install. The world (default: the package's
gazebo/worlds/arena.sdf, written by mm_robot.sim.sdf from the same scene data as the MuJoCo
simulator) provides the camera, odometry and a DiffDrive base; config/gz_bridge.yaml maps
camera/image_raw, camera/camera_info, cmd_vel, odom and /clock; bringup.launch.py starts the graph
with use_sim_time and camera:=sim.
"""

from pathlib import Path

from ament_index_python.packages import (
    PackageNotFoundError,
    get_package_share_directory,
)
from launch.actions import (
    AppendEnvironmentVariable,
    DeclareLaunchArgument,
    IncludeLaunchDescription,
)
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription
from mm_robot.bringup.graph import PACKAGE, GraphOptions

GAZEBO_PACKAGES = ("ros_gz_sim", "ros_gz_bridge")


def _share() -> Path:
    """The installed share directory, or the source tree when run from a checkout."""
    try:
        return Path(get_package_share_directory(PACKAGE))
    except PackageNotFoundError:
        return Path(__file__).resolve().parents[1]


def _require_gazebo() -> None:
    """Fail before anything starts when the ROS 2 Gazebo packages are not installed."""
    missing = []
    for name in GAZEBO_PACKAGES:
        try:
            get_package_share_directory(name)
        except PackageNotFoundError:
            missing.append(name)
    if missing:
        raise RuntimeError(
            f"sim_gazebo.launch.py needs the ROS 2 Gazebo packages {' and '.join(missing)}, which are "
            "not installed (not in AMENT_PREFIX_PATH). Install Gazebo Sim with ros_gz "
            "(apt install ros-$ROS_DISTRO-ros-gz; docs/simulation.md), or run the MuJoCo simulator, "
            "which needs no ROS packages: mm-robot sim --scenario scenarios/public/go_to_red_ball.yaml")


def generate_launch_description() -> LaunchDescription:
    _require_gazebo()
    share = _share()
    namespace = LaunchConfiguration("namespace")
    arguments = [
        DeclareLaunchArgument("world", default_value=str(share / "gazebo" / "worlds" / "arena.sdf"),
                              description="SDF world to load (python -m mm_robot.sim.sdf SCENARIO -o FILE)."),
        DeclareLaunchArgument("namespace", default_value="", description="Namespace for the bridge and nodes."),
        DeclareLaunchArgument("policy", default_value=GraphOptions().policy,
                              description="'fusion' (the multimodal model) or 'baseline' (OpenCV colour"
                              "+shape)."),
        DeclareLaunchArgument("checkpoint", default_value="", description="Fusion checkpoint directory."),
        DeclareLaunchArgument("bridge_config", default_value=str(share / "config" / "gz_bridge.yaml"),
                              description="ros_gz_bridge YAML."),
    ]
    resources = AppendEnvironmentVariable("GZ_SIM_RESOURCE_PATH", str(share / "gazebo"))
    gz_sim = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([FindPackageShare("ros_gz_sim"), "launch",
                                                            "gz_sim.launch.py"])),
        launch_arguments={"gz_args": [LaunchConfiguration("world"), " -r"],
                          "on_exit_shutdown": "true"}.items(),
    )
    bridge = Node(package="ros_gz_bridge", executable="parameter_bridge", name="gz_bridge",
                  namespace=namespace, output="screen",
                  parameters=[{"config_file": LaunchConfiguration("bridge_config"), "use_sim_time": True}])
    bringup = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(share / "launch" / "bringup.launch.py")),
        launch_arguments={"use_sim_time": "true", "camera": "sim", "namespace": namespace,
                          "policy": LaunchConfiguration("policy"),
                          "checkpoint": LaunchConfiguration("checkpoint")}.items(),
    )
    return LaunchDescription(arguments + [resources, gz_sim, bridge, bringup])
