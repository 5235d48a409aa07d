"""Success criteria on synthetic traces: each rule can fail on its own."""

from __future__ import annotations

import math

from mm_robot.sim.criteria import Sample, evaluate
from mm_robot.sim.scenario import scenario_from_dict


def scenario(expect: str, timeline: list, targets=("a",), **criteria):
    crit = {"expect": expect, "time_limit": 30, **criteria}
    if expect == "reach":
        crit["targets"] = list(targets)
    return scenario_from_dict({
        "schema": "mm_robot/scenario/1", "name": "s",
        "scene": {"objects": [{"name": "a", "colour": "red", "shape": "ball", "x": 2, "y": 0},
                              {"name": "b", "colour": "blue", "shape": "box", "x": 2, "y": 1.5}]},
        "timeline": [{"t": t, "text": text} for t, text in timeline], "criteria": crit})


def drive(times, clearance, bearing=0.0, moving_until=5.0, touching=(), action="forward"):
    """Samples of a robot moving along x until ``moving_until`` then standing still."""
    out = []
    for t in times:
        moving = t < moving_until
        out.append(Sample(t, min(t, moving_until) * 0.2, 0.0, 0.0, 0.2 if moving else 0.0, 0.0,
                          touching if 2.0 < t < 2.5 else (), {"a": (clearance(t), bearing)},
                          action if moving else "arrived"))
    return out


TIMES = [i * 0.1 for i in range(100)]
GOTO = [(0.5, "go to the red ball")]


def test_reach_success_when_stopped_close_and_facing():
    r = evaluate(scenario("reach", GOTO), drive(TIMES, lambda t: 0.5))
    assert r.success, r.reasons
    assert r.final_target == "a" and r.path_length == 1.0 and r.settle_time == 5.0


def test_reach_fails_when_too_far():
    r = evaluate(scenario("reach", GOTO), drive(TIMES, lambda t: 1.5))
    assert not r.success and "not within" in r.reasons[0]


def test_reach_fails_when_not_facing():
    r = evaluate(scenario("reach", GOTO), drive(TIMES, lambda t: 0.5, bearing=math.radians(60)))
    assert not r.success and "not facing" in " ".join(r.reasons)


def test_reach_fails_when_still_moving():
    r = evaluate(scenario("reach", GOTO), drive(TIMES, lambda t: 0.5, moving_until=99))
    assert not r.success and "still moving" in " ".join(r.reasons)


def test_touching_a_distractor_fails_but_touching_the_target_does_not():
    bad = evaluate(scenario("reach", GOTO), drive(TIMES, lambda t: 0.5, touching=("b",)))
    assert not bad.success and bad.collisions == 1 and bad.touched == ["b"]
    ok = evaluate(scenario("reach", GOTO), drive(TIMES, lambda t: 0.5, touching=("a",)))
    assert ok.success and ok.collisions == 1


def test_contact_allowed_when_avoid_contact_is_false():
    r = evaluate(scenario("reach", GOTO, avoid_contact=False), drive(TIMES, lambda t: 0.5, touching=("b",)))
    assert r.success


def test_stop_rule_requires_stopping_in_time_and_staying_stopped():
    timeline = GOTO + [(3.0, "stop")]
    ok = evaluate(scenario("stop", timeline), drive(TIMES, lambda t: 2.0, moving_until=4.0))
    assert ok.success, ok.reasons
    late = evaluate(scenario("stop", timeline), drive(TIMES, lambda t: 2.0, moving_until=4.8))
    assert not late.success and "within 1.5 s" in late.reasons[0]
    samples = drive(TIMES, lambda t: 2.0, moving_until=4.0)
    samples[70] = Sample(7.0, 0.8, 0, 0, 0.3, 0.0)  # creeps forward again
    again = evaluate(scenario("stop", timeline), samples)
    assert not again.success and "moved again" in " ".join(again.reasons)
    idle = [Sample(t, 0, 0, 0, 0.0, 0.0) for t in TIMES]
    lazy = evaluate(scenario("stop", timeline), idle)
    assert not lazy.success and "never moved" in lazy.reasons[0]


def test_not_found_requires_the_report():
    s = scenario("not_found", [(0.5, "go to the green cone")])
    still = [Sample(t, 0, 0, 0, 0.0, 0.0, action="not_found" if t > 8 else "search") for t in TIMES]
    assert evaluate(s, still).success
    silent = [Sample(t, 0, 0, 0, 0.0, 0.0, action="search") for t in TIMES]
    r = evaluate(s, silent)
    assert not r.success and r.reasons == ["never reported not_found"]


def test_reach_counts_any_target_reached_not_just_the_nearest():
    s = scenario("reach", GOTO, targets=("a", "b"))
    samples = [Sample(t, 0, 0, 0, 0.0, 0.0, (), {"a": (0.3, 1.2), "b": (0.6, 0.05)}) for t in TIMES]
    r = evaluate(s, samples)
    assert r.success and r.final_target == "b", r.reasons
    samples = [Sample(t, 0, 0, 0, 0.0, 0.0, (), {"a": (0.3, 1.2), "b": (0.9, 0.05)}) for t in TIMES]
    r = evaluate(s, samples)
    assert not r.success and r.final_target == "a" and "not facing a" in r.reasons[0]
