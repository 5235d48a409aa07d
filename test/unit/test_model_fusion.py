"""Fusion model: shapes, each fusion mode, the attention/fusion maths, overfitting, save/load."""

from __future__ import annotations

import json

import pytest
import torch

from mm_robot.model import FusionConfig, FusionModel, box_iou, tiny_config
from mm_robot.model.modeling import CrossModalBlock

B = 4


def _batch(cfg: FusionConfig, seed: int = 0, audio: bool = False) -> dict:
    g = torch.Generator().manual_seed(seed)
    batch = {
        "images": torch.rand(B, 3, cfg.image_height, cfg.image_width, generator=g),
        "texts": ["go to the red ball", "find the blue box", "stop", "go to the green cone"],
        "boxes": torch.tensor([[0.1, 0.2, 0.4, 0.7], [0.5, 0.1, 0.9, 0.6], [0, 0, 0, 0], [0, 0, 0, 0]]),
        "present": torch.tensor([1.0, 1.0, 0.0, 0.0]),
        "actions": torch.tensor([3, 2, 6, 4]),
        "velocity": torch.tensor([[0.0, -0.5], [0.0, 0.6], [0.0, 0.0], [0.0, 0.5]]),
        "label_ids": torch.tensor([0, 1, 2, 3]),
    }
    if audio:
        batch["audio"] = torch.randn(B, 4000, generator=g) * 0.1
    return batch


@pytest.mark.parametrize("fusion", ["concat", "add", "gated"])
def test_each_fusion_mode_runs_forward_and_backward_with_documented_shapes(fusion):
    torch.manual_seed(0)
    cfg = tiny_config(fusion=fusion)
    model = FusionModel(cfg)
    batch = _batch(cfg)
    out = model.encode(batch["images"], batch["texts"])
    rows, cols = cfg.grid
    n = rows * cols
    assert out.grid == (rows, cols)
    assert out.heat_logits.shape == (B, n + 1)
    assert out.token_boxes.shape == (B, n, 4)
    assert out.box.shape == (B, 4)
    assert out.presence.shape == (B,)
    assert out.action_logits.shape == (B, len(cfg.actions))
    assert out.velocity.shape == (B, 2)
    assert out.attention.shape == (B, cfg.n_heads, cfg.max_text_tokens, n)
    assert torch.allclose(out.attention.sum(-1), torch.ones(B, cfg.n_heads, cfg.max_text_tokens), atol=1e-5)
    assert float(out.velocity[:, 0].detach().abs().max()) <= cfg.max_linear
    loss, logs = model(batch)
    loss.backward()
    assert torch.isfinite(loss)
    assert {"loss_heatmap", "loss_box", "loss_action", "loss_velocity"} <= set(logs)
    grads = [p.grad for p in model.blocks.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)


def test_fusion_modes_have_their_own_parameters():
    names = {mode: {n for n, _ in CrossModalBlock(16, 2, mode).named_parameters()}
             for mode in ("concat", "add", "gated")}
    assert any(n.startswith("mix.") for n in names["concat"])
    assert any(n.startswith("gate.") for n in names["gated"])
    assert not any(n.startswith(("mix.", "gate.")) for n in names["add"])


def test_cross_attention_follows_the_formula_and_gated_fusion_mixes_by_the_gate():
    torch.manual_seed(1)
    block = CrossModalBlock(8, 1, "gated").eval()
    with torch.no_grad():
        block.ffn[-1].weight.zero_()  # drop the FFN residual so h is the fusion output alone
        block.ffn[-1].bias.zero_()
    x, y = torch.randn(1, 3, 8), torch.randn(1, 5, 8)
    h, alpha = block(x, y)
    q, k, v = block.q(block.norm_x(x)), block.k(block.norm_y(y)), block.v(block.norm_y(y))
    e = q @ k.transpose(1, 2) / (8 ** 0.5)  # e_ij
    expected_alpha = e.softmax(-1)
    assert torch.allclose(alpha[:, 0], expected_alpha, atol=1e-6)
    h_y = block.out(expected_alpha @ v)  # v_i = sum_j alpha_ij y_j, projected
    gate = torch.sigmoid(block.gate(torch.cat([x, h_y], -1)))
    assert torch.allclose(h, gate * x + (1 - gate) * h_y, atol=1e-5)


def test_audio_tokens_join_the_fusion_and_change_the_result():
    torch.manual_seed(0)
    cfg = tiny_config(use_audio=True)
    model = FusionModel(cfg).eval()
    batch = _batch(cfg, audio=True)
    with torch.no_grad():
        with_audio = model.encode(batch["images"], batch["texts"], batch["audio"])
        other = model.encode(batch["images"], batch["texts"], batch["audio"].flip(1) * 3.0)
        without = model.encode(batch["images"], batch["texts"])
    a_tokens = model.audio(batch["audio"]).shape[1]
    assert a_tokens >= 1
    assert with_audio.attention.shape[2] == cfg.max_text_tokens + a_tokens
    assert without.attention.shape[2] == cfg.max_text_tokens
    assert not torch.allclose(with_audio.heat_logits, other.heat_logits)
    loss, _ = model(batch)
    loss.backward()
    assert model.audio.body[0].weight.grad is not None


def test_log_mel_puts_a_tone_in_the_right_band():
    from mm_robot.model.encoders import LogMel
    mel = LogMel(16000, 400, 160, 40)
    t = torch.arange(16000) / 16000.0
    low = mel(torch.sin(2 * torch.pi * 300.0 * t)[None])  # (1, 40, frames)
    high = mel(torch.sin(2 * torch.pi * 4000.0 * t)[None])
    assert low.shape == (1, 40, 101)
    assert int(low.mean(-1).argmax()) < int(high.mean(-1).argmax())


@pytest.mark.parametrize("vision", ["cnn", "vit"])
def test_overfits_one_batch(vision):
    torch.manual_seed(0)
    cfg = tiny_config(vision_encoder=vision, freeze_text=False, d_model=32, vit_layers=1)
    model = FusionModel(cfg)
    batch = _batch(cfg)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    first = None
    for _ in range(150):
        loss, logs = model(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = first if first is not None else logs["loss"]
    model.eval()
    with torch.no_grad():
        out = model.encode(batch["images"], batch["texts"])
    assert logs["loss"] < 0.2 * first
    assert (out.action_logits.argmax(1) == batch["actions"]).all()
    assert ((out.presence > 0.5).float() == batch["present"]).all()
    assert (box_iou(out.box[:2], batch["boxes"][:2]) > 0.5).all()


def test_contrastive_stage_aligns_regions_with_their_text():
    torch.manual_seed(0)
    cfg = tiny_config(freeze_text=False)
    model = FusionModel(cfg)
    batch = _batch(cfg)
    batch["present"] = torch.ones(B)
    batch["boxes"] = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.5, 0.0, 1.0, 0.5],
                                   [0.0, 0.5, 0.5, 1.0], [0.5, 0.5, 1.0, 1.0]])
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for _ in range(60):
        loss, logs = model(batch, stage="contrastive")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(logs["loss_contrastive"])
    assert set(logs) == {"loss_contrastive", "loss"}
    assert losses[-1] < 0.3 * losses[0]
    with pytest.raises(ValueError):
        model(batch, stage="nonsense")


@pytest.mark.parametrize("fusion", ["concat", "add", "gated"])
def test_save_then_load_gives_identical_outputs(tmp_path, fusion):
    torch.manual_seed(0)
    cfg = tiny_config(fusion=fusion, use_audio=True)
    model = FusionModel(cfg).eval()
    batch = _batch(cfg, audio=True)
    with torch.no_grad():
        model(batch)  # BatchNorm running stats stay (eval); just exercise the path
        ref = model.encode(batch["images"], batch["texts"], batch["audio"])
    model.save_pretrained(tmp_path / "ck")
    files = sorted(p.name for p in (tmp_path / "ck").iterdir())
    assert files == ["README.md", "config.json", "model.safetensors"]
    assert json.loads((tmp_path / "ck" / "config.json").read_text())["fusion"] == fusion
    loaded = FusionModel.from_pretrained(tmp_path / "ck")
    with torch.no_grad():
        got = loaded.encode(batch["images"], batch["texts"], batch["audio"])
    assert torch.equal(got.heat_logits, ref.heat_logits)
    assert torch.equal(got.velocity, ref.velocity)


@pytest.mark.parametrize("context_convs", [0, 1])
def test_serving_form_gives_the_same_outputs_and_cannot_be_saved(tmp_path, context_convs):
    torch.manual_seed(0)
    cfg = tiny_config(vision_context_convs=context_convs)
    model = FusionModel(cfg)
    batch = _batch(cfg)
    for _ in range(3):  # moves the batch-norm running statistics away from their identity start
        model(batch)
    model.eval()
    with torch.no_grad():
        ref = model.encode(batch["images"], batch["texts"])
        served = model.for_inference()
        got = served.encode(batch["images"], batch["texts"])
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in served.modules())
    assert torch.allclose(got.heat_logits, ref.heat_logits, atol=1e-4)
    assert torch.allclose(got.action_logits, ref.action_logits, atol=1e-4)
    assert torch.allclose(got.box, ref.box, atol=1e-5)
    with pytest.raises(RuntimeError, match="for_inference"):
        served.save_pretrained(tmp_path / "ck")


def test_command_tokens_are_cached_only_while_serving_and_match_a_fresh_projection():
    torch.manual_seed(0)
    cfg = tiny_config(colour_lexicon=True)
    model = FusionModel(cfg).eval()
    batch = _batch(cfg)
    with torch.no_grad():
        fresh = model.encode(batch["images"], batch["texts"]).heat_logits
        assert all(t in model._command_cache for t in batch["texts"])
        cached = model.encode(batch["images"], batch["texts"]).heat_logits
    assert torch.equal(fresh, cached)
    model.train()
    assert len(model._command_cache) == 0  # the weights may change now
    model(batch)[0].backward()
    assert len(model._command_cache) == 0 and model.txt_proj[0].weight.grad is not None
    model.eval()
    with torch.enable_grad():  # gradients wanted: no cache, so they reach the projection
        model.encode(batch["images"], batch["texts"])
    assert len(model._command_cache) == 0


def test_loading_refuses_a_checkpoint_of_another_shape(tmp_path):
    FusionModel(tiny_config(d_model=32)).save_pretrained(tmp_path / "ck")
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    config["d_model"] = 16
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    with pytest.raises(RuntimeError):
        FusionModel.from_pretrained(tmp_path / "ck")


def test_attention_pooling_weights_tokens_by_a_learned_score_and_ignores_padding():
    torch.manual_seed(0)
    model = FusionModel(tiny_config(pooling="attention")).eval()
    x = torch.randn(2, 5, model.config.d_model)
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0]])
    with torch.no_grad():
        model.pool_score.weight.zero_()
        model.pool_score.weight[0, 0] = 50.0  # the token with the largest first feature wins
        q = model._pool(x, mask)
    top = int(x[0, :3, 0].argmax())
    assert torch.allclose(q[0], x[0, top], atol=1e-4)
    assert torch.allclose(q[1], x[1, 0], atol=1e-6)  # only one real token: padding never leaks in
    x_changed = x.clone()
    x_changed[:, 3:] = 1e6  # padding with huge values changes nothing
    with torch.no_grad():
        assert torch.allclose(model._pool(x_changed, mask), q)
    mean_model = FusionModel(tiny_config(pooling="mean"))
    assert mean_model.pool_score is None
    assert torch.allclose(mean_model._pool(x, mask)[0], x[0, :3].mean(0), atol=1e-6)


def test_context_convs_widen_what_one_token_sees():
    """A pixel change far from a token reaches it only through the dilated context convs."""
    torch.manual_seed(0)
    outs = {}
    for convs in (0, 2):
        model = FusionModel(tiny_config(vision_context_convs=convs)).eval()
        images = torch.rand(1, 3, model.config.image_height, model.config.image_width)
        changed = images.clone()
        changed[..., :, -8:] = 1.0 - changed[..., :, -8:]  # the right-most column of tokens' pixels
        with torch.no_grad():
            a, (rows, cols) = model.vision(images)
            b, _ = model.vision(changed)
        diff = (a - b).abs().sum(-1).view(rows, cols)
        outs[convs] = diff[:, 0]  # the left-most column of tokens
        assert len([m for m in model.vision.modules() if type(m).__name__ == "_ContextBlock"]) == convs
    assert float(outs[0].max()) == 0.0
    assert float(outs[2].min()) > 0.0


@pytest.mark.parametrize("fusion", ["concat", "add", "gated"])
def test_grounding_many_commands_in_one_image_equals_one_pass_each(fusion):
    """ground_each runs the image side once and shares its keys and values across the commands;
    the outputs are those of encoding the image once per command."""
    torch.manual_seed(0)
    model = FusionModel(tiny_config(fusion=fusion)).eval()
    cfg = model.config
    image = torch.rand(1, 3, cfg.image_height, cfg.image_width)
    texts = ["go to the red ball", "go to the blue box", "go to the green cone"]
    together = model.ground_each(image, texts)
    with torch.no_grad():
        apart = model.encode(image.expand(len(texts), -1, -1, -1), texts)
    for name in ("heat_logits", "token_boxes", "presence", "action_logits"):
        assert torch.allclose(getattr(together, name), getattr(apart, name), atol=1e-5), name
    assert not torch.allclose(together.heat_logits[0], together.heat_logits[1])  # the commands differ
