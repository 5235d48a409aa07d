"""Encoder registry: transformers towers loaded with from_pretrained from local directories."""

from __future__ import annotations

import pytest
import torch

from mm_robot.model import FusionModel, tiny_config
from mm_robot.model.encoders import bundled_minilm_dir
from mm_robot.model.testing import save_tiny_bert, save_tiny_clip


@pytest.fixture(scope="module")
def towers(tmp_path_factory):
    root = tmp_path_factory.mktemp("towers")
    return {"bert": save_tiny_bert(root / "bert"), "clip": save_tiny_clip(root / "clip")}


def _count_calls(module: torch.nn.Module) -> list:
    calls = []
    module.register_forward_hook(lambda *_: calls.append(1))
    return calls


@pytest.mark.parametrize("kind", ["hf_auto", "minilm", "clip"])
def test_text_towers_load_from_a_directory_frozen_and_cached_per_text(towers, kind):
    path = towers["clip" if kind == "clip" else "bert"]
    model = FusionModel(tiny_config(text_encoder=kind, text_pretrained=str(path)))
    assert model.text.out_dim == 32
    assert model.text_frozen
    calls = _count_calls(model.text.model)
    images = torch.rand(2, 3, 32, 48)
    model.encode(images, ["go to the red ball", "find the blue box"])
    model.encode(images, ["go to the red ball", "find the blue box"])
    model.encode(images[:1], ["find the blue box"])
    assert len(calls) == 1  # one tower run for both texts, none afterwards
    model.encode(images[:1], ["stop"])
    assert len(calls) == 2


def test_different_commands_give_different_groundings(towers):
    torch.manual_seed(0)
    model = FusionModel(tiny_config(text_encoder="hf_auto", text_pretrained=str(towers["bert"]))).eval()
    images = torch.rand(1, 3, 32, 48).expand(2, -1, -1, -1)
    out = model.encode(images, ["go to the red ball", "find the blue box"])
    assert not torch.allclose(out.heat_logits[0], out.heat_logits[1])


def test_clip_vision_tower_gives_patch_tokens_and_is_not_stored_when_frozen(towers, tmp_path):
    cfg = tiny_config(vision_encoder="clip", vision_pretrained=str(towers["clip"]), freeze_vision=True)
    model = FusionModel(cfg).eval()
    out = model.encode(torch.rand(2, 3, 32, 48), ["go to the red ball", "stop"])
    assert out.grid == (4, 4)  # 32 px / 8 px patches, CLS dropped
    assert out.token_boxes.shape == (2, 16, 4)
    model.save_pretrained(tmp_path / "ck")
    from safetensors.torch import load_file
    keys = load_file(str(tmp_path / "ck" / "model.safetensors")).keys()
    assert not any(k.startswith("vision.") for k in keys)
    loaded = FusionModel.from_pretrained(tmp_path / "ck")
    assert torch.allclose(loaded.encode(torch.ones(1, 3, 32, 48), ["stop"]).heat_logits,
                          model.encode(torch.ones(1, 3, 32, 48), ["stop"]).heat_logits)


def test_pretrained_towers_need_a_source():
    with pytest.raises(ValueError):
        FusionModel(tiny_config(vision_encoder="clip"))
    with pytest.raises(ValueError):
        FusionModel(tiny_config(text_encoder="clip"))


def test_bundled_minilm_is_the_default_text_tower():
    path = bundled_minilm_dir()
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()
    model = FusionModel(tiny_config(text_encoder="minilm", text_dim=0))
    assert model.text.out_dim == 384
    hidden, mask = model.encode_text(["go to the red ball", "go to the crimson sphere", "tell me a joke"])
    assert hidden.shape == (3, model.config.max_text_tokens, 384)
    pooled = [(hidden[i] * mask[i, :, None]).sum(0) / mask[i].sum() for i in range(3)]
    cos = torch.nn.functional.cosine_similarity
    # A paraphrase is closer than an unrelated sentence: the real weights were loaded.
    assert cos(pooled[0], pooled[1], dim=0) > cos(pooled[0], pooled[2], dim=0)


def test_hf_vit_tower_loads_from_a_directory(tmp_path):
    from transformers import ViTConfig, ViTModel
    torch.manual_seed(0)
    ViTModel(ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=64), add_pooling_layer=False).save_pretrained(tmp_path / "vit")
    model = FusionModel(tiny_config(vision_encoder="hf_vit", vision_pretrained=str(tmp_path / "vit")))
    assert model.vision.out_dim == 32
    out = model.encode(torch.rand(1, 3, 32, 48), ["go to the red ball"])
    assert out.grid == (4, 4)
    loss, _ = model({"images": torch.rand(2, 3, 32, 48), "texts": ["red ball", "stop"],
                     "boxes": torch.tensor([[0.1, 0.1, 0.5, 0.5], [0, 0, 0, 0]]), "present": torch.tensor([1.0, 0.0]),
                     "actions": torch.tensor([1, 6]), "velocity": torch.zeros(2, 2), "label_ids": torch.tensor([0, 1])})
    loss.backward()
    assert model.vision.model.embeddings.patch_embeddings.projection.weight.grad is not None  # not frozen
