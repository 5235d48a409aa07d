"""Held-out suites: generated from seeds, wording kept out of training, goals from ground truth,
and the oracle (target from the scenario, or the words' plan on ground truth) solving them."""

from __future__ import annotations

import pytest

from mm_robot.core.language import understand
from mm_robot.evaluation.heldout import CATEGORIES, WRAPPERS, heldout_scenario, heldout_suite, write_heldout_suite
from mm_robot.sim.scenario import load_scenario, scenario_from_dict, scenario_to_dict


def test_the_same_seed_gives_the_same_suite():
    first = [scenario_to_dict(s) for s in heldout_suite(per_category=2)]
    again = [scenario_to_dict(s) for s in heldout_suite(per_category=2)]
    assert first == again
    assert {s["category"] for s in first} == set(CATEGORIES)


def test_held_out_wording_is_not_training_wording():
    from mm_robot.training.scenes import PARAPHRASE_TEMPLATES, TRAIN_SYNONYMS, TRAIN_TEMPLATES
    training = {t.format(c="X", s="Y") for t in TRAIN_TEMPLATES + PARAPHRASE_TEMPLATES}
    for wrapper in WRAPPERS:
        assert wrapper.format(o="the X Y") not in training
    phrasing = pytest.importorskip("mm_robot.training.phrasing")
    for wrapper in WRAPPERS:
        head = wrapper.split("{o}")[0].strip()
        assert not any(head == (p + v).strip() for p in phrasing.PREFIXES for v in phrasing.VERBS), wrapper
    train_words = {w for words in TRAIN_SYNONYMS.values() for w in words}
    for scenario in heldout_suite(["phrasing"], per_category=6):
        assert not set(scenario.timeline[0].text.split()) & train_words


@pytest.mark.parametrize("category", ["relation", "ordinal", "exclusion", "sequence"])
def test_compositional_commands_read_as_their_form(category):
    for index in range(5):
        scenario = heldout_scenario(category, index, 500 + index)
        reading = understand(scenario.timeline[0].text)
        assert reading.is_go, reading.reason
        forms = {step.form for step in reading.plan.steps}
        assert (len(reading.plan.steps) == 2) if category == "sequence" else (forms == {category})


def test_suite_round_trips_through_yaml(tmp_path):
    paths = write_heldout_suite(tmp_path, ["sequence", "camera_fov"], per_category=1)
    sequence = load_scenario(paths[0])
    assert sequence.timeline[0].goal == (("first",), ("second",))
    assert sequence.criteria.visit == ("first",) and sequence.criteria.targets == ("second",)
    camera = load_scenario(paths[1])
    assert 44.9 <= camera.scene.camera.hfov * 57.2958 <= 100.1


def test_goal_comes_from_the_scenario_not_the_words():
    scenario = scenario_from_dict({
        "schema": "mm_robot/scenario/1", "name": "g",
        "scene": {"objects": [{"name": "a", "colour": "red", "shape": "ball", "x": 1.5, "y": 0},
                              {"name": "b", "colour": "blue", "shape": "box", "x": 1.5, "y": 1}]},
        "timeline": [{"t": 0.5, "text": "go to the red ball"}, {"t": 2.0, "text": "and now that thing"}],
        "criteria": {"expect": "reach", "targets": ["b"], "visit": ["a"], "time_limit": 30}})
    first, last = scenario.timeline
    assert scenario.goal_for(first) is None
    assert scenario.goal_for(last) == (("a",), ("b",))


pytest.importorskip("mujoco")


@pytest.mark.parametrize("category, index", [("relation", 3), ("ordinal", 2), ("exclusion", 1), ("sequence", 0),
                                             ("camera_fov", 1)])
def test_oracle_solves_held_out_scenes_from_ground_truth_alone(category, index, monkeypatch):
    """Without the scenario's goal the oracle resolves the words' plan on ground truth."""
    from mm_robot.policies import policy_factory
    from mm_robot.sim.episode import run_episode
    from mm_robot.sim.scenario import Scenario
    monkeypatch.setattr(Scenario, "goal_for", lambda self, command: None)
    scenario = heldout_scenario(category, index, 17000 + 100 * CATEGORIES.index(category) + index)
    ticks = []
    result, _ = run_episode(scenario, policy_factory("oracle"), on_tick=ticks.append)
    assert result.success, result.reasons
    plans = [t.output.decision.plan for t in ticks if t.output.decision.plan]
    assert plans and plans[-1]["steps"]
    if category == "sequence":
        assert {p["active"] for p in plans} == {0, 1}


def test_committed_heldout_suite_is_the_generated_one(tmp_path):
    from pathlib import Path
    committed = Path(__file__).resolve().parents[2] / "scenarios" / "heldout"
    written = write_heldout_suite(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in committed.glob("*.yaml"))
    for path in written:
        assert path.read_text() == (committed / path.name).read_text(), f"regenerate: mm-robot make-suite ({path.name})"
