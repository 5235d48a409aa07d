"""Parameters are validated at startup and at set_parameters; refused values keep the old one (R14)."""

import subprocess
import sys

import pytest
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import GetParameters, SetParameters

from mm_robot.bringup.graph import NodeSpec
from mm_robot.ros.probe import Probe, start_graph

pytestmark = pytest.mark.ros


def double(name: str, value: float) -> Parameter:
    return Parameter(name=name, value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value))


def call(probe, client, request):
    future = client.call_async(request)
    assert probe.wait_for(lambda: future.done(), 10.0)
    return future.result()


def test_bad_values_are_refused_at_run_time_and_the_old_value_kept(domain_id):
    supervisor = start_graph([NodeSpec("safety_controller_node", "safety_controller_node")])
    probe = Probe(domain_id)
    try:
        setter = probe.node.create_client(SetParameters, "safety_controller_node/set_parameters")
        getter = probe.node.create_client(GetParameters, "safety_controller_node/get_parameters")
        assert setter.wait_for_service(timeout_sec=20.0)
        for name, value in [("max_linear", 100.0), ("input_timeout", 0.0), ("max_angular", -1.0)]:
            result = call(probe, setter, SetParameters.Request(parameters=[double(name, value)]))
            assert not result.results[0].successful, name
        ok = call(probe, setter, SetParameters.Request(parameters=[double("max_linear", 0.3)]))
        assert ok.results[0].successful
        values = call(probe, getter, GetParameters.Request(names=["max_linear", "input_timeout"])).values
        assert values[0].double_value == 0.3 and values[1].double_value == 0.5
    finally:
        probe.close()
        supervisor.stop()


@pytest.mark.parametrize("node, parameter", [
    ("safety_controller_node", "input_timeout:=0.0"),
    ("safety_controller_node", "max_linear:=50.0"),
    ("fusion_node", "policy:=magic"),
    ("camera_node", "synthetic_scene:='red banana 1 2'"),
])
def test_bad_startup_values_exit_with_a_clear_message(domain_id, node, parameter):
    result = subprocess.run([sys.executable, "-m", f"mm_robot.nodes.{node}", "--ros-args", "-p", parameter],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr[-2000:]
    name = parameter.split(":=")[0]
    assert name in result.stderr or "banana" in result.stderr, result.stderr[-2000:]
