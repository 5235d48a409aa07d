"""The SROS2 policy fits the graph it protects (R21): every publisher, subscription, service and
client that each running node really has is granted to its enclave, for a namespaced robot."""

import time

import pytest

from mm_robot.bringup.graph import GraphOptions, NodeSpec
from mm_robot.bringup.security import grants, resolve
from mm_robot.ros.probe import BackgroundNode, start_graph

pytestmark = pytest.mark.ros

NAMESPACE = "robot1"
NODES = [NodeSpec("safety_controller_node", "safety_controller_node"),
         NodeSpec("camera_node", "camera_node", {"publish_compressed": True}),
         NodeSpec("microphone_node", "microphone_node"),
         NodeSpec("fusion_node", "fusion_node", {"policy": "baseline", "use_audio": True}),
         NodeSpec("sim_node", "sim_node", {"output_dir": "", "video": "none"})]


def interfaces(node, name: str, namespace: str) -> dict[str, set[str]]:
    ns = "/" + namespace
    return {"publish": {t for t, _ in node.get_publisher_names_and_types_by_node(name, ns)},
            "subscribe": {t for t, _ in node.get_subscriber_names_and_types_by_node(name, ns)},
            "reply": {s for s, _ in node.get_service_names_and_types_by_node(name, ns)},
            "request": {s for s, _ in node.get_client_names_and_types_by_node(name, ns)}}


def test_every_interface_each_node_uses_is_granted_to_its_enclave(domain_id):
    supervisor = start_graph(NODES, GraphOptions(namespace=NAMESPACE))
    observer = BackgroundNode("security_observer", domain_id)
    observer.start()
    try:
        allowed = grants(NAMESPACE)
        expected = {spec.name for spec in NODES}
        deadline = time.monotonic() + 40.0
        while time.monotonic() < deadline:
            seen = {n for n, ns in observer.node.get_node_names_and_namespaces() if ns == "/" + NAMESPACE}
            if expected <= seen:
                break
            time.sleep(0.2)
        assert expected <= seen, f"nodes up: {seen}"
        time.sleep(2.0)  # let every endpoint be discovered
        for spec in NODES:
            used = interfaces(observer.node, spec.name, NAMESPACE)
            assert used["publish"] and used["reply"], (spec.name, used)
            for verb, names in used.items():
                denied = names - allowed[spec.executable][verb]
                assert not denied, f"{spec.name} {verb}s {sorted(denied)} outside its enclave"
    finally:
        observer.close()
        supervisor.stop()


def test_operators_may_stop_reset_and_command_a_namespaced_robot():
    operator = grants(NAMESPACE)["operator"]
    assert {resolve("estop", NAMESPACE, "x"), resolve("command", NAMESPACE, "x")} <= operator["publish"]
    assert resolve("estop/reset", NAMESPACE, "x") in operator["request"]
    assert "/robot1/estop" in operator["publish"] and "/diagnostics" in operator["subscribe"]
    publishers = [e for e, verbs in grants(NAMESPACE).items() if "/robot1/cmd_vel" in verbs["publish"]]
    assert publishers == ["safety_controller_node"]
    proposers = [e for e, verbs in grants(NAMESPACE).items() if "/robot1/cmd_vel_proposal" in verbs["publish"]]
    assert proposers == ["fusion_node"]
