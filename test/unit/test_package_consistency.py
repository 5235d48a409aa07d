"""The launch file, the graph description, setup.py, package.xml, config and README agree."""

import ast
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from mm_robot.bringup.graph import NODE_EXECUTABLES, TOPICS, GraphOptions, bringup_graph, ros_arguments
from mm_robot.bringup.parameter_docs import NODE_CONFIGS, default_parameters, params_markdown, params_yaml

ROOT = Path(__file__).resolve().parents[2]


def console_scripts() -> dict[str, str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    nodes = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                 and any(getattr(t, "id", None) == "NODES" for t in n.targets))
    return {elt.value: f"mm_robot.nodes.{elt.value}:main" for elt in nodes.elts}


def test_every_graph_executable_is_a_console_script_with_a_main():
    scripts = console_scripts()
    for executable in NODE_EXECUTABLES:
        assert executable in scripts
        module = __import__(f"mm_robot.nodes.{executable}", fromlist=["main"])
        assert callable(module.main)
    for options in (GraphOptions(), GraphOptions(camera="sim", microphone=True, policy="fusion")):
        for spec in bringup_graph(options):
            assert spec.executable in scripts


def test_launch_file_declares_the_graph_options_and_uses_the_graph():
    source = (ROOT / "launch" / "bringup.launch.py").read_text()
    tree = ast.parse(source)
    arguments = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                     and any(getattr(t, "id", None) == "ARGUMENTS" for t in n.targets))
    declared = {key.value for key in arguments.keys}
    fields = set(GraphOptions.__dataclass_fields__)
    assert declared == fields
    assert "bringup_graph" in source and "generate_launch_description" in source


def test_config_file_is_the_generated_one_and_names_every_node():
    on_disk = (ROOT / "config" / "mm_robot.yaml").read_text()
    assert on_disk == params_yaml(), "regenerate with: mm-robot params > config/mm_robot.yaml"
    loaded = yaml.safe_load(on_disk)
    assert {key.split("/")[-1] for key in loaded} == set(NODE_CONFIGS) == set(NODE_EXECUTABLES)
    for node, values in default_parameters().items():
        assert loaded[f"/**/{node}"]["ros__parameters"] == values


def test_readme_parameter_tables_are_generated_from_the_code():
    readme = (ROOT / "README.md").read_text()
    assert params_markdown() in readme, "paste the output of: mm-robot params --markdown"


def test_readme_documents_every_topic():
    readme = (ROOT / "README.md").read_text()
    for topic, (msg_type, _) in TOPICS.items():
        assert f"`{topic}`" in readme, topic
        assert msg_type.replace("/msg/", "/") in readme, msg_type


def test_package_xml_names_every_message_package_used_by_a_topic():
    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.get("format") == "3"
    depends = {e.text for e in root if e.tag.endswith("depend")}
    for msg_type, _ in TOPICS.values():
        assert msg_type.split("/")[0] in depends, msg_type
    assert {"rclpy", "launch", "launch_ros", "std_srvs"} <= depends


def test_ros_arguments_quote_strings_and_set_namespace():
    spec = bringup_graph(GraphOptions(camera="0", namespace="robot1"))[1]
    args = ros_arguments(spec, GraphOptions(camera="0", namespace="robot1"))
    assert "source:='0'" in args and "__ns:=/robot1" in args and "use_sim_time:=false" in args


def test_setup_installs_data_files_for_colcon():
    source = (ROOT / "setup.py").read_text()
    for needle in ("resource/", "package.xml", "launch/*.launch.py", "config/*.yaml"):
        assert needle in source
    assert (ROOT / "resource" / "mm_robot").exists()
    assert re.search(r"script_dir=\$base/lib/mm_robot", (ROOT / "setup.cfg").read_text())


def test_simulation_runs_on_sim_time_with_sim_node_as_the_camera():
    from mm_robot.bringup.graph import simulation_graph, simulation_options
    options = simulation_options(GraphOptions(policy="fusion"))
    assert options.use_sim_time and options.camera == "sim" and options.policy == "fusion"
    specs = simulation_graph(GraphOptions(), {"rate_hz": 20.0})
    names = [s.executable for s in specs]
    assert "camera_node" not in names and names[-1] == "sim_node"
    fusion = next(s for s in specs if s.executable == "fusion_node")
    assert fusion.parameters["rate_hz"] == 20.0
    assert "use_sim_time:=true" in ros_arguments(fusion, options)
    # The simulator is the microphone too: no microphone_node beside it; the fusion node listens.
    hearing = simulation_graph(GraphOptions(microphone=True), {})
    assert "microphone_node" not in [s.executable for s in hearing]
    assert next(s for s in hearing if s.executable == "fusion_node").parameters["use_audio"] is True


def test_default_params_file_is_the_checkouts_or_the_installed_share_copy(tmp_path, monkeypatch):
    from mm_robot.bringup.graph import default_params_file, find_params_file
    assert default_params_file() == ROOT / "config" / "mm_robot.yaml"  # this checkout
    monkeypatch.setattr("sys.prefix", str(tmp_path / "no_prefix"))
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    installed = tmp_path / "install" / "lib" / "python3" / "site-packages" / "mm_robot" / "ros" / "graph.py"
    assert find_params_file(installed) is None  # not indexed, no prefix copy: nodes use their defaults
    prefix = tmp_path / "install"
    (prefix / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (prefix / "share" / "ament_index" / "resource_index" / "packages" / "mm_robot").write_text("")
    (prefix / "share" / "mm_robot" / "config").mkdir(parents=True)
    (prefix / "share" / "mm_robot" / "config" / "mm_robot.yaml").write_text("{}\n")
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    assert find_params_file(installed) == prefix / "share" / "mm_robot" / "config" / "mm_robot.yaml"
