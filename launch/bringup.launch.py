"""Bring up the mm_robot graph: ``ros2 launch mm_robot bringup.launch.py [arg:=value ...]``.

The nodes, their parameters and start order come from mm_robot.bringup.graph, the
same description ``mm-robot up`` runs on machines without ros2 launch.
"""

from pathlib import Path

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from mm_robot.bringup.graph import PACKAGE, GraphOptions, bringup_graph, default_params_file

DEFAULTS = GraphOptions()
ARGUMENTS = {
    "namespace": ("", "Namespace for every node (one per robot)."),
    "use_sim_time": ("false", "Use /clock (simulation)."),
    "camera": ("synthetic", "'synthetic', a device index, a video file, a stream URL, or 'sim'."),
    "policy": (DEFAULTS.policy, "'fusion' (the multimodal model; 'baseline' when torch is missing) "
               "or 'baseline' (OpenCV colour+shape)."),
    "checkpoint": ("", "Fusion checkpoint directory; empty = the shipped default."),
    "microphone": ("false", "Start microphone_node."),
    "speech": ("false", "Start speech_node: spoken commands from audio/raw (docs/hearing.md)."),
    "params_file": ("", "ROS parameters YAML; empty = the package's config/mm_robot.yaml."),
    "autostart": ("true", "Managed nodes (fusion_node, speech_node) configure and activate themselves; "
                  "false: they wait for lifecycle transitions (mm-robot lifecycle fusion_node configure, ...)."),
}


def _true(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


def _nodes(context):
    value = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    params_file = value["params_file"] or default_params_file()
    if params_file is not None and not Path(params_file).is_file():
        raise FileNotFoundError(f"params_file:={params_file} is not a file")
    options = GraphOptions(namespace=value["namespace"], use_sim_time=_true(value["use_sim_time"]),
                           camera=value["camera"], policy=value["policy"], checkpoint=value["checkpoint"],
                           microphone=_true(value["microphone"]), speech=_true(value["speech"]),
                           autostart=_true(value["autostart"]),
                           params_file=str(params_file) if params_file is not None else None)
    files = [options.params_file] if options.params_file else []
    return [
        Node(package=PACKAGE, executable=spec.executable, name=spec.name, namespace=options.namespace,
             parameters=files + [dict(spec.parameters, use_sim_time=options.use_sim_time)],
             remappings=list(spec.remappings), ros_arguments=["--enclave", spec.enclave],
             output="screen", emulate_tty=True)
        for spec in bringup_graph(options)
    ]


def generate_launch_description() -> LaunchDescription:
    declared = [DeclareLaunchArgument(name, default_value=default, description=description)
                for name, (default, description) in ARGUMENTS.items()]
    return LaunchDescription(declared + [OpaqueFunction(function=_nodes)])
