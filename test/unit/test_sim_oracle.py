"""The oracle expert in lockstep episodes: goal, search, stop, not_found, labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm_robot.core.records import Action, Command
from mm_robot.policies.base import Policy
from mm_robot.sim.scenario import load_scenario, scenario_from_dict

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
