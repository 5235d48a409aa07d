"""The oracle expert in lockstep episodes: goal, search, stop, not_found, labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm_robot.core.records import Action, Command
from mm_robot.policies.base import Policy
from mm_robot.sim.scenario import load_scenario, scenario_from_dict, scenario_to_dict

pytest.importorskip("mujoco")
from mm_robot.policies import policy_factory
from mm_robot.policies.oracle import OracleExpert
from mm_robot.sim.episode import run_episode
from mm_robot.sim.world import World

PUBLIC = Path(__file__).resolve().parents[2] / "scenarios" / "public"


def run_oracle(scenario, **options):
    return run_episode(scenario, policy_factory("oracle"), **options)


def tiny(timeline, criteria, robot_yaw=0.0):
    return scenario_from_dict({
        "schema": "mm_robot/scenario/1", "name": "tiny",
        "scene": {"arena_size": 6, "robot": {"x": 0, "y": 0, "yaw": robot_yaw},
                  "objects": [{"name": "red", "colour": "red", "shape": "ball", "x": 1.6, "y": 0.4},
                              {"name": "blue", "colour": "blue", "shape": "box", "x": 1.5, "y": -1.0}]},
        "timeline": [{"t": t, "text": text} for t, text in timeline], "criteria": criteria})


def test_oracle_is_a_policy():
    with World(tiny([(0.1, "x")], {"expect": "not_found", "time_limit": 5}).scene, render=False) as world:
        assert isinstance(OracleExpert(world.ground_truth), Policy)


def test_oracle_reaches_the_named_object_and_labels_it():
    ticks = []
    result, samples = run_oracle(tiny([(0.2, "go to the red ball")],
                                       {"expect": "reach", "targets": ["red"], "time_limit": 20}),
                                  on_tick=ticks.append)
    assert result.success, result.reasons
    assert result.reported == "arrived" and result.final_distance < 0.6
    labelled = [t for t in ticks if t.output.grounding is not None and t.output.grounding.target]
    assert labelled, "the oracle labels the target in view"
    tick = labelled[0]
    assert tick.output.grounding.target.label == "red ball"
    assert list(tick.output.grounding.target.box) == list(tick.view.boxes["red"].as_tuple())
    assert {c.label for c in tick.output.grounding.candidates} >= {"red ball"}


def test_oracle_searches_for_a_target_behind_it():
    result, samples = run_oracle(tiny([(0.2, "go to the blue box")],
                                       {"expect": "reach", "targets": ["blue"], "time_limit": 30},
                                       robot_yaw=3.0))
    assert result.success, result.reasons
    assert "search" in {s.action for s in samples}


def test_oracle_reports_not_found_after_a_full_turn():
    result, samples = run_oracle(tiny([(0.2, "go to the green cone")], {"expect": "not_found", "time_limit": 20}))
    assert result.success, result.reasons
    first = next(s for s in samples if s.action == "not_found")
    assert 8.0 < first.t < 12.0  # a full turn at 0.7 rad/s takes about 9.4 s (plus ramp)
    assert result.path_length == 0.0


def test_oracle_stops_on_stop():
    result, samples = run_oracle(tiny([(0.2, "go to the blue box"), (2.0, "stop")],
                                       {"expect": "stop", "time_limit": 8}))
    assert result.success, result.reasons
    assert any(abs(s.angular) > 0.1 or s.linear > 0.05 for s in samples if s.t < 2.0)


def test_ambiguous_command_picks_the_nearest_match():
    scene = tiny([(0.1, "x")], {"expect": "not_found", "time_limit": 5}).scene
    from dataclasses import replace

    from mm_robot.sim.spec import ObjectSpec
    scene = replace(scene, objects=(ObjectSpec("far", "red", "ball", 2.6, -0.3),
                                    ObjectSpec("near", "red", "ball", 1.5, 0.3)))
    with World(scene) as world:
        world.render()
        oracle = OracleExpert(world.ground_truth)
        out = oracle.act(world.ground_truth(), Command("go to the red ball", 0.0))
        assert out.decision.action in (Action.FORWARD, Action.TURN_LEFT)
        assert out.grounding.target.box == world.ground_truth().object("near").box.as_tuple()


def test_one_public_scenario_passes_with_the_oracle():
    result, _ = run_oracle(load_scenario(PUBLIC / "goto_d3_0.yaml"))
    assert result.success, result.reasons


def _sounding_scene(robot_yaw: float = 0.0):
    """Two red balls: the nearer silent, the farther beeping (to the right)."""
    from dataclasses import replace

    from mm_robot.sim.spec import ObjectSpec, SoundSpec
    scene = tiny([(0.1, "x")], {"expect": "not_found", "time_limit": 5}, robot_yaw).scene
    return replace(scene, objects=(ObjectSpec("silent", "red", "ball", 1.5, 0.4),
                                   ObjectSpec("beeping", "red", "ball", 2.4, -0.5, sound=SoundSpec("beep"))))


def test_a_sound_command_picks_the_object_that_makes_the_sound():
    with World(_sounding_scene()) as world:
        world.render()
        truth = world.ground_truth()
        assert truth.object("beeping").sound == "beep" and truth.object("silent").sound is None
        out = OracleExpert(world.ground_truth).act(truth, Command("go to the beeping one", 0.0))
        assert out.grounding.target.box == truth.object("beeping").box.as_tuple()
        scores = {c.box: c.score for c in out.grounding.candidates}
        assert scores[truth.object("beeping").box.as_tuple()] == 1.0
        assert scores[truth.object("silent").box.as_tuple()] == 0.0
        # Without the sound word the nearest look-alike is the answer (the ambiguity rule).
        plain = OracleExpert(world.ground_truth).act(truth, Command("go to the red ball", 0.0))
        assert plain.grounding.target.box == truth.object("silent").box.as_tuple()


def test_a_sound_out_of_view_is_turned_toward():
    """Facing away, the beeping ball is behind on the right: turn right (a plain search turns left)."""
    with World(_sounding_scene(robot_yaw=2.6)) as world:
        world.render()
        truth = world.ground_truth()
        assert truth.object("beeping").box is None and truth.object("beeping").bearing < 0
        heard = OracleExpert(world.ground_truth).act(truth, Command("find the beeping one", 0.0))
        assert heard.decision.action == Action.SEARCH and heard.decision.angular < 0
        looked = OracleExpert(world.ground_truth).act(truth, Command("find the red ball", 0.0))
        assert looked.decision.action == Action.SEARCH and looked.decision.angular > 0


def test_one_public_audio_visual_scenario_passes_with_the_oracle():
    scenario = load_scenario(PUBLIC / "audio_visual_0.yaml")
    ticks = []
    result, _ = run_oracle(scenario, on_tick=ticks.append)
    assert result.success, result.reasons
    heard = [t.audio for t in ticks if t.audio is not None]
    assert heard and all(a.samples.shape[1] == 2 and a.rate == 16000 for a in heard)
    assert sum(a.samples.shape[0] for a in heard) == round(ticks[-1].view.time * 16000)  # every sample once


def test_a_spoken_command_reaches_the_policy_when_the_utterance_ends():
    from conftest import require

    from mm_robot.sim.voice import espeak_available, synthesise
    require(espeak_available(), "espeak-ng is not installed (scripts/setup.sh installs it)")
    base = tiny([(0.2, "x")], {"expect": "reach", "targets": ["red"], "time_limit": 20})
    data = scenario_to_dict(base)
    data["timeline"] = [{"t": 0.2, "say": {"text": "go to the red ball", "voice": "en-us+f3", "speed": 170}}]
    data["scene"]["audio"] = {"noise": "babble", "snr_db": 10}
    ticks = []
    result, _ = run_oracle(scenario_from_dict(data), on_tick=ticks.append)
    assert result.success, result.reasons
    first = next(t for t in ticks if t.command is not None)
    spoken_for = synthesise("go to the red ball", "en-us+f3", 170, 50).size / 16000
    assert first.command.source == "speech" and first.command.stamp == pytest.approx(0.2 + spoken_for)
    assert first.view.time == pytest.approx(first.command.stamp, abs=1 / 15)
