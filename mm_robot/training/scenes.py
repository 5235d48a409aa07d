"""What a training sample asks for: commands from templates, held-out splits, expert labels.

Shared by both image sources (the OpenCV painter in ``painter.py`` and the MuJoCo world in
``mm_robot.sim``), so a split means the same thing whichever renders the pixels.

Splits (``SPLITS``):

* ``train`` / ``val`` / ``seen``: seen colour x shape combos, training templates and synonyms,
  0-3 distractors, normal lighting (``val``, for monitoring during training, and ``seen``, a test
  split, are held-out samples of the same distribution).
* ``unseen_combo``: the target is one of ``HELD_OUT_COMBOS`` (never drawn in train or seen).
* ``paraphrase``: held-out sentence templates and held-out synonyms.
* ``distractors``: 5-8 distractors.
* ``lighting``: strong dimming / over-exposure, colour casts and noise.
* ``confusers``: look-alikes of the named object are in view (same colour, other shape and
  same shape, other colour); the named object itself is there only half the time.

Training scenes hold look-alikes too (``CONFUSER_RATE`` of them), because a model that
matches colour alone is right in most random scenes and wrong in exactly these.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Optional

from ..core.records import Action, Candidate
from ..core.steering import SteeringConfig, bearing_of, steer
from ..core.vocabulary import COLOUR_SYNONYMS, COLOURS, SHAPES

SPLITS = ("train", "val", "seen", "unseen_combo", "paraphrase", "distractors", "lighting", "confusers")
TRAIN_DISTRIBUTION = ("train", "val")
EVAL_SPLITS = SPLITS[2:]  # the test splits

# One combo per colour, shapes rotating, so every colour and every shape is still seen in train.
HELD_OUT_COMBOS: frozenset[tuple[str, str]] = frozenset({
    ("red", "cone"), ("green", "capsule"), ("blue", "cylinder"), ("yellow", "box"),
    ("orange", "ball"), ("purple", "cone"), ("cyan", "capsule"), ("white", "cylinder"),
    ("black", "box"),
})
ALL_COMBOS: tuple[tuple[str, str], ...] = tuple((c, s) for c in COLOURS for s in SHAPES)
SEEN_COMBOS = tuple(c for c in ALL_COMBOS if c not in HELD_OUT_COMBOS)
GOTO_ONLY_SPLITS = ("unseen_combo", "paraphrase", "confusers")  # splits about grounding only
CONFUSER_RATE = 0.3  # share of training scenes built around look-alikes of the target

TRAIN_TEMPLATES = (
    "go to the {c} {s}", "move to the {c} {s}", "drive to the {c} {s}", "find the {c} {s}",
    "go towards the {c} {s}", "navigate to the {c} {s}", "head to the {c} {s}",
    "approach the {c} {s}", "{c} {s}", "take me to the {c} {s}", "please go to the {c} {s}",
    "look for the {c} {s}", "could you find the {c} {s}", "get close to the {c} {s}",
)
PARAPHRASE_TEMPLATES = (
    "could you head over to that {c} {s}", "i want you next to the {c} {s}",
    "make your way to the {c} {s} please", "where is the {c} {s}? go there",
    "seek out the {c} {s}", "roll over to the {c} {s}", "your target is the {c} {s}",
)
STOP_TEXTS = ("stop", "stop now", "halt", "freeze", "please stop", "wait", "stop moving",
              "abort", "hold on", "don't move", "emergency stop", "cancel that")
# No "can" anywhere: it is a cylinder word for the command parser (and the oracle that uses it).
UNKNOWN_TEXTS = ("hello", "what time is it", "how are you", "tell me a joke", "thank you",
                 "good morning robot", "what are you doing", "nice weather today", "never mind",
                 "who made you", "sing a song", "ok")


def _split_synonyms() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per canonical word: synonyms used in training and synonyms held out (alternating)."""
    train: dict[str, list[str]] = {}
    held: dict[str, list[str]] = {}
    by_colour: dict[str, list[str]] = {}
    for word, colour in sorted(COLOUR_SYNONYMS.items()):
        if word != "dark":  # "dark" is an adjective more than a colour name
            by_colour.setdefault(colour, []).append(word)
    groups = dict(by_colour)
    for shape, words in SHAPES.items():
        groups[shape] = [w for w in words if w != shape]
    for key, words in groups.items():
        train[key] = [w for i, w in enumerate(words) if i % 2 == 0]
        held[key] = [w for i, w in enumerate(words) if i % 2 == 1]
    return train, held


TRAIN_SYNONYMS, HELD_OUT_SYNONYMS = _split_synonyms()
HELD_OUT_WORDS: frozenset[str] = frozenset(w for words in HELD_OUT_SYNONYMS.values() for w in words)


@dataclass(frozen=True)
class SampleSpec:
    """What one sample shows and asks. ``kind``: "goto", "stop" or "unknown"."""

    split: str
    kind: str
    text: str
    target: Optional[tuple[str, str]]  # (colour, shape) the text names (goto only)
    target_in_view: bool
    distractors: tuple[tuple[str, str], ...]
    n_distractors: int
    unusual_lighting: bool


def _word(rng: random.Random, canonical: str, synonyms: dict[str, list[str]], p_syn: float) -> str:
    options = synonyms.get(canonical, [])
    return rng.choice(options) if options and rng.random() < p_syn else canonical


def command_text(rng: random.Random, split: str, kind: str, target: Optional[tuple[str, str]]) -> str:
    """A command of ``kind`` naming ``target`` (colour, shape), worded as ``split`` asks."""
    if kind == "stop":
        return rng.choice(STOP_TEXTS)
    if kind == "unknown":
        return rng.choice(UNKNOWN_TEXTS)
    colour, shape = target
    if split == "paraphrase":
        template = rng.choice(PARAPHRASE_TEMPLATES)
        c_word = _word(rng, colour, HELD_OUT_SYNONYMS, 0.5)
        s_word = _word(rng, shape, HELD_OUT_SYNONYMS, 0.5)
    else:
        template = rng.choice(TRAIN_TEMPLATES)
        c_word = _word(rng, colour, TRAIN_SYNONYMS, 0.2)
        s_word = _word(rng, shape, TRAIN_SYNONYMS, 0.2)
    return template.format(c=c_word, s=s_word)


def lookalikes(rng: random.Random, target: tuple[str, str]) -> list[tuple[str, str]]:
    """Seen combos that share one attribute with ``target``: one of the same colour (other
    shape) and one of the same shape (other colour)."""
    colour, shape = target
    same_colour = [c for c in SEEN_COMBOS if c[0] == colour and c != target]
    same_shape = [c for c in SEEN_COMBOS if c[1] == shape and c != target]
    return [rng.choice(group) for group in (same_colour, same_shape) if group]


def is_confusing(rng: random.Random, split: str) -> bool:
    """Whether a scene of ``split`` is built around look-alikes (draws from ``rng`` for train and val
    only, so the test splits stay what they were before look-alikes existed)."""
    return split == "confusers" or (split in TRAIN_DISTRIBUTION and rng.random() < CONFUSER_RATE)


def confusing_objects(rng: random.Random, target: tuple[str, str], n_distractors: int,
                      ) -> tuple[bool, list[tuple[str, str]]]:
    """(target placed?, the other objects): the target's look-alikes, topped up with random seen
    combos to ``n_distractors``; the target itself is left out half the time."""
    similar = lookalikes(rng, target)
    rest = [c for c in SEEN_COMBOS if c != target and c not in similar]
    others = similar + rng.sample(rest, max(0, n_distractors - len(similar)))
    return rng.random() < 0.5, others


def scene_objects(rng: random.Random, split: str, target: tuple[str, str], n_distractors: int,
                  ) -> tuple[bool, list[tuple[str, str]]]:
    """(target placed?, the other objects) for a simulator scene of ``split`` about ``target``."""
    if is_confusing(rng, split):
        return confusing_objects(rng, target, n_distractors)
    return True, rng.sample([c for c in SEEN_COMBOS if c != target], n_distractors)


def sample_spec(rng: random.Random, split: str) -> SampleSpec:
    """Draw what a sample of ``split`` shows and what its command says."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")
    combos = [c for c in ALL_COMBOS if c in HELD_OUT_COMBOS] if split == "unseen_combo" else list(SEEN_COMBOS)
    n_dis = rng.randint(5, 8) if split == "distractors" else rng.randint(0, 3)
    roll = rng.random()
    kind = "goto" if split in GOTO_ONLY_SPLITS or roll < 0.84 else ("stop" if roll < 0.92 else "unknown")
    target = rng.choice(combos) if kind == "goto" else None
    in_view = kind == "goto" and rng.random() < 0.75
    pool = [c for c in SEEN_COMBOS if c != target]
    distractors = tuple(rng.choice(pool) for _ in range(n_dis))
    if kind == "goto" and not in_view and n_dis == 0:
        distractors = (rng.choice(pool),)
    if kind != "goto" and rng.random() < 0.8 and n_dis == 0:
        distractors = (rng.choice(pool),)
    if kind == "goto" and is_confusing(rng, split):
        in_view, others = confusing_objects(rng, target, n_dis)
        distractors = tuple(others)
    text = command_text(rng, split, kind, target)
    return SampleSpec(split, kind, text, target, in_view, distractors, len(distractors),
                      split == "lighting")


def expert_label(spec: SampleSpec, box: Optional[tuple[float, float, float, float]], width: int,
                 height: int, hfov: float, steering: SteeringConfig = SteeringConfig()) -> tuple[Action, float, float]:
    """The oracle's decision for a sample: idle / stop for non-goto commands, otherwise
    ``core.steering.steer`` on the true box of the named object (search when not in view).

    ``box`` is in pixels (x0, y0, x1, y1) on a ``width`` x ``height`` image.
    """
    if spec.kind == "stop":
        return Action.STOP, 0.0, 0.0
    if spec.kind == "unknown":
        return Action.IDLE, 0.0, 0.0
    if box is None:
        action, linear, angular, _ = steer(None, height, steering, searching=True)
        return action, linear, angular
    bearing = bearing_of((box[0] + box[2]) / 2.0, width, hfov)
    target = Candidate("target", 1.0, tuple(int(round(v)) for v in box), bearing)
    action, linear, angular, _ = steer(target, height, steering)
    return action, linear, angular


def relight(image, rng: random.Random, unusual: bool):
    """Photometric change: mild for normal samples; dim/over-exposed, tinted, noisy when unusual."""
    import numpy as np

    img = image.astype(np.float32) / 255.0
    if unusual:
        gain = rng.uniform(0.3, 0.55) if rng.random() < 0.5 else rng.uniform(1.5, 2.0)
        tint = np.array([rng.uniform(0.75, 1.25) for _ in range(3)], dtype=np.float32)
        gamma = rng.uniform(0.6, 1.6)
        noise = rng.uniform(0.02, 0.06)
    else:
        gain = rng.uniform(0.85, 1.15)
        tint = np.array([rng.uniform(0.95, 1.05) for _ in range(3)], dtype=np.float32)
        gamma = rng.uniform(0.9, 1.1)
        noise = rng.uniform(0.0, 0.015)
    img = np.clip(img * gain * tint, 0.0, 1.0) ** gamma
    if noise > 0:
        img = img + np.random.default_rng(rng.getrandbits(32)).normal(0.0, noise, img.shape).astype(np.float32)
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def default_hfov() -> float:
    return math.radians(60.0)
