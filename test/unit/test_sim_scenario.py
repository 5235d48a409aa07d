"""Scenario files: the public suite, the generator, and loader errors that name the field."""

from __future__ import annotations

import copy
import math
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
    composed = {"relation", "ordinal", "exclusion", "sequence"}  # generated (make-suite --seed 19000)
    assert categories == {"goto", "search", "stop", "change", "ambiguous", "not_present", "spoken",
                          "audio_visual", "sound_search"} | composed
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
        if s.category in composed:  # the words pick among look-alikes: the goal says which (from ground truth)
            assert all(c.goal for c in s.timeline), s.name
        elif s.criteria.expect == "reach":
            final = intents[-1]
            named = [o.name for o in s.scene.objects if final.colour in (None, o.colour)
                     and final.shape in (None, o.shape) and (not final.sound or o.sound is not None)]
            assert sorted(named) == sorted(s.criteria.targets), s.name  # the targets are what it names


def test_public_hearing_scenarios():
    """Spoken commands mirror typed goto scenarios; in audio-visual ones only sound tells the
    target from its look-alikes; in sound searches the sounding target starts behind the robot."""
    suite = {s.name: s for s in load_suite(PUBLIC)}
    spoken = [s for s in suite.values() if s.category == "spoken"]
    assert len(spoken) >= 5 and len({c.say.voice for s in spoken for c in s.timeline}) >= 4
    for s in spoken:
        typed = suite[s.name.removeprefix("spoken_")]
        assert s.scene.objects == typed.scene.objects and s.criteria == typed.criteria
        assert [(c.t, c.text, c.typed, c.say.text) for c in s.timeline] == [(c.t, c.text, False, c.text)
                                                                             for c in typed.timeline]
        assert s.scene.audio.noise in ("white", "babble") and s.scene.audio.snr_db <= 20
    audio_visual = [s for s in suite.values() if s.category == "audio_visual"]
    assert len(audio_visual) >= 10
    for s in audio_visual:
        target = s.scene.object("target")
        twins = [o for o in s.scene.objects if (o.colour, o.shape) == (target.colour, target.shape)]
        assert len(twins) in (2, 3) and [o.name for o in s.scene.objects if o.sound] == ["target"]
        assert parse(s.timeline[0].text).sound, s.name
    searches = [s for s in suite.values() if s.category == "sound_search"]
    assert len(searches) >= 5
    for s in searches:
        r, target = s.scene.robot, s.scene.object("target")
        bearing = math.remainder(math.atan2(target.y - r.y, target.x - r.x) - r.yaw, 2 * math.pi)
        assert abs(bearing) > math.radians(90) and target.sound is not None, s.name


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


SOUNDING = {"name": "a", "colour": "red", "shape": "ball", "x": 2, "y": 0,
            "sound": {"kind": "beep", "pitch_hz": 900, "period_s": 0.4, "duty": 0.5, "level_db": -20}}


@pytest.mark.parametrize("path,value,field", [
    (["scene", "objects", 0], dict(SOUNDING, sound={"kind": "siren"}), "scene.objects[0].sound.kind"),
    (["scene", "objects", 0], dict(SOUNDING, sound={"kind": "beep", "pitch_hz": 9000}),
     "scene.objects[0].sound.pitch_hz"),
    (["scene", "objects", 0], dict(SOUNDING, sound={"kind": "beep", "duty": 0}),
     "scene.objects[0].sound.duty"),
    (["scene", "objects", 0], dict(SOUNDING, sound={"kind": "tone", "text": "hi"}),
     "scene.objects[0].sound.text"),
    (["scene", "objects", 0], dict(SOUNDING, sound={"kind": "speech"}), "scene.objects[0].sound.text"),
    (["scene", "objects", 0], dict(SOUNDING, sound={"kind": "speech", "text": "hi", "voice": "-x"}),
     "scene.objects[0].sound.voice"),
    (["scene", "objects", 0], dict(SOUNDING, sound={"kind": "noise", "level_db": 6}),
     "scene.objects[0].sound.level_db"),
    (["scene", "audio"], {"noise": "pink"}, "scene.audio.noise"),
    (["scene", "audio"], {"noise": "white", "snr_db": "loud"}, "scene.audio.snr_db"),
    (["scene", "audio"], {"mic_spacing": 2.0}, "scene.audio.mic_spacing"),
    (["scene", "audio"], {"talkers": 40}, "scene.audio.talkers"),
    (["scene", "audio"], {"echo": 1}, "scene.audio"),
    (["timeline", 0, "say"], {"voice": "en-gb", "speed": 20}, "timeline[0].say.speed"),
    (["timeline", 0, "say"], {"pitch": 120}, "timeline[0].say.pitch"),
    (["timeline", 0, "say"], {"x": 1.0}, "timeline[0].say"),
    (["timeline", 0, "say"], {"x": 99.0, "y": 0.0}, "timeline[0].say.x"),
    (["timeline", 0], {"t": 0.5}, "timeline[0]"),
    (["timeline", 0], {"t": 0.5, "say": {"voice": "en-gb"}}, "timeline[0].say.text"),
])
def test_sound_fields_are_checked_and_errors_name_them(path, value, field):
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(broken(path, value), "x.yaml")
    assert f"x.yaml: {field}" in str(err.value)


def test_sound_round_trip_and_spoken_commands():
    data = copy.deepcopy(GOOD)
    data["scene"]["objects"][0] = SOUNDING
    data["scene"]["audio"] = {"noise": "babble", "snr_db": 10, "seed": 4}
    data["timeline"] = [{"t": 0.5, "say": {"text": "go to the beeping one", "voice": "en-gb", "speed": 150}},
                        {"t": 4.0, "text": "go to the red ball", "say": {"x": 1.0, "y": 2.0}}]
    s = scenario_from_dict(data)
    assert s.has_sound and s.scene.object("a").sound.pitch_hz == 900
    first, second = s.timeline
    assert (first.text, first.typed, first.spoken, first.say.voice) == ("go to the beeping one", False, True,
                                                                         "en-gb")
    assert (second.typed, second.say.text, second.say.voice, second.say.x) == (True, "go to the red ball",
                                                                                "en-us", 1.0)
    again = scenario_from_dict(yaml.safe_load(yaml.safe_dump(scenario_to_dict(s))))
    assert again.scene == s.scene and again.timeline == s.timeline
    assert not scenario_from_dict(GOOD).has_sound  # old scenarios: no sound, nothing changes


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
