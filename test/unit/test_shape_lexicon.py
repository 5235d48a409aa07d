"""Shape lexicon: the WordNet rule on a small hand-written database, the shipped table, phrase
matching, and the shape token in the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mm_robot.core.vocabulary import SHAPES
from mm_robot.model import FusionModel, tiny_config
from mm_robot.model.shape_lexicon import ANCHORS, SHAPE_ORDER, build_table, find_shapes, shape_features, shape_table
from mm_robot.training.scenes import HELD_OUT_WORDS, TRAIN_SYNONYMS

# WordNet's data.noun / index.noun formats: offset lex_file pos n_words(hex) (word lex_id)* n_pointers(3)
# (symbol offset pos source/target)* | gloss.  Offsets are the line keys, not byte offsets, here.
DATA = """\
  1 licence header line
00000001 25 n 01 cube 0 000 | a solid with six square faces
00000002 06 n 02 block 0 cube 0 001 @ 00000001 n 0000 | a solid piece
00000003 15 n 01 block 0 000 | an area of a city
00000004 25 n 02 ball 0 sphere 0 000 | a round shape
00000005 08 n 01 eyeball 0 001 @ 00000006 n 0000 | the eye
00000006 06 n 01 capsule 0 000 | a small container
00000007 06 n 01 orb 0 001 @ 00000004 n 0000 | a round thing
00000008 06 n 01 chair 0 000 | a seat
00000009 06 n 01 traffic_cone 0 000 | a cone on a road
00000010 25 n 02 pill 0 cube 0 000 | both at once (a made-up synset)
"""
INDEX = """\
  1 licence header line
block n 2 1 @ 2 0 00000003 00000002
cube n 1 0 1 0 00000001
ball n 1 0 1 0 00000004
orb n 2 1 @ 2 0 00000005 00000007
chair n 1 0 1 0 00000008
traffic_cone n 1 0 1 0 00000009
pill n 1 0 1 0 00000010
"""


@pytest.fixture()
def wordnet(tmp_path):
    (tmp_path / "data.noun").write_text(DATA)
    (tmp_path / "index.noun").write_text(INDEX)
    return tmp_path


def test_rule_reads_senses_hypernyms_and_lexicographer_files(wordnet):
    table = build_table(wordnet)
    assert table["cube"] == {"box": 1.0}
    assert table["block"] == {"box": 1.0}  # the city-block sense (noun.location) does not vote
    # eyeball (noun.body, under "capsule") is not a thing to drive to; the orb sense is, via its hypernym
    assert table["orb"] == {"ball": 1.0}
    assert table["pill"] == {"box": 0.5, "capsule": 0.5}
    assert "chair" not in table and "traffic cone" not in table


def test_anchors_are_training_words_and_never_held_out():
    held = HELD_OUT_WORDS
    for shape, anchors in ANCHORS.items():
        assert shape in anchors and set(anchors) <= {shape, *TRAIN_SYNONYMS.get(shape, ())}
        assert not held & set(anchors)
    assert SHAPE_ORDER == tuple(SHAPES)


def test_shipped_table_names_every_anchor_and_weights_sum_to_one():
    table = shape_table()
    assert len(table) > 100
    for shape, anchors in ANCHORS.items():
        for word in anchors:
            assert max(table[word], key=table[word].get) == shape, word
    for word, weights in table.items():
        assert set(weights) <= set(SHAPE_ORDER) and abs(sum(weights.values()) - 1.0) < 1e-3, word


@pytest.mark.parametrize("text, expected", [
    ("can you go to the red box", [("box", "box")]),  # "can" before "you" is a verb
    ("roll over to the blue orb", [("roll", "cylinder"), ("orb", "ball")]),
    ("find the bowling ball", [("bowling ball", "ball")]),  # longest phrase first
    ("go to the yellow cubes", [("cubes", "box")]),  # plural
    ("go to the thing over there", []),
])
def test_shape_phrases_in_a_command(text, expected):
    found = find_shapes(text)
    assert [(phrase, max(w, key=w.get)) for phrase, w in found] == expected


def test_shape_features_are_a_distribution_over_the_shape_order():
    f = shape_features({"box": 0.25, "capsule": 0.75})
    assert f.dtype == np.float32 and f.shape == (len(SHAPE_ORDER),)
    assert f[SHAPE_ORDER.index("capsule")] == 0.75 and f.sum() == 1.0


def test_the_last_shape_phrase_becomes_one_command_token():
    torch.manual_seed(0)
    model = FusionModel(tiny_config(shape_lexicon=True)).eval()
    texts = ["roll over to the blue orb", "stop", "go to the red box"]
    feats, mask = model.shape_states(texts)
    assert feats.shape == (3, 1, len(SHAPE_ORDER)) and mask.tolist() == [[True], [False], [True]]
    assert feats[0, 0, SHAPE_ORDER.index("ball")] == 1.0  # the orb, not "roll"
    images = torch.rand(3, 3, 32, 48)
    out = model.encode(images, texts)
    assert out.attention.shape[2] == model.config.max_text_tokens + 1
    # The token carries the lexicon's answer: another shape changes what the model grounds.
    model._command_cache.clear()
    model._shape_cache["go to the red box"] = (torch.from_numpy(shape_features({"cone": 1.0}))[None], mask[2])
    after = model.encode(images[2:], ["go to the red box"]).heat_logits[0]
    assert not torch.allclose(out.heat_logits[2], after)
