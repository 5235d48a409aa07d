"""Serving forms of the fusion model: the ONNX form gives the PyTorch form's outputs, the command
cache is bounded, a missing runtime falls back with a warning, the policy warms up."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
import torch

from mm_robot.core.lru import LRUCache
from mm_robot.core.records import Command, Frame, Observation
from mm_robot.model import FusionModel, tiny_config
from mm_robot.model.serving import OnnxServing, TorchServing, make_serving
from mm_robot.policies.fusion import DEFAULT_CHECKPOINT, load_fusion_policy

pytest.importorskip("onnxruntime")

TEXTS = [
    "go to the red ball",
    "find the scarlet box please",
    "stop",
    "drive over to the small blue cylinder next to the green cone",
]


def _random_model(**changes) -> FusionModel:
    """A tiny model with every weight (FiLM included, which starts at zero) and the batch-norm
    statistics moved away from their initial values, so that no term of the rewrite is trivially 0."""
    torch.manual_seed(0)
    model = FusionModel(tiny_config(**changes))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not name.startswith("text."):  # a frozen pretrained tower is its source's, unchanged
                p.add_(torch.randn_like(p) * 0.2)
        model.train()
        model.vision(torch.rand(4, 3, model.config.image_height, model.config.image_width))
    return model.eval()


def _pixels(cfg, n: int = len(TEXTS), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(
        0, 256, (n, cfg.image_height, cfg.image_width, 3), dtype=np.uint8
    )


def _reference(model: FusionModel, images: np.ndarray, texts: list[str], audio=None):
    """The training code's own forward pass (no folding, no cached or dropped tokens)."""
    pixels = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    with torch.no_grad():
        return model.encode(pixels, texts, audio)


def _assert_same(got, ref, atol: float = 2e-4) -> None:
    np.testing.assert_allclose(got.presence, ref.presence.numpy(), atol=atol)
    np.testing.assert_allclose(got.box, ref.box.numpy(), atol=atol)
    np.testing.assert_allclose(got.action_logits, ref.action_logits.numpy(), atol=atol * 10)
    np.testing.assert_allclose(got.velocity, ref.velocity.numpy(), atol=atol)


@pytest.mark.parametrize(
    "changes",
    [
        {"fusion": "gated", "pooling": "attention", "colour_lexicon": True},
        {"fusion": "concat", "pooling": "mean", "vision_context_convs": 1},
        {"fusion": "add", "pooling": "attention", "shape_lexicon": True},
        {"vision_encoder": "vit", "fusion": "gated"},
        {"fusion_layers": 2},  # not rewritten: traced encode_tokens
    ],
    ids=["gated", "concat", "add", "vit", "two-layers"],
)
def test_onnx_form_gives_the_pytorch_outputs_on_random_tiny_models(changes):
    model = _random_model(**changes)
    images = _pixels(model.config)
    ref = _reference(model, images, TEXTS)
    served = OnnxServing(model)
    assert served.rewritten == (changes.get("fusion_layers", 1) == 1)
    _assert_same(served.predict(images, TEXTS), ref)
    _assert_same(TorchServing(model).predict(images, TEXTS), ref)


def test_onnx_form_with_audio_tokens_gives_the_pytorch_outputs():
    model = _random_model(use_audio=True)
    images = _pixels(model.config)
    audio = torch.from_numpy(np.random.default_rng(1).normal(0, 0.1, (len(TEXTS), 4000)).astype(np.float32))
    ref = _reference(model, images, TEXTS, audio)
    served = OnnxServing(model)
    assert not served.rewritten
    _assert_same(served.predict(images, TEXTS, audio), ref)


def test_onnx_text_tower_gives_the_pytorch_outputs_and_is_exported_once(tmp_path, monkeypatch):
    """A (tiny, random) transformers text tower runs in ONNX Runtime too; its export is kept."""
    from mm_robot.model.testing import save_tiny_bert

    monkeypatch.setenv("MM_ROBOT_CACHE", str(tmp_path / "cache"))
    directory = save_tiny_bert(tmp_path / "bert")
    model = _random_model(text_encoder="hf_auto", text_pretrained=str(directory))
    images = _pixels(model.config)
    ref = _reference(model, images, TEXTS)
    served = OnnxServing(model)
    assert served.text_served and served.rewritten
    _assert_same(served.predict(images, TEXTS), ref)
    exported = list((tmp_path / "cache").glob("text-hf_auto-*.onnx"))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns
    assert OnnxServing(model).text_served and exported[0].stat().st_mtime_ns == stamp  # loaded, not remade


def test_text_tower_without_a_writable_cache_runs_in_pytorch(tmp_path, monkeypatch):
    from mm_robot.model.testing import save_tiny_bert

    blocker = tmp_path / "not_a_directory"
    blocker.write_text("")
    monkeypatch.setenv("MM_ROBOT_CACHE", str(blocker))
    model = _random_model(text_encoder="hf_auto", text_pretrained=str(save_tiny_bert(tmp_path / "bert")))
    images = _pixels(model.config)
    served = OnnxServing(model)
    assert not served.text_served
    _assert_same(served.predict(images, TEXTS), _reference(model, images, TEXTS))


def test_onnx_form_of_the_shipped_checkpoint_gives_the_pytorch_outputs():
    model = FusionModel.from_pretrained(DEFAULT_CHECKPOINT)
    images = _pixels(model.config, seed=3)
    ref = _reference(model, images, TEXTS)
    served = make_serving(FusionModel.from_pretrained(DEFAULT_CHECKPOINT), "onnx")
    assert isinstance(served, OnnxServing) and served.rewritten and served.text_served
    _assert_same(served.predict(images, TEXTS), ref, atol=1e-4)


def test_lru_cache_computes_each_key_once_and_forgets_the_least_recently_used():
    computed = []
    cache = LRUCache(2, lambda k: computed.append(k) or k.upper())
    assert cache("a") == "A" and cache("b") == "B" and cache("a") == "A"  # "a" is now the most recent
    assert computed == ["a", "b"]
    cache("c")  # evicts "b", the least recently used
    assert "a" in cache and "c" in cache and "b" not in cache and len(cache) == 2
    cache("b")
    assert computed == ["a", "b", "c", "b"] and "a" not in cache
    with pytest.raises(ValueError):
        LRUCache(0, str)


def test_policy_command_cache_is_bounded():
    policy = load_fusion_policy(_saved(_random_model()), cache_size=3, warm_up=False)
    image = np.zeros((60, 80, 3), np.uint8)
    for i in range(10):
        policy.select_action(Observation(Frame(image, 1.0), Command(f"go to the red ball {i}", 1.0), now=1.0))
    assert len(policy.serving.commands) == 3


def _saved(model: FusionModel) -> str:
    import tempfile

    directory = tempfile.mkdtemp(prefix="mm_robot_serving_")
    model.save_pretrained(directory)
    return directory


def test_missing_onnxruntime_falls_back_to_pytorch_with_a_warning(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with caplog.at_level(logging.WARNING, logger="mm_robot.model.serving"):
        served = make_serving(_random_model(), "onnx")
    assert isinstance(served, TorchServing)
    assert any("onnxruntime is not installed" in r.getMessage() for r in caplog.records)
    with pytest.raises(ValueError, match="unknown serving form"):
        make_serving(_random_model(), "tensorrt")


def test_warm_up_runs_the_text_tower_and_the_serving_form_at_construction():
    directory = _saved(_random_model())
    cold = load_fusion_policy(directory, warm_up=False)
    assert len(cold.serving.commands) == 0
    warm = load_fusion_policy(directory)
    assert len(warm.serving.commands) == 1  # the warm-up command's tokens
    calls = []
    warm.model.text.register_forward_hook(lambda *_: calls.append(1))
    assert warm.warm_up() >= 0.0 and calls == []  # already cached: warming up twice costs no tower run
