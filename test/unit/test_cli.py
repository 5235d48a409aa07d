"""The mm-robot command's parser and its forwarding to the training tools."""

import subprocess
import sys

import pytest

from mm_robot.bringup.graph import bringup_graph
from mm_robot.cli import FORWARDED, _options, build_parser


@pytest.mark.parametrize("name, flag", [("datagen", "--out"), ("train", "--data"), ("evaluate-model", "--checkpoint")])
def test_training_tools_are_forwarded_with_their_own_help(name, flag):
    result = subprocess.run([sys.executable, "-m", "mm_robot.cli", name, "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"mm-robot {name}" in result.stdout and flag in result.stdout


def test_every_subcommand_is_listed():
    text = build_parser().format_help()
    for name in ["up", "demo", "say", "watch", "estop", "params", "sim", "eval", "sros2-policy", "record", "replay",
                 "lifecycle", *FORWARDED]:
        assert name in text


def test_sim_requires_a_scenario():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sim"])


def test_autostart_reaches_the_fusion_node_and_is_on_by_default():
    def fusion(argv):
        options = _options(build_parser().parse_args(argv))
        return next(n for n in bringup_graph(options) if n.executable == "fusion_node").parameters["autostart"]
    assert fusion(["up"]) is True
    assert fusion(["up", "--no-autostart"]) is False


def test_record_replay_and_lifecycle_arguments():
    args = build_parser().parse_args(["record", "command", "decision", "--out", "b", "--use-sim-time"])
    assert (args.topics, args.out, args.use_sim_time) == (["command", "decision"], "b", True)
    args = build_parser().parse_args(["replay", "b", "--policy", "baseline", "--rate", "0.5"])
    assert (args.bag, args.policy, args.rate) == ("b", "baseline", 0.5)
    assert build_parser().parse_args(["sim", "--scenario", "s.yaml", "--record", "b"]).record == "b"
    assert build_parser().parse_args(["lifecycle", "fusion_node", "deactivate"]).transition == "deactivate"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["lifecycle", "fusion_node", "explode"])
