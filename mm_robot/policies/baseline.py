"""The baseline policy: OpenCV colour segmentation + shape heuristics, no learning.

Honestly a baseline: it knows the vocabulary's colours by hue and tells shapes
apart by how much of their bounding box they fill and how tall they are. It is
the bar the fusion model has to beat, and it keeps the graph working end to end
without torch.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

from ..core.camera_model import camera_for
from ..core.commands import Intent, parse
from ..core.config import setting
from ..core.plan import Description, Reference, StickyPick, Thing
from ..core.records import Action, Candidate, Decision, Grounding, Observation, PolicyOutput
from ..core.steering import SteeringConfig, steer
from ..core.vocabulary import COLOURS

# (fill ratio of the bounding box, height / width) for each shape seen side-on.
SHAPE_PROTOTYPES: dict[str, tuple[float, float]] = {
    "ball": (0.785, 1.0), "box": (0.97, 1.0), "cylinder": (0.93, 1.4),
    "cone": (0.5, 1.0), "capsule": (0.86, 2.0),
}
_CHROMATIC = {name: rgb for name, rgb in COLOURS.items() if name not in ("white", "black")}


def _hue(rgb: tuple[float, float, float]) -> float:
    pixel = np.uint8([[[int(255 * c) for c in rgb]]])
    return float(cv2.cvtColor(pixel, cv2.COLOR_RGB2HSV)[0, 0, 0])


_HUES = {name: _hue(rgb) for name, rgb in _CHROMATIC.items()}


@dataclass(frozen=True)
class BaselineConfig:
    min_area: int = setting(40, "Smallest blob considered an object (pixels).", low=1, high=100000)
    min_saturation: int = setting(90, "Saturation (0-255) above which a pixel has a hue.", low=0, high=255)
    hfov_deg: float = setting(60.0, "Horizontal field of view (degrees) assumed only for frames that come "
                              "without camera_info; otherwise bearings use its K.", low=10.0, high=170.0)
    search_timeout: float = setting(14.0, "Seconds of searching before reporting not found.", low=1.0,
                                    high=300.0)


@dataclass
class ColourShapeBaseline:
    """Policy "baseline": colour + shape heuristics, proportional steering."""

    config: BaselineConfig = field(default_factory=BaselineConfig)
    steering: SteeringConfig = field(default_factory=SteeringConfig)
    name: str = "baseline"

    def __post_init__(self) -> None:
        self._command_text: Optional[str] = None
        self._intent: Intent = Intent("unknown")
        self._search_started: Optional[float] = None
        self._step = 0  # the active step of a sequence
        self._pick = StickyPick()  # a compositional reference's object, kept once picked

    def reset(self) -> None:
        self._command_text = None
        self._intent = Intent("unknown")
        self._search_started = None
        self._step = 0
        self._pick.reset()

    def detect(self, image: np.ndarray) -> list[tuple[str, str, tuple[int, int, int, int], float]]:
        """All coloured blobs: (colour, shape, box, shape_score). ``image``: (H, W, 3) RGB."""
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
        hue, sat, val = hsv[..., 0].astype(np.int16), hsv[..., 1], hsv[..., 2]
        names = list(_HUES)
        hues = np.array([_HUES[n] for n in names], np.int16)
        distance = np.abs(hue[..., None] - hues)  # (H, W, colours), circular over 180
        distance = np.minimum(distance, 180 - distance)
        label = np.argmin(distance, axis=-1)
        chromatic = (sat >= self.config.min_saturation) & (val >= 50)
        masks = {name: chromatic & (label == i) for i, name in enumerate(names)}
        masks["white"] = (sat < 30) & (val > 225)
        masks["black"] = val < 35
        found = []
        for colour, mask in masks.items():
            if mask.sum() < self.config.min_area:
                continue
            count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
            for i in range(1, count):
                x, y, w, h, area = (int(v) for v in stats[i])
                if area < self.config.min_area:
                    continue
                shape, score = _classify_shape(area / float(w * h), h / float(w))
                found.append((colour, shape, (x, y, x + w, y + h), score))
        return found

    def select_action(self, observation: Observation) -> PolicyOutput:
        started = time.perf_counter()
        frame, command = observation.frame, observation.command
        if command is None:
            decision = Decision(Action.IDLE, 1.0, "no command", policy=self.name)
            return PolicyOutput(None, self._finish(decision, frame.stamp, started))
        if command.text != self._command_text:
            self._command_text, self._intent, self._search_started = command.text, parse(command.text), None
            self._step = 0
            self._pick.reset()
        intent = self._intent
        if intent.kind == "stop":
            return PolicyOutput(None, self._finish(
                Decision(Action.STOP, 1.0, "stop command", policy=self.name), frame.stamp, started))
        if intent.kind == "unknown":
            return PolicyOutput(None, self._finish(
                Decision(Action.IDLE, 1.0, f"command not understood: {command.text!r}", policy=self.name),
                frame.stamp, started))
        candidates = self._candidates(frame, intent.step(self._step))
        target = candidates[0] if candidates and candidates[0].score >= 0.5 else None
        grounding = Grounding(command.text, target, tuple(candidates), frame.stamp, frame.frame_id,
                              (frame.width, frame.height), 1.0 if target else 0.0)
        searching = True
        if target is None:
            self._search_started = self._search_started if self._search_started is not None else observation.now
            searching = observation.now - self._search_started < self.config.search_timeout
        else:
            self._search_started = None
        lens = camera_for(frame.width, frame.height, frame.camera, math.radians(self.config.hfov_deg))
        action, linear, angular, reason = steer(target, frame.height, self.steering, searching, lens)
        plan = intent.plan.to_json(self._step) if intent.plan else None
        if action == Action.ARRIVED and self._step + 1 < intent.steps:
            self._step += 1  # a sequence: the next step starts with a search
            self._pick.reset()
            reason += f"; step {self._step} of {intent.steps} done"
        confidence = target.score if target else (0.6 if searching else 0.8)
        decision = Decision(action, confidence, reason, linear, angular, policy=self.name, plan=plan)
        return PolicyOutput(grounding, self._finish(decision, frame.stamp, started))

    def _candidates(self, frame, reference: Reference) -> list[Candidate]:
        """Every blob as a candidate, best first. A plain reference scores each blob on its own
        (shape evidence is soft: the heuristics misread shapes); a relation, an ordinal or an
        exclusion picks among the blobs with the resolver (core.plan), which then scores 1."""
        lens = camera_for(frame.width, frame.height, frame.camera, math.radians(self.config.hfov_deg))
        blobs = self.detect(frame.image)
        if reference.form == "plain":
            candidates = []
            for colour, shape, box, shape_score in blobs:
                match = _match(reference.head, colour, shape, shape_score)
                candidates.append(Candidate(f"{colour} {shape}", match, box, lens.bearing((box[0] + box[2]) / 2.0)))
            return sorted(candidates, key=lambda c: (-c.score, -(c.box[3] - c.box[1])))
        things = [Thing.seen(str(i), colour, shape, box, lens) for i, (colour, shape, box, _) in enumerate(blobs)]
        ranks = {t.key: rank for rank, t in enumerate(self._pick.rank(reference, things))}
        ranked = []
        for i, (colour, shape, box, _) in enumerate(blobs):
            rank = ranks.get(str(i))
            candidate = Candidate(f"{colour} {shape}", 0.0 if rank is None else 1.0, box, things[i].bearing)
            ranked.append((len(blobs) if rank is None else rank, candidate))
        return [c for _, c in sorted(ranked, key=lambda pair: pair[0])]

    @staticmethod
    def _finish(decision: Decision, stamp: float, started: float) -> Decision:
        latency = (time.perf_counter() - started) * 1000.0
        return dataclasses.replace(decision, latency_ms=latency, stamp=stamp)


def _classify_shape(fill: float, aspect: float) -> tuple[str, float]:
    """Nearest shape prototype in (fill, log aspect); score in (0, 1]."""
    best, best_distance = "box", math.inf
    for shape, (proto_fill, proto_aspect) in SHAPE_PROTOTYPES.items():
        distance = math.hypot((fill - proto_fill) / 0.1, math.log(aspect / proto_aspect) / 0.25)
        if distance < best_distance:
            best, best_distance = shape, distance
    return best, math.exp(-0.5 * best_distance ** 2 / 4.0)


def _match(head: Description, colour: str, shape: str, shape_score: float) -> float:
    """How well a blob matches a description: colour must match when given; shape adds evidence."""
    if head.colour is not None and head.colour != colour:
        return 0.0
    if head.shape is None:
        return 0.9
    if head.shape == shape:
        return 0.6 + 0.4 * shape_score
    return 0.2 if head.colour is not None else 0.0
