"""Gazebo assets: the SDF is what the generator writes and Gazebo's own parser accepts it;
the bridge maps the package's topics with the package's types."""

from __future__ import annotations

import ast
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from mm_robot.bringup.graph import TOPICS
from mm_robot.sim.scenario import load_scenario
from mm_robot.sim.sdf import CONE_MESH, GZ_TOPICS, build_sdf, cone_obj, demo_scene

ROOT = Path(__file__).resolve().parents[2]
WORLD = ROOT / "gazebo" / "worlds" / "arena.sdf"
BRIDGE = ROOT / "config" / "gz_bridge.yaml"
LAUNCH = ROOT / "launch" / "sim_gazebo.launch.py"
IGN = shutil.which("ign")
needs_ign = pytest.mark.skipif(IGN is None, reason="`ign` not installed (Debian: apt-get install "
                               "ignition-tools libsdformat-dev); Gazebo's SDF checker is unavailable")

# ROS message type -> Gazebo message type, as ros_gz_bridge pairs them.
GZ_TYPES = {"sensor_msgs/msg/Image": "gz.msgs.Image", "sensor_msgs/msg/CameraInfo": "gz.msgs.CameraInfo",
            "geometry_msgs/msg/Twist": "gz.msgs.Twist", "nav_msgs/msg/Odometry": "gz.msgs.Odometry",
            "rosgraph_msgs/msg/Clock": "gz.msgs.Clock"}
SIM_PROVIDES = {"camera/image_raw": "GZ_TO_ROS", "camera/camera_info": "GZ_TO_ROS", "odom": "GZ_TO_ROS",
                "/clock": "GZ_TO_ROS", "cmd_vel": "ROS_TO_GZ"}


def ign_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([IGN, "sdf", "-k", str(path)], capture_output=True, text=True, timeout=60)


def test_committed_world_is_what_the_generator_writes():
    assert WORLD.read_text() == build_sdf(demo_scene()), "run: python -m mm_robot.sim.sdf -o gazebo/worlds/arena.sdf"
    assert (WORLD.parent / CONE_MESH).read_text() == cone_obj()


@needs_ign
def test_world_sdf_is_valid_for_gazebo():
    done = ign_check(WORLD)
    assert done.returncode == 0 and "Valid" in done.stdout, done.stdout + done.stderr


@needs_ign
def test_scenario_world_sdf_is_valid_and_a_broken_one_is_not(tmp_path):
    good = tmp_path / "scenario.sdf"
    good.write_text(build_sdf(load_scenario(ROOT / "scenarios" / "public" / "goto_d5_0.yaml").scene))
    done = ign_check(good)
    assert done.returncode == 0, done.stdout + done.stderr
    bad = tmp_path / "bad.sdf"
    bad.write_text(good.read_text().replace('<link name="left_wheel">', '<link name="base_link">'))
    assert ign_check(bad).returncode != 0  # the checker really checks


def test_sdf_has_the_robot_sensors_and_systems():
    root = ET.parse(WORLD).getroot()
    plugins = {p.get("filename") for p in root.iter("plugin")}
    assert {"gz-sim-physics-system", "gz-sim-sensors-system", "gz-sim-diff-drive-system",
            "gz-sim-scene-broadcaster-system", "gz-sim-odometry-publisher-system"} <= plugins
    camera = next(s for s in root.iter("sensor") if s.get("type") == "camera")
    assert camera.findtext("topic") == GZ_TOPICS["image"]
    assert int(camera.findtext("camera/image/width")) == 320
    assert float(camera.findtext("camera/horizontal_fov")) == pytest.approx(1.047198, abs=1e-5)
    drive = next(p for p in root.iter("plugin") if p.get("filename") == "gz-sim-diff-drive-system")
    assert drive.findtext("topic") == GZ_TOPICS["cmd_vel"] and drive.findtext("odom_topic") == GZ_TOPICS["odom"]
    assert {m.get("name") for m in root.iter("model")} >= {o.name for o in demo_scene().objects}


def test_bridge_topics_and_types_match_the_topic_table():
    entries = yaml.safe_load(BRIDGE.read_text())
    by_name = {e["ros_topic_name"]: e for e in entries}
    assert len(by_name) == len(entries), "a ROS topic is bridged twice"
    assert set(by_name) == set(SIM_PROVIDES)
    for name, entry in by_name.items():
        assert name in TOPICS, f"{name} is not in mm_robot.bringup.graph.TOPICS"
        assert entry["ros_type_name"] == TOPICS[name][0], name
        assert entry["gz_type_name"] == GZ_TYPES[entry["ros_type_name"]], name
        assert entry["direction"] == SIM_PROVIDES[name], name


def test_bridge_gazebo_names_match_the_sdf():
    by_name = {e["ros_topic_name"]: e for e in yaml.safe_load(BRIDGE.read_text())}
    assert by_name["camera/image_raw"]["gz_topic_name"] == GZ_TOPICS["image"]
    # Gazebo publishes camera info beside the image topic.
    assert by_name["camera/camera_info"]["gz_topic_name"] == GZ_TOPICS["image"].rsplit("/", 1)[0] + "/camera_info"
    assert by_name["cmd_vel"]["gz_topic_name"] == GZ_TOPICS["cmd_vel"]
    assert by_name["odom"]["gz_topic_name"] == GZ_TOPICS["odom"]


def test_launch_file_uses_the_bridge_world_and_bringup():
    tree = ast.parse(LAUNCH.read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert "generate_launch_description" in {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert {"gz_bridge.yaml", "arena.sdf", "bringup.launch.py", "gz_sim.launch.py", "parameter_bridge",
            "use_sim_time", "sim"} <= strings
    assert {"IncludeLaunchDescription", "Node"} <= names
    assert (ROOT / "launch" / "bringup.launch.py").exists()
