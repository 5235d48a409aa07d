"""The mm-robot command's parser and its forwarding to the training tools."""

import subprocess
import sys

import pytest

from mm_robot.cli import FORWARDED, build_parser


@pytest.mark.parametrize("name, flag", [("datagen", "--out"), ("train", "--data"), ("evaluate-model", "--checkpoint")])
def test_training_tools_are_forwarded_with_their_own_help(name, flag):
    result = subprocess.run([sys.executable, "-m", "mm_robot.cli", name, "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"mm-robot {name}" in result.stdout and flag in result.stdout


def test_every_subcommand_is_listed():
    text = build_parser().format_help()
    for name in ["up", "demo", "say", "watch", "estop", "params", "sim", "eval", "sros2-policy", *FORWARDED]:
        assert name in text


def test_sim_requires_a_scenario():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sim"])
