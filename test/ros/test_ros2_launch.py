"""The package as a ROS 2 user gets it: `colcon build` in a fresh workspace, colcon's setup sourced,
the real `ros2 launch mm_robot bringup.launch.py` (and sim_gazebo.launch.py), checked from outside
with a probe node and `ros2 node list` / `ros2 topic list`, stopped with SIGINT.

Zero warnings from `colcon build` and from `ros2 launch`, less launch's own acknowledgement of the
SIGINT that stops it and the safety controller's refusals of stale input, which only CPU starvation
causes (they are printed). Without a ROS distro this runs over .venv-ros2 (scripts/setup.sh makes it);
with one (ROS_DISTRO set, `ros2` on PATH), over the distro's launch.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from conftest import require
from rcl_interfaces.srv import GetParameters
from rclpy.parameter import parameter_value_to_python

from mm_robot.bringup.graph import TOPICS
from mm_robot.ros.probe import Probe

from .colcon_workspace import SIGINT_ACKNOWLEDGED, STALE_INPUT, Launch, Toolchain, Workspace, warnings_in

pytestmark = pytest.mark.ros

NODES = ("safety_controller_node", "camera_node", "fusion_node")
STARTUP = 90.0  # s: the fusion node imports torch and loads its model; a loaded 2-core CI machine


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    toolchain = Toolchain.find()
    require(toolchain is not None, "no ROS 2 launch toolchain: run scripts/setup.sh (it makes .venv-ros2 "
            "from ../shared/ros2-launch) or source a ROS distro")
    workspace = Workspace(tmp_path_factory.mktemp("colcon_ws"), toolchain)
    workspace.copy_sources()
    result = workspace.build()
    assert result.returncode == 0, workspace.build_output[-4000:]
    workspace.sourced = workspace.source()
    print(f"colcon build ({toolchain.kind}): {workspace.build_seconds:.1f} s")
    return workspace


def environment(workspace: Workspace, domain_id: int, **extra: str) -> dict:
    return dict(workspace.sourced, ROS_DOMAIN_ID=str(domain_id), ROS_LOG_DIR=str(workspace.root / "ros_log"),
                **extra)


def test_colcon_build_is_warning_free_and_installs_the_package(workspace):
    assert warnings_in(workspace.build_output) == [], workspace.build_output[-4000:]
    assert "stderr output" not in workspace.build_output
    stderr_log = workspace.root / "log" / "latest_build" / "mm_robot" / "stderr.log"
    assert stderr_log.read_text() == ""
    for relative in ("config/mm_robot.yaml", "launch/bringup.launch.py", "launch/sim_gazebo.launch.py",
                     "gazebo/worlds/arena.sdf", "config/gz_bridge.yaml", "package.xml"):
        assert (workspace.share / relative).is_file(), relative
    site = next((workspace.install / "mm_robot" / "lib").glob("python3*/site-packages"))
    for relative in ("mm_robot/resources/shape_lexicon.json",
                     "mm_robot/resources/checkpoints/fusion_default/model.safetensors"):
        assert (site / relative).is_file(), relative
    for executable in NODES:
        assert (workspace.install / "mm_robot" / "lib" / "mm_robot" / executable).is_file()
    # The sourced environment imports the colcon-built copy, the plain one none at all.
    where = "import importlib.util as u; s = u.find_spec('mm_robot'); print(s.origin if s else None)"
    sourced = _run([workspace.toolchain.python, "-c", where], workspace.sourced, cwd=workspace.root)
    assert Path(sourced).is_relative_to(site), sourced
    if workspace.toolchain.kind == "wheels":
        assert _run([workspace.toolchain.python, "-c", where], workspace.toolchain.env, cwd="/") == "None"


def test_bringup_with_fusion_in_a_namespace_drives_to_the_red_ball_and_stops_on_sigint(workspace, domain_id):
    env = environment(workspace, domain_id)
    launch = Launch(workspace, ["mm_robot", "bringup.launch.py", "policy:=fusion", "namespace:=robot1"], env,
                    "bringup_fusion")
    probe = Probe(domain_id, namespace="robot1")
    try:
        assert probe.wait_for(lambda: any(d.get("policy") == "fusion" for d in probe.decisions), STARTUP), \
            launch.output[-3000:]
        expected_nodes = {f"/robot1/{name}" for name in NODES}
        listed = _ros2_lines(workspace, env, "node", "list", until=lambda lines: expected_nodes <= set(lines))
        assert expected_nodes <= listed, listed
        seen = {f"{ns.rstrip('/')}/{name}" for name, ns in probe.node.get_node_names_and_namespaces()}
        assert expected_nodes <= seen, seen
        expected_topics = {f"/robot1/{topic} [{TOPICS[topic][0]}]" for topic in (
            "camera/image_raw", "camera/camera_info", "command", "decision", "perception/grounding",
            "perception/target_roi", "perception/markers", "cmd_vel_proposal", "cmd_vel", "estop")}
        expected_topics.add(f"/diagnostics [{TOPICS['/diagnostics'][0]}]")
        topics = _ros2_lines(workspace, env, "topic", "list", "-t",
                             until=lambda lines: expected_topics <= set(lines))
        assert expected_topics <= topics, topics ^ expected_topics

        # Defect 1: every node got the installed share/ params file, and runs the colcon-built copy.
        children = launch.children()
        assert len(children) == len(NODES), children
        for cmdline in children.values():
            assert cmdline[1].startswith(str(workspace.install / "mm_robot" / "lib" / "mm_robot")), cmdline
            assert str(workspace.share / "config" / "mm_robot.yaml") in cmdline, cmdline

        assert all(s.linear == 0 == s.angular for s in probe.cmd_vel), "moved before any command"
        asked = probe.say("go to the red ball")
        assert probe.wait_for(lambda: any(s.angular or s.linear for s in probe.samples_since(asked)), 30.0), \
            "cmd_vel stayed zero after 'go to the red ball'"
        first = next(s for s in probe.samples_since(asked) if s.angular or s.linear)
        assert first.angular > 0, "the red ball is to the left: the robot turns left first"
    finally:
        probe.close()
        code = launch.interrupt()
    _assert_clean_stop(launch, code, children)


def test_bringup_with_a_params_file_and_the_default_policy(workspace, domain_id):
    params = yaml.safe_load((workspace.share / "config" / "mm_robot.yaml").read_text())
    params["/**/camera_node"]["ros__parameters"]["rate_hz"] = 10.0
    params["/**/safety_controller_node"]["ros__parameters"]["max_linear"] = 0.3
    params["/**/fusion_node"]["ros__parameters"]["min_confidence"] = 0.6
    params_file = workspace.root / "robot_params.yaml"
    params_file.write_text(yaml.safe_dump(params))
    launch = Launch(workspace, ["mm_robot", "bringup.launch.py", f"params_file:={params_file}"],
                    environment(workspace, domain_id), "bringup_params")
    probe = Probe(domain_id)
    try:
        # The default policy is the fusion model.
        assert probe.wait_for(lambda: any(d.get("policy") == "fusion" for d in probe.decisions), STARTUP), \
            launch.output[-3000:]
        assert _parameters(probe, "camera_node", ["rate_hz"]) == [10.0]
        assert _parameters(probe, "safety_controller_node", ["max_linear"]) == [0.3]
        assert _parameters(probe, "fusion_node", ["min_confidence", "policy"]) == [0.6, "fusion"]
        children = launch.children()
        assert all(str(params_file) in cmdline for cmdline in children.values()), children
    finally:
        probe.close()
        code = launch.interrupt()
    _assert_clean_stop(launch, code, children)


def test_sim_gazebo_without_gazebo_stops_with_a_clear_error(workspace, domain_id):
    result = workspace.ros2("launch", "mm_robot", "sim_gazebo.launch.py",
                            env=environment(workspace, domain_id))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "needs the ROS 2 Gazebo packages ros_gz_sim and ros_gz_bridge" in output, output[-3000:]
    assert "ros-$ROS_DISTRO-ros-gz" in output and "mm-robot sim" in output
    assert "process started" not in output  # nothing was started


def test_sim_gazebo_wiring_with_stand_in_gazebo_packages(workspace, domain_id):
    records = workspace.root / "gz_records"
    records.mkdir(exist_ok=True)
    prefix = _stand_in_gazebo_packages(workspace.root / "gz_stand_ins", workspace.toolchain.python)
    env = environment(workspace, domain_id, MM_ROBOT_GZ_RECORDS=str(records),
                      AMENT_PREFIX_PATH=f"{prefix}:{workspace.sourced['AMENT_PREFIX_PATH']}")
    launch = Launch(workspace, ["mm_robot", "sim_gazebo.launch.py", "namespace:=robot2", "policy:=baseline"],
                    env, "sim_gazebo")
    probe = Probe(domain_id, namespace="robot2")
    try:
        expected = {"/robot2/gz_bridge", "/robot2/safety_controller_node", "/robot2/fusion_node"}
        listed = _ros2_lines(workspace, env, "node", "list", until=lambda lines: expected <= set(lines),
                             timeout=STARTUP)
        assert expected <= listed and "/robot2/camera_node" not in listed, listed + launch.output[-2000:]
        gz_sim = json.loads((records / "gz_sim.json").read_text())
        assert gz_sim == {"gz_args": f"{workspace.share / 'gazebo' / 'worlds' / 'arena.sdf'} -r",
                          "on_exit_shutdown": "true"}
        bridge = json.loads((records / "parameter_bridge.json").read_text())
        assert bridge["parameters"] == {"config_file": str(workspace.share / "config" / "gz_bridge.yaml"),
                                        "use_sim_time": True}
        assert bridge["GZ_SIM_RESOURCE_PATH"].split(":")[-1] == str(workspace.share / "gazebo")
        # The graph runs on sim time with the simulator as its camera and the policy asked for.
        assert _parameters(probe, "fusion_node", ["use_sim_time", "policy"]) == [True, "baseline"]
        assert _parameters(probe, "safety_controller_node", ["use_sim_time"]) == [True]
        children = launch.children()
    finally:
        probe.close()
        code = launch.interrupt()
    _assert_clean_stop(launch, code, children,
                       nodes=("parameter_bridge", "safety_controller_node", "fusion_node"))


# -- helpers ------------------------------------------------------------------------------------------

def _run(command: list[str], env: dict, cwd) -> str:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def _ros2_lines(workspace: Workspace, env: dict, *args: str, until, timeout: float = 30.0) -> set[str]:
    """``ros2 <args> --no-daemon`` (no daemon left behind) until ``until(lines)`` or ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = workspace.ros2(*args, "--no-daemon", "--spin-time", "2", env=env)
        assert result.returncode == 0 and warnings_in(result.stderr) == [], result.stderr[-2000:]
        lines = set(result.stdout.split("\n")) - {""}
        if until(lines) or time.monotonic() > deadline:
            return lines


def _parameters(probe: Probe, node: str, names: list[str]) -> list:
    client = probe.node.create_client(GetParameters, f"{node}/get_parameters")
    try:
        assert client.wait_for_service(timeout_sec=20.0), f"{node}/get_parameters"
        future = client.call_async(GetParameters.Request(names=names))
        assert probe.wait_for(future.done, 10.0)
        return [parameter_value_to_python(value) for value in future.result().values]
    finally:
        probe.node.destroy_client(client)


def _assert_clean_stop(launch: Launch, code: int, children: dict, nodes=NODES) -> None:
    """SIGINT stopped everything: exit 0, every node finished cleanly, no process left, no warning."""
    output = launch.output
    assert code == 0, output[-3000:]
    for name in nodes:
        assert re.search(rf"\[{name}-\d+\]: process has finished cleanly", output), output[-3000:]
    assert output.count("process has finished cleanly") == len(nodes), output[-3000:]
    assert [pid for pid in children if Path(f"/proc/{pid}").exists()] == [], "node processes left behind"
    assert launch.session_alive() == []
    assert warnings_in(output, allowed=(SIGINT_ACKNOWLEDGED,), tolerated=STALE_INPUT) == [], output[-3000:]


def _stand_in_gazebo_packages(prefix: Path, python: str) -> Path:
    """ros_gz_sim and ros_gz_bridge, installed as a ROS distro would (ament index, share/, lib/), that
    record what sim_gazebo.launch.py passes them into $MM_ROBOT_GZ_RECORDS."""
    index = prefix / "share" / "ament_index" / "resource_index" / "packages"
    index.mkdir(parents=True, exist_ok=True)
    for package in ("ros_gz_sim", "ros_gz_bridge"):
        (index / package).write_text("")
        (prefix / "share" / package).mkdir(parents=True, exist_ok=True)
    gz_launch = prefix / "share" / "ros_gz_sim" / "launch" / "gz_sim.launch.py"
    gz_launch.parent.mkdir(parents=True, exist_ok=True)
    gz_launch.write_text(textwrap.dedent('''\
        """Stand-in for ros_gz_sim's gz_sim.launch.py: records its arguments, starts nothing."""
        import json, os
        from pathlib import Path
        from launch import LaunchDescription
        from launch.actions import DeclareLaunchArgument, OpaqueFunction
        from launch.substitutions import LaunchConfiguration

        NAMES = ("gz_args", "on_exit_shutdown")

        def record(context):
            values = {name: LaunchConfiguration(name).perform(context) for name in NAMES}
            (Path(os.environ["MM_ROBOT_GZ_RECORDS"]) / "gz_sim.json").write_text(json.dumps(values))
            return []

        def generate_launch_description():
            return LaunchDescription([DeclareLaunchArgument(name, default_value="") for name in NAMES]
                                     + [OpaqueFunction(function=record)])
        '''))
    bridge = prefix / "lib" / "ros_gz_bridge" / "parameter_bridge"
    bridge.parent.mkdir(parents=True, exist_ok=True)
    bridge.write_text(f"#!{python}\n" + textwrap.dedent('''\
        """Stand-in for ros_gz_bridge's parameter_bridge: records its parameters, then idles as a node."""
        import json, os, sys
        from pathlib import Path
        import rclpy
        from rclpy.executors import ExternalShutdownException

        rclpy.init(args=sys.argv)
        node = rclpy.create_node("parameter_bridge", automatically_declare_parameters_from_overrides=True)
        names = ("config_file", "use_sim_time")
        record = {"parameters": {name: node.get_parameter(name).value for name in names},
                  "GZ_SIM_RESOURCE_PATH": os.environ.get("GZ_SIM_RESOURCE_PATH", "")}
        (Path(os.environ["MM_ROBOT_GZ_RECORDS"]) / "parameter_bridge.json").write_text(json.dumps(record))
        try:
            rclpy.spin(node)
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        finally:
            node.destroy_node()
            rclpy.try_shutdown()
        '''))
    bridge.chmod(0o755)
    return prefix


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-s"]))
