"""The fusion model's reading of a scene, object by object, for compositional commands.

A relation, an ordinal or an exclusion ("the ball next to the yellow cone", "the leftmost cone",
"anything but the red one") needs every object its words may mean, not the one best match the
model's sentence-level grounding gives. :func:`read_scene` asks the model, in one pass over the
image (:meth:`FusionModel.ground_each`), for each (colour, shape) of the world the reference
could mean, and keeps every instance it grounds: the best image token when the object is in
view, plus other tokens that alone are far likelier than "not in view" and lie outside the boxes
already kept (two red balls give two instances), plus what magnified crops show of the
descriptions the whole frame shows (a far one a near one outshines). The resolver
(:mod:`mm_robot.core.plan`) then picks among them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..core.plan import Description, Reference
from ..core.vocabulary import COLOURS, SHAPES
from ..model.modeling import FusionModel
from ..model.processing import images_to_tensor, resize_image
from .zoom import HALF_CROPS, in_frame, magnified

QUERY = "go to the {colour} {shape}"  # the plainest wording the model was trained on
SECOND_INSTANCE_ODDS = 2.0  # log-odds against "not in view" a token needs to be a second instance
SAME_OBJECT_IOU = 0.3  # boxes overlapping more than this are one object


@dataclass(frozen=True)
class Found:
    """One object the model grounds: its (colour, shape), normalised box (x0, y0, x1, y1) and
    the probability that it is there."""

    colour: str
    shape: str
    box: tuple[float, float, float, float]
    score: float


def _may_mean(description: Description, colour: str, shape: str) -> bool:
    return description.colour in (None, colour) and description.shape in (None, shape)


def heads_for(reference: Reference) -> list[tuple[str, str]]:
    """The (colour, shape) pairs a reference's head may mean."""
    return [pair for pair in itertools.product(COLOURS, SHAPES) if _may_mean(reference.head, *pair)]


def queries_for(reference: Reference) -> list[tuple[str, str]]:
    """The (colour, shape) pairs a reference's head or anchor may mean (an exclusion only removes)."""
    descriptions = [reference.head]
    if reference.relation is not None:
        descriptions.append(reference.anchor or Description())
    return [pair for pair in itertools.product(COLOURS, SHAPES)
            if any(_may_mean(d, *pair) for d in descriptions)]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def instances(heat_logits: np.ndarray, token_boxes: np.ndarray, presence: float,
              min_presence: float = 0.5, max_instances: int = 4) -> list[tuple[np.ndarray, float]]:
    """(box, score) of each instance one query grounds: none below ``min_presence``; else the best
    token (scored ``presence``), then each token whose log-odds against "not in view" reach
    :data:`SECOND_INSTANCE_ODDS`, whose centre lies outside every box kept so far and that overlaps
    none of them (scored ``presence`` x those odds as a probability)."""
    if presence < min_presence:
        return []
    logits, null = heat_logits[:-1], float(heat_logits[-1])
    order = np.argsort(-logits)
    kept: list[tuple[np.ndarray, float]] = [(token_boxes[order[0]], float(presence))]
    for i in order[1:]:
        odds = float(logits[i]) - null
        if odds < SECOND_INSTANCE_ODDS or len(kept) >= max_instances:
            break
        box = token_boxes[i]
        cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
        if any(k[0] <= cx <= k[2] and k[1] <= cy <= k[3] or _iou(box, k) > SAME_OBJECT_IOU for k, _ in kept):
            continue
        kept.append((box, float(presence) / (1.0 + float(np.exp(-odds)))))
    return kept


def read_scene(model: FusionModel, frame: np.ndarray, pairs: list[tuple[str, str]],
               min_presence: float = 0.5, look_closer: Sequence[tuple[str, str]] = ()) -> list[Found]:
    """Every object of ``pairs`` the model grounds in ``frame`` ((H, W, 3) uint8 RGB, any size;
    boxes normalised to it). An object two queries claim (an orange ball read as red too) keeps
    the likelier. The pairs of ``look_closer`` that the whole frame shows are looked for again in
    the half-size crops (``zoom.py``): a second instance that a near one of the same description
    outshines in the token softmax (a near red cylinder and a far one) is found there. (Only those:
    each crop costs a pass, and a description the whole frame does not show at all is the plain
    path's zoom's to find.)"""
    if not pairs:
        return []
    cfg = model.config
    device = next(model.parameters()).device
    image = resize_image(frame, cfg.image_height, cfg.image_width)
    found = _found(model.ground_each(images_to_tensor(image[None]).to(device), _texts(pairs)), pairs, min_presence)
    seen = {(f.colour, f.shape) for f in found}
    closer = [pair for pair in dict.fromkeys(look_closer) if pair in seen]
    if closer:
        crops, windows = magnified(frame, cfg.image_height, cfg.image_width, HALF_CROPS)  # 2x: the cost is per crop
        height, width = frame.shape[:2]
        for crop, window in zip(crops, windows):
            out = model.ground_each(images_to_tensor(crop[None]).to(device), _texts(closer))
            found += [Found(f.colour, f.shape, box, f.score) for f in _found(out, closer, min_presence)
                      if (box := in_frame(window, f.box, width, height))]
    kept: list[Found] = []
    for item in sorted(found, key=lambda f: -f.score):
        if not any(_iou(np.asarray(item.box), np.asarray(k.box)) > SAME_OBJECT_IOU for k in kept):
            kept.append(item)
    return kept


def _texts(pairs: Sequence[tuple[str, str]]) -> list[str]:
    return [QUERY.format(colour=c, shape=s) for c, s in pairs]


def _found(out, pairs: Sequence[tuple[str, str]], min_presence: float) -> list[Found]:
    logits, boxes, presence = (t.float().cpu().numpy() for t in (out.heat_logits, out.token_boxes, out.presence))
    return [Found(colour, shape, tuple(float(v) for v in box), score)
            for k, (colour, shape) in enumerate(pairs)
            for box, score in instances(logits[k], boxes[k], float(presence[k]), min_presence)]
