"""Trainer: both stages, outputs, resume, evaluation reports, and a 2-process DDP run."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import torch

from mm_robot.model import FusionModel
from mm_robot.training.datagen import generate
from mm_robot.training.evaluate import evaluate_main
from mm_robot.training.gallery import CAPTION_HEIGHT
from mm_robot.training.trainer import load_optimizer, parse_train_args, save_optimizer, train, train_main

REPO = Path(__file__).resolve().parents[2]
TINY = ["--preset", "tiny", "--batch-size", "8", "--log-every", "2", "--eval-every", "4", "--ckpt-every", "3",
        "--val-samples", "10", "--eval-limit", "10", "--warmup", "1"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    generate(root, {"train": 40, "val": 10, "seen": 10, "lighting": 10}, seed=0, source="painter", shard_size=40,
             height=32, width=48, progress=False)
    return root


def test_two_stage_run_writes_metrics_plot_checkpoint_and_model(data, tmp_path):
    out = tmp_path / "run"
    assert train_main(["--data", str(data), "--out", str(out), "--stage1-steps", "2", "--stage2-steps", "4",
                       "--eval-splits", "seen,lighting", *TINY]) == 0
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [r["stage"] for r in rows] == ["contrastive", "multitask", "multitask"]
    assert rows[0]["loss_contrastive"] and not rows[0]["loss_heatmap"]
    assert rows[-1]["val_grounding_acc"] != ""
    assert (out / "metrics.png").stat().st_size > 1000
    assert json.loads((out / "checkpoint" / "trainer_state.json").read_text())["step"] == 6
    model_dir = out / "model"
    expected = {"config.json", "model.safetensors", "README.md", "eval.json", "eval.md"}
    assert expected <= {p.name for p in model_dir.iterdir()}
    assert set(json.loads((model_dir / "eval.json").read_text())) == {"seen", "lighting"}
    card = (model_dir / "README.md").read_text()
    assert "## Evaluation" in card and "samples of `val`" in card  # validation is not a test split
    FusionModel.from_pretrained(model_dir)


def test_resumed_run_matches_an_uninterrupted_one(data, tmp_path):
    common = ["--data", str(data), "--stage1-steps", "1", "--stage2-steps", "5", "--eval-splits", "", *TINY]
    train(*parse_train_args([*common, "--out", str(tmp_path / "full")]))
    # Interrupted after 3 steps (the checkpoint interval), then resumed.
    train(*parse_train_args([*common, "--out", str(tmp_path / "part"), "--stage2-steps", "5",
                                     "--max-minutes", "0.0000001"]))
    state = json.loads((tmp_path / "part" / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == 1
    train(*parse_train_args([*common, "--out", str(tmp_path / "part"), "--resume"]))
    a = FusionModel.from_pretrained(tmp_path / "full" / "model").state_dict()
    b = FusionModel.from_pretrained(tmp_path / "part" / "model").state_dict()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=1e-5), key
    steps = [int(r["step"]) for r in csv.DictReader((tmp_path / "part" / "metrics.csv").open())]
    assert steps == sorted(set(steps))


def test_init_from_fine_tunes_a_saved_model_with_a_new_shape_token(data, tmp_path):
    common = ["--data", str(data), "--stage1-steps", "0", "--eval-splits", "", *TINY]
    # The base run sees only part of the data, as scripts/train_default.sh's does, and its card says so.
    train(*parse_train_args([*common, "--stage2-steps", "2", "--train-limit", "20",
                                     "--out", str(tmp_path / "base")]))
    assert "trained on the first 20 samples of `train`" in (tmp_path / "base" / "model" / "README.md").read_text()
    base = FusionModel.from_pretrained(tmp_path / "base" / "model")
    args = parse_train_args([*common, "--stage2-steps", "1", "--out", str(tmp_path / "tuned"), "--lr", "0",
                                      "--init-from", str(tmp_path / "base" / "model"), "--set", "shape_lexicon=true"])
    train(*args)
    tuned = FusionModel.from_pretrained(tmp_path / "tuned" / "model")
    assert tuned.config.shape_lexicon and tuned.config.image_height == base.config.image_height
    tuned_params = dict(tuned.named_parameters())
    for key, value in base.named_parameters():  # lr 0: every inherited weight is the base's
        assert torch.equal(value, tuned_params[key]), key
    card = (tmp_path / "tuned" / "model" / "README.md").read_text()
    assert "initialised from" in card and "## The model this one was fine-tuned from" in card
    assert "### Training" in card  # the base model's card, one heading level down
    # A saved model whose tensors do not fit is refused, not half-loaded.
    bad = parse_train_args([*common, "--stage2-steps", "1", "--out", str(tmp_path / "bad"),
                                     "--init-from", str(tmp_path / "base" / "model"), "--set", "d_model=48"])
    with pytest.raises(RuntimeError, match="do not fit"):
        train(*bad)


def test_optimizer_state_round_trips_without_pickle(tmp_path):
    param = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.AdamW([param], lr=0.1)
    param.sum().backward()
    opt.step()
    save_optimizer(opt, tmp_path / "opt")
    fresh = torch.optim.AdamW([param], lr=0.5)
    load_optimizer(fresh, tmp_path / "opt")
    assert torch.equal(fresh.state[param]["exp_avg"], opt.state[param]["exp_avg"])
    assert fresh.param_groups[0]["lr"] == 0.1


def test_evaluate_main_writes_json_and_markdown(data, tmp_path):
    model_dir = tmp_path / "m"
    from mm_robot.model import tiny_config
    FusionModel(tiny_config()).save_pretrained(model_dir)
    assert evaluate_main(["--checkpoint", str(model_dir), "--data", str(data), "--splits", "seen,lighting",
                          "--out", str(tmp_path / "r.json"), "--gallery", str(tmp_path / "g")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["seen"]["n"] == 10
    for split in report.values():
        assert 0.0 <= split["action_acc"] <= 1.0
    assert "| lighting |" in (tmp_path / "r.md").read_text()
    # An untrained model grounds nothing: every in-view sample is a miss, one tile each.
    for split in ("seen", "lighting"):
        n_miss = round(report[split]["n_in_view"] * (1 - report[split]["grounding_acc"]))
        picture = cv2.imread(str(tmp_path / "g" / f"{split}_misses.png"))
        assert n_miss > 0 and picture is not None
        tiles = -(-n_miss // 4) * 4
        assert picture.shape[0] * picture.shape[1] == tiles * (32 * 3 + CAPTION_HEIGHT) * 48 * 3


def test_ddp_two_processes_train_the_same_model(data, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    with socket.socket() as sock:  # a free port for the rendezvous (torchrun does not accept 0)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(port),
           "-m", "mm_robot.training.trainer", "--data", str(data), "--out", str(out), "--stage1-steps", "1",
           "--stage2-steps", "2", "--eval-splits", "", *TINY]
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 3
    FusionModel.from_pretrained(out / "model")


def test_train_config_is_typed_saved_and_refuses_unknown_keys(data, tmp_path):
    from mm_robot.core.config import ConfigError
    from mm_robot.training.config import TrainConfig
    out = tmp_path / "run"
    assert train_main(["--data", str(data), "--out", str(out), "--stage1-steps", "0", "--stage2-steps", "1",
                       "--eval-splits", "", *TINY]) == 0
    saved = TrainConfig.load(out / "model" / "train_config.json")
    assert saved.stage2_steps == 1 and saved.preset == "tiny" and saved == TrainConfig.load(out / "train_config.json")
    with pytest.raises(ConfigError, match="unknown"):
        TrainConfig.from_dict({**saved.to_dict(), "learning_rate": 0.1})
    with pytest.raises(ConfigError, match="below the minimum"):
        TrainConfig.from_dict({"batch_size": 0})
    with pytest.raises(SystemExit):  # the command line refuses bad values with a usage message
        parse_train_args(["--data", "d", "--out", "o", "--rephrase", "2"])
