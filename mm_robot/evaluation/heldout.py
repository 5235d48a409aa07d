"""Held-out scenario suites, generated: small and far targets, colour shift, other cameras, free
phrasing, and each compositional form of the command language (relation, ordinal, exclusion,
sequence).

Every scenario is drawn from an explicit seed, so a suite is reproducible, and the wording is
kept out of training: the phrasing wrappers share no template, prefix, verb or suffix with the
training data's (``training.scenes``, ``training.phrasing``; test_heldout.py checks), and colour
and shape words come from the canonical names, the held-out synonyms and one-letter typos.
Each command carries its ``goal`` (the objects it means, per step), computed from the scene's
ground truth with the same resolver the policies use (:func:`mm_robot.core.plan.resolve`) and
checked against the generator's intent, so the oracle is an upper bound for every category.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Callable, Optional, Sequence

import yaml

from ..core.language import understand
from ..core.plan import Thing, resolve
from ..sim.generate import IN_VIEW, Kind, Layout, PlacementError, all_kinds, distractor_kinds, random_robot
from ..sim.scenario import Criteria, Scenario, TimedCommand, scenario_to_dict
from ..sim.spec import CAMERA_FORWARD, CameraSpec, ObjectSpec, Pose2D, Randomisation, SceneSpec
from ..training.scenes import HELD_OUT_SYNONYMS

# Wrappers no training template, prefix, verb or suffix uses ({o}: the object phrase).
WRAPPERS = ("would you mind heading to {o}", "kindly make your way over to {o}",
            "when you get a chance, drive over to {o}", "off you go to {o}", "your job now: go to {o}",
            "i would appreciate it if you went to {o}", "be a dear and fetch {o}", "time to visit {o}",
            "can i ask you to roll up to {o}", "head on over to {o}, would you")
RELATION_TEXTS = {"next_to": "next to", "left_of": "to the left of", "right_of": "to the right of",
                  "behind": "behind", "in_front_of": "in front of"}
MIN_TARGET_PIXELS = 10.0  # target height the camera must resolve (px), as the targets say


def _word(rng: random.Random, canonical: str, held_out: float = 0.4) -> str:
    """The canonical word, or (sometimes) a held-out synonym of it."""
    synonyms = HELD_OUT_SYNONYMS.get(canonical, [])
    return rng.choice(synonyms) if synonyms and rng.random() < held_out else canonical


def _typo(rng: random.Random, word: str) -> str:
    """One swap of neighbouring letters inside the word (the language mends one edit)."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def _things(robot: Pose2D, objects: Sequence[ObjectSpec]) -> list[Thing]:
    """The objects as the robot sees them at its start pose (ground truth)."""
    found = []
    for o in objects:
        dx, dy = o.x - robot.x, o.y - robot.y
        bearing = math.remainder(math.atan2(dy, dx) - robot.yaw, 2 * math.pi)
        found.append(Thing(o.name, o.colour, o.shape, bearing, math.hypot(dx, dy), o.size))
    return found


def _check_goal(text: str, robot: Pose2D, objects: Sequence[ObjectSpec], expected: Sequence[str]) -> None:
    """The words, read by the command language and resolved on ground truth, must mean the
    generator's ``expected`` object per step (else the layout is redrawn)."""
    reading = understand(text)
    if not reading.is_go or len(reading.plan.steps) != len(expected):
        raise ValueError(f"generator wrote {text!r}, which the language reads as {reading.kind}: {reading.reason}")
    for step, name in zip(reading.plan.steps, expected):
        picks = resolve(step, _things(robot, objects))
        if not picks or picks[0].key != name:
            raise PlacementError(f"{text!r} does not single out {name} here")


def _scene(layout: Layout, robot: Pose2D, seed: int, arena: float = 8.0, camera: CameraSpec = CameraSpec(),
           jitter: float = 0.0) -> SceneSpec:
    objects = tuple(sorted(layout.objects, key=lambda o: o.name))
    return SceneSpec(objects, robot, arena, camera, Randomisation(seed=seed, colour_jitter=jitter)).validate()


def _goto(name: str, category: str, description: str, scene: SceneSpec, text: str,
          steps: Sequence[Sequence[str]], time_limit: float = 50.0) -> Scenario:
    """A scenario whose one command means ``steps`` (object names per step); the last step's
    objects are the targets, earlier ones must be visited in order."""
    goal = tuple(tuple(s) for s in steps)
    visit = tuple(s[0] for s in goal[:-1])
    return Scenario(name, scene, (TimedCommand(0.5, text, goal=goal),),
                    Criteria("reach", goal[-1], time_limit=time_limit, visit=visit), description, category)


def _max_distance(size: float, camera: CameraSpec) -> float:
    """Farthest centre distance at which an object of ``size`` is still MIN_TARGET_PIXELS tall."""
    return camera.focal * size / MIN_TARGET_PIXELS + CAMERA_FORWARD


def small_far(rng: random.Random, index: int, seed: int) -> Scenario:
    """A small target (0.1-0.16 m) nearby or a normal one 4-6 m away, in view, still >= 10 px tall."""
    arena = 14.0
    robot = random_robot(rng, arena)
    layout = Layout(rng, robot, arena)
    kind = rng.choice(all_kinds())
    small = index % 2 == 0
    size = rng.uniform(0.1, 0.16) if small else rng.choice((0.25, 0.3))
    far = min(_max_distance(size, CameraSpec()) - 0.2, 6.0)
    near = 1.8 if small else 4.0
    target = layout.add("target", kind, (near, far), IN_VIEW, False, size=round(size, 3))
    layout.keep_path_clear((robot.x, robot.y), (target.x, target.y))
    for i, k in enumerate(distractor_kinds(rng, kind, 1 + index % 3)):
        layout.add(f"d{i}", k, (1.0, 5.0), (-math.pi, math.pi), True)
    text = f"go to the {kind[0]} {kind[1]}"
    _check_goal(text, robot, layout.objects, ["target"])
    what = "small" if small else "far"
    return _goto(f"small_far_{index}", "small_far", f"{text!r}: a {what} target ({size:.2f} m, "
                 f"{math.hypot(target.x - robot.x, target.y - robot.y):.1f} m away) in view.",
                 _scene(layout, robot, seed, arena), text, [["target"]], 70.0)


def colour_shift(rng: random.Random, index: int, seed: int) -> Scenario:
    """Strong per-channel colour jitter (0.2-0.3) and random lighting, look-alike distractors."""
    robot = random_robot(rng)
    layout = Layout(rng, robot)
    kind = rng.choice(all_kinds())
    target = layout.add("target", kind, (1.5, 3.5), IN_VIEW, False)
    layout.keep_path_clear((robot.x, robot.y), (target.x, target.y))
    for i, k in enumerate(distractor_kinds(rng, kind, 2, hard_fraction=0.7)):
        layout.add(f"d{i}", k, (0.8, 4.0), (-math.pi, math.pi), True)
    jitter = round(rng.uniform(0.2, 0.3), 3)
    text = f"go to the {kind[0]} {kind[1]}"
    return _goto(f"colour_shift_{index}", "colour_shift", f"{text!r} under colour jitter {jitter}.",
                 _scene(layout, robot, seed, jitter=jitter), text, [["target"]])


def camera_fov(rng: random.Random, index: int, seed: int) -> Scenario:
    """A 45°-100° camera; the target off-centre (up to 70 % of the half field of view)."""
    anchor_deg = (45.0, 100.0, 60.0, 82.0)[index % 4]  # both ends of the range, and between
    hfov = math.radians(min(100.0, max(45.0, anchor_deg + rng.uniform(-3.0, 3.0))))
    camera = CameraSpec(320, 240, round(hfov, 4))
    robot = random_robot(rng)
    layout = Layout(rng, robot)
    kind = rng.choice(all_kinds())
    side = 0.7 * hfov / 2.0
    target = layout.add("target", kind, (1.5, 3.2), (side * 0.4, side) if rng.random() < 0.5
                        else (-side, -side * 0.4), False)
    layout.keep_path_clear((robot.x, robot.y), (target.x, target.y))
    for i, k in enumerate(distractor_kinds(rng, kind, 1 + index % 2)):
        layout.add(f"d{i}", k, (0.8, 4.0), (-math.pi, math.pi), True)
    text = f"go to the {kind[0]} {kind[1]}"
    return _goto(f"camera_fov_{index}", "camera_fov",
                 f"{text!r} through a {math.degrees(hfov):.0f} deg camera, target off-centre.",
                 _scene(layout, robot, seed, camera=camera), text, [["target"]])


def phrasing(rng: random.Random, index: int, seed: int) -> Scenario:
    """A plain scene; the command wrapped in held-out wording, held-out synonyms, or a typo."""
    robot = random_robot(rng)
    layout = Layout(rng, robot)
    kind = rng.choice(all_kinds())
    target = layout.add("target", kind, (1.5, 3.5), IN_VIEW, False)
    layout.keep_path_clear((robot.x, robot.y), (target.x, target.y))
    for i, k in enumerate(distractor_kinds(rng, kind, 1 + index % 2)):
        layout.add(f"d{i}", k, (0.8, 4.0), (-math.pi, math.pi), True)
    colour, shape = _word(rng, kind[0]), _word(rng, kind[1])
    if index % 3 == 2:
        colour = _typo(rng, colour)
    text = rng.choice(WRAPPERS).format(o=f"the {colour} {shape}")
    return _goto(f"phrasing_{index}", "phrasing", f"{text!r}: held-out wording for the {kind[0]} {kind[1]}.",
                 _scene(layout, robot, seed), text, [["target"]])


def _other_kinds(rng: random.Random, count: int, exclude: Sequence[Kind] = (), shape: Optional[str] = None,
                 colour: Optional[str] = None) -> list[Kind]:
    """``count`` different kinds, none in ``exclude``, of ``shape`` / ``colour`` when given."""
    pool = [k for k in all_kinds() if k not in exclude and (shape is None or k[1] == shape)
            and (colour is None or k[0] == colour)]
    return rng.sample(pool, count)


def _place(layout: Layout, name: str, kind: Kind, distance: float, bearing: float, size: Optional[float] = None,
           spread: float = 0.1) -> ObjectSpec:
    """An object near (``distance``, ``bearing``) from the robot (small random spread)."""
    return layout.add(name, kind, (distance - spread, distance + spread), (bearing - 0.04, bearing + 0.04),
                      False, size=size)


def relation(rng: random.Random, index: int, seed: int) -> Scenario:
    """Two objects of one kind; an anchor tells them apart (next to, left of, right of, behind,
    in front of)."""
    robot = random_robot(rng)
    layout = Layout(rng, robot)
    relation_name = ("next_to", "left_of", "right_of", "behind", "in_front_of")[index % 5]
    anchor_kind, head_kind = _other_kinds(rng, 2)
    if relation_name in ("behind", "in_front_of"):
        _place(layout, "anchor", anchor_kind, 2.1, 0.0)
        far = _place(layout, "far", head_kind, 3.3, 0.3)
        near = _place(layout, "near", head_kind, 1.2, -0.3)
        target, other = (far, near) if relation_name == "behind" else (near, far)
    elif relation_name == "next_to":
        a_bearing = rng.choice((-0.3, 0.3))
        anchor = _place(layout, "anchor", anchor_kind, 2.6, a_bearing)
        target = _place(layout, "beside", head_kind, 2.6, a_bearing - math.copysign(0.25, a_bearing))
        other = _place(layout, "apart", head_kind, 1.6, -a_bearing)
        del anchor
    else:
        _place(layout, "anchor", anchor_kind, 2.4, 0.0)
        left = _place(layout, "left", head_kind, 2.4, 0.35)
        right = _place(layout, "right", head_kind, 2.4, -0.35)
        target, other = (left, right) if relation_name == "left_of" else (right, left)
    del other
    head = f"{head_kind[0]} {head_kind[1]}" if index % 2 else head_kind[1]
    text = f"go to the {head} {RELATION_TEXTS[relation_name]} the {anchor_kind[0]} {anchor_kind[1]}"
    _check_goal(text, robot, layout.objects, [target.name])
    return _goto(f"relation_{index}", "relation", f"{text!r}: two {head_kind[1]}s, the relation picks one.",
                 _scene(layout, robot, seed), text, [[target.name]])


ORDINAL_FORMS = (("leftmost", "the leftmost {s}"), ("rightmost", "the rightmost {s}"),
                 ("second_left", "the second {s} from the left"), ("nearest", "the nearest {s}"),
                 ("farthest", "the farthest {s}"), ("biggest", "the biggest {s}"), ("smallest", "the smallest {s}"),
                 ("second_right", "the second {s} from the right"))


def ordinal(rng: random.Random, index: int, seed: int) -> Scenario:
    """Three objects of one shape (different colours) across the view; an ordinal or superlative
    picks one by bearing, distance or size."""
    robot = random_robot(rng)
    layout = Layout(rng, robot)
    form, template = ORDINAL_FORMS[index % len(ORDINAL_FORMS)]
    shape = rng.choice(("ball", "box", "cylinder", "cone", "capsule"))
    kinds = _other_kinds(rng, 3, shape=shape)
    bearings = [0.36, 0.0, -0.36]
    rng.shuffle(bearings)
    distances = [1.6, 2.4, 3.2] if form in ("nearest", "farthest") else [2.3, 2.3, 2.3]
    sizes = [0.2, 0.3, 0.42] if form in ("biggest", "smallest") else [0.3, 0.3, 0.3]
    order = list(range(3))
    rng.shuffle(order)
    for i, k in enumerate(kinds):
        _place(layout, f"o{i}", k, distances[order[i]], bearings[i], size=sizes[order[i]])
    things = {t.key: t for t in _things(robot, layout.objects)}
    pick = {"leftmost": lambda: max(things.values(), key=lambda t: t.bearing),
            "rightmost": lambda: min(things.values(), key=lambda t: t.bearing),
            "second_left": lambda: sorted(things.values(), key=lambda t: -t.bearing)[1],
            "second_right": lambda: sorted(things.values(), key=lambda t: t.bearing)[1],
            "nearest": lambda: min(things.values(), key=lambda t: t.distance),
            "farthest": lambda: max(things.values(), key=lambda t: t.distance),
            "biggest": lambda: max(things.values(), key=lambda t: t.size),
            "smallest": lambda: min(things.values(), key=lambda t: t.size)}[form]().key
    text = "go to " + template.format(s=shape)
    _check_goal(text, robot, layout.objects, [pick])
    return _goto(f"ordinal_{index}", "ordinal", f"{text!r} among three {shape}s.", _scene(layout, robot, seed),
                 text, [[pick]])


EXCLUSION_FORMS = ("go to any {s} except the {x} one", "go to the {s} that is not {x}",
                   "go to anything but the {x} ones", "drive to any {s} other than the {x} one")


def exclusion(rng: random.Random, index: int, seed: int) -> Scenario:
    """Two objects of the excluded colour and one that is not; the exclusion picks it."""
    robot = random_robot(rng)
    layout = Layout(rng, robot)
    template = EXCLUSION_FORMS[index % len(EXCLUSION_FORMS)]
    shape = rng.choice(("ball", "box", "cylinder", "cone", "capsule"))
    excluded, kept = rng.sample(["red", "green", "blue", "yellow", "purple", "orange", "cyan"], 2)
    any_shape = "{s}" not in template
    shapes = _other_kinds(rng, 2, colour=excluded) if any_shape else [(excluded, shape)] * 2
    bearings = [0.36, 0.0, -0.36]
    rng.shuffle(bearings)
    _place(layout, "x0", shapes[0], rng.uniform(1.5, 2.2), bearings[0])
    _place(layout, "x1", shapes[1], rng.uniform(2.2, 3.0), bearings[1])
    target = _place(layout, "kept", (kept, rng.choice(("ball", "box", "cylinder", "cone", "capsule")) if any_shape
                                     else shape), rng.uniform(2.0, 3.0), bearings[2])
    text = template.format(s=shape, x=excluded)
    _check_goal(text, robot, layout.objects, [target.name])
    return _goto(f"exclusion_{index}", "exclusion", f"{text!r}: the only object that is not {excluded}.",
                 _scene(layout, robot, seed), text, [[target.name]])


SEQUENCE_FORMS = ("go to the {a} and then the {b}", "drive to the {a}, then to the {b}",
                  "first go to the {a}, after that the {b}", "visit the {a} and then go to the {b}")


def sequence(rng: random.Random, index: int, seed: int) -> Scenario:
    """Two named objects in turn: the first must be visited, the second reached at the end."""
    robot = random_robot(rng)
    layout = Layout(rng, robot)
    kind_a, kind_b, *others = _other_kinds(rng, 3)
    first = layout.add("first", kind_a, (1.5, 2.6), IN_VIEW, False)
    layout.keep_path_clear((robot.x, robot.y), (first.x, first.y))
    # Off to one side and no farther than the first: the way on never runs through the first.
    side = (0.7, 1.4) if rng.random() < 0.5 else (-1.4, -0.7)
    second = layout.add("second", kind_b, (1.4, 2.4), side, True)
    layout.keep_path_clear((first.x, first.y), (second.x, second.y))
    for i, k in enumerate(others[:index % 2]):
        layout.add(f"d{i}", k, (0.8, 4.0), (-math.pi, math.pi), True)
    text = SEQUENCE_FORMS[index % len(SEQUENCE_FORMS)].format(a=f"{kind_a[0]} {kind_a[1]}",
                                                                b=f"{kind_b[0]} {kind_b[1]}")
    _check_goal(text, robot, layout.objects, ["first", "second"])
    return _goto(f"sequence_{index}", "sequence", f"{text!r}: visit the first, end at the second.",
                 _scene(layout, robot, seed), text, [["first"], ["second"]], 80.0)


GENERATORS: dict[str, Callable[[random.Random, int, int], Scenario]] = {
    "small_far": small_far, "colour_shift": colour_shift, "camera_fov": camera_fov, "phrasing": phrasing,
    "relation": relation, "ordinal": ordinal, "exclusion": exclusion, "sequence": sequence,
}
CATEGORIES = tuple(GENERATORS)


def heldout_scenario(category: str, index: int, seed: int) -> Scenario:
    """Scenario ``index`` of ``category`` from ``seed`` (layouts that break a rule are redrawn)."""
    rng = random.Random(seed)
    for _ in range(200):
        try:
            return GENERATORS[category](rng, index, seed)
        except PlacementError:
            continue
    raise PlacementError(f"{category} {index}: no layout from seed {seed}")


def heldout_suite(categories: Sequence[str] = CATEGORIES, per_category: int = 4,
                  base_seed: int = 17000) -> list[Scenario]:
    return [heldout_scenario(c, i, base_seed + 100 * k + i)
            for k, c in enumerate(categories) for i in range(per_category)]


def write_heldout_suite(out: str | Path, categories: Sequence[str] = CATEGORIES, per_category: int = 4,
                        base_seed: int = 17000) -> list[Path]:
    """Write the suite as YAML files (one per scenario) into ``out``; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for scenario in heldout_suite(categories, per_category, base_seed):
        path = out / f"{scenario.name}.yaml"
        header = (f"# Generated by `mm-robot make-suite` (mm_robot/evaluation/heldout.py, base seed {base_seed}); "
                  "edit the generator, not this file.\n")
        path.write_text(header + yaml.safe_dump(scenario_to_dict(scenario), sort_keys=False, width=110))
        paths.append(path)
    return paths
