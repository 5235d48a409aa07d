"""Compositional commands: the plan the language reads, and the resolver that picks the target."""

from __future__ import annotations

import math

import pytest

from mm_robot.core.language import read_plan, understand
from mm_robot.core.plan import Description, Ordinal, Plan, Reference, Thing, resolve


def plan_of(text: str) -> Plan:
    reading = understand(text)
    assert reading.is_go, (text, reading.reason)
    return reading.plan


@pytest.mark.parametrize("text, relation, head, anchor", [
    ("go to the red ball next to the blue box", "next_to", ("red", "ball"), ("blue", "box")),
    ("drive to the ball left of the green cone", "left_of", (None, "ball"), ("green", "cone")),
    ("go to the cone to the right of the yellow box", "right_of", (None, "cone"), ("yellow", "box")),
    ("find the box behind the purple cylinder", "behind", (None, "box"), ("purple", "cylinder")),
    ("go to the ball in front of the white capsule", "in_front_of", (None, "ball"), ("white", "capsule")),
    ("go to the one beside the red box", "next_to", (None, None), ("red", "box")),
])
def test_relations(text, relation, head, anchor):
    step, = plan_of(text).steps
    assert step.relation == relation and step.form == "relation"
    assert (step.head.colour, step.head.shape) == head
    assert (step.anchor.colour, step.anchor.shape) == anchor


@pytest.mark.parametrize("text, key, index, shape", [
    ("go to the leftmost ball", "left", 0, "ball"), ("go to the rightmost box", "right", 0, "box"),
    ("go to the nearest cone", "near", 0, "cone"), ("go to the farthest cylinder", "far", 0, "cylinder"),
    ("find the biggest box", "big", 0, "box"), ("go to the smallest ball", "small", 0, "ball"),
    ("go to the second ball from the left", "left", 1, "ball"),
    ("go to the third box from the right", "right", 2, "box"),
    ("go to the second nearest ball", "near", 1, "ball"), ("go to the ball on the left", "left", 0, "ball"),
])
def test_ordinals_and_superlatives(text, key, index, shape):
    step, = plan_of(text).steps
    assert step.ordinal == Ordinal(key, index) and step.head.shape == shape


@pytest.mark.parametrize("text, head, excluded", [
    ("go to anything but the red one", (None, None), ("red", None)),
    ("go to any ball except the blue one", (None, "ball"), ("blue", None)),
    ("go to the ball that is not red", (None, "ball"), ("red", None)),
    ("drive to any object other than the green cone", (None, None), ("green", "cone")),
])
def test_exclusion(text, head, excluded):
    step, = plan_of(text).steps
    assert step.form == "exclusion"
    assert (step.head.colour, step.head.shape) == head
    assert (step.exclude.colour, step.exclude.shape) == excluded


@pytest.mark.parametrize("text", ["go to the red ball and then the blue box",
                                  "go to the red ball, then to the blue box",
                                  "drive to the red ball and after that the blue box"])
def test_sequences(text):
    plan = plan_of(text)
    assert [(s.head.colour, s.head.shape) for s in plan.steps] == [("red", "ball"), ("blue", "box")]
    assert plan.to_json(active=1)["active"] == 1 and len(plan.to_json()["steps"]) == 2


def test_a_step_that_names_nothing_is_not_understood():
    assert read_plan("go to the red ball and then come back")[0] is None
    assert understand("go to the red ball and then come back").kind == "not_understood"


def test_plain_commands_keep_their_reading():
    reading = understand("go to the red ball")
    assert (reading.colour, reading.shape) == ("red", "ball")
    assert reading.plan.steps[0].form == "plain"


def test_unknown_colour_matches_nothing():
    step, = plan_of("go to the brown ball").steps
    assert not step.head.matches(Thing("a", "red", "ball", 0.0, 1.0, 0.3))


def thing(key, colour, shape, bearing_deg, distance, size=0.3):
    return Thing(key, colour, shape, math.radians(bearing_deg), distance, size)


SCENE = [thing("a", "red", "ball", 20, 2.0), thing("b", "blue", "ball", 0, 3.0, 0.5),
         thing("c", "green", "ball", -20, 1.5, 0.2), thing("box", "yellow", "box", -5, 2.0),
         thing("far", "red", "cone", -6, 3.5)]


@pytest.mark.parametrize("text, expected", [
    ("go to the leftmost ball", "a"), ("go to the rightmost ball", "c"), ("go to the nearest ball", "c"),
    ("go to the farthest ball", "b"), ("go to the biggest ball", "b"), ("go to the smallest ball", "c"),
    ("go to the second ball from the left", "b"), ("go to the second nearest ball", "a"),
    ("go to the ball next to the yellow box", "c"), ("go to the ball left of the yellow box", "a"),
    ("go to the ball right of the yellow box", "c"), ("go to the cone behind the yellow box", "far"),
    ("go to the box in front of the red cone", "box"), ("go to any ball except the red one", "c"),
    ("go to anything but the balls", "box"),
])
def test_resolver_picks_the_target(text, expected):
    step, = plan_of(text).steps
    picks = resolve(step, SCENE)
    assert picks and picks[0].key == expected, [p.key for p in picks]


def test_resolver_finds_nothing_without_an_anchor_or_enough_objects():
    assert resolve(Reference(Description(shape="ball"), relation="next_to",
                             anchor=Description("purple", "box")), SCENE) == []
    assert resolve(Reference(Description(shape="box"), ordinal=Ordinal("left", 1)), SCENE) == []


def test_a_sticky_pick_keeps_the_object_first_picked_once_the_words_no_longer_single_it_out():
    """"the leftmost ball": once the robot has turned toward it, another ball may be leftmost."""
    from mm_robot.core.plan import StickyPick
    step, = plan_of("go to the leftmost ball").steps
    pick = StickyPick()
    assert pick.rank(step, SCENE)[0].key == "a"
    turned = [thing("a", "red", "ball", 2, 2.0), thing("b", "blue", "ball", 30, 3.0, 0.5),
              thing("c", "green", "ball", -30, 1.5, 0.2)]
    assert resolve(step, turned)[0].key == "b"
    assert pick.rank(step, turned)[0].key == "a"
    pick.reset()
    assert pick.rank(step, turned)[0].key == "b"
    step, = plan_of("go to the red ball left of the blue ball").steps
    scene = [thing("near", "red", "ball", -25, 1.5), thing("far", "red", "ball", 12, 3.0),
             thing("anchor", "blue", "ball", 5, 2.5)]
    pick = StickyPick()
    assert pick.rank(step, scene)[0].key == "far"
    unseen = [t for t in scene if t.key != "far"]  # a frame without the pick: the look-alike is not it
    assert [t.key for t in pick.rank(step, unseen)] == []


def test_a_thing_seen_in_an_image_is_placed_by_its_box_and_lens():
    from mm_robot.core.camera_model import CameraModel
    from mm_robot.core.plan import NOMINAL_HEIGHT
    lens = CameraModel.from_hfov(320, 240, math.radians(60.0))
    near, far = (Thing.seen(k, "red", "ball", box, lens) for k, box in (("n", (150, 100, 170, 160)),
                                                                           ("f", (250, 110, 260, 125))))
    assert near.distance == pytest.approx(lens.fy * NOMINAL_HEIGHT / 60) and far.distance > near.distance
    assert near.bearing == pytest.approx(lens.bearing(160)) and far.bearing < 0 < near.bearing + 1e-9
    assert near.size == 60 and far.size == 15
