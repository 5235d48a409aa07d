"""SimSession (the sim node's ROS-free logic): clocks, playback, stale cmd_vel, outputs."""

from __future__ import annotations

import json

import pytest

from mm_robot.sim.scenario import scenario_from_dict

pytest.importorskip("mujoco")
from mm_robot.sim.session import SimNodeConfig, SimSession

SCENARIO = scenario_from_dict({
    "schema": "mm_robot/scenario/1", "name": "session",
    "scene": {"arena_size": 6, "objects": [{"name": "ball", "colour": "red", "shape": "ball", "x": 1.4, "y": 0}]},
    "timeline": [{"t": 0.3, "text": "go to the red ball"}],
    "criteria": {"expect": "reach", "targets": ["ball"], "time_limit": 10},
})


def session(tmp_path, **kw) -> SimSession:
    return SimSession(SimNodeConfig(output_dir=str(tmp_path), rate_hz=10.0, **kw), SCENARIO)


def test_nothing_plays_before_start_and_stamps_are_never_zero(tmp_path):
    s = session(tmp_path, video="none")
    first = s.advance()
    assert first.time == pytest.approx(0.1) and first.scenario_time is None
    for _ in range(5):
        assert s.advance().commands == ()
    assert s.samples == []  # the judge only sees scenario time
    s.start()
    played = []
    for _ in range(5):
        tick = s.advance()
        played += [(round(tick.scenario_time, 3), c.text) for c in tick.commands]
    assert played == [(0.3, "go to the red ball")]
    assert s.samples[0].t == pytest.approx(0.1) and s.world.time == pytest.approx(1.1)
    s.finish()


def test_stale_or_nonfinite_cmd_vel_stops_the_base(tmp_path):
    s = session(tmp_path, video="none", cmd_vel_timeout=0.3)
    s.start()
    s.on_cmd_vel(0.4, 0.0)
    assert s.base_command == (0.4, 0.0)
    for _ in range(4):
        s.advance()
    assert s.base_command == (0.0, 0.0)  # 0.4 s old > 0.3 s
    s.on_cmd_vel(float("nan"), 0.0)
    assert s.base_command == (0.0, 0.0) and s.invalid_cmd_vel == 1
    s.finish()


def test_decided_on_allows_the_configured_lag(tmp_path):
    s = session(tmp_path, video="none")
    s.on_decision({"action": "forward", "stamp": 0.9})
    assert s.decided_on(0.9) and s.decided_on(1.0, lag=1) and not s.decided_on(1.0, lag=0)
    s.on_decision({"action": "search", "stamp": "junk"})
    assert s.action == "search" and s.decision_stamp == pytest.approx(0.9)
    s.finish()


def test_finish_writes_result_video_and_trajectory(tmp_path):
    s = session(tmp_path, video="gif")
    s.start()
    s.on_grounding({"target": {"label": "red ball", "score": 0.9, "box": [10, 10, 50, 50]}, "candidates": []})
    for _ in range(8):
        s.on_cmd_vel(0.3, 0.0)
        s.advance()
    result = s.finish()
    assert not result.success and "before the outcome was decided" in result.reasons[-1]
    data = json.loads((tmp_path / "session" / "result.json").read_text())
    assert data["success"] is False and data["path_length"] > 0.1
    assert (tmp_path / "session" / "camera.gif").stat().st_size > 500
    assert (tmp_path / "session" / "trajectory.png").stat().st_size > 1000
    assert s.finish() is result  # idempotent
