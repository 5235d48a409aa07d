"""The shipped SROS2 policy is the generated one and covers the graph (R21)."""

import xml.etree.ElementTree as ET
from pathlib import Path

from mm_robot.ros.graph import NODE_EXECUTABLES, TOPICS
from mm_robot.ros.security import PERMISSIONS, policy_xml

ROOT = Path(__file__).resolve().parents[2]


def test_policy_file_is_generated_and_well_formed():
    text = (ROOT / "config" / "sros2" / "policy.xml").read_text()
    assert text == policy_xml(), "regenerate with: mm-robot sros2-policy > config/sros2/policy.xml"
    root = ET.fromstring(text)
    enclaves = {e.get("path") for e in root.iter("enclave")}
    assert enclaves == {f"/mm_robot/{node}" for node in NODE_EXECUTABLES}


def test_only_the_safety_controller_may_publish_cmd_vel():
    publishers = [node for node, rules in PERMISSIONS.items() if "cmd_vel" in rules.get("publish", ())]
    assert publishers == ["safety_controller_node"]


def test_policy_names_only_known_topics():
    known = set(TOPICS) | {"perception/detections"}
    for rules in PERMISSIONS.values():
        for topic in rules.get("publish", ()) + rules.get("subscribe", ()):
            assert topic in known, topic
