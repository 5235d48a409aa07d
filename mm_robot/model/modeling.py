"""The multimodal fusion model: encoders -> cross-modal attention -> fusion -> heads.

Shapes (B batch, L command tokens, A audio tokens, N = rows*cols image tokens, d = d_model):

    images (B, 3, H, W) --vision--> (B, N, D_v) --proj + 2-D positions--> y (B, N, d)
    texts  [B]          --text----> (B, L, D_t) --proj--> x (B, L, d)   (cached per text)
    colour words        --lexicon-> (B, C, 6)   --MLP---> appended to x  -> (B, L + C, d)  (colour_lexicon only)
    shape word          --WordNet-> (B, S, 5)   --MLP---> appended to x  -> (B, L + C + S, d)  (shape_lexicon only)
    audio  (B, T)       --audio---> (B, A, D_a) --proj--> appended to x  -> (B, L + C + S + A, d)
    cross-attention: e_ij = <W_q x_i, W_k y_j> / sqrt(d_h); alpha = softmax_j(e); v_i = sum_j alpha_ij W_v y_j
    fusion (concat | add | gated) of x_i and v_i -> h (B, L + C + S + A, d) -> pooled q (B, d)
        (masked mean, or masked softmax of learned per-token scores, so content words can outweigh filler)
    grounding: FiLM(y; q) -> per-token logit + box (B, N, 5); a "not in view" logit from q
    action: [q, attended context, soft box, presence] -> action logits (B, K) + (v, omega) (B, 2)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from ..core.lru import LRUCache
from . import shape_lexicon
from .colour_lexicon import FEATURE_DIM, colour_features, find_colours
from .configuration import WEIGHTS_NAME, FusionConfig
from .encoders import AudioEncoder, build_text, build_vision, fold_batch_norms, sinusoidal_2d


@dataclass
class FusionOutput:
    """What :meth:`FusionModel.encode` returns. Boxes are normalised (x0, y0, x1, y1) in [0, 1]."""

    heat_logits: torch.Tensor  # (B, N + 1): N image tokens, then "not in view"
    token_boxes: torch.Tensor  # (B, N, 4) box proposed by each image token
    box: torch.Tensor  # (B, 4) box of the most likely token
    presence: torch.Tensor  # (B,) probability that the referred object is in view
    action_logits: torch.Tensor  # (B, K) over config.actions
    velocity: torch.Tensor  # (B, 2) (linear m/s, angular rad/s)
    attention: torch.Tensor  # (B, heads, L + C + A, N) last cross-attention weights
    grid: tuple[int, int]  # (rows, cols) of the image tokens
    query: torch.Tensor  # (B, d) pooled fused command vector
    text_vector: torch.Tensor  # (B, d) pooled projected text (before fusion), for contrastive loss
    image_tokens: torch.Tensor  # (B, N, d) projected image tokens without positions


class HeadOutputs(NamedTuple):
    """What :meth:`FusionModel.heads` returns (the fields of :class:`FusionOutput` it fills)."""

    heat_logits: torch.Tensor
    token_boxes: torch.Tensor
    box: torch.Tensor
    presence: torch.Tensor
    action_logits: torch.Tensor
    velocity: torch.Tensor


def box_iou(a: torch.Tensor, b: torch.Tensor, generalized: bool = False) -> torch.Tensor:
    """IoU (or GIoU) of matching boxes (..., 4) in (x0, y0, x1, y1) form -> (...)."""
    ix0, iy0 = torch.maximum(a[..., 0], b[..., 0]), torch.maximum(a[..., 1], b[..., 1])
    ix1, iy1 = torch.minimum(a[..., 2], b[..., 2]), torch.minimum(a[..., 3], b[..., 3])
    inter = (ix1 - ix0).clamp(min=0) * (iy1 - iy0).clamp(min=0)
    area_a = (a[..., 2] - a[..., 0]).clamp(min=0) * (a[..., 3] - a[..., 1]).clamp(min=0)
    area_b = (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)
    union = area_a + area_b - inter
    iou = inter / union.clamp(min=1e-9)
    if not generalized:
        return iou
    cx0, cy0 = torch.minimum(a[..., 0], b[..., 0]), torch.minimum(a[..., 1], b[..., 1])
    cx1, cy1 = torch.maximum(a[..., 2], b[..., 2]), torch.maximum(a[..., 3], b[..., 3])
    hull = ((cx1 - cx0) * (cy1 - cy0)).clamp(min=1e-9)
    return iou - (hull - union) / hull


class CrossModalBlock(nn.Module):
    """Command (+ audio) tokens attend over image tokens, then fuse (concat | add | gated)."""

    def __init__(self, d: int, heads: int, fusion: str, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads, self.d_head, self.fusion = heads, d // heads, fusion
        self.norm_x = nn.LayerNorm(d)
        self.norm_y = nn.LayerNorm(d)
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.out = nn.Linear(d, d)
        if fusion == "concat":
            self.mix = nn.Linear(2 * d, d)
        elif fusion == "gated":
            self.gate = nn.Linear(2 * d, d)
        self.ffn = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, y: torch.Tensor, one_image: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, L, d) queries, y (B, N, d) image tokens -> fused (B, L, d), alpha (B, h, L, N).
        ``one_image``: every row of y is the same image (many commands, one frame), so its keys and
        values are computed once and shared."""
        b, length, d = x.shape
        n = y.shape[1]
        xn = self.norm_x(x)
        yn = self.norm_y(y[:1] if one_image else y)
        rows = 1 if one_image else b
        q = self.q(xn).view(b, length, self.heads, self.d_head).transpose(1, 2)  # (B, L, d) -> (B, h, L, d_h)
        k = self.k(yn).view(rows, n, self.heads, self.d_head).transpose(1, 2)  # (B, N, d) -> (B, h, N, d_h)
        v = self.v(yn).view(rows, n, self.heads, self.d_head).transpose(1, 2)  # (B, h, N, d_h)
        if one_image:
            k, v = k.expand(b, -1, -1, -1), v.expand(b, -1, -1, -1)  # (1, h, N, d_h) -> (B, h, N, d_h), shared
        e = q @ k.transpose(-1, -2) / math.sqrt(self.d_head)  # e_ij: (B, h, L, N)
        alpha = e.softmax(dim=-1)  # softmax over image tokens j
        attended = (alpha @ v).transpose(1, 2).reshape(b, length, d)  # (B, h, L, d_h) -> (B, L, d)
        h_y = self.drop(self.out(attended))
        h_x = x
        if self.fusion == "concat":
            h = h_x + self.mix(torch.cat([h_x, h_y], dim=-1))  # (B, L, 2d) -> (B, L, d)
        elif self.fusion == "add":
            h = h_x + h_y
        else:  # gated: h = a * h_x + (1 - a) * h_y, a = sigmoid(W [h_x; h_y])
            gate = torch.sigmoid(self.gate(torch.cat([h_x, h_y], dim=-1)))  # (B, L, d)
            h = gate * h_x + (1.0 - gate) * h_y
        h = h + self.drop(self.ffn(h))
        return h, alpha


def _lexicon_mlp(n_features: int, d: int) -> nn.Module:
    """Lexicon features of one phrase -> one command token."""
    return nn.Sequential(nn.Linear(n_features, d), nn.GELU(), nn.Linear(d, d), nn.LayerNorm(d))


def _lexicon_states(texts: list[str], cache: LRUCache[str, tuple[torch.Tensor, torch.Tensor]], dim: int,
                    slots: int, features_of: Callable[[str], list[np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stacked features (B, slots, dim) and mask (B, slots) of the lexicon phrases of each text;
    ``features_of(text)`` lists one (dim,) array per phrase. Cached per text."""
    rows = []
    for t in texts:
        row = cache.get(t)
        if row is None:
            feats, mask = torch.zeros(slots, dim), torch.zeros(slots, dtype=torch.bool)
            for i, f in enumerate(features_of(t)[:slots]):
                feats[i], mask[i] = torch.from_numpy(f), True
            row = (feats, mask)
            cache.put(t, row)
        rows.append(row)
    return torch.stack([r[0] for r in rows]), torch.stack([r[1] for r in rows])


class FusionModel(nn.Module):
    """Grounds a command in an image (box + presence) and decides an action.

    ``forward(batch)`` returns ``(loss, logs)`` for training; ``encode`` returns a
    :class:`FusionOutput` for inference. Text token states from a frozen text tower
    are cached per command string (the fusion node sends the same command for many frames),
    least recently used first out: ``TRAINING_CACHE_SIZE`` texts while training (every re-wording
    of the bank), ``cache_size`` of :meth:`for_inference` while serving (a few hundred commands,
    so memory cannot grow with the number of distinct commands a robot hears).
    """

    TRAINING_CACHE_SIZE = 20000

    def __init__(self, config: FusionConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.vision = build_vision(config)
        self.text = build_text(config)
        self.audio = AudioEncoder(config) if config.use_audio else None
        self.vis_proj = nn.Linear(self.vision.out_dim, d)
        self.txt_proj = nn.Sequential(nn.Linear(self.text.out_dim, d), nn.LayerNorm(d))
        self.aud_proj = nn.Linear(self.audio.out_dim, d) if self.audio is not None else None
        self.colour_proj = _lexicon_mlp(FEATURE_DIM, d) if config.colour_lexicon else None
        self.shape_proj = _lexicon_mlp(shape_lexicon.FEATURE_DIM, d) if config.shape_lexicon else None
        self.modality = nn.Parameter(torch.zeros(2, d))  # 0: text, 1: audio
        self.blocks = nn.ModuleList(CrossModalBlock(d, config.n_heads, config.fusion, config.dropout)
                                    for _ in range(config.fusion_layers))
        self.pool_score = nn.Linear(d, 1) if config.pooling == "attention" else None
        self.film = nn.Linear(d, 2 * d)
        self.token_head = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, 5))
        self.null_head = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, 1))
        k = len(config.actions)
        self.action_head = nn.Sequential(nn.Linear(2 * d + 5, 2 * d), nn.GELU(), nn.Linear(2 * d, k + 2))
        self.contrast_txt = nn.Linear(d, d)
        self.contrast_img = nn.Linear(d, d)
        size = self.TRAINING_CACHE_SIZE
        self._text_cache: LRUCache[str, tuple[torch.Tensor, torch.Tensor]] = LRUCache(size)
        self._colour_cache: LRUCache[str, tuple[torch.Tensor, torch.Tensor]] = LRUCache(size)
        self._shape_cache: LRUCache[str, tuple[torch.Tensor, torch.Tensor]] = LRUCache(size)
        self._command_cache: LRUCache[str, tuple[torch.Tensor, torch.Tensor]] = LRUCache(size)
        self._pos_cache: dict[tuple[int, int, str], tuple[torch.Tensor, torch.Tensor]] = {}
        self.serving = False  # set by for_inference()
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    # ------------------------------------------------------------------ encoders

    @property
    def text_frozen(self) -> bool:
        return not any(p.requires_grad for p in self.text.parameters())

    def encode_text(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token states (B, L, D_t) and mask (B, L) bool; cached per text when the tower is frozen."""
        if not self.text_frozen:
            return self.text(texts)
        states = {t: self._text_cache.get(t) for t in texts}
        missing = sorted(t for t, state in states.items() if state is None)
        if missing:
            was_training = self.text.training
            self.text.eval()
            with torch.no_grad():
                for start in range(0, len(missing), 256):
                    chunk = missing[start:start + 256]
                    hidden, mask = self.text(chunk)
                    for i, t in enumerate(chunk):
                        states[t] = (hidden[i].detach(), mask[i].detach())
                        self._text_cache.put(t, states[t])
            self.text.train(was_training)
        hidden = torch.stack([states[t][0] for t in texts])  # (B, L, D_t)
        mask = torch.stack([states[t][1] for t in texts])  # (B, L)
        return hidden, mask

    def clear_text_cache(self) -> None:
        self._text_cache.clear()
        self._colour_cache.clear()
        self._shape_cache.clear()
        self._command_cache.clear()

    def colour_states(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (B, C, 6) of the first C = max_colour_tokens colour phrases of each text, mask (B, C)."""
        return _lexicon_states(texts, self._colour_cache, FEATURE_DIM, self.config.max_colour_tokens,
                               lambda t: [colour_features(rgb) for _, rgb in find_colours(t)])

    def shape_states(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (B, 1, 5) of each text's last shape phrase (the object's name ends an English
        noun phrase; earlier matches are verbs such as "roll over"), mask (B, 1)."""
        def last_shape(text: str) -> list[np.ndarray]:
            return [shape_lexicon.shape_features(w) for _, w in shape_lexicon.find_shapes(text)[-1:]]
        return _lexicon_states(texts, self._shape_cache, shape_lexicon.FEATURE_DIM, 1, last_shape)

    def command_tokens(self, texts: Optional[list[str]],
                       text_states: Optional[tuple[torch.Tensor, torch.Tensor]] = None,
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected command tokens (B, L + C, d) and their float mask: the text's tokens, then one
        per colour phrase (colour_lexicon). They depend on the text alone, so while serving (eval
        mode, no gradients) they are cached per command string; ``train()`` / ``eval()`` clear it."""
        if self.training or torch.is_grad_enabled() or text_states is not None:
            return self.project_command(texts, text_states)
        texts = list(texts or [])
        tokens = {t: self._command_cache.get(t) for t in texts}
        missing = [t for t, state in tokens.items() if state is None]
        if missing:
            x, maskf = self.project_command(missing)
            for i, t in enumerate(missing):
                tokens[t] = (x[i], maskf[i])
                self._command_cache.put(t, tokens[t])
        return torch.stack([tokens[t][0] for t in texts]), torch.stack([tokens[t][1] for t in texts])

    def project_command(self, texts: Optional[list[str]],
                        text_states: Optional[tuple[torch.Tensor, torch.Tensor]] = None,
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected command tokens (B, L + C + S, d) and float mask of ``texts``, not cached; the
        text tower's states are ``text_states`` (hidden (B, L, D_t), mask (B, L)) when given, else
        :meth:`encode_text`'s."""
        hidden, mask = text_states if text_states is not None else self.encode_text(list(texts or []))
        dtype = self.txt_proj[0].weight.dtype
        x = self.txt_proj(hidden.to(dtype)) + self.modality[0]  # (B, L, d)
        maskf = mask.to(dtype)  # (B, L)
        if (self.colour_proj is not None or self.shape_proj is not None) and texts is None:
            raise ValueError("colour/shape lexicon: encode() needs the command strings, not only text_states")
        if self.colour_proj is not None:
            feats, colour_mask = self.colour_states(list(texts))  # (B, C, 6), (B, C)
            feats = feats.to(x)
            if self.training and self.config.colour_jitter > 0:  # neighbouring colours mean the same thing
                feats = feats + torch.randn_like(feats) * self.config.colour_jitter
            x = torch.cat([x, self.colour_proj(feats)], dim=1)  # (B, L + C, d)
            maskf = torch.cat([maskf, colour_mask.to(dtype)], dim=1)  # (B, L + C)
        if self.shape_proj is not None:
            feats, shape_mask = self.shape_states(list(texts))  # (B, 1, 5), (B, 1)
            x = torch.cat([x, self.shape_proj(feats.to(x))], dim=1)  # (B, L + C + 1, d)
            maskf = torch.cat([maskf, shape_mask.to(dtype)], dim=1)
        return x, maskf

    def train(self, mode: bool = True) -> "FusionModel":
        self._command_cache.clear()  # projected command tokens change with the weights
        return super().train(mode)

    def _positions(self, rows: int, cols: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """2-D positions (N, d) and token centres (N, 2) as normalised (x, y)."""
        key = (rows, cols, str(device))
        if key not in self._pos_cache:
            pos = sinusoidal_2d(rows, cols, self.config.d_model).to(device)
            ys, xs = torch.meshgrid(torch.arange(rows, dtype=torch.float32),
                                    torch.arange(cols, dtype=torch.float32), indexing="ij")
            centres = torch.stack([(xs + 0.5) / cols, (ys + 0.5) / rows], dim=-1).reshape(rows * cols, 2)
            self._pos_cache[key] = (pos, centres.to(device))  # (R, Q, 2) -> (N, 2)
        return self._pos_cache[key]

    # ------------------------------------------------------------------ forward

    def encode(self, images: torch.Tensor, texts: Optional[list[str]] = None,
               audio: Optional[torch.Tensor] = None,
               text_states: Optional[tuple[torch.Tensor, torch.Tensor]] = None) -> FusionOutput:
        """images (B, 3, H, W) in [0, 1]; texts: B strings (or precomputed ``text_states``)."""
        x, maskf = self.command_tokens(texts, text_states)  # (B, L + C, d), (B, L + C)
        return self.encode_tokens(images, x, maskf, audio)

    def audio_tokens(self, audio: torch.Tensor) -> torch.Tensor:
        """Waveform (B, T) -> projected audio tokens (B, A, d) (``use_audio`` models only)."""
        return self.aud_proj(self.audio(audio)) + self.modality[1]

    def encode_tokens(self, images: torch.Tensor, x: torch.Tensor, maskf: torch.Tensor,
                      audio: Optional[torch.Tensor] = None) -> FusionOutput:
        """:meth:`encode` from projected command tokens x (B, L, d) and their float mask (B, L),
        as :meth:`command_tokens` returns them; the serving forms (``serving.py``) cache those."""
        y0, y, centres, grid = self.image_tokens(images)
        return self.fuse(y0, y, centres, grid, x, maskf, audio)

    @torch.no_grad()
    def ground_each(self, images: torch.Tensor, texts: list[str]) -> FusionOutput:
        """One image (1, 3, H, W), K commands -> K outputs; the image side runs once (a scene
        read object by object, as the compositional policy path does)."""
        y0, y, centres, grid = self.image_tokens(images)
        x, maskf = self.command_tokens(texts)
        k = len(texts)
        return self.fuse(y0.expand(k, -1, -1), y.expand(k, -1, -1), centres, grid, x, maskf, one_image=True)

    def fuse(self, y0: torch.Tensor, y: torch.Tensor, centres: torch.Tensor, grid: tuple[int, int],
             x: torch.Tensor, maskf: torch.Tensor, audio: Optional[torch.Tensor] = None,
             one_image: bool = False) -> FusionOutput:
        """Cross-modal blocks and heads over image tokens (:meth:`image_tokens`) and command tokens;
        ``one_image``: every row of the image tokens is the same frame (:meth:`ground_each`)."""
        x, maskf = x.to(y.dtype), maskf.to(y.dtype)
        text_vector = (x * maskf[..., None]).sum(1) / maskf.sum(1, keepdim=True).clamp(min=1.0)  # (B, d)
        if self.audio is not None and audio is not None:
            a = self.audio_tokens(audio)  # (B, A, d)
            x = torch.cat([x, a], dim=1)  # (B, L + C + A, d)
            maskf = torch.cat([maskf, maskf.new_ones(a.shape[:2])], dim=1)  # (B, L + C + A)
        alpha = y.new_zeros(0)
        for block in self.blocks:
            x, alpha = block(x, y, one_image)
        q = self._pool(x, maskf)  # (B, d)
        heads = self.heads(y, q, centres, grid)
        return FusionOutput(**heads._asdict(), attention=alpha, grid=grid, query=q, text_vector=text_vector,
                            image_tokens=y0)

    def image_tokens(self, images: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[int, int]]:
        """images (B, 3, H, W) in [0, 1] -> projected tokens y0 (B, N, d), y0 + 2-D positions y,
        token centres (N, 2) as normalised (x, y), and the (rows, cols) grid."""
        img, (rows, cols) = self.vision(images)  # (B, N, D_v)
        y0 = self.vis_proj(img)  # (B, N, d)
        pos, centres = self._positions(rows, cols, y0.device)
        return y0, y0 + pos, centres, (rows, cols)

    def heads(self, y: torch.Tensor, q: torch.Tensor, centres: torch.Tensor,
              grid: tuple[int, int]) -> HeadOutputs:
        """Grounding and action heads: image tokens y (B, N, d) (with positions), pooled query q (B, d)."""
        cfg = self.config
        rows, cols = grid
        gamma, beta = self.film(q).chunk(2, dim=-1)  # (B, d) each
        z = self.token_head(y * (1.0 + gamma[:, None]) + beta[:, None])  # (B, N, 5)
        token_logits = z[..., 0]  # (B, N)
        null_logit = self.null_head(q)  # (B, 1)
        heat_logits = torch.cat([token_logits, null_logit], dim=1)  # (B, N + 1)
        centre = centres[None] + z[..., 1:3] / torch.tensor([cols, rows], dtype=z.dtype, device=z.device)
        size = torch.sigmoid(z[..., 3:5])  # (B, N, 2) normalised width, height
        token_boxes = torch.cat([centre - size / 2, centre + size / 2], dim=-1)  # (B, N, 4)
        probs = heat_logits.softmax(dim=1)  # (B, N + 1)
        presence = 1.0 - probs[:, -1]  # (B,)
        best = token_logits.argmax(dim=1)  # (B,)
        box = token_boxes.gather(1, best[:, None, None].expand(-1, 1, 4)).squeeze(1)  # (B, 4)
        p_tok = token_logits.softmax(dim=1)  # (B, N) where the target is, if it is in view
        context = (p_tok[..., None] * y).sum(1)  # (B, d)
        soft_box = (p_tok[..., None] * token_boxes).sum(1)  # (B, 4)
        act = self.action_head(torch.cat([q, context, soft_box, presence[:, None]], dim=-1))  # (B, K + 2)
        scale = torch.tensor([cfg.max_linear, cfg.max_angular], dtype=act.dtype, device=act.device)
        velocity = torch.tanh(act[:, -2:]) * scale  # (B, 2)
        return HeadOutputs(heat_logits, token_boxes, box, presence, act[:, :-2], velocity)

    def _pool(self, x: torch.Tensor, maskf: torch.Tensor) -> torch.Tensor:
        """Fused tokens (B, L, d) with mask (B, L) -> one query vector (B, d)."""
        if self.pool_score is None:
            return (x * maskf[..., None]).sum(1) / maskf.sum(1, keepdim=True).clamp(min=1.0)
        scores = self.pool_score(x).squeeze(-1).masked_fill(maskf <= 0, float("-inf"))  # (B, L)
        weights = torch.nan_to_num(scores.softmax(dim=1))  # an all-masked row -> zeros, not NaN
        return (weights[..., None] * x).sum(1)

    def forward(self, batch: dict[str, Any], stage: str = "multitask") -> tuple[torch.Tensor, dict[str, float]]:
        """Training step. ``batch`` keys: images (B,3,H,W) float, texts [B], boxes (B,4) normalised,
        present (B,), actions (B,) long, velocity (B,2), label_ids (B,) long, optional audio (B,T).

        ``stage``: "contrastive" (stage 1: region <-> text alignment only) or "multitask" (stage 2).
        Returns (loss, logs) with logs as plain floats.
        """
        cfg = self.config
        out = self.encode(batch["images"], batch.get("texts"), batch.get("audio"),
                          text_states=batch.get("text_states"))
        present = batch["present"].float()  # (B,)
        gt = batch["boxes"].float()  # (B, 4)
        rows, cols = out.grid
        n = rows * cols
        pos, centres = self._positions(rows, cols, gt.device)
        # Tokens whose centre lies inside the target box (B, N), plus the token holding its centre.
        inside = ((centres[None, :, 0] >= gt[:, None, 0]) & (centres[None, :, 0] <= gt[:, None, 2])
                  & (centres[None, :, 1] >= gt[:, None, 1]) & (centres[None, :, 1] <= gt[:, None, 3]))
        gcx = ((gt[:, 0] + gt[:, 2]) / 2).clamp(0, 1 - 1e-6)
        gcy = ((gt[:, 1] + gt[:, 3]) / 2).clamp(0, 1 - 1e-6)
        centre_tok = (gcy * rows).long() * cols + (gcx * cols).long()  # (B,)
        inside[torch.arange(len(gt)), centre_tok] = True
        inside = inside & (present[:, None] > 0.5)
        logs: dict[str, float] = {}
        losses: dict[str, torch.Tensor] = {}
        if stage in ("contrastive",) or cfg.w_contrastive > 0:
            losses["contrastive"] = self._contrastive(out, inside, batch)
        if stage == "multitask":
            heat_target = torch.where(present > 0.5, centre_tok, torch.full_like(centre_tok, n))
            losses["heatmap"] = F.cross_entropy(out.heat_logits, heat_target) * cfg.w_heatmap
            w = inside.float()  # (B, N)
            if w.sum() > 0:
                tgt = gt[:, None, :].expand_as(out.token_boxes)  # (B, N, 4)
                per = (F.l1_loss(out.token_boxes, tgt, reduction="none").sum(-1)
                       + (1.0 - box_iou(out.token_boxes, tgt, generalized=True)))  # (B, N)
                losses["box"] = (per * w).sum() / w.sum() * cfg.w_box
            losses["action"] = F.cross_entropy(out.action_logits, batch["actions"].long()) * cfg.w_action
            scale = out.velocity.new_tensor([cfg.max_linear, cfg.max_angular])
            losses["velocity"] = F.mse_loss(out.velocity / scale, batch["velocity"].float() / scale) * cfg.w_velocity
            with torch.no_grad():
                logs.update(self.batch_metrics(out, batch))
        if not losses:
            raise ValueError(f"unknown stage {stage!r}")
        loss = sum(losses.values())
        logs.update({f"loss_{k}": float(v.detach()) for k, v in losses.items()})
        logs["loss"] = float(loss.detach())
        return loss, logs

    def _contrastive(self, out: FusionOutput, inside: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        """Symmetric InfoNCE between target-region vectors and command vectors of present samples.

        Samples naming the same object (equal ``label_ids``) are all positives of each other.
        """
        keep = inside.any(dim=1)  # (B,) present samples
        if int(keep.sum()) < 2:
            return out.query.sum() * 0.0
        w = inside[keep].float()  # (M, N)
        region = (w[..., None] * out.image_tokens[keep]).sum(1) / w.sum(1, keepdim=True)  # (M, d)
        r = F.normalize(self.contrast_img(region), dim=-1)
        t = F.normalize(self.contrast_txt(out.text_vector[keep]), dim=-1)  # (M, d)
        logits = r @ t.T / self.config.contrastive_temperature  # (M, M)
        labels = batch["label_ids"][keep.to(batch["label_ids"].device)].to(logits.device)
        pos = (labels[:, None] == labels[None, :]).float()  # (M, M)
        loss_r = -(pos / pos.sum(1, keepdim=True) * logits.log_softmax(dim=1)).sum(1).mean()
        loss_t = -(pos / pos.sum(0, keepdim=True) * logits.log_softmax(dim=0)).sum(0).mean()
        return (loss_r + loss_t) / 2

    @staticmethod
    def batch_metrics(out: FusionOutput, batch: dict[str, Any]) -> dict[str, float]:
        present = batch["present"].float() > 0.5
        pred_present = out.presence > 0.5
        iou = box_iou(out.box, batch["boxes"].float())
        hit = (iou >= 0.5) & pred_present & present
        metrics = {
            "presence_acc": float((pred_present == present).float().mean()),
            "action_acc": float((out.action_logits.argmax(1) == batch["actions"].long()).float().mean()),
        }
        if present.any():
            metrics["ground_acc"] = float(hit[present].float().mean())
        return metrics

    # ------------------------------------------------------------------ save / load

    def _skipped_prefixes(self) -> tuple[str, ...]:
        """Frozen pretrained towers are re-loaded from their source, not copied into checkpoints."""
        skip = []
        if getattr(self.text, "pretrained", False) and self.text_frozen:
            skip.append("text.")
        if getattr(self.vision, "pretrained", False) and self.config.freeze_vision:
            skip.append("vision.")
        return tuple(skip)

    def save_pretrained(self, directory: Union[str, Path], card: Optional[str] = None,
                        metrics: Optional[dict[str, Any]] = None) -> Path:
        """Write config.json, model.safetensors (no pickle) and a README.md model card."""
        if self.serving:
            raise RuntimeError("a model turned for_inference() has folded weights; save the model it was loaded from")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self.config.save(out)
        skip = self._skipped_prefixes()
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()
                 if not k.startswith(skip)}
        save_file(state, str(out / WEIGHTS_NAME), metadata={"format": "pt", "model_type": self.config.model_type})
        if metrics is not None:
            (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
        (out / "README.md").write_text(card if card is not None else default_model_card(self, metrics))
        return out

    @classmethod
    def from_pretrained(cls, directory: Union[str, Path], **overrides: Any) -> "FusionModel":
        """Rebuild from ``save_pretrained`` output; ``overrides`` change config fields (e.g. text_pretrained)."""
        directory = Path(directory)
        config = FusionConfig.load(directory)
        if overrides:
            config = config.replace(**overrides)
        model = cls(config)
        model.load_weights(directory)
        model.eval()
        return model

    def load_weights(self, directory: Union[str, Path], allow_new: bool = False) -> list[str]:
        """Load ``directory``'s safetensors weights into this model (the one weight loader).

        Frozen pretrained towers are not stored and never missed. With ``allow_new`` (fine-tuning
        from a saved model), modules it lacks keep their fresh initialisation and are returned;
        any other mismatch, or a tensor of another shape, is an error and nothing half-loads."""
        directory = Path(directory)
        state = load_file(str(directory / WEIGHTS_NAME))
        try:
            missing, unexpected = self.load_state_dict(state, strict=False)
        except RuntimeError as error:  # a tensor of another shape
            raise RuntimeError(f"{directory}: weights do not fit the model: {error}") from None
        missing = [k for k in missing if not k.startswith(self._skipped_prefixes())]
        if (missing and not allow_new) or unexpected:
            raise RuntimeError(f"{directory}: weights do not match the model "
                               f"(missing {missing[:8]}, unexpected {unexpected[:8]})")
        return missing

    def for_inference(self, cache_size: int = 256) -> "FusionModel":
        """Turn this model into its serving form, in place: eval mode, batch norms folded into the
        convolutions and the vision tower in channels-last memory (what oneDNN's convolutions
        prefer), and the per-command caches bounded to ``cache_size`` commands. Same outputs to
        ~1e-6 and about 0.5 ms less a frame on one core; it can no longer be trained or saved, so
        only a model loaded for serving should be turned."""
        for cache in (self._text_cache, self._colour_cache, self._shape_cache, self._command_cache):
            cache.resize(cache_size)
        self.eval()
        fold_batch_norms(self.vision)
        self.vision.to(memory_format=torch.channels_last)
        self.serving = True
        return self

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)


def default_model_card(model: FusionModel, metrics: Optional[dict[str, Any]] = None) -> str:
    cfg = model.config
    bundled = cfg.text_encoder == "minilm"
    text_source = (cfg.text_pretrained or "bundled all-MiniLM-L6-v2") if bundled else cfg.text_pretrained
    lines = [
        "# mm_robot fusion model", "",
        "Grounds a command in a camera image (box + presence) and proposes an action.", "",
        f"- vision encoder: `{cfg.vision_encoder}` ({cfg.vision_pretrained or 'trained from scratch'})",
        f"- text encoder: `{cfg.text_encoder}` ({text_source}), frozen={cfg.freeze_text}",
        f"- fusion: `{cfg.fusion}`, d_model={cfg.d_model}, input {cfg.image_height}x{cfg.image_width}",
        f"- parameters: {model.num_parameters():,} ({model.num_parameters(True):,} trainable)",
        f"- actions: {', '.join(cfg.actions)}",
        "", "Weights: `model.safetensors`; configuration: `config.json`. Load with",
        "`mm_robot.model.FusionModel.from_pretrained(dir)` or `load_fusion_policy(checkpoint=dir)`.", "",
    ]
    if metrics:
        lines += ["## Metrics", "", "```json", json.dumps(metrics, indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines)
