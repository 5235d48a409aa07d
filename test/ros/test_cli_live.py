"""`mm-robot up --say ... --watch`: the README's demo path, as a user runs it."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.ros


def test_up_with_say_and_watch_prints_live_decisions_and_stops_cleanly(domain_id):
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain_id))
    result = subprocess.run([sys.executable, "-m", "mm_robot.cli", "up", "--say", "go to the red ball",
                             "--watch", "--duration", "8"], capture_output=True, text=True, timeout=90, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "command   'go to the red ball'" in out
    assert any(word in out for word in ("turn_left", "forward", "arrived")), out[-3000:]
    assert "cmd_vel" in out and "graph stopped" in out


def test_params_prints_every_node():
    result = subprocess.run([sys.executable, "-m", "mm_robot.cli", "params"], capture_output=True, text=True)
    assert result.returncode == 0
    for node in ("camera_node", "microphone_node", "fusion_node", "safety_controller_node"):
        assert f"/**/{node}:" in result.stdout
