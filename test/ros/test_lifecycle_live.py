"""fusion_node as a managed node, live: it waits unconfigured without autostart; configure loads
the policy without publishing; activate drives; deactivate stops proposals and the safety
controller brings cmd_vel to zero; a second activate drives again; cleanup releases (R13 keeps
working: graph_live's SIGTERM test runs the autostarted node)."""

import time

import pytest
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState

from mm_robot.bringup.graph import NodeSpec
from mm_robot.ros.probe import Probe, start_graph

pytestmark = pytest.mark.ros

SCENE = "red ball 2.5 1.0; blue box 3.0 -1.0"


@pytest.fixture
def graph(domain_id):
    specs = [NodeSpec("safety_controller_node", "safety_controller_node"),
             NodeSpec("camera_node", "camera_node", {"synthetic_scene": SCENE, "rate_hz": 15.0}),
             NodeSpec("fusion_node", "fusion_node", {"use_audio": False, "policy": "baseline",
                                                     "autostart": False})]
    supervisor = start_graph(specs)
    probe = Probe(domain_id)
    yield supervisor, probe
    probe.close()
    supervisor.stop()


def call(probe, client, request, timeout=30.0):
    assert client.wait_for_service(timeout_sec=timeout), f"{client.srv_name} not served"
    future = client.call_async(request)  # the probe's own thread spins it
    end = time.monotonic() + timeout
    while not future.done() and time.monotonic() < end:
        time.sleep(0.02)
    assert future.done(), f"{client.srv_name}: no answer"
    return future.result()


def moving(probe, since):
    return any(s.time >= since and (s.linear or s.angular) for s in probe.cmd_vel)


def test_configure_activate_deactivate_reactivate_cleanup(graph):
    supervisor, probe = graph
    change = probe.node.create_client(ChangeState, "fusion_node/change_state")
    get = probe.node.create_client(GetState, "fusion_node/get_state")

    def state():
        return call(probe, get, GetState.Request()).current_state.label

    def transition(label):
        return call(probe, change, ChangeState.Request(transition=Transition(label=label))).success

    assert state() == "unconfigured"
    assert not transition("activate"), "activated without a policy"
    assert transition("configure") and state() == "inactive"
    probe.say("go to the red ball")
    time.sleep(1.5)
    assert not probe.decisions, "an inactive node decided"
    assert all(s.linear == 0 == s.angular for s in probe.cmd_vel)

    t0 = time.monotonic()
    assert transition("activate") and state() == "active"
    assert probe.wait_for(lambda: moving(probe, t0), 20.0), "an active node never moved the robot"

    t1 = time.monotonic()
    assert transition("deactivate") and state() == "inactive"
    stopped = probe.first_zero_after(t1, 5.0)
    assert stopped is not None and stopped < 2.0, "cmd_vel not zero after deactivate"
    count = len(probe.decisions)
    settled = probe.settled_zero_after(t1, time.monotonic() + 2.0)
    assert settled is not None and settled < 2.0, "the robot moved while the node was inactive"
    assert len(probe.decisions) == count, "an inactive node kept deciding"

    t2 = time.monotonic()
    assert transition("activate") and state() == "active"
    assert probe.wait_for(lambda: moving(probe, t2), 20.0), "a reactivated node never moved the robot"

    assert not transition("cleanup"), "cleaned up while active"
    assert transition("deactivate") and transition("cleanup") and state() == "unconfigured"
    assert supervisor.poll() is None, "a node died"
