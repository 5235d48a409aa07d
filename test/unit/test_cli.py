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


def test_every_eval_flag_is_documented():
    eval_parser = build_parser()._subparsers._group_actions[0].choices["eval"]
    for action in eval_parser._actions:
        if action.dest != "help":
            assert action.help and len(action.help) > 20, action.dest


def test_make_suite_writes_the_categories_asked_and_refuses_unknown_ones(tmp_path):
    from mm_robot.cli import main
    assert main(["make-suite", "--out", str(tmp_path), "--per-category", "1", "--categories", "ordinal,phrasing"]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.yaml")) == ["ordinal_0.yaml", "phrasing_0.yaml"]
    with pytest.raises(SystemExit, match="unknown categories"):
        main(["make-suite", "--out", str(tmp_path), "--categories", "nonsense"])


def test_eval_refuses_a_bad_domain_range():
    from mm_robot.cli import main
    with pytest.raises(SystemExit, match="--domains"):
        main(["eval", "--domains", "300-400"])
