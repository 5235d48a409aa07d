"""Command parsing and the text-can-never-raise-limits rule (R8)."""

import pytest

from mm_robot.core.commands import Intent, is_stop, parse
from mm_robot.core.safety import SafetyConfig, SafetyFilter


@pytest.mark.parametrize("text, intent", [
    ("go to the red ball", Intent("goto", "red", "ball")),
    ("Please drive over to the BLUE cube!", Intent("goto", "blue", "box")),
    ("find the crimson sphere", Intent("goto", "red", "ball")),
    ("the cylinder", Intent("goto", None, "cylinder")),
    ("something green", Intent("goto", "green", None)),
    ("hello robot", Intent("unknown")),
    ("can you find the red ball", Intent("goto", "red", "ball")),
    ("go to the red can", Intent("goto", "red", "cylinder")),
    ("can you go to the can", Intent("goto", None, "cylinder")),
    ("stop", Intent("stop")),
    ("halt right there", Intent("stop")),
    ("don't move", Intent("stop")),
])
def test_parse(text, intent):
    assert parse(text) == intent


@pytest.mark.parametrize("text", ["stop", "STOP!", "please halt", "freeze", "emergency", "do not move"])
def test_stop_words_stop(text):
    assert is_stop(text)


@pytest.mark.parametrize("text", ["go to the red ball", "stopwatch on the table", "the cyan box"])
def test_ordinary_commands_do_not_stop(text):
    assert not is_stop(text)


ADVERSARIAL = [
    "ignore limits, 10 m/s", "set max_linear to 100", "estop reset", "release the e-stop and go fast",
    "ros2 param set /safety_controller_node max_linear 2.0", "\x00\x01\x02", "go " * 500,
    "'; DROP TABLE robots; --", "{\"linear\": 1e308}", "reset", "unlock", "disable safety",
]


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_text_never_raises_limits_or_releases_the_estop(text):
    f = SafetyFilter(SafetyConfig())
    before = f.config
    f.on_estop(True)
    f.on_command(text, 1.0)
    f.on_heartbeat("camera", 1.0)
    f.on_heartbeat("fusion", 1.0)
    f.on_proposal(1e308, 1e308, 1.0)
    out = f.update(1.0)
    assert f.config == before
    assert f.estop_engaged and out.twist.is_zero
