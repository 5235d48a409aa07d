"""What a training run is: one typed, validated configuration, saved beside the checkpoint.

``mm-robot train`` builds its flags from :class:`TrainConfig` (``core.config.add_cli_arguments``),
a JSON file of it can be read back with :meth:`TrainConfig.load` (unknown keys are refused), and
every run writes ``train_config.json`` into its output and model directories, so a checkpoint
says how it was made. The model's own configuration (``mm_robot.model.FusionConfig``) is separate:
``--preset``, ``--init-from``, ``--config-json`` and ``--set`` choose it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from ..core.config import build, setting
from .scenes import EVAL_SPLITS

CONFIG_NAME = "train_config.json"


@dataclass(frozen=True)
class TrainConfig:
    data: str = setting("", "Dataset directory (mm-robot datagen output).")
    out: str = setting("", "Run directory: checkpoint/, model/, metrics.csv, metrics.png.")
    preset: str = setting("default", "Model configuration to start from.", choices=("default", "tiny"))
    init_from: str = setting("", "Fine-tune: start from this saved model's configuration (then --set) and "
                             "weights; modules it lacks start fresh. Empty: train from scratch.")
    stage1_steps: int = setting(300, "Stage 1 steps (contrastive region-text alignment).", low=0)
    stage2_steps: int = setting(3000, "Stage 2 steps (multi-task).", low=0)
    batch_size: int = setting(64, "Samples per process per step.", low=1)
    lr: float = setting(2e-3, "Peak learning rate (AdamW; warm-up, then cosine decay per stage).", low=0.0)
    weight_decay: float = setting(0.01, "AdamW weight decay.", low=0.0)
    warmup: int = setting(100, "Warm-up steps per stage (at most a tenth of the stage).", low=0)
    clip: float = setting(1.0, "Gradient-norm clip.", low=0.0)
    flip: bool = setting(True, "Mirror half the frames (and their turns).")
    photometric: bool = setting(True, "Brightness, tint, gamma and noise augmentation.")
    rephrase: float = setting(0.5, "Probability of re-wording a goto command with the training grammar "
                              "(0: the stored text only).", low=0.0, high=1.0)
    seed: int = setting(0, "Seed of the batch order and the augmentations.", low=0)
    threads: int = setting(1, "Torch threads per process.", low=1)
    device: str = setting("cpu", "Torch device.")
    train_split: str = setting("train", "Split to train on.")
    train_limit: int = setting(0, "Train on the first N samples of the split (0: all).", low=0)
    val_split: str = setting("val", "Split monitored during training (a test split here would leak into "
                             "model choices; empty: none).")
    val_samples: int = setting(300, "Validation samples.", low=1)
    eval_splits: str = setting(",".join(EVAL_SPLITS), "Comma-separated held-out splits evaluated at the end.")
    eval_limit: int = setting(0, "Evaluate the first N samples of each split (0: all).", low=0)
    log_every: int = setting(50, "Steps between metric rows.", low=1)
    eval_every: int = setting(500, "Steps between validations.", low=1)
    ckpt_every: int = setting(500, "Steps between resumable checkpoints.", low=1)
    max_minutes: float = setting(0.0, "Stop (and save) after this many minutes (0: no limit).", low=0.0)
    resume: bool = setting(False, "Continue from <out>/checkpoint if present.")
    allow_download: bool = setting(False, "Let pretrained towers named by hub id be downloaded "
                                   "(default: local files only).")

    @property
    def total_steps(self) -> int:
        return self.stage1_steps + self.stage2_steps

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, directory: Path) -> Path:
        path = Path(directory) / CONFIG_NAME
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Validated; an unknown key is a :class:`~mm_robot.core.config.ConfigError`."""
        return build(cls, values)

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))
