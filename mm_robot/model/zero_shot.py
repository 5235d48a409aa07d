"""Zero-shot grounding with a CLIP checkpoint: patch-text similarity, no training.

Every vision patch token is passed through CLIP's post-layernorm and visual projection
(as the pooled CLS token is) and compared with the command's text embedding by cosine
similarity. The most similar patch is the target; its box is the bounding box of the
connected patches whose similarity is within ``region_fraction`` of the peak, and
presence is a logistic function of the peak similarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..core.lru import LRUCache
from .encoders import CLIP_MEAN, CLIP_STD
from .hub import load_pretrained


@dataclass
class ZeroShotOutput:
    similarity: np.ndarray  # (rows, cols) cosine similarity of each patch to the text
    box: tuple[float, float, float, float]  # normalised (x0, y0, x1, y1)
    presence: float
    peak: tuple[int, int]  # (row, col) of the most similar patch


class ZeroShotClipGrounder:
    """``ground(images (B,3,H,W) in [0,1], texts [B]) -> list[ZeroShotOutput]``."""

    def __init__(self, checkpoint: Union[str, Path], presence_threshold: float = 0.2,
                 presence_sharpness: float = 20.0, region_fraction: float = 0.5,
                 device: str = "cpu", cache_size: int = 256) -> None:
        from transformers import AutoTokenizer, CLIPModel
        self.model = load_pretrained(CLIPModel.from_pretrained, str(checkpoint)).to(device).eval()
        self.tokenizer = load_pretrained(AutoTokenizer.from_pretrained, str(checkpoint))
        vc = self.model.config.vision_config
        self.size, self.patch = int(vc.image_size), int(vc.patch_size)
        self.device = device
        self.threshold, self.sharpness, self.region_fraction = presence_threshold, presence_sharpness, region_fraction
        self.mean = torch.tensor(CLIP_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(CLIP_STD, device=device).view(1, 3, 1, 1)
        self._text_cache: LRUCache[str, torch.Tensor] = LRUCache(cache_size)

    @torch.inference_mode()
    def text_embeddings(self, texts: list[str]) -> torch.Tensor:
        """(B, P) unit-norm text embeddings, cached per text."""
        found = {t: self._text_cache.get(t) for t in texts}
        missing = [t for t, e in found.items() if e is None]
        if missing:
            enc = self.tokenizer(missing, padding=True, return_tensors="pt").to(self.device)
            pooled = self.model.text_model(input_ids=enc["input_ids"],
                                           attention_mask=enc["attention_mask"]).pooler_output  # (M, D_t)
            emb = F.normalize(self.model.text_projection(pooled), dim=-1)  # (M, P)
            for t, e in zip(missing, emb):
                found[t] = e
                self._text_cache.put(t, e)
        return torch.stack([found[t] for t in texts])

    @torch.inference_mode()
    def patch_embeddings(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, N, P) unit-norm projected patch embeddings."""
        x = F.interpolate(images.to(self.device), size=(self.size, self.size), mode="bilinear",
                          align_corners=False)
        hidden = self.model.vision_model(pixel_values=(x - self.mean) / self.std).last_hidden_state  # (B, 1+N, D)
        patches = self.model.vision_model.post_layernorm(hidden[:, 1:])  # (B, N, D)
        return F.normalize(self.model.visual_projection(patches), dim=-1)  # (B, N, P)

    @torch.inference_mode()
    def ground(self, images: torch.Tensor, texts: list[str]) -> list[ZeroShotOutput]:
        side = self.size // self.patch
        sims = torch.einsum("bnp,bp->bn", self.patch_embeddings(images), self.text_embeddings(texts))
        results = []
        for sim in sims.cpu().numpy().reshape(len(texts), side, side):  # (B, N) -> (B, side, side)
            results.append(self._region(sim))
        return results

    def _region(self, sim: np.ndarray) -> ZeroShotOutput:
        rows, cols = sim.shape
        r, c = np.unravel_index(int(np.argmax(sim)), sim.shape)
        peak = float(sim[r, c])
        floor = float(np.median(sim))
        keep = (sim >= floor + self.region_fraction * (peak - floor)).astype(np.uint8)
        _, labels = cv2.connectedComponents(keep, connectivity=4)
        ys, xs = np.nonzero(labels == labels[r, c])
        box = (xs.min() / cols, ys.min() / rows, (xs.max() + 1) / cols, (ys.max() + 1) / rows)
        presence = float(1.0 / (1.0 + np.exp(-self.sharpness * (peak - self.threshold))))
        return ZeroShotOutput(similarity=sim, box=tuple(float(v) for v in box), presence=presence,
                              peak=(int(r), int(c)))
