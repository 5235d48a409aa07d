"""Scenario files: the public suite, the generator, and loader errors that name the field."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mm_robot.core.commands import parse
from mm_robot.sim.scenario import (
    ScenarioError,
    load_scenario,
    load_suite,
    scenario_from_dict,
    scenario_to_dict,
)

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = ROOT / "scenarios" / "public"

GOOD = {
    "schema": "mm_robot/scenario/1", "name": "tiny",
    "scene": {"robot": {"x": 0, "y": 0, "yaw": 0},
              "objects": [{"name": "a", "colour": "red", "shape": "ball", "x": 2, "y": 0},
                          {"name": "b", "colour": "blue", "shape": "cone", "x": 1, "y": 1}]},
    "timeline": [{"t": 0.5, "text": "go to the red ball"}],
    "criteria": {"expect": "reach", "targets": ["a"], "time_limit": 20},
}


def broken(path: list, value) -> dict:
    data = copy.deepcopy(GOOD)
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


def test_public_suite_has_every_category_and_loads():
    suite = load_suite(PUBLIC)
    assert len(suite) >= 40
    categories = {s.category for s in suite}
    assert categories == {"goto", "search", "stop", "change", "ambiguous", "not_present"}
    distractor_counts = {len(s.scene.objects) - 1 for s in suite if s.category == "goto"}
    assert distractor_counts == {0, 1, 2, 3, 4, 5}
    for s in suite:
        intents = [parse(c.text) for c in s.timeline]
        if s.category == "not_present":
            goto = intents[0]
            assert not [o for o in s.scene.objects if o.colour == goto.colour and o.shape == goto.shape]
        if s.category == "ambiguous":
            goto = intents[0]
            assert len([o for o in s.scene.objects if (o.colour, o.shape) == (goto.colour, goto.shape)]) == 2
        if s.category == "stop":
            assert intents[-1].kind == "stop" and s.criteria.expect == "stop"
        if s.criteria.expect == "reach":
            final = intents[-1]
            for name in s.criteria.targets:  # the targets are what the last command names
                assert s.scene.object(name).label == final.label, s.name


def test_committed_suite_matches_the_generator():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_scenarios.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_round_trip_through_yaml():
    for path in sorted(PUBLIC.glob("*.yaml"))[:6]:
        s = load_scenario(path)
        again = scenario_from_dict(yaml.safe_load(yaml.safe_dump(scenario_to_dict(s))))
        assert again.scene == s.scene and again.timeline == s.timeline and again.criteria == s.criteria


@pytest.mark.parametrize("path,value,field", [
    (["scene", "objects", 1, "colour"], "pink", "scene.objects[1].colour"),
    (["scene", "objects", 0, "x"], "far", "scene.objects[0].x"),
    (["scene", "objects", 0, "wobble"], 1, "scene.objects[0]"),
    (["scene", "robot", "yaw"], float("nan"), "scene.robot.yaw"),
    (["timeline", 0, "text"], 42, "timeline[0].text"),
    (["timeline", 0, "t"], -1, "timeline[0].t"),
    (["criteria", "targets", 0], "zzz", "criteria.targets[0]"),
    (["criteria", "expect"], "dance", "criteria.expect"),
    (["criteria", "time_limit"], KeyError, "criteria"),
    (["criteria", "time_limit"], 0.2, "criteria.time_limit"),
    (["schema"], "other/1", "schema"),
])
def test_loader_error_names_the_field(path, value, field):
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(broken(path, value), "x.yaml")
    assert f"x.yaml: {field}" in str(err.value)


def test_loader_rejects_semantic_mistakes():
    data = broken(["criteria"], {"expect": "stop", "time_limit": 20})
    with pytest.raises(ScenarioError, match="needs a stop command"):
        scenario_from_dict(data)
    data = broken(["timeline"], [{"t": 3, "text": "go"}, {"t": 1, "text": "stop"}])
    with pytest.raises(ScenarioError, match=r"timeline\[1\].t: times must not decrease"):
        scenario_from_dict(data)
    data = broken(["scene", "objects", 1, "name"], "a")
    with pytest.raises(ScenarioError, match="used twice"):
        scenario_from_dict(data)


def test_load_scenario_reports_bad_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: [unclosed\n")
    with pytest.raises(ScenarioError, match="bad.yaml: not valid YAML"):
        load_scenario(bad)
