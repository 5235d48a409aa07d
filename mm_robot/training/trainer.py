"""``mm-robot train``: stage 1 contrastive alignment, stage 2 multi-task fine-tuning.

Runs in one process, or under ``torchrun --nproc_per_node N`` as DDP (gloo on CPU,
nccl when CUDA is used). Batches are drawn from a generator seeded by (seed, step, rank),
so a resumed run sees exactly the batches an uninterrupted one would have.

Output directory::

    checkpoint/      latest resumable state: model (safetensors + config), optimizer.safetensors,
                     trainer_state.json
    model/           final model (save_pretrained + model card), with eval.json / eval.md
    metrics.csv      one row per log interval (train) and per validation
    metrics.png      loss and validation curves
    train_config.json   the run's TrainConfig (also in model/)

A run is three steps: :func:`setup` (model, optimizer, data, resume state), :func:`run_steps`
(the loop, checkpoints, the time limit) and :func:`finish` (evaluation, the final model and
its card).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file

from ..core.config import ConfigError, add_cli_arguments, from_cli
from ..model.configuration import FusionConfig, tiny_config
from ..model.hub import allow_downloads
from ..model.modeling import FusionModel
from .config import TrainConfig
from .dataset import SplitData, load_split, make_batch, read_index
from .evaluate import evaluate_dataset, evaluate_model, markdown_table, write_report
from .model_card import model_card
from .phrasing import Rephraser

CSV_COLUMNS = ("step", "stage", "lr", "loss", "loss_contrastive", "loss_heatmap", "loss_box", "loss_action",
               "loss_velocity", "presence_acc", "action_acc", "ground_acc", "val_grounding_acc",
               "val_presence_acc", "val_action_acc", "elapsed_s")


def _dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def photometric(images: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Random brightness (x0.6-1.5), mild per-channel tint (+-8 %), gamma (0.8-1.25) and noise
    on a (B, 3, H, W) batch in [0, 1]; keeps colour names recognisable."""
    b = images.shape[0]
    gain = torch.from_numpy(rng.uniform(0.6, 1.5, (b, 1, 1, 1)).astype(np.float32))
    tint = torch.from_numpy(rng.uniform(0.92, 1.08, (b, 3, 1, 1)).astype(np.float32))
    gamma = torch.from_numpy(rng.uniform(0.8, 1.25, (b, 1, 1, 1)).astype(np.float32))
    noise = torch.from_numpy(rng.uniform(0.0, 0.03, (b, 1, 1, 1)).astype(np.float32))
    out = (images * gain * tint).clamp(0.0, 1.0) ** gamma
    out = out + noise * torch.from_numpy(rng.standard_normal(images.shape).astype(np.float32))
    return out.clamp(0.0, 1.0)


def lr_at(step: int, cfg: TrainConfig) -> tuple[str, float]:
    """Stage and learning rate at global ``step``: linear warm-up, cosine decay, per stage."""
    if step < cfg.stage1_steps:
        stage, local, total = "contrastive", step, cfg.stage1_steps
    else:
        stage, local, total = "multitask", step - cfg.stage1_steps, cfg.stage2_steps
    warm = min(cfg.warmup, max(total // 10, 1))
    if local < warm:
        return stage, cfg.lr * (local + 1) / warm
    progress = (local - warm) / max(total - warm, 1)
    return stage, cfg.lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


def save_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    """AdamW state as safetensors (tensors) + JSON (hyper-parameters); no pickle."""
    state = optimizer.state_dict()
    tensors = {}
    for pid, slots in state["state"].items():
        for key, value in slots.items():
            tensor = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"{pid}.{key}"] = tensor.detach().cpu().contiguous()
    save_file(tensors, str(path.with_suffix(".safetensors")))
    path.with_suffix(".json").write_text(json.dumps(state["param_groups"]))


def load_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    tensors = load_file(str(path.with_suffix(".safetensors")))
    groups = json.loads(path.with_suffix(".json").read_text())
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def plot_metrics(csv_path: Path, png_path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(csv_path.open()))
    if not rows:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for key in ("loss", "loss_contrastive", "loss_heatmap", "loss_box", "loss_action", "loss_velocity"):
        pts = [(int(r["step"]), float(r[key])) for r in rows if r.get(key) not in (None, "")]
        if pts:
            axes[0].plot(*zip(*pts), label=key)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("step")
    axes[0].set_title("training losses")
    axes[0].legend(fontsize=7)
    for key in ("ground_acc", "val_grounding_acc", "val_presence_acc", "val_action_acc"):
        pts = [(int(r["step"]), float(r[key])) for r in rows if r.get(key) not in (None, "")]
        if pts:
            axes[1].plot(*zip(*pts), marker="." if key.startswith("val") else None, label=key)
    axes[1].set_ylim(0, 1)
    axes[1].set_xlabel("step")
    axes[1].set_title("accuracy")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png_path, dpi=90)
    plt.close(fig)


class _CsvLog:
    def __init__(self, path: Path, resume_step: Optional[int]) -> None:
        self.path = path
        rows = []
        if resume_step is not None and path.exists():
            rows = [r for r in csv.DictReader(path.open()) if int(r["step"]) <= resume_step]
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    def write(self, row: dict) -> None:
        with self.path.open("a", newline="") as fh:
            csv.DictWriter(fh, CSV_COLUMNS, extrasaction="ignore").writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def model_config(cfg: TrainConfig, changes: Optional[dict[str, Any]] = None) -> FusionConfig:
    """The preset's model configuration (or --init-from's), then ``changes`` (--config-json, --set)."""
    base = FusionConfig.load(Path(cfg.init_from)) if cfg.init_from else (
        tiny_config() if cfg.preset == "tiny" else FusionConfig())
    return base.replace(**changes) if changes else base


@dataclass
class Run:
    """Everything a training run holds between its steps."""

    cfg: TrainConfig
    model: FusionModel
    runner: torch.nn.Module  # the model, or its DDP wrapper
    optimizer: torch.optim.Optimizer
    data: SplitData
    val: Optional[SplitData]
    label_ids: dict[str, int]
    rephrase: Optional[Rephraser]
    log: Optional[_CsvLog]
    rank: int
    world: int
    step: int
    started: float
    stopped_early: bool = False

    @property
    def out(self) -> Path:
        return Path(self.cfg.out)

    def checkpoint(self) -> None:
        if self.rank != 0:
            return
        ckpt = self.out / "checkpoint"
        self.model.save_pretrained(ckpt, card="Resumable training checkpoint (see trainer_state.json).\n")
        save_optimizer(self.optimizer, ckpt / "optimizer")
        (ckpt / "trainer_state.json").write_text(json.dumps(
            {"step": self.step, "elapsed_s": time.time() - self.started, "config": self.cfg.to_dict()}, indent=2))


def setup(cfg: TrainConfig, changes: Optional[dict[str, Any]] = None) -> Run:
    """Process group, model (fresh, --init-from or resumed), optimizer, data and the metric log."""
    torch.set_num_threads(cfg.threads)
    allow_downloads(cfg.allow_download)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() and cfg.device == "cuda" else "gloo")
    rank, world = _dist_info()
    out, ckpt = Path(cfg.out), Path(cfg.out) / "checkpoint"
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        cfg.save(out)
    torch.manual_seed(cfg.seed)
    resumed = json.loads((ckpt / "trainer_state.json").read_text()) if (
        cfg.resume and (ckpt / "trainer_state.json").exists()) else None
    model = FusionModel(FusionConfig.load(ckpt) if resumed else model_config(cfg, changes))
    if resumed:
        model.load_weights(ckpt)
    elif cfg.init_from:
        fresh = model.load_weights(Path(cfg.init_from), allow_new=True)
        if rank == 0:
            print(f"initialised from {cfg.init_from}; new: {sorted({k.split('.')[0] for k in fresh}) or 'none'}",
                  flush=True)
    model.to(torch.device(cfg.device)).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                                  weight_decay=cfg.weight_decay)
    if resumed:
        load_optimizer(optimizer, ckpt / "optimizer")
    runner = (torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
              if world > 1 else model)
    data = load_split(cfg.data, cfg.train_split, cfg.train_limit or None)
    val = None
    if cfg.val_split and cfg.val_split in read_index(cfg.data)["splits"]:
        val = load_split(cfg.data, cfg.val_split, cfg.val_samples)
    elif cfg.val_split and rank == 0:
        print(f"warning: {cfg.data} has no {cfg.val_split!r} split (made before it existed?): no validation "
              "during training; regenerate the data or pass --val-split", flush=True)
    # WordNet's shape nouns only where the shape token can explain them (else they are noise words).
    rephrase = (Rephraser(data.labels, cfg.rephrase, seed=cfg.seed, shape_nouns=model.config.shape_lexicon)
                if cfg.rephrase > 0 else None)
    step = int(resumed["step"]) if resumed else 0
    log = _CsvLog(out / "metrics.csv", step if resumed else None) if rank == 0 else None
    label_ids = {label: i for i, label in enumerate(sorted(set(data.labels)))}
    return Run(cfg, model, runner, optimizer, data, val, label_ids, rephrase, log, rank, world, step,
               time.time() - (resumed or {}).get("elapsed_s", 0.0))


def _batch(run: Run, rng: np.random.Generator) -> dict:
    cfg, data = run.cfg, run.data
    idx = rng.integers(0, len(data), size=cfg.batch_size)
    flip = rng.random(cfg.batch_size) < 0.5 if cfg.flip else None
    batch = make_batch(data, idx, run.model.config.actions, run.label_ids, flip)
    if run.rephrase is not None:
        batch["texts"] = run.rephrase(batch["texts"], [data.labels[i] for i in idx], [data.kinds[i] for i in idx], rng)
    if cfg.photometric:
        batch["images"] = photometric(batch["images"], rng)
    device = torch.device(cfg.device)
    return {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in batch.items()}


def _log_row(run: Run, stage: str, lr: float, acc: dict[str, list[float]]) -> None:
    cfg = run.cfg
    row = {"step": run.step, "stage": stage, "lr": lr, "elapsed_s": time.time() - run.started}
    row.update({k: float(np.mean(v)) for k, v in acc.items()})
    if run.val is not None and (run.step % cfg.eval_every == 0 or run.step == cfg.total_steps) \
            and stage == "multitask":
        metrics = evaluate_model(run.model, run.val, cfg.batch_size)
        run.model.train()
        row.update({"val_grounding_acc": metrics["grounding_acc"], "val_presence_acc": metrics["presence_acc"],
                    "val_action_acc": metrics["action_acc"]})
    run.log.write(row)
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)


def run_steps(run: Run) -> None:
    """Train until the planned steps are done or ``max_minutes`` is up, checkpointing as it goes.
    Batches come from a generator seeded by (seed, step, rank): a resumed run sees the same ones."""
    cfg = run.cfg
    deadline = time.time() + cfg.max_minutes * 60.0 if cfg.max_minutes else None
    params = [p for p in run.model.parameters() if p.requires_grad]
    acc: dict[str, list[float]] = {}
    while run.step < cfg.total_steps:
        stage, lr = lr_at(run.step, cfg)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        loss, logs = run.runner(_batch(run, np.random.default_rng([cfg.seed, run.step, run.rank])), stage=stage)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.clip)
        run.optimizer.step()
        run.step += 1
        for k, v in logs.items():
            acc.setdefault(k, []).append(v)
        if run.log is not None and (run.step % cfg.log_every == 0 or run.step == cfg.total_steps):
            _log_row(run, stage, lr, acc)
            acc.clear()
        if run.step % cfg.ckpt_every == 0 and run.step < cfg.total_steps:
            run.checkpoint()
        if deadline is not None and time.time() > deadline:
            run.stopped_early = run.step < cfg.total_steps
            break
    run.checkpoint()


def finish(run: Run) -> dict:
    """Evaluate on the held-out splits, save the final model with its card; returns the summary."""
    cfg = run.cfg
    summary: dict[str, Any] = {"steps": run.step, "planned_steps": cfg.total_steps,
                               "stopped_early": run.stopped_early, "wall_seconds": round(time.time() - run.started, 1),
                               "world_size": run.world, "threads": cfg.threads}
    if run.rank == 0:
        plot_metrics(run.out / "metrics.csv", run.out / "metrics.png")
        run.model.eval()
        splits = [s for s in cfg.eval_splits.split(",") if s]
        if splits:
            summary["eval"] = evaluate_dataset(run.model, cfg.data, splits, cfg.eval_limit or None, cfg.batch_size)
        final = run.out / "model"
        run.model.save_pretrained(final, card=model_card(run.model, cfg, summary, read_index(cfg.data)),
                                  metrics=summary)
        cfg.save(final)
        if "eval" in summary:
            write_report(summary["eval"], final / "eval.json", final / "eval.md")
        (run.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if run.world > 1:
        dist.barrier()
    return summary


def train(cfg: TrainConfig, changes: Optional[dict[str, Any]] = None) -> dict:
    """Run (or resume) the training ``cfg`` describes; ``changes`` override model config fields."""
    run = setup(cfg, changes)
    run_steps(run)
    return finish(run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mm-robot train", description=__doc__.splitlines()[0])
    add_cli_arguments(parser, TrainConfig, required=("data", "out"))
    parser.add_argument("--config-json", default=None, help="JSON file of FusionConfig (model) overrides")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="FusionConfig (model) override, VALUE in JSON (repeatable)")
    return parser


def parse_train_args(argv: Optional[Sequence[str]] = None) -> tuple[TrainConfig, dict[str, Any]]:
    """(the run's TrainConfig, the model config changes) from command-line arguments."""
    args = build_parser().parse_args(argv)
    changes: dict[str, Any] = json.loads(Path(args.config_json).read_text()) if args.config_json else {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            changes[key] = json.loads(value)
        except json.JSONDecodeError:
            changes[key] = value
    try:
        return from_cli(TrainConfig, args), changes
    except ConfigError as error:
        build_parser().error(str(error))


def train_main(argv: Optional[Sequence[str]] = None) -> int:
    summary = train(*parse_train_args(argv))
    rank, _ = _dist_info()
    if rank == 0:
        print(json.dumps({k: v for k, v in summary.items() if k != "eval"}))
        if "eval" in summary:
            print(markdown_table(summary["eval"]), end="")
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":  # torchrun -m mm_robot.training.trainer ...
    raise SystemExit(train_main())
