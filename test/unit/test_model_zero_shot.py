"""Zero-shot grounding by CLIP patch-text similarity, on a tiny random CLIP made here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mm_robot.core.records import Action, Command, Frame, Observation
from mm_robot.model.testing import save_tiny_clip
from mm_robot.model.zero_shot import ZeroShotClipGrounder
from mm_robot.policies.fusion import ZeroShotPolicy, load_fusion_policy


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("clip") / "clip")


def test_peak_is_the_patch_most_similar_to_the_text(clip_dir):
    grounder = ZeroShotClipGrounder(clip_dir)
    images = torch.rand(2, 3, 48, 64, generator=torch.Generator().manual_seed(0))
    texts = ["go to the red ball", "find the blue box"]
    results = grounder.ground(images, texts)
    model = grounder.model
    # Independent computation with CLIPModel's own pieces.
    pixels = (F.interpolate(images, size=(32, 32), mode="bilinear", align_corners=False) - grounder.mean) / grounder.std
    with torch.no_grad():
        hidden = model.vision_model(pixel_values=pixels).last_hidden_state[:, 1:]
        patches = F.normalize(model.visual_projection(model.vision_model.post_layernorm(hidden)), dim=-1)
        enc = grounder.tokenizer(texts, padding=True, return_tensors="pt")
        features = model.get_text_features(**enc)  # transformers 5: an output object; 4.x: a tensor
        features = getattr(features, "pooler_output", features)
        text = F.normalize(features, dim=-1)
    sims = torch.einsum("bnp,bp->bn", patches, text).numpy().reshape(2, 4, 4)
    for result, sim in zip(results, sims):
        assert np.allclose(result.similarity, sim, atol=1e-5)
        assert result.peak == tuple(np.unravel_index(sim.argmax(), sim.shape))
        x0, y0, x1, y1 = result.box
        r, c = result.peak
        assert x0 <= (c + 0.5) / 4 <= x1 and y0 <= (r + 0.5) / 4 <= y1
        assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0
        assert 0.0 <= result.presence <= 1.0


def test_region_grows_over_the_connected_similar_patches(clip_dir):
    grounder = ZeroShotClipGrounder(clip_dir, region_fraction=0.5)
    sim = np.zeros((4, 4))
    sim[1:3, 1:3] = 1.0
    sim[0, 3] = 0.9  # similar but not connected to the peak region
    out = grounder._region(sim)
    assert out.box == (0.25, 0.25, 0.75, 0.75)
    assert grounder._region(sim * 0.0 + 0.1).presence < grounder._region(sim).presence


def test_a_clip_checkpoint_gives_a_zero_shot_policy(clip_dir):
    policy = load_fusion_policy(checkpoint=clip_dir, presence_threshold=0.0)
    assert isinstance(policy, ZeroShotPolicy)
    frame = Frame(np.zeros((48, 64, 3), dtype=np.uint8), stamp=1.0)
    out = policy.select_action(Observation(frame, Command("go to the red ball", 1.0), now=1.5))
    assert out.grounding is not None and out.grounding.target is not None
    assert out.grounding.image_size == (64, 48)
    x0, y0, x1, y1 = out.grounding.target.box
    assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 48
    assert out.decision.action in (Action.FORWARD, Action.TURN_LEFT, Action.TURN_RIGHT, Action.ARRIVED)
    assert out.decision.policy == "fusion"
