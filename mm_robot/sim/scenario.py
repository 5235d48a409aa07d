"""Scenarios: a scene, a timeline of commands and success criteria, loaded from YAML.

The schema is documented in docs/scenarios.md. Loading is strict: an unknown key, a
missing required key or a bad value raises :class:`ScenarioError` whose message names the
file and the field path (e.g. ``scene.objects[2].colour``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import yaml

from ..core.commands import parse
from ..core.vocabulary import COLOURS, SHAPES
from .spec import (
    NOISE_KINDS,
    SOUND_KINDS,
    AudioSpec,
    CameraSpec,
    ObjectSpec,
    Pose2D,
    Randomisation,
    SceneSpec,
    SoundSpec,
    SpeechSpec,
)

SCENARIO_SCHEMA = "mm_robot/scenario/1"
EXPECTATIONS = ("reach", "stop", "not_found")


class ScenarioError(ValueError):
    """A scenario file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class TimedCommand:
    """Command ``text`` given at scenario time ``t`` (s): typed (published on ``command``) when
    ``typed``, spoken into the microphones when ``say`` (synthesised) or ``audio`` (a WAV of the
    same words, relative to the scenario file) is set; at least one of the three."""

    t: float
    text: str
    audio: Optional[str] = None
    say: Optional[SpeechSpec] = None
    typed: bool = True
    goal: Optional[tuple[tuple[str, ...], ...]] = None  # per step, the object names it means

    @property
    def spoken(self) -> bool:
        return self.say is not None or self.audio is not None


@dataclass(frozen=True)
class Criteria:
    """What success means. See docs/scenarios.md for each field."""

    expect: str
    targets: tuple[str, ...] = ()
    reach_distance: float = 0.8
    facing_tolerance: float = math.radians(25.0)
    stop_within: float = 1.5
    time_limit: float = 40.0
    avoid_contact: bool = True
    hold: float = 1.5
    stationary_linear: float = 0.02
    stationary_angular: float = 0.05
    visit: tuple[str, ...] = ()  # objects to come within reach_distance of, in order, before the end


@dataclass(frozen=True)
class Scenario:
    name: str
    scene: SceneSpec
    timeline: tuple[TimedCommand, ...]
    criteria: Criteria
    description: str = ""
    category: str = ""
    source: Optional[str] = None  # file it was loaded from

    @property
    def has_sound(self) -> bool:
        """Is there anything for the microphones: a sounding object, background noise, or a
        spoken command?"""
        return self.scene.has_sound or any(c.spoken for c in self.timeline)

    def commands_between(self, start: float, end: float) -> list[TimedCommand]:
        """Commands with ``start < t <= end`` (so stepping with (prev, now] plays each once)."""
        return [c for c in self.timeline if start < c.t <= end]

    def goal_for(self, command: TimedCommand) -> Optional[tuple[tuple[str, ...], ...]]:
        """The objects ``command`` means, per step, from the scenario (never from its words'
        reading): its own ``goal`` when given; for the last command of the timeline, when it is
        not a stop, the criteria's (``reach``: a step to each ``visit`` object, then one to any of
        ``targets``; ``not_found``: no step: nothing fits); else None (unknown: the oracle reads
        the words)."""
        if command.goal is not None:
            return command.goal
        if command is not self.timeline[-1] or parse(command.text).kind == "stop":
            return None
        if self.criteria.expect == "reach":
            return tuple((name,) for name in self.criteria.visit) + (tuple(self.criteria.targets),)
        return () if self.criteria.expect == "not_found" else None

    @property
    def stop_time(self) -> Optional[float]:
        """Time of the last stop command, or None."""
        stops = [c.t for c in self.timeline if parse(c.text).kind == "stop"]
        return stops[-1] if stops else None


# -- loading --------------------------------------------------------------------------------
class _Reader:
    """Walks a YAML mapping, remembering the field path for error messages."""

    def __init__(self, data: Any, path: str, source: str) -> None:
        self.data, self.path, self.source = data, path, source

    def fail(self, message: str, key: Optional[str] = None) -> ScenarioError:
        where = self.path + (("." if self.path else "") + key if key else "")
        return ScenarioError(f"{self.source}: {where or '<top>'}: {message}")

    def mapping(self, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if not isinstance(self.data, dict):
            raise self.fail(f"expected a mapping, got {type(self.data).__name__}")
        unknown = sorted(set(map(str, self.data)) - allowed)
        if unknown:
            raise self.fail(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
        missing = sorted(required - set(self.data))
        if missing:
            raise self.fail(f"missing required key(s) {', '.join(missing)}")
        return self.data

    def child(self, key: Union[str, int]) -> "_Reader":
        path = f"{self.path}[{key}]" if isinstance(key, int) else (f"{self.path}.{key}" if self.path else key)
        return _Reader(self.data[key], path, self.source)

    def number(self, key: str, default: Any = None, low: float = -math.inf, high: float = math.inf) -> float:
        if key not in self.data:
            if default is None:
                raise self.fail("required number missing", key)
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(f"expected a finite number, got {value!r}", key)
        if not (low <= value <= high):
            raise self.fail(f"{value!r} outside [{low}, {high}]", key)
        return float(value)

    def integer(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"expected an integer, got {value!r}", key)
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"expected true or false, got {value!r}", key)
        return value

    def string(self, key: str, default: Optional[str] = None, choices: Optional[tuple] = None) -> str:
        if key not in self.data:
            if default is None:
                raise self.fail("required text missing", key)
            return default
        value = self.data[key]
        if not isinstance(value, str):
            raise self.fail(f"expected text, got {value!r}", key)
        if choices is not None and value not in choices:
            raise self.fail(f"{value!r} is not one of {', '.join(choices)}", key)
        return value

    def sequence(self, key: str, default: Optional[list] = None) -> list["_Reader"]:
        if key not in self.data:
            if default is None:
                raise self.fail("required list missing", key)
            return []
        if not isinstance(self.data[key], list):
            raise self.fail(f"expected a list, got {type(self.data[key]).__name__}", key)
        node = self.child(key)
        return [node.child(i) for i in range(len(node.data))]


def scenario_from_dict(data: Any, source: str = "<dict>") -> Scenario:
    """Build and check a :class:`Scenario` from parsed YAML; raises :class:`ScenarioError`."""
    top = _Reader(data, "", source)
    top.mapping({"schema", "name", "description", "category", "scene", "timeline", "criteria"},
                {"schema", "name", "scene", "timeline", "criteria"})
    if data["schema"] != SCENARIO_SCHEMA:
        raise top.fail(f"unsupported schema {data['schema']!r}; expected {SCENARIO_SCHEMA}", "schema")
    name = top.string("name")
    scene = _scene(top.child("scene"))
    timeline = _timeline(top, scene.arena_size / 2.0, {o.name for o in scene.objects})
    criteria = _criteria(top.child("criteria"), scene, timeline)
    return Scenario(name, scene, timeline, criteria, top.string("description", ""),
                    top.string("category", ""), source if source != "<dict>" else None)


def _scene(node: _Reader) -> SceneSpec:
    node.mapping({"arena_size", "robot", "camera", "objects", "randomise", "audio"}, {"objects"})
    arena = node.number("arena_size", 8.0, 2.0, 50.0)
    robot = Pose2D()
    if "robot" in node.data:
        r = node.child("robot")
        r.mapping({"x", "y", "yaw"})
        robot = Pose2D(r.number("x", 0.0), r.number("y", 0.0), r.number("yaw", 0.0, -2 * math.pi, 2 * math.pi))
    camera = CameraSpec()
    if "camera" in node.data:
        c = node.child("camera")
        c.mapping({"width", "height", "hfov_deg"})
        camera = CameraSpec(c.integer("width", 320), c.integer("height", 240),
                            math.radians(c.number("hfov_deg", 60.0, 5.0, 170.0)))
        if not (8 <= camera.width <= 4096 and 8 <= camera.height <= 4096):
            raise c.fail("width and height must be within 8..4096")
    randomisation = Randomisation()
    if "randomise" in node.data:
        rn = node.child("randomise")
        rn.mapping({"seed", "lighting", "floor", "colour_jitter"})
        randomisation = Randomisation(rn.integer("seed", 0), rn.boolean("lighting", True),
                                      rn.boolean("floor", True), rn.number("colour_jitter", 0.0, 0.0, 0.3))
    audio = _audio(node.child("audio")) if "audio" in node.data else None
    objects = []
    for o in node.sequence("objects"):
        o.mapping({"name", "colour", "shape", "x", "y", "size", "yaw", "sound"},
                  {"name", "colour", "shape", "x", "y"})
        sound = _sound(o.child("sound")) if "sound" in o.data else None
        obj = ObjectSpec(o.string("name"), o.string("colour", choices=tuple(COLOURS)),
                         o.string("shape", choices=tuple(SHAPES)), o.number("x"), o.number("y"),
                         o.number("size", 0.3, 0.05, 1.5), o.number("yaw", 0.0), sound)
        try:
            obj.validate()
        except ValueError as exc:
            raise o.fail(str(exc)) from None
        objects.append(obj)
    scene = SceneSpec(tuple(objects), robot, arena, camera, randomisation, audio)
    try:
        scene.validate()
    except ValueError as exc:
        raise node.fail(str(exc)) from None
    return scene


# Sound fields allowed per kind of object sound (besides kind and level_db), with their defaults.
_SOUND_FIELDS = {"beep": {"pitch_hz": 1000.0, "period_s": 0.5, "duty": 0.5}, "tone": {"pitch_hz": 440.0},
                 "noise": {"seed": 0}, "speech": {"text": None, "voice": "en-us", "speed": 160, "pitch": 50,
                                                  "period_s": 0.0}}


def _sound(node: _Reader) -> SoundSpec:
    node.mapping({"kind", "level_db", "pitch_hz", "period_s", "duty", "text", "voice", "speed", "pitch",
                  "seed"}, {"kind"})
    kind = node.string("kind", choices=SOUND_KINDS)
    allowed = _SOUND_FIELDS[kind]
    extra = sorted(set(node.data) - {"kind", "level_db"} - set(allowed))
    if extra:
        raise node.fail(f"{', '.join(extra)} not used by a {kind} sound (it takes level_db, "
                        f"{', '.join(allowed)})", extra[0])
    values: dict[str, Any] = {"level_db": node.number("level_db", -20.0, -60.0, 0.0)}
    limits = {"pitch_hz": (50.0, 7000.0), "period_s": (0.05 if kind == "beep" else 0.0, 60.0),
              "duty": (0.05, 1.0)}
    for key, default in allowed.items():
        if key in limits:
            values[key] = node.number(key, default, *limits[key])
        elif key in ("seed", "speed", "pitch"):
            values[key] = node.integer(key, default)
        else:
            values[key] = node.string(key, default)
    return _checked(node, SoundSpec(kind, **values))


def _audio(node: _Reader) -> AudioSpec:
    node.mapping({"noise", "snr_db", "seed", "mic_spacing", "talkers", "ild_db", "rear_db"})
    spec = AudioSpec(node.string("noise", "none", NOISE_KINDS), node.number("snr_db", 20.0, -10.0, 60.0),
                     node.integer("seed", 0), node.number("mic_spacing", 0.16, 0.02, 0.5),
                     node.integer("talkers", 4), node.number("ild_db", 6.0, 0.0, 20.0),
                     node.number("rear_db", 4.0, 0.0, 20.0))
    return _checked(node, spec)


def _say(node: _Reader, text: Optional[str], half: float) -> SpeechSpec:
    node.mapping({"text", "voice", "speed", "pitch", "level_db", "x", "y"})
    if text is None and "text" not in node.data:
        raise node.fail("required when the timeline entry has no text of its own", "text")
    speech = SpeechSpec(node.string("text", text), node.string("voice", "en-us"), node.integer("speed", 160),
                        node.integer("pitch", 50), node.number("level_db", -20.0, -60.0, 0.0),
                        node.number("x", low=-half, high=half) if "x" in node.data else None,
                        node.number("y", low=-half, high=half) if "y" in node.data else None)
    return _checked(node, speech)


def _checked(node: _Reader, spec):
    """``spec.validate()``, its ValueError turned into a ScenarioError naming the field it names."""
    try:
        return spec.validate()
    except ValueError as error:
        field_name = str(error).split(" ", 1)[0]
        raise node.fail(str(error), field_name if field_name in node.data else None) from None


def _goal(node: _Reader, names: set[str]) -> tuple[tuple[str, ...], ...]:
    """``goal``: a list of steps, each an object name or a list of acceptable names."""
    steps = []
    for step in node.sequence("goal"):
        options = step.data if isinstance(step.data, list) else [step.data]
        if not options or any(not isinstance(n, str) or n not in names for n in options):
            raise step.fail(f"{step.data!r}: each step is an object of the scene or a list of them "
                            f"({', '.join(sorted(names)) or 'none'})")
        steps.append(tuple(options))
    return tuple(steps)


def _timeline(top: _Reader, half: float, names: set[str]) -> tuple[TimedCommand, ...]:
    commands = []
    last = -math.inf
    for c in top.sequence("timeline"):
        c.mapping({"t", "text", "audio", "say", "goal"}, {"t"})
        if "text" not in c.data and "say" not in c.data:
            raise c.fail("needs text (typed), say (spoken), or both")
        t = c.number("t", low=0.0)
        if t < last:
            raise c.fail(f"times must not decrease (t={t} after t={last})", "t")
        last = t
        typed = "text" in c.data
        text = c.string("text") if typed else None
        if typed and (not text.strip() or len(text) > 500):
            raise c.fail("text must be 1..500 characters", "text")
        say = _say(c.child("say"), text, half) if "say" in c.data else None
        audio = c.data.get("audio")
        if audio is not None and not isinstance(audio, str):
            raise c.fail(f"expected a file path or null, got {audio!r}", "audio")
        goal = _goal(c, names) if "goal" in c.data else None
        commands.append(TimedCommand(t, text if typed else say.text, audio, say, typed, goal))
    if not commands:
        raise top.fail("needs at least one command", "timeline")
    return tuple(commands)


def _criteria(node: _Reader, scene: SceneSpec, timeline: tuple[TimedCommand, ...]) -> Criteria:
    node.mapping({"expect", "targets", "reach_distance", "facing_tolerance_deg", "stop_within",
                  "time_limit", "avoid_contact", "hold", "visit"}, {"expect", "time_limit"})
    expect = node.string("expect", choices=EXPECTATIONS)
    names = {o.name for o in scene.objects}
    targets = []
    for t in node.sequence("targets", default=[]):
        if not isinstance(t.data, str) or t.data not in names:
            raise t.fail(f"{t.data!r} is not an object in the scene ({', '.join(sorted(names)) or 'none'})")
        targets.append(t.data)
    if expect == "reach" and not targets:
        raise node.fail("expect: reach needs at least one target", "targets")
    if expect != "reach" and targets:
        raise node.fail(f"expect: {expect} takes no targets", "targets")
    visit = []
    for v in node.sequence("visit", default=[]):
        if not isinstance(v.data, str) or v.data not in names:
            raise v.fail(f"{v.data!r} is not an object in the scene ({', '.join(sorted(names)) or 'none'})")
        visit.append(v.data)
    if visit and expect != "reach":
        raise node.fail("visit is for expect: reach (a sequence of goals)", "visit")
    time_limit = node.number("time_limit", low=1.0, high=600.0)
    if timeline[-1].t >= time_limit:
        raise node.fail(f"the last command (t={timeline[-1].t}) is not before the time limit", "time_limit")
    if expect == "stop" and not any(parse(c.text).kind == "stop" for c in timeline):
        raise node.fail("expect: stop needs a stop command in the timeline", "expect")
    return Criteria(expect, tuple(targets), node.number("reach_distance", 0.8, 0.0, 5.0),
                    math.radians(node.number("facing_tolerance_deg", 25.0, 1.0, 180.0)),
                    node.number("stop_within", 1.5, 0.1, 30.0), time_limit,
                    node.boolean("avoid_contact", True), node.number("hold", 1.5, 0.0, 30.0), visit=tuple(visit))


def load_scenario(path: Union[str, Path]) -> Scenario:
    """Load and check one scenario file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    return scenario_from_dict(data, str(path))


def load_suite(directory: Union[str, Path]) -> list[Scenario]:
    """Every ``*.yaml`` in ``directory``, sorted by file name."""
    files = sorted(Path(directory).glob("*.yaml"))
    if not files:
        raise ScenarioError(f"{directory}: no *.yaml scenarios")
    return [load_scenario(f) for f in files]


def scenario_to_dict(s: Scenario) -> dict:
    """The YAML-ready form of a scenario (inverse of :func:`scenario_from_dict`)."""
    c, sc = s.criteria, s.scene
    scene: dict[str, Any] = {
        "arena_size": sc.arena_size,
        "robot": {"x": sc.robot.x, "y": sc.robot.y, "yaw": round(sc.robot.yaw, 4)},
        "randomise": {"seed": sc.randomisation.seed, "lighting": sc.randomisation.lighting,
                      "floor": sc.randomisation.floor, "colour_jitter": sc.randomisation.colour_jitter},
        "objects": [_object_dict(o) for o in sc.objects],
    }
    if sc.audio is not None:
        scene["audio"] = {key: getattr(sc.audio, key) for key in ("noise", "snr_db", "seed", "mic_spacing")}
        scene["audio"].update({key: getattr(sc.audio, key) for key in ("talkers", "ild_db", "rear_db")
                               if getattr(sc.audio, key) != getattr(AudioSpec(), key)})
    if sc.camera != CameraSpec():
        scene["camera"] = {"width": sc.camera.width, "height": sc.camera.height,
                           "hfov_deg": round(math.degrees(sc.camera.hfov), 3)}
    criteria: dict[str, Any] = {"expect": c.expect, "time_limit": c.time_limit}
    if c.targets:
        criteria["targets"] = list(c.targets)
    defaults = Criteria(c.expect)
    for key in ("reach_distance", "stop_within", "hold"):
        if getattr(c, key) != getattr(defaults, key):
            criteria[key] = getattr(c, key)
    if c.facing_tolerance != defaults.facing_tolerance:
        criteria["facing_tolerance_deg"] = round(math.degrees(c.facing_tolerance), 3)
    if c.avoid_contact != defaults.avoid_contact:
        criteria["avoid_contact"] = c.avoid_contact
    if c.visit:
        criteria["visit"] = list(c.visit)
    return {"schema": SCENARIO_SCHEMA, "name": s.name, "description": s.description,
            "category": s.category, "scene": scene,
            "timeline": [_command_dict(t) for t in s.timeline], "criteria": criteria}


def _object_dict(o: ObjectSpec) -> dict:
    data: dict[str, Any] = {"name": o.name, "colour": o.colour, "shape": o.shape, "x": round(o.x, 3),
                            "y": round(o.y, 3), "size": round(o.size, 3), "yaw": round(o.yaw, 3)}
    if o.sound is not None:
        data["sound"] = {"kind": o.sound.kind, "level_db": o.sound.level_db}
        data["sound"].update({key: getattr(o.sound, key) for key in _SOUND_FIELDS[o.sound.kind]})
    return data


def _command_dict(c: TimedCommand) -> dict:
    goal = {"goal": [list(step) if len(step) > 1 else step[0] for step in c.goal]} if c.goal is not None else {}
    if c.say is None:  # typed (the form of every scenario written before spoken commands)
        return {"t": c.t, "text": c.text, "audio": c.audio, **goal}
    data: dict[str, Any] = {"t": c.t, **goal}
    if c.typed:
        data["text"] = c.text
    if c.audio is not None:
        data["audio"] = c.audio
    say = c.say
    data["say"] = {"text": say.text} if not c.typed or say.text != c.text else {}
    data["say"].update({"voice": say.voice, "speed": say.speed, "pitch": say.pitch, "level_db": say.level_db})
    if say.x is not None:
        data["say"].update({"x": say.x, "y": say.y})
    return data
