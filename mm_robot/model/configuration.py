"""Configuration of the fusion model: one JSON-serialisable dataclass.

The same object is written as ``config.json`` beside ``model.safetensors`` by
:meth:`FusionModel.save_pretrained` and read back by ``from_pretrained``; unknown
keys are an error so that a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from ..core.records import Action

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
MODEL_TYPE = "mm_robot_fusion"

FUSION_MODES = ("concat", "add", "gated")
POOLING_MODES = ("mean", "attention")
VISION_ENCODERS = ("cnn", "vit", "clip", "hf_vit")
TEXT_ENCODERS = ("minilm", "clip", "hf_auto", "embedding")
AUDIO_ENCODERS = ("logmel_cnn",)

# The decisions a fusion model chooses between (a subset of core.records.ACTIONS):
# NOT_FOUND is the steering helper's non-searching variant and is never an expert label.
DEFAULT_ACTIONS: tuple[str, ...] = (
    Action.IDLE.value, Action.FORWARD.value, Action.TURN_LEFT.value, Action.TURN_RIGHT.value,
    Action.SEARCH.value, Action.ARRIVED.value, Action.STOP.value,
)


@dataclass
class FusionConfig:
    """Every hyper-parameter of :class:`~mm_robot.model.modeling.FusionModel`.

    ``*_encoder`` pick an entry in the encoder registry; ``*_pretrained`` is a hub
    name or a local directory handed to transformers' ``from_pretrained`` (``None``
    means "train from scratch" for vision and "the bundled all-MiniLM-L6-v2" for
    text). Sizes are in pixels / tokens / channels.
    """

    model_type: str = MODEL_TYPE
    # Input image (the processor resizes to this; H x W).
    image_height: int = 96
    image_width: int = 128
    hfov: float = 1.047  # camera horizontal field of view (rad), for bearings
    # Width of the fusion space.
    d_model: int = 96
    # Vision.
    vision_encoder: str = "cnn"
    vision_pretrained: Optional[str] = None
    vision_channels: tuple[int, ...] = (16, 32, 64)  # CNN stage widths (stride 2 each after the stem)
    vision_stride: int = 8  # CNN/ViT token stride in pixels -> a (H/8) x (W/8) token grid
    vision_context_convs: int = 0  # CNN only: residual depthwise dilated 3x3 blocks on the token grid (wider view)
    vit_layers: int = 2
    vit_heads: int = 4
    freeze_vision: bool = False
    # Text.
    text_encoder: str = "minilm"
    text_pretrained: Optional[str] = None
    freeze_text: bool = True
    max_text_tokens: int = 16
    text_vocab_size: int = 0  # "embedding" encoder only (tests): byte-level vocabulary
    text_dim: int = 0  # "embedding" encoder only
    # Colour words -> extra command tokens from a colour-name table (model/colour_lexicon.py).
    colour_lexicon: bool = False
    max_colour_tokens: int = 3
    colour_jitter: float = 0.05  # std of the noise added to colour features while training
    # The command's shape word -> one extra token from a WordNet table (model/shape_lexicon.py).
    shape_lexicon: bool = False
    # Audio.
    use_audio: bool = False
    audio_sample_rate: int = 16000
    audio_n_mels: int = 40
    audio_n_fft: int = 400
    audio_hop: int = 160
    audio_channels: int = 64
    audio_max_seconds: float = 2.0
    # Fusion.
    fusion: str = "gated"
    n_heads: int = 4
    fusion_layers: int = 1
    pooling: str = "attention"  # fused command tokens -> one query: learned "attention" weights or "mean"
    dropout: float = 0.0
    # Heads.
    actions: tuple[str, ...] = DEFAULT_ACTIONS
    max_linear: float = 0.5  # m/s, scale of the continuous linear output
    max_angular: float = 1.0  # rad/s, scale of the continuous angular output
    # Loss weights.
    w_heatmap: float = 1.0
    w_box: float = 2.0
    w_action: float = 1.0
    w_velocity: float = 1.0
    w_contrastive: float = 0.0  # >0 adds the stage-1 loss during stage 2
    contrastive_temperature: float = 0.07
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.vision_channels = tuple(int(c) for c in self.vision_channels)
        self.actions = tuple(str(a) for a in self.actions)
        self.validate()

    def validate(self) -> "FusionConfig":
        if self.model_type != MODEL_TYPE:
            raise ValueError(f"model_type must be {MODEL_TYPE!r}, got {self.model_type!r}")
        if self.fusion not in FUSION_MODES:
            raise ValueError(f"fusion must be one of {FUSION_MODES}, got {self.fusion!r}")
        if self.vision_encoder not in VISION_ENCODERS:
            raise ValueError(f"vision_encoder must be one of {VISION_ENCODERS}, got {self.vision_encoder!r}")
        if self.text_encoder not in TEXT_ENCODERS:
            raise ValueError(f"text_encoder must be one of {TEXT_ENCODERS}, got {self.text_encoder!r}")
        if self.pooling not in POOLING_MODES:
            raise ValueError(f"pooling must be one of {POOLING_MODES}, got {self.pooling!r}")
        if self.vision_context_convs < 0:
            raise ValueError("vision_context_convs must be >= 0")
        if self.max_colour_tokens < 1:
            raise ValueError("max_colour_tokens must be >= 1")
        if self.colour_jitter < 0:
            raise ValueError("colour_jitter must be >= 0")
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be divisible by n_heads")
        if self.image_height % self.vision_stride or self.image_width % self.vision_stride:
            raise ValueError("image size must be a multiple of vision_stride")
        known = {a.value for a in Action}
        bad = [a for a in self.actions if a not in known]
        if bad:
            raise ValueError(f"unknown actions {bad}; known: {sorted(known)}")
        if self.vision_encoder == "cnn" and 2 ** len(self.vision_channels) != self.vision_stride:
            raise ValueError("cnn: 2**len(vision_channels) must equal vision_stride")
        return self

    @property
    def grid(self) -> tuple[int, int]:
        """Token grid (rows, cols) of the scratch vision encoders."""
        return self.image_height // self.vision_stride, self.image_width // self.vision_stride

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["vision_channels"] = list(self.vision_channels)
        data["actions"] = list(self.actions)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FusionConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"FusionConfig: unknown key(s) {unknown}")
        return cls(**data)

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def save(self, directory: Union[str, Path]) -> Path:
        path = Path(directory) / CONFIG_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json_string() + "\n")
        return path

    @classmethod
    def load(cls, directory: Union[str, Path]) -> "FusionConfig":
        path = Path(directory)
        if path.is_dir():
            path = path / CONFIG_NAME
        return cls.from_dict(json.loads(path.read_text()))

    def replace(self, **changes: Any) -> "FusionConfig":
        return FusionConfig.from_dict({**self.to_dict(), **changes})


def tiny_config(**changes: Any) -> FusionConfig:
    """A few-thousand-parameter configuration for tests (byte-level text embedding, no files)."""
    base = dict(image_height=32, image_width=48, d_model=32, vision_channels=(8, 16, 32),
                vision_stride=8, text_encoder="embedding", text_vocab_size=128, text_dim=32,
                n_heads=2, max_text_tokens=24, audio_n_mels=16, audio_channels=16,
                audio_max_seconds=0.5, audio_n_fft=256, audio_hop=128)
    base.update(changes)
    return FusionConfig(**base)
