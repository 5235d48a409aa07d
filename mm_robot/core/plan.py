"""Compositional commands as a plan, and a resolver that picks the target among detections.

A command reads as a :class:`Plan`: one or more steps ("go to A and then B"), each a
:class:`Reference` to one object: a head description (colour / shape / sound), optionally

* an exclusion: "anything but the red one", "any ball except the blue one";
* a relation to an anchor object: next to, left of, right of, behind, in front of (as the robot
  sees them: left of = at a larger bearing; behind = farther away along about the same bearing);
* an ordinal or superlative: the leftmost, rightmost, nearest, farthest, biggest, smallest, the
  second from the left, the second nearest.

:func:`resolve` ranks :class:`Thing` records (any policy's candidates: the baseline's blobs with
estimated distances, the oracle's ground truth) for one reference, best first. Pure and
ROS-free; the text side (which words mean what) is :func:`mm_robot.core.language.read_plan`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Sequence

if TYPE_CHECKING:
    from .camera_model import CameraModel

RELATIONS = ("next_to", "left_of", "right_of", "behind", "in_front_of")
ORDER_KEYS = ("left", "right", "near", "far", "big", "small")
SAME_LINE = 0.5  # rad: "behind" / "in front of" means along about the same bearing as the anchor
SIDE_MARGIN = 0.02  # rad: "left of" means clearly at a larger bearing
NOMINAL_HEIGHT = 0.3  # m: the height assumed for an object whose distance is estimated from its image
KEEP_BEARING = 0.35  # rad: how far a kept pick may move between two frames in which it is seen


@dataclass(frozen=True)
class Description:
    """What an object looks or sounds like; None / False matches anything."""

    colour: Optional[str] = None
    shape: Optional[str] = None
    sound: bool = False
    label: str = ""

    @property
    def names_anything(self) -> bool:
        return self.colour is not None or self.shape is not None or self.sound

    def matches(self, thing: "Thing") -> bool:
        return ((self.colour is None or thing.colour == self.colour)
                and (self.shape is None or thing.shape == self.shape)
                and (not self.sound or thing.sounding))

    def to_json(self) -> dict:
        return {"colour": self.colour, "shape": self.shape, "sound": self.sound, "label": self.label}


@dataclass(frozen=True)
class Ordinal:
    """The ``index``-th (0 = first) object in the order of ``key`` (one of :data:`ORDER_KEYS`)."""

    key: str
    index: int = 0

    def to_json(self) -> dict:
        return {"key": self.key, "index": self.index}


@dataclass(frozen=True)
class Reference:
    """One object a step of a plan goes to; ``text`` is the words that name it."""

    head: Description
    text: str = ""
    exclude: Optional[Description] = None
    relation: Optional[str] = None
    anchor: Optional[Description] = None
    ordinal: Optional[Ordinal] = None

    @property
    def form(self) -> str:
        """"plain", "exclusion", "relation" or "ordinal" (the category of the reference)."""
        if self.relation is not None:
            return "relation"
        if self.ordinal is not None:
            return "ordinal"
        return "exclusion" if self.exclude is not None else "plain"

    @property
    def label(self) -> str:
        return self.text or self.head.label

    def to_json(self) -> dict:
        data: dict = {"text": self.text, "form": self.form, "head": self.head.to_json()}
        if self.exclude is not None:
            data["exclude"] = self.exclude.to_json()
        if self.relation is not None:
            data["relation"] = self.relation
            data["anchor"] = self.anchor.to_json() if self.anchor else None
        if self.ordinal is not None:
            data["ordinal"] = self.ordinal.to_json()
        return data


@dataclass(frozen=True)
class Plan:
    """The steps of a command, in order (one step unless it is a sequence)."""

    steps: tuple[Reference, ...] = field(default_factory=tuple)

    @property
    def is_sequence(self) -> bool:
        return len(self.steps) > 1

    def to_json(self, active: int = 0) -> dict:
        """The decision JSON's ``plan``: the steps and which one is active (0-based)."""
        return {"steps": [s.to_json() for s in self.steps], "active": int(active)}


@dataclass(frozen=True)
class Thing:
    """A candidate object as a policy sees it: robot-relative ``bearing`` (rad, left positive)
    and ``distance`` (m; estimated from its apparent size when only an image is known), ``size``
    (m, or its apparent height in pixels when unknown: comparable within one frame). ``key``
    identifies it to the caller (an object name, a candidate index)."""

    key: str
    colour: Optional[str]
    shape: Optional[str]
    bearing: float
    distance: float
    size: float
    sounding: bool = False

    @classmethod
    def seen(cls, key: str, colour: Optional[str], shape: Optional[str], box: Sequence[float],
             lens: "CameraModel") -> "Thing":
        """A thing seen in an image as a pixel ``box`` through ``lens``: its bearing from the box's
        centre, its distance from its apparent height as if it were :data:`NOMINAL_HEIGHT` tall."""
        height = max(1.0, float(box[3] - box[1]))
        return cls(key, colour, shape, lens.bearing((box[0] + box[2]) / 2.0), lens.fy * NOMINAL_HEIGHT / height,
                   height)

    @property
    def position(self) -> tuple[float, float]:
        """Robot-frame (x forward, y left) position in metres."""
        return self.distance * math.cos(self.bearing), self.distance * math.sin(self.bearing)


def _gap(a: Thing, b: Thing) -> float:
    (ax, ay), (bx, by) = a.position, b.position
    return math.hypot(ax - bx, ay - by)


def _related(relation: str, thing: Thing, anchors: list[Thing]) -> Optional[float]:
    """How well ``thing`` stands in ``relation`` to the best anchor (lower is better), or None."""
    scores = []
    for anchor in anchors:
        if relation == "next_to":
            scores.append(_gap(thing, anchor))
        elif relation == "left_of" and thing.bearing > anchor.bearing + SIDE_MARGIN:
            scores.append(_gap(thing, anchor))
        elif relation == "right_of" and thing.bearing < anchor.bearing - SIDE_MARGIN:
            scores.append(_gap(thing, anchor))
        elif relation in ("behind", "in_front_of"):
            farther = thing.distance > anchor.distance
            same_line = abs(math.remainder(thing.bearing - anchor.bearing, 2 * math.pi)) < SAME_LINE
            if same_line and farther == (relation == "behind"):
                scores.append(_gap(thing, anchor))
    return min(scores) if scores else None


_ORDER = {"left": lambda t: -t.bearing, "right": lambda t: t.bearing, "near": lambda t: t.distance,
          "far": lambda t: -t.distance, "big": lambda t: -t.size, "small": lambda t: t.size}


def resolve(reference: Reference, things: Sequence[Thing]) -> list[Thing]:
    """The things ``reference`` may mean, best first (empty: none of them fits).

    Plain and exclusion references rank the matches nearest first (the documented answer to an
    ambiguous command); a relation ranks by closeness to an anchor that satisfies it (an object
    is never its own anchor); an ordinal returns only its one pick.
    """
    heads = [t for t in things if reference.head.matches(t)
             and not (reference.exclude is not None and reference.exclude.matches(t))]
    if reference.relation is not None:
        anchor = reference.anchor or Description()
        scored = []
        for thing in heads:
            anchors = [a for a in things if a.key != thing.key and anchor.matches(a)]
            score = _related(reference.relation, thing, anchors)
            if score is not None:
                scored.append((score, thing.distance, thing))
        return [t for _, _, t in sorted(scored, key=lambda s: (s[0], s[1]))]
    if reference.ordinal is not None:
        ordered = sorted(heads, key=_ORDER[reference.ordinal.key])
        index = reference.ordinal.index
        return [ordered[index]] if index < len(ordered) else []
    return sorted(heads, key=lambda t: t.distance)


class StickyPick:
    """:func:`resolve`, keeping the object first picked: up close, or once the robot faces it, the
    words may no longer single it out (two red balls fill the view; the leftmost cone is centred).
    The kept object is the one of the same colour and shape nearest the last pick's bearing, and
    within :data:`KEEP_BEARING` of it: in a frame where the pick is not seen, a look-alike
    elsewhere (the near red cylinder when the far one "behind the orange ball" was picked) is not
    it."""

    def __init__(self) -> None:
        self._kept: Optional[tuple[Optional[str], Optional[str], float]] = None

    def reset(self) -> None:
        """A new command or step: pick afresh."""
        self._kept = None

    def rank(self, reference: Reference, things: Sequence[Thing]) -> list[Thing]:
        """The things ``reference`` may mean, best first, the kept one (if still in view) first."""
        ranked = resolve(reference, things)
        if self._kept is not None:
            colour, shape, bearing = self._kept
            same = [t for t in things if (t.colour, t.shape) == (colour, shape)
                    and abs(math.remainder(t.bearing - bearing, 2 * math.pi)) <= KEEP_BEARING]
            if same:
                kept = min(same, key=lambda t: abs(t.bearing - bearing))
                ranked = [kept] + [t for t in ranked if t.key != kept.key]
        if ranked:
            self._kept = (ranked[0].colour, ranked[0].shape, ranked[0].bearing)
        return ranked


def plain_plan(colour: Optional[str], shape: Optional[str], sound: bool = False, label: str = "") -> Plan:
    """A one-step plan to the object of this description."""
    return Plan((Reference(Description(colour, shape, sound, label), label),))
