"""The fusion model is the default policy; without torch (or another package it needs) a node falls
back to the baseline and says so, while any other failure to load it stays an error."""

import subprocess
import sys

import pytest

from mm_robot.bringup.graph import GraphOptions
from mm_robot.policies import load_policy
from mm_robot.policies.runner import FusionNodeConfig


def test_the_fusion_model_is_the_default_policy():
    assert FusionNodeConfig().policy == "fusion" and GraphOptions().policy == "fusion"
    from mm_robot.cli import build_parser
    parser = build_parser()
    for argv in (["up"], ["demo"], ["sim", "--scenario", "x.yaml"]):
        assert parser.parse_args(argv).policy == "fusion", argv
    assert parser.parse_args(["eval"]).policies.split(",") == ["oracle", "fusion"]
    assert parser.parse_args(["up", "--policy", "baseline"]).policy == "baseline"


def test_without_torch_fusion_falls_back_to_the_baseline_with_one_clear_line():
    code = ("import sys; sys.modules['torch'] = None\n"  # `import torch` now raises ImportError
            "from mm_robot.policies import load_policy\n"
            "policy = load_policy('fusion', lambda line: print('WARN', line), checkpoint='', num_threads=1)\n"
            "print('policy', policy.name)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    warnings = [line for line in lines if line.startswith("WARN")]
    assert len(warnings) == 1 and "torch" in warnings[0] and "falling back to 'baseline'" in warnings[0]
    assert lines[-1] == "policy baseline"


def test_other_failures_to_load_the_fusion_model_are_errors(tmp_path):
    said = []
    with pytest.raises(FileNotFoundError, match="no fusion checkpoint"):
        load_policy("fusion", said.append, checkpoint=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="unknown policy"):
        load_policy("magic", said.append)
    assert said == []
    assert load_policy("baseline", said.append).name == "baseline" and said == []
