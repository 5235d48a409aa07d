"""More ways to say "go to the red ball", for training only.

The datasets store each goto command with its canonical label ("red ball"), so the trainer
can re-word a sample on the fly (``Rephraser``). The wording comes from a small grammar —
prefix, verb phrase, object phrase, suffix — over the training templates' verbs plus more,
training synonyms plus extra colour and shape words that the command parser does not know.
The extra colour words include every name of the XKCD colour survey whose colour is
unmistakably one of the world's nine (``survey_colour_words``): a hundred-odd names whose
sentence-encoder states scatter widely, so the model learns to read colour from the colour
lexicon token rather than from the handful of words it was shown.

What the paraphrase split holds out stays held out: no held-out synonym
(``scenes.HELD_OUT_SYNONYMS``) and no held-out template's wording (``PARAPHRASE_TEMPLATES``)
is ever produced; ``test/unit/test_phrasing.py`` checks both. The aim is a text projection
that reads colour and shape out of any sentence, not one that memorised fourteen templates.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..core.vocabulary import COLOUR_SYNONYMS, COLOURS, EXTRA_COLOUR_WORDS, EXTRA_SHAPE_WORDS, SHAPE_WORDS
from ..model.colour_lexicon import find_colours, srgb_to_lab, survey_colours
from ..model.shape_lexicon import shape_table
from .scenes import HELD_OUT_WORDS, TRAIN_SYNONYMS

PREFIXES = ("", "", "", "please ", "robot, ", "hey robot, ", "okay, ", "now ", "can you ",
            "could you please ", "would you ", "i need you to ", "i'd like you to ", "go ahead and ",
            "alright, ", "quick, ")
VERBS = ("go to", "move to", "drive to", "find", "go towards", "navigate to", "head to", "approach",
         "take me to", "look for", "get close to", "locate", "reach", "travel to", "come to",
         "search for", "get to", "proceed to", "go over to", "move towards", "drive up to", "go near",
         "move closer to", "steer towards", "go and find", "track down", "drive towards", "go find",
         "visit", "go up to")
DETERMINERS = ("the", "the", "the", "that", "a", "this")
OBJECT_FORMS = ("{d} {c} {s}", "{d} {c} {s}", "{d} {c} {s}", "{d} {s} that is {c}", "{d} {c} coloured {s}",
                "{d} {s} which is {c}", "{d} {c} {s} over there", "{d} big {c} {s}", "{d} small {c} {s}",
                "{d} little {c} {s}", "{d} {c} {s} on the floor", "{d} bright {c} {s}")
SUFFIXES = ("", "", "", " please", " now", " right away", " quickly", " slowly", ", thanks", " for me",
            " when you can", " carefully", "?", " straight away")
BARE_FORMS = ("{c} {s}", "{c} {s} please", "the {c} {s}", "{c} {s}, go", "{s}, the {c} one")

# Survey names that are modifiers more than colours ("go to the dark box" names no colour).
MODIFIER_NAMES = ("dark", "pale")


@lru_cache(maxsize=1)
def survey_colour_words(max_distance: float = 25.0, max_ratio: float = 0.5) -> dict[str, tuple[str, ...]]:
    """World colour -> XKCD survey names that unmistakably mean it: CIELAB distance to its
    rendered colour under ``max_distance`` and under ``max_ratio`` times the distance to the
    next one. Names holding a held-out synonym, another colour's word or a shape word are left out."""
    survey = survey_colours()
    names = sorted(survey)
    labels = list(COLOURS)
    dist = np.linalg.norm(srgb_to_lab(np.array([survey[n] for n in names]))[:, None]
                          - srgb_to_lab(np.array([COLOURS[c] for c in labels]))[None], axis=-1)  # (names, 9)
    nearest, second = np.sort(dist, axis=1)[:, :2].T
    words: dict[str, list[str]] = {c: [] for c in labels}
    for name, k, d0, d1 in zip(names, dist.argmin(axis=1), nearest, second):
        colour, tokens = labels[k], name.split()
        if d0 >= max_distance or d0 >= max_ratio * d1 or name in MODIFIER_NAMES:
            continue
        if any(h in name for h in HELD_OUT_WORDS) or any(t in SHAPE_WORDS for t in tokens):
            continue
        if any(COLOUR_SYNONYMS.get(t, t) in COLOURS and COLOUR_SYNONYMS.get(t, t) != colour for t in tokens):
            continue
        words[colour].append(name)
    return {c: tuple(w for w in ws if w != c) for c, ws in words.items()}


@lru_cache(maxsize=1)
def lexicon_shape_words() -> dict[str, tuple[str, ...]]:
    """Shape -> nouns of the WordNet shape table that name it outright (weight 1): "marble",
    "carton", "pilaster", "lozenge", ... Left out: held-out synonyms and names holding one
    ("brake drum"), names with another shape's word or a colour word in them, and names that
    are not plain words (brand names such as "lo/ovral")."""
    colour_words = set(COLOUR_SYNONYMS)
    words: dict[str, list[str]] = {}
    for name, weights in shape_table().items():
        if len(weights) != 1 or not re.fullmatch(r"[a-z]+( [a-z]+)?", name):
            continue
        (shape,) = weights
        tokens = set(name.split())
        if tokens & HELD_OUT_WORDS or tokens & colour_words or find_colours(name):
            continue
        if any(SHAPE_WORDS[t] != shape for t in tokens if t in SHAPE_WORDS):
            continue
        words.setdefault(shape, []).append(name)
    return {s: tuple(w for w in ws if w != s) for s, ws in words.items()}


def _words(canonical: str, extra: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    return (canonical,) + tuple(TRAIN_SYNONYMS.get(canonical, ())) + extra.get(canonical, ())


def phrase(rng: np.random.Generator, colour: str, shape: str, p_synonym: float = 0.4,
           shape_nouns: bool = False) -> str:
    """One training command naming (colour, shape), drawn from the grammar; with ``shape_nouns``
    the shape words include ``lexicon_shape_words`` (for a model with the shape token)."""
    def pick(options):
        return options[int(rng.integers(len(options)))]

    colours = tuple(dict.fromkeys(_words(colour, EXTRA_COLOUR_WORDS) + survey_colour_words().get(colour, ())))
    shapes = _words(shape, EXTRA_SHAPE_WORDS)
    if shape_nouns:
        shapes = tuple(dict.fromkeys(shapes + lexicon_shape_words().get(shape, ())))
    c = pick(colours[1:]) if len(colours) > 1 and rng.random() < p_synonym else colour
    s = pick(shapes[1:]) if len(shapes) > 1 and rng.random() < p_synonym else shape
    if rng.random() < 0.12:
        return pick(BARE_FORMS).format(c=c, s=s)
    obj = pick(OBJECT_FORMS).format(d=pick(DETERMINERS), c=c, s=s)
    return f"{pick(PREFIXES)}{pick(VERBS)} {obj}{pick(SUFFIXES)}"


class Rephraser:
    """Re-words goto commands of a batch with probability ``p``, from a fixed bank per label.

    A bank (``per_label`` phrasings per label, seeded) keeps the frozen text tower's cache small:
    every phrasing is encoded once, not once per step.
    """

    def __init__(self, labels: Sequence[str], p: float, per_label: int = 160, seed: int = 0,
                 shape_nouns: bool = False) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"rephrase probability must be in [0, 1], got {p}")
        self.p = p
        rng = np.random.default_rng([seed, 7919])
        self.bank: dict[str, list[str]] = {}
        for label in sorted(set(labels)):
            if " " not in label:
                continue  # stop / unknown samples have no label
            colour, shape = label.split(" ", 1)
            self.bank[label] = sorted({phrase(rng, colour, shape, shape_nouns=shape_nouns) for _ in range(per_label)})

    def __call__(self, texts: list[str], labels: Sequence[str], kinds: Sequence[str],
                 rng: np.random.Generator) -> list[str]:
        out = list(texts)
        for i, (label, kind) in enumerate(zip(labels, kinds)):
            bank = self.bank.get(label)
            if kind == "goto" and bank and rng.random() < self.p:
                out[i] = bank[int(rng.integers(len(bank)))]
        return out
