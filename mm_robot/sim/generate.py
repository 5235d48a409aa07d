"""Deterministic scene and scenario generation (public suite and training data).

Everything draws from an explicit ``random.Random(seed)``, so the same seed always gives
the same scene. Placement rules: objects keep ``SEPARATION`` m apart (surface to surface),
at least ``ROBOT_CLEARANCE`` m from the robot's body, and distractors stay out of the
corridor between the robot and each target, so a direct path exists (the oracle does not
plan around obstacles; it only deflects near ones).
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Optional, Sequence

from ..core.vocabulary import COLOURS, SHAPES
from .scenario import Criteria, Scenario, TimedCommand
from .spec import ROBOT_RADIUS, AudioSpec, ObjectSpec, Pose2D, Randomisation, SceneSpec, SoundSpec, SpeechSpec

SEPARATION = 0.35  # m between object surfaces
ROBOT_CLEARANCE = 0.5  # m between the robot's body and any object at start
CORRIDOR = ROBOT_RADIUS + 0.25  # m: distractors' surface stays this far from a robot→target line
ARENA = 8.0

GOTO_TEMPLATES = ("go to the {c} {s}", "drive to the {c} {s}", "find the {c} {s}",
                  "move towards the {c} {s}", "approach the {c} {s}", "please go to the {c} {s}")
STOP_TEXTS = ("stop", "stop now", "halt!", "freeze", "please stop")
SIZES = (0.25, 0.3, 0.35)

Kind = tuple[str, str]  # (colour, shape)


class PlacementError(RuntimeError):
    """No layout satisfying the placement rules was found for this seed."""


def all_kinds() -> list[Kind]:
    return [(c, s) for c in COLOURS for s in SHAPES]


def distractor_kinds(rng: random.Random, target: Kind, count: int, hard_fraction: float = 0.5,
                     exclude: Sequence[Kind] = ()) -> list[Kind]:
    """``count`` kinds that differ from ``target``; about ``hard_fraction`` of them share its
    colour or its shape (the cases that need both words to tell apart)."""
    banned = {target, *exclude}
    hard = [k for k in all_kinds() if k not in banned and (k[0] == target[0] or k[1] == target[1])]
    easy = [k for k in all_kinds() if k not in banned and k[0] != target[0] and k[1] != target[1]]
    kinds: list[Kind] = []
    for _ in range(count):
        pool = hard if (rng.random() < hard_fraction and hard) else easy
        choice = rng.choice(pool)
        kinds.append(choice)
    return kinds


def _segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


class Layout:
    """Incremental placement of objects around a robot pose."""

    def __init__(self, rng: random.Random, robot: Pose2D, arena: float = ARENA) -> None:
        self.rng, self.robot, self.half = rng, robot, arena / 2.0
        self.objects: list[ObjectSpec] = []
        self.corridors: list[tuple[float, float, float, float]] = []

    def _fits(self, x: float, y: float, radius: float, corridor: bool) -> bool:
        if max(abs(x), abs(y)) + radius > self.half - 0.3:
            return False
        if math.hypot(x - self.robot.x, y - self.robot.y) < ROBOT_RADIUS + ROBOT_CLEARANCE + radius:
            return False
        for o in self.objects:
            if math.hypot(x - o.x, y - o.y) < radius + o.footprint_radius + SEPARATION:
                return False
        if corridor:
            for ax, ay, bx, by in self.corridors:
                if _segment_distance(x, y, ax, ay, bx, by) < radius + CORRIDOR:
                    return False
        return True

    def add(self, name: str, kind: Kind, distance: tuple[float, float], bearing: tuple[float, float],
            corridor_free: bool, size: Optional[float] = None, tries: int = 200) -> ObjectSpec:
        """Place an object at a random distance and bearing (relative to the robot) that fits."""
        size = size if size is not None else self.rng.choice(SIZES)
        for _ in range(tries):
            d = self.rng.uniform(*distance)
            b = self.robot.yaw + self.rng.uniform(*bearing)
            x, y = self.robot.x + d * math.cos(b), self.robot.y + d * math.sin(b)
            obj = ObjectSpec(name, kind[0], kind[1], round(x, 3), round(y, 3), size,
                             round(self.rng.uniform(-math.pi / 4, math.pi / 4), 3))
            if self._fits(obj.x, obj.y, obj.footprint_radius, corridor_free):
                self.objects.append(obj)
                return obj
        raise PlacementError(f"could not place {name} ({kind[0]} {kind[1]})")

    def keep_path_clear(self, a: tuple[float, float], b: tuple[float, float]) -> None:
        """Distractors added later stay out of the corridor from ``a`` to ``b``."""
        self.corridors.append((a[0], a[1], b[0], b[1]))


def random_robot(rng: random.Random, arena: float = ARENA) -> Pose2D:
    lim = arena / 2.0 - 1.5
    return Pose2D(round(rng.uniform(-lim, lim), 3), round(rng.uniform(-lim, lim), 3),
                  round(rng.uniform(-math.pi, math.pi), 3))


IN_VIEW = (-0.35, 0.35)  # rad: well inside the 60° field of view
BEHIND = (math.radians(100), math.radians(260))


def random_scene(seed: int, distractors: int = 3, target_in_view: Optional[bool] = None,
                 hard_fraction: float = 0.5) -> tuple[SceneSpec, str]:
    """A random scene with one target (name ``"target"``) and ``distractors`` others.

    ``target_in_view`` None picks at random (70 % in view). Returns (scene, target name).
    For training-data generation; the public suite uses the same placement rules.
    """
    rng = random.Random(seed)
    for _attempt in range(50):
        try:
            robot = random_robot(rng)
            layout = Layout(rng, robot)
            kind = rng.choice(all_kinds())
            in_view = target_in_view if target_in_view is not None else rng.random() < 0.7
            target = layout.add("target", kind, (1.2, 3.5), IN_VIEW if in_view else BEHIND, False)
            layout.keep_path_clear((robot.x, robot.y), (target.x, target.y))
            for i, k in enumerate(distractor_kinds(rng, kind, distractors, hard_fraction)):
                layout.add(f"d{i}", k, (0.8, 4.0), (-math.pi, math.pi), True)
            scene = SceneSpec(tuple(layout.objects), robot, ARENA, randomisation=Randomisation(seed=seed))
            return scene.validate(), "target"
        except PlacementError:
            continue
    raise PlacementError(f"seed {seed}: no layout after 50 attempts")


def _goto_text(rng: random.Random, kind: Kind) -> str:
    return rng.choice(GOTO_TEMPLATES).format(c=kind[0], s=kind[1])


def _scenario(name: str, category: str, description: str, robot: Pose2D, layout: Layout, seed: int,
              timeline: list[TimedCommand], criteria: Criteria) -> Scenario:
    objects = tuple(sorted(layout.objects, key=lambda o: o.name))
    scene = SceneSpec(objects, robot, ARENA, randomisation=Randomisation(seed=seed)).validate()
    return Scenario(name, scene, tuple(timeline), criteria, description, category)


def _attempts(seed: int, build) -> Scenario:
    rng = random.Random(seed)
    for _ in range(100):
        try:
            return build(rng)
        except PlacementError:
            continue
    raise PlacementError(f"seed {seed}: no layout")


def goto_scenario(index: int, distractors: int, seed: int) -> Scenario:
    def build(rng: random.Random) -> Scenario:
        robot = random_robot(rng)
        layout = Layout(rng, robot)
        kind = rng.choice(all_kinds())
        target = layout.add("target", kind, (1.5, 3.5), IN_VIEW, False)
        layout.keep_path_clear((robot.x, robot.y), (target.x, target.y))
        for i, k in enumerate(distractor_kinds(rng, kind, distractors)):
            layout.add(f"d{i}", k, (0.8, 4.0), (-math.pi, math.pi), True)
        text = _goto_text(rng, kind)
        return _scenario(f"goto_d{distractors}_{index}", "goto",
                         f"{text!r} with {distractors} distractor(s); the target starts in view.",
                         robot, layout, seed, [TimedCommand(0.5, text)],
                         Criteria("reach", ("target",), time_limit=40.0))
    return _attempts(seed, build)


def search_scenario(index: int, seed: int) -> Scenario:
    def build(rng: random.Random) -> Scenario:
        robot = random_robot(rng)
        layout = Layout(rng, robot)
        kind = rng.choice(all_kinds())
        target = layout.add("target", kind, (1.5, 3.0), BEHIND, False)
        layout.keep_path_clear((robot.x, robot.y), (target.x, target.y))
        for i, k in enumerate(distractor_kinds(rng, kind, 1 + index % 3)):
            layout.add(f"d{i}", k, (0.8, 4.0), (-math.pi, math.pi), True)
        text = _goto_text(rng, kind)
        return _scenario(f"search_{index}", "search",
                         f"{text!r}: the target starts behind the robot; it must turn to find it.",
                         robot, layout, seed, [TimedCommand(0.5, text)],
                         Criteria("reach", ("target",), time_limit=50.0))
    return _attempts(seed, build)


def stop_scenario(index: int, seed: int) -> Scenario:
    def build(rng: random.Random) -> Scenario:
        robot = random_robot(rng)
        layout = Layout(rng, robot)
        kind = rng.choice(all_kinds())
        target = layout.add("target", kind, (3.0, 3.8), (-0.15, 0.15), False)
        layout.keep_path_clear((robot.x, robot.y), (target.x, target.y))
        for i, k in enumerate(distractor_kinds(rng, kind, index % 3)):
            layout.add(f"d{i}", k, (0.8, 4.0), (-math.pi, math.pi), True)
        text = _goto_text(rng, kind)
        stop_at = round(rng.uniform(3.0, 4.5), 1)
        stop_text = rng.choice(STOP_TEXTS)
        return _scenario(f"stop_{index}", "stop",
                         f"{text!r}, then {stop_text!r} at {stop_at} s while driving: stop within "
                         "1.5 s and stay stopped.", robot, layout, seed,
                         [TimedCommand(0.5, text), TimedCommand(stop_at, stop_text)],
                         Criteria("stop", (), time_limit=stop_at + 10.0))
    return _attempts(seed, build)


def change_scenario(index: int, seed: int) -> Scenario:
    def build(rng: random.Random) -> Scenario:
        robot = random_robot(rng)
        layout = Layout(rng, robot)
        first_kind = rng.choice(all_kinds())
        second_kind = distractor_kinds(rng, first_kind, 1, hard_fraction=0.5)[0]
        first = layout.add("first", first_kind, (2.5, 3.5), (-0.3, 0.3), False)
        second = layout.add("second", second_kind, (1.5, 3.0), (-1.2, 1.2), False)
        layout.keep_path_clear((robot.x, robot.y), (first.x, first.y))
        layout.keep_path_clear((robot.x, robot.y), (second.x, second.y))
        mid = ((robot.x + first.x) / 2, (robot.y + first.y) / 2)
        layout.keep_path_clear(mid, (second.x, second.y))
        for i, k in enumerate(distractor_kinds(rng, first_kind, index % 3, exclude=[second_kind])):
            layout.add(f"d{i}", k, (0.8, 4.0), (-math.pi, math.pi), True)
        text1, text2 = _goto_text(rng, first_kind), _goto_text(rng, second_kind)
        change_at = round(rng.uniform(2.5, 4.0), 1)
        return _scenario(f"change_{index}", "change",
                         f"{text1!r}, changed at {change_at} s to {text2!r}: the second target counts.",
                         robot, layout, seed, [TimedCommand(0.5, text1), TimedCommand(change_at, text2)],
                         Criteria("reach", ("second",), time_limit=50.0))
    return _attempts(seed, build)


def ambiguous_scenario(index: int, seed: int) -> Scenario:
    def build(rng: random.Random) -> Scenario:
        robot = random_robot(rng)
        layout = Layout(rng, robot)
        kind = rng.choice(all_kinds())
        a = layout.add("match_a", kind, (1.5, 3.5), (-0.45, 0.45), False)
        b = layout.add("match_b", kind, (1.5, 3.5), (-0.45, 0.45), False)
        layout.keep_path_clear((robot.x, robot.y), (a.x, a.y))
        layout.keep_path_clear((robot.x, robot.y), (b.x, b.y))
        for i, k in enumerate(distractor_kinds(rng, kind, 1 + index % 2)):
            layout.add(f"d{i}", k, (0.8, 4.0), (-math.pi, math.pi), True)
        text = _goto_text(rng, kind)
        return _scenario(f"ambiguous_{index}", "ambiguous",
                         f"{text!r} with two matching objects: reaching either one succeeds "
                         "(the oracle picks the nearest in view).", robot, layout, seed,
                         [TimedCommand(0.5, text)], Criteria("reach", ("match_a", "match_b"), time_limit=40.0))
    return _attempts(seed, build)


def not_present_scenario(index: int, seed: int) -> Scenario:
    def build(rng: random.Random) -> Scenario:
        robot = random_robot(rng)
        layout = Layout(rng, robot)
        absent = rng.choice(all_kinds())
        for i, k in enumerate(distractor_kinds(rng, absent, 1 + index % 4, hard_fraction=0.7)):
            layout.add(f"d{i}", k, (1.0, 4.0), (-math.pi, math.pi), False)
        text = _goto_text(rng, absent)
        return _scenario(f"not_present_{index}", "not_present",
                         f"{text!r} but there is none: turn a full circle, stop and report not_found.",
                         robot, layout, seed, [TimedCommand(0.5, text)], Criteria("not_found", (), time_limit=40.0))
    return _attempts(seed, build)


def red_ball_scenario() -> Scenario:
    """The README's demo: "go to the red ball", off to the left, with two distractors."""
    objects = (ObjectSpec("target", "red", "ball", 2.2, 0.9), ObjectSpec("d0", "blue", "box", 2.6, -0.8),
               ObjectSpec("d1", "green", "cylinder", 3.2, 0.1))
    scene = SceneSpec(objects, Pose2D(-0.5, 0.0, 0.0), ARENA, randomisation=Randomisation(seed=7)).validate()
    return Scenario("go_to_red_ball", scene, (TimedCommand(0.5, "go to the red ball"),),
                    Criteria("reach", ("target",), time_limit=40.0),
                    "'go to the red ball' off to the left, with a blue box and a green cylinder.", "goto")


# -- hearing: spoken commands, sound-identified targets, sound-guided search ---------------------
VOICES = (("en-us", 160, 50), ("en-gb", 150, 40), ("en-gb-scotland", 140, 60), ("en-029", 170, 45),
          ("en-us+f3", 160, 70), ("en-gb-x-rp", 180, 55))  # (espeak-ng voice, words/min, pitch)
SOUND_COMMANDS = {  # per kind of sound: commands that pick the object by it ({c} colour, {s} shape)
    "beep": ("go to the beeping one", "find the {c} {s} that is beeping", "drive to the ringing {s}",
             "go to the {s} that is making a sound"),
    "tone": ("go to the humming one", "approach the {s} that is making a sound", "go to the one you hear"),
    "noise": ("drive to the noisy one", "go to the buzzing {s}", "find the {c} {s} that is making a noise"),
    "speech": ("go to the talking {s}", "go to the one that is speaking"),
}
SEARCH_COMMANDS = ("find the beeping one", "go to the sound", "find the {c} {s} that is making a sound",
                   "look for the one you hear", "find the noisy {s}", "turn to the {s} that is beeping")
CALLS = ("over here", "i am here", "come to me")  # what a talking object says


def random_sound(rng: random.Random, kind: str) -> SoundSpec:
    """A sound of ``kind`` with drawn pitch, rhythm and level (dBFS at 1 m)."""
    level = round(rng.uniform(-24.0, -16.0), 1)
    if kind == "beep":
        return SoundSpec("beep", level, round(rng.uniform(700, 2500)), round(rng.uniform(0.3, 1.0), 2),
                         round(rng.uniform(0.3, 0.6), 2))
    if kind == "tone":
        return SoundSpec("tone", level, round(rng.uniform(300, 1500)))
    if kind == "noise":
        return SoundSpec("noise", level, seed=rng.randrange(1000))
    voice, speed, pitch = rng.choice(VOICES)
    return SoundSpec("speech", level, text=rng.choice(CALLS), voice=voice, speed=speed, pitch=pitch)


def _with_audio(scene: SceneSpec, noise: str, snr_db: float, seed: int) -> SceneSpec:
    return replace(scene, audio=AudioSpec(noise, snr_db, seed)).validate()


def spoken_scenario(index: int, typed: Scenario, seed: int) -> Scenario:
    """``typed`` (a goto scenario) with its command spoken instead of typed, in one of ``VOICES``,
    over white noise or babble at 20, 15 or 10 dB SNR: success compares with the typed run."""
    voice, speed, pitch = VOICES[index % len(VOICES)]
    noise, snr = ("white", "babble")[index % 2], (20.0, 15.0, 10.0)[index % 3]
    first = typed.timeline[0]
    said = TimedCommand(first.t, first.text, say=SpeechSpec(first.text, voice, speed, pitch), typed=False)
    scene = _with_audio(typed.scene, noise, snr, seed)
    return Scenario(f"spoken_{typed.name}", scene, (said,), typed.criteria,
                    f"{typed.name} spoken, not typed: {first.text!r} in espeak-ng voice {voice} "
                    f"({speed} wpm, pitch {pitch}) over {noise} noise at {snr:g} dB SNR.", "spoken")


def audio_visual_scenario(index: int, seed: int) -> Scenario:
    """Two or three objects of one colour and shape in view; only the target makes a sound, and the
    command picks it by that sound alone (or with its colour and shape, which all of them share)."""
    kind_of_sound = ("beep", "tone", "noise", "beep", "speech")[index % 5]

    def build(rng: random.Random) -> Scenario:
        robot = random_robot(rng)
        layout = Layout(rng, robot)
        kind = rng.choice(all_kinds())
        size = rng.choice(SIZES)
        target = layout.add("target", kind, (1.5, 3.2), (-0.4, 0.4), False, size)
        layout.keep_path_clear((robot.x, robot.y), (target.x, target.y))
        for i in range(1 + index % 2):
            layout.add(f"twin_{i}", kind, (1.5, 3.2), (-0.45, 0.45), True, size)
        for i, k in enumerate(distractor_kinds(rng, kind, index % 3 // 2)):
            layout.add(f"d{i}", k, (0.8, 4.0), (-math.pi, math.pi), True)
        layout.objects[0] = replace(layout.objects[0], sound=random_sound(rng, kind_of_sound))
        text = rng.choice(SOUND_COMMANDS[kind_of_sound]).format(c=kind[0], s=kind[1])
        scenario = _scenario(f"audio_visual_{index}", "audio_visual",
                             f"{text!r}: {len(layout.objects) - 1 - index % 3 // 2} look-alike(s) of the "
                             f"{kind[0]} {kind[1]} in view; only the target makes a sound ({kind_of_sound}).",
                             robot, layout, seed, [TimedCommand(0.5, text)],
                             Criteria("reach", ("target",), time_limit=40.0))
        if index % 3 == 2:
            scenario = replace(scenario, scene=_with_audio(scenario.scene, "white", 20.0, seed))
        return scenario
    return _attempts(seed, build)


def sound_search_scenario(index: int, seed: int) -> Scenario:
    """The sounding target starts behind the robot; in every other scenario a silent look-alike is
    in view, so turning toward the sound is the only way to the right one."""
    kind_of_sound = ("beep", "tone", "noise")[index % 3]

    def build(rng: random.Random) -> Scenario:
        robot = random_robot(rng)
        layout = Layout(rng, robot)
        kind = rng.choice(all_kinds())
        target = layout.add("target", kind, (1.5, 3.0), BEHIND, False)
        layout.keep_path_clear((robot.x, robot.y), (target.x, target.y))
        if index % 2 == 0:
            layout.add("twin", kind, (1.5, 3.0), IN_VIEW, True, target.size)
        for i, k in enumerate(distractor_kinds(rng, kind, 1 + index % 2)):
            layout.add(f"d{i}", k, (0.8, 4.0), (-math.pi, math.pi), True)
        layout.objects[0] = replace(layout.objects[0], sound=random_sound(rng, kind_of_sound))
        text = SEARCH_COMMANDS[index % len(SEARCH_COMMANDS)].format(c=kind[0], s=kind[1])
        twin = " with a silent look-alike in view" if index % 2 == 0 else ""
        return _scenario(f"sound_search_{index}", "sound_search",
                         f"{text!r}: the target ({kind_of_sound}) starts behind the robot{twin}; turn "
                         "toward the sound to find it.", robot, layout, seed, [TimedCommand(0.5, text)],
                         Criteria("reach", ("target",), time_limit=50.0))
    return _attempts(seed, build)


def public_suite(base_seed: int = 1000) -> list[Scenario]:
    """The public scenarios (deterministic): the demo, 43 generated ones for sight and commands,
    and those of hearing (spoken commands mirroring the first goto scenario of each distractor
    count, audio-visual, sound-guided search)."""
    suite: list[Scenario] = [red_ball_scenario()]
    seed = base_seed
    for distractors in range(6):
        for k in range(3):
            suite.append(goto_scenario(k, distractors, seed))
            seed += 1
    for maker, count in ((search_scenario, 6), (stop_scenario, 5), (change_scenario, 5),
                         (ambiguous_scenario, 4), (not_present_scenario, 5)):
        for k in range(count):
            suite.append(maker(k, seed))
            seed += 1
    typed = {s.name: s for s in suite}
    for k in range(6):
        suite.append(spoken_scenario(k, typed[f"goto_d{k}_0"], seed))
        seed += 1
    for maker, count in ((audio_visual_scenario, 12), (sound_search_scenario, 6)):
        for k in range(count):
            suite.append(maker(k, seed))
            seed += 1
    return suite

