"""Checkpoints load only from safetensors: a pickle that would run code is refused (R20)."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from mm_robot.model import FusionModel, tiny_config
from mm_robot.model.configuration import WEIGHTS_NAME


class _WritesMarker:
    """Unpickling this calls open(path, "w"): what a hostile checkpoint would do."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickled_checkpoint_is_refused_and_runs_no_code(tmp_path):
    torch.manual_seed(0)
    FusionModel(tiny_config()).save_pretrained(tmp_path)
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"weights": _WritesMarker(str(marker))})
    (tmp_path / WEIGHTS_NAME).write_bytes(payload)
    (tmp_path / "pytorch_model.bin").write_bytes(payload)  # never looked at
    with pytest.raises(Exception):  # noqa: B017 - whatever the safetensors parser raises; no code ran
        FusionModel.from_pretrained(tmp_path)
    assert not marker.exists() and not os.path.exists("pwned")


def test_the_package_never_unpickles():
    """No pickle.load, and torch.load only with weights_only=True, anywhere in the package."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "mm_robot"
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "pickle.load" not in text, path
        for line in text.splitlines():
            assert "torch.load(" not in line or "weights_only=True" in line, (path, line)
