"""FusionConfig: JSON round trip and fail-fast validation."""

from __future__ import annotations

import json

import pytest

from mm_robot.core.records import ACTIONS
from mm_robot.model import FusionConfig, tiny_config


def test_config_round_trips_through_json(tmp_path):
    cfg = tiny_config(fusion="concat", use_audio=True)
    path = cfg.save(tmp_path)
    data = json.loads(path.read_text())
    assert data["fusion"] == "concat" and data["vision_channels"] == [8, 16, 32]
    assert FusionConfig.load(tmp_path) == cfg


def test_default_actions_are_core_actions():
    values = {a.value for a in ACTIONS}
    assert set(FusionConfig().actions) <= values
    assert "not_found" not in FusionConfig().actions


@pytest.mark.parametrize("change", [
    {"fusion": "multiply"}, {"vision_encoder": "resnet"}, {"text_encoder": "gpt"},
    {"d_model": 30, "n_heads": 4}, {"image_height": 100}, {"actions": ("idle", "fly")},
    {"vision_channels": (8, 16)}, {"pooling": "max"}, {"vision_context_convs": -1},
    {"max_colour_tokens": 0}, {"colour_jitter": -0.1},
])
def test_bad_settings_fail_at_construction(change):
    with pytest.raises(ValueError):
        tiny_config(**change)


def test_unknown_keys_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        FusionConfig.from_dict({**FusionConfig().to_dict(), "fusoin": "add"})


def test_model_and_training_never_import_rclpy():
    import subprocess
    import sys
    code = ("import sys, mm_robot.model, mm_robot.policies.fusion, mm_robot.training.trainer, "
            "mm_robot.training.datagen, mm_robot.training.evaluate; "
            "sys.exit(1 if any(m == 'rclpy' or m.startswith('rclpy.') for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
