"""SimSession (the sim node's ROS-free logic): clocks, playback, stale cmd_vel, outputs."""

from __future__ import annotations

import json

import numpy as np
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


SOUNDING = scenario_from_dict({
    "schema": "mm_robot/scenario/1", "name": "sounding",
    "scene": {"arena_size": 6, "audio": {"noise": "white", "snr_db": 20, "seed": 1},
              "objects": [{"name": "ball", "colour": "red", "shape": "ball", "x": 1.0, "y": 1.5,
                           "sound": {"kind": "tone", "pitch_hz": 500}}]},
    "timeline": [{"t": 0.3, "text": "go to the humming ball"},
                 {"t": 0.6, "say": {"text": "go to the red ball", "voice": "en-gb"}}],
    "criteria": {"expect": "reach", "targets": ["ball"], "time_limit": 10},
})


def test_audio_follows_sim_time_chunk_by_chunk(tmp_path):
    from conftest import require

    from mm_robot.sim.voice import espeak_available
    require(espeak_available(), "espeak-ng is not installed (scripts/setup.sh installs it)")
    s = SimSession(SimNodeConfig(output_dir="", video="none", rate_hz=15.0), SOUNDING)
    assert s.advance().audio is None  # the first step's audio would be stamped zero (R2)
    s.start()
    ticks = [s.advance() for _ in range(30)]
    chunks = [t.audio for t in ticks]
    assert all(c.samples.shape[1] == 2 and c.rate == 16000 and c.frame_id == "microphone" for c in chunks)
    assert {c.samples.shape[0] for c in chunks} <= {1066, 1067}
    for before, after in zip(chunks, chunks[1:]):  # contiguous: each chunk starts where the last ended
        assert after.stamp == pytest.approx(before.stamp + before.samples.shape[0] / 16000, abs=1e-9)
    # Stamped with the first frame's sim time (to the sample); the last one ends at the step's end.
    assert chunks[0].stamp == pytest.approx(1 / 15, abs=1 / 16000)
    end = chunks[-1].stamp + chunks[-1].samples.shape[0] / 16000
    assert end == pytest.approx(ticks[-1].time, abs=1 / 16000)
    level = [float(np.sqrt(np.mean(c.samples[:, 0] ** 2) / np.mean(c.samples[:, 1] ** 2))) for c in chunks]
    assert min(level[:8]) > 1.2  # the humming ball is on the left (before the operator speaks)
    played = {c.text: (c.typed, c.spoken) for t in ticks for c in t.commands}
    assert played == {"go to the humming ball": (True, False), "go to the red ball": (False, True)}
    # The spoken command comes from behind: the chunks after it are louder than the ball alone.
    before = np.mean([np.mean(c.samples ** 2) for c in chunks[:8]])
    during = np.mean([np.mean(c.samples ** 2) for c in chunks[12:22]])
    assert during > 2 * before
    s.finish()


def test_audio_parameter_forces_sound_on_or_off(tmp_path):
    silent = SimSession(SimNodeConfig(output_dir="", video="none"), SCENARIO)  # auto, and no sound in it
    assert silent.soundtrack is None
    silent.finish()
    quiet = SimSession(SimNodeConfig(output_dir="", video="none", audio="on"), SCENARIO)
    quiet.advance()
    tick = quiet.advance()
    assert tick.audio is not None and np.abs(tick.audio.samples).max() == 0.0
    quiet.finish()
    off = SimSession(SimNodeConfig(output_dir="", video="none", audio="off"), SOUNDING)
    assert off.soundtrack is None
    off.finish()


def test_decisions_and_groundings_are_kept_as_json_lines_and_counted(tmp_path):
    s = session(tmp_path, video="none")
    s.start()
    for action in ("search", "search", "forward"):
        s.advance()
        s.on_decision({"action": action, "stamp": s.world.time, "plan": {"steps": [], "active": 0}})
        s.on_grounding({"phrase": "red ball", "present": action == "forward"})
    for _ in range(3):
        s.advance()
    s.finish()
    run = tmp_path / "session"
    decisions = [json.loads(line) for line in (run / "decisions.jsonl").read_text().splitlines()]
    assert [d["action"] for d in decisions] == ["search", "search", "forward"]
    assert all(d["scenario_time"] is not None and "plan" in d for d in decisions)
    assert len((run / "groundings.jsonl").read_text().splitlines()) == 3
    result = json.loads((run / "result.json").read_text())
    assert result["decisions"] == {"forward": 1, "search": 2}
    assert result["outputs"]["decisions"].endswith("decisions.jsonl")
