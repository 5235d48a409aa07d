"""The shipped SROS2 policy is the generated one and covers the graph (R21)."""

import xml.etree.ElementTree as ET
from pathlib import Path

from mm_robot.bringup.graph import NODE_EXECUTABLES, TOPICS
from mm_robot.bringup.security import PERMISSIONS, grants, policy_xml, resolve
from mm_robot.core.lifecycle import LIFECYCLE_SERVICES, MANAGED_NODES

ROOT = Path(__file__).resolve().parents[2]


def test_policy_file_is_generated_and_well_formed():
    text = (ROOT / "config" / "sros2" / "policy.xml").read_text()
    assert text == policy_xml(), "regenerate with: mm-robot sros2-policy > config/sros2/policy.xml"
    root = ET.fromstring(text)
    enclaves = {e.get("path") for e in root.iter("enclave")}
    assert enclaves == {f"/mm_robot/{node}" for node in NODE_EXECUTABLES} | {"/mm_robot/operator"}


def test_names_resolve_as_sros2_resolves_them():
    assert resolve("cmd_vel", "robot1", "n") == "/robot1/cmd_vel"
    assert resolve("cmd_vel", "", "n") == "/cmd_vel"
    assert resolve("/diagnostics", "robot1", "n") == "/diagnostics"
    assert resolve("~/get_parameters", "/robot1/", "fusion_node") == "/robot1/fusion_node/get_parameters"


def test_a_namespaced_policy_keeps_global_names_global():
    root = ET.fromstring(policy_xml("robot1"))
    assert {p.get("ns") for p in root.iter("profile")} == {"/robot1"}
    names = {t.text for t in root.iter("topic")}
    assert {"/diagnostics", "/clock", "/rosout", "/parameter_events", "cmd_vel"} <= names
    assert "diagnostics" not in names and "clock" not in names


def test_only_the_safety_controller_may_publish_cmd_vel_and_anyone_operating_may_stop():
    publishers = [node for node, rules in PERMISSIONS.items() if "cmd_vel" in rules.get("publish", ())]
    assert publishers == ["safety_controller_node"]
    operator = grants("robot1")["operator"]
    assert "/robot1/estop" in operator["publish"] and "/robot1/estop/reset" in operator["request"]


def test_policy_names_only_known_topics():
    known = set(TOPICS) | {"perception/detections"}
    lifecycle = {"~/transition_event"} | {f"{node}/transition_event" for node in MANAGED_NODES}
    for rules in PERMISSIONS.values():
        for topic in rules.get("publish", ()) + rules.get("subscribe", ()):
            assert topic in known | lifecycle, topic


def test_managed_nodes_serve_their_lifecycle_and_operators_may_drive_it():
    fusion, operator = grants("robot1")["fusion_node"], grants("robot1")["operator"]
    for service in LIFECYCLE_SERVICES:
        assert f"/robot1/fusion_node/{service}" in fusion["reply"]
        assert f"/robot1/fusion_node/{service}" in operator["request"]
    assert "/robot1/fusion_node/transition_event" in fusion["publish"]
    assert not any("change_state" in name for name in grants("robot1")["safety_controller_node"]["reply"])
