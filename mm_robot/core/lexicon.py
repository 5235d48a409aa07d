"""Colour and shape words beyond the world's own: two tables, read without torch or matplotlib.

* Colours: the XKCD colour survey's names (what people typed for sRGB colours) and the CSS4
  names, each with its sRGB value (``resources/colour_names.json``, built from matplotlib's
  tables by ``scripts/build_colour_names.py``).
* Shapes: every WordNet noun that names one of the world's shapes, with a weight per shape
  (``resources/shape_lexicon.json``; the rule is in ``mm_robot.model.shape_lexicon``).

The command language (``core.language``), the fusion model's colour and shape tokens and the
training re-wording all read these, so a word the package understands is a word the model can
ground. Matching is greedy, longest phrase first ("royal blue" before "blue").
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np

from .phrases import match_phrases
from .vocabulary import COLOUR_SYNONYMS, COLOURS, EXTRA_COLOUR_WORDS, SHAPES

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
COLOUR_NAMES_PATH = RESOURCES / "colour_names.json"
SHAPE_TABLE_PATH = RESOURCES / "shape_lexicon.json"
MAX_COLOUR_WORDS = 4
MAX_SHAPE_WORDS = 3
# A word directly followed by one of these is a verb ("can you ..."), not the object's name.
PRONOUNS = frozenset({"you", "i", "we", "it", "they", "he", "she", "me", "us", "them"})
# A survey name means a world colour when it is this close to it in CIELAB and well closer to
# it than to the next one (the rule training uses for its survey colour words).
WORLD_COLOUR_MAX_DISTANCE = 25.0
WORLD_COLOUR_MAX_RATIO = 0.5
_NAME = re.compile(r"[a-z]+( [a-z]+)*")


def colour_names_from_matplotlib() -> dict[str, dict[str, str]]:
    """{"survey": XKCD name -> hex, "css4": CSS4 name -> hex}: what colour_names.json holds."""
    from matplotlib.colors import CSS4_COLORS, XKCD_COLORS

    survey = {name.removeprefix("xkcd:"): code.lower() for name, code in XKCD_COLORS.items()}
    return {"survey": {name: code for name, code in survey.items() if _NAME.fullmatch(name)},
            "css4": {name.lower(): code.lower() for name, code in CSS4_COLORS.items()}}


def _rgb(code: str) -> tuple[float, float, float]:
    return tuple(int(code[i:i + 2], 16) / 255 for i in (1, 3, 5))  # "#rrggbb" -> sRGB in [0, 1]


@lru_cache(maxsize=1)
def _colour_names() -> dict[str, dict[str, str]]:
    return json.loads(COLOUR_NAMES_PATH.read_text())


@lru_cache(maxsize=1)
def survey_colours() -> dict[str, tuple[float, float, float]]:
    """The XKCD colour survey's names -> sRGB in [0, 1] (plain lower-case names only)."""
    return {name: _rgb(code) for name, code in _colour_names()["survey"].items()}


@lru_cache(maxsize=1)
def colour_table() -> dict[str, tuple[float, float, float]]:
    """Colour name -> sRGB in [0, 1]: the XKCD survey's names, then CSS4 names it lacks."""
    table = dict(survey_colours())
    for name, code in _colour_names()["css4"].items():
        table.setdefault(name, _rgb(code))
    return table


def find_colours(text: str) -> list[tuple[str, tuple[float, float, float]]]:
    """The colour phrases of ``text`` in order, each with its sRGB, longest match first."""
    return match_phrases(text, colour_table().get, MAX_COLOUR_WORDS)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) in [0, 1] -> CIELAB (..., 3) under D65 (L in [0, 100], a/b about [-128, 127])."""
    rgb = np.asarray(rgb, dtype=np.float64)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805],
                             [0.2126, 0.7152, 0.0722],
                             [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
                    axis=-1)


@lru_cache(maxsize=1)
def _world_lab() -> tuple[tuple[str, ...], np.ndarray]:
    names = tuple(COLOURS)
    return names, srgb_to_lab(np.array([COLOURS[c] for c in names]))


@lru_cache(maxsize=4096)
def world_colour(phrase: str) -> Optional[str]:
    """The world colour (a key of ``COLOURS``) a colour phrase means, or None when it means none
    of them clearly ("brown"): the vocabulary's own words first, then the nearest world colour
    in CIELAB under the distance rule above, then a phrase's last word ("bright green": green)."""
    phrase = phrase.lower()
    if phrase in COLOURS:
        return phrase
    if phrase in COLOUR_SYNONYMS:
        return COLOUR_SYNONYMS[phrase]
    extra = next((c for c, words in EXTRA_COLOUR_WORDS.items() if phrase in words), None)
    if extra is not None:
        return extra
    rgb = colour_table().get(phrase)
    if rgb is None:
        return None
    names, lab = _world_lab()
    distance = np.linalg.norm(lab - srgb_to_lab(np.array(rgb)), axis=-1)
    first, second = np.sort(distance)[:2]
    if first < WORLD_COLOUR_MAX_DISTANCE and first < WORLD_COLOUR_MAX_RATIO * second:
        return names[int(distance.argmin())]
    head = phrase.rsplit(" ", 1)[-1]
    return world_colour(head) if head != phrase and (head in COLOURS or head in COLOUR_SYNONYMS) else None


@lru_cache(maxsize=1)
def shape_table() -> dict[str, dict[str, float]]:
    """The shipped WordNet table: noun -> {shape: weight}."""
    if not SHAPE_TABLE_PATH.is_file():
        raise FileNotFoundError(f"{SHAPE_TABLE_PATH} is missing: run scripts/build_shape_lexicon.py")
    return json.loads(SHAPE_TABLE_PATH.read_text())["words"]


def shape_entry(phrase: str) -> Optional[dict[str, float]]:
    """The table entry of ``phrase``, or of its singular ("boxes" -> "box", "cubes" -> "cube")."""
    table = shape_table()
    for form in (phrase, phrase[:-1] if phrase.endswith("s") else None,
                 phrase[:-2] if phrase.endswith("es") else None):
        if form and form in table:
            return table[form]
    return None


def find_shapes(text: str) -> list[tuple[str, dict[str, float]]]:
    """The shape phrases of ``text`` in order, each with its {shape: weight}, longest match first.
    A word directly followed by a pronoun is skipped: in "can you ..." it is a verb."""
    return match_phrases(text, shape_entry, MAX_SHAPE_WORDS, PRONOUNS)


def world_shape(weights: dict[str, float]) -> Optional[str]:
    """The world shape (a key of ``SHAPES``) a shape-table entry most likely names."""
    known = {shape: w for shape, w in weights.items() if shape in SHAPES}
    return max(known, key=known.get) if known else None
