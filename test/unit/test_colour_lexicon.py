"""Colour lexicon: colour phrases found longest-first, CIELAB maths, and the colour tokens in the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mm_robot.core.vocabulary import COLOURS
from mm_robot.model import FusionModel, tiny_config
from mm_robot.model.colour_lexicon import colour_features, colour_table, find_colours, srgb_to_lab


def test_colour_phrases_are_found_longest_first_and_other_words_are_not():
    found = find_colours("Go past the light blue and dark green cones to the ROYAL BLUE box")
    assert [phrase for phrase, _ in found] == ["light blue", "dark green", "royal blue"]
    assert find_colours("drive to the box over there please") == []
    r, g, b = dict(find_colours("roll over to the scarlet ball"))["scarlet"]
    assert r > 0.6 and g < 0.2 and b < 0.2


def test_cielab_of_reference_colours():
    assert np.allclose(srgb_to_lab(np.array([1.0, 1.0, 1.0])), [100.0, 0.0, 0.0], atol=0.1)
    assert np.allclose(srgb_to_lab(np.array([0.0, 0.0, 0.0])), [0.0, 0.0, 0.0], atol=1e-6)
    assert np.allclose(srgb_to_lab(np.array([1.0, 0.0, 0.0])), [53.24, 80.09, 67.20], atol=0.1)
    features = colour_features((1.0, 1.0, 1.0))
    assert features.shape == (6,) and features.dtype == np.float32
    assert np.allclose(features, [1, 1, 1, 1, 0, 0], atol=1e-3)


@pytest.mark.parametrize("word, canonical", [
    ("scarlet", "red"), ("crimson", "red"), ("turquoise", "cyan"), ("teal", "cyan"),
    ("golden", "yellow"), ("gold", "yellow"), ("magenta", "purple"),
])
def test_synonyms_sit_nearest_their_colour_in_cielab(word, canonical):
    """What lets a colour word unseen in training point at the right pixels. Not every word does:
    the survey's "violet" is nearer its "blue", "navy" nearer "black" (docs/model.md)."""
    table = colour_table()
    lab = {name: srgb_to_lab(np.array(table[name])) for name in COLOURS}
    target = srgb_to_lab(np.array(table[word]))
    assert min(COLOURS, key=lambda name: np.linalg.norm(lab[name] - target)) == canonical


def _model(**changes) -> FusionModel:
    torch.manual_seed(0)
    return FusionModel(tiny_config(colour_lexicon=True, **changes)).eval()


def test_each_colour_phrase_becomes_one_command_token():
    model = _model(max_colour_tokens=2)
    texts = ["go to the scarlet ball", "stop", "the red, blue and green boxes"]
    feats, mask = model.colour_states(texts)
    assert feats.shape == (3, 2, 6)
    assert mask.tolist() == [[True, False], [False, False], [True, True]]
    assert torch.allclose(feats[0, 0], torch.from_numpy(colour_features(colour_table()["scarlet"])))
    images = torch.rand(3, 3, 32, 48)
    out = model.encode(images, texts)
    assert out.attention.shape[2] == model.config.max_text_tokens + 2


def test_colour_tokens_change_what_the_model_grounds():
    model = _model()
    images = torch.rand(2, 3, 32, 48)
    texts = ["go to the scarlet ball", "go to the scarlet ball"]
    before = model.encode(images, texts).heat_logits
    feats, mask = model._colour_cache["go to the scarlet ball"]
    model._colour_cache["go to the scarlet ball"] = (torch.from_numpy(colour_features((0.0, 0.0, 1.0)))
                                                    .expand_as(feats).clone(), mask)
    after = model.encode(images, texts).heat_logits
    assert not torch.allclose(before, after)


def test_colour_noise_only_while_training():
    model = _model(colour_jitter=0.1)
    model.vision.eval()  # batch-norm statistics aside, train mode differs only by the colour noise
    images, texts = torch.rand(2, 3, 32, 48), ["find the crimson box", "find the crimson box"]
    assert torch.equal(model.encode(images, texts).heat_logits, model.encode(images, texts).heat_logits)
    model.train()
    model.vision.eval()
    assert not torch.equal(model.encode(images, texts).heat_logits, model.encode(images, texts).heat_logits)


def test_colour_lexicon_needs_the_command_strings():
    model = _model()
    hidden, mask = model.encode_text(["go to the red ball"])
    with pytest.raises(ValueError, match="command strings"):
        model.encode(torch.rand(1, 3, 32, 48), text_states=(hidden, mask))


def test_save_then_load_keeps_the_colour_tokens(tmp_path):
    model = _model()
    images, texts = torch.rand(2, 3, 32, 48), ["go to the violet cone", "find the teal pill"]
    model.save_pretrained(tmp_path / "ckpt")
    loaded = FusionModel.from_pretrained(tmp_path / "ckpt")
    assert loaded.config.colour_lexicon and loaded.colour_proj is not None
    assert torch.allclose(model.encode(images, texts).heat_logits, loaded.encode(images, texts).heat_logits)
