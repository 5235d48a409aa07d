"""Offline evaluation of a fusion checkpoint on held-out splits -> JSON + Markdown.

Metrics per split:

* ``grounding_acc``: of samples whose named object is in view, the share where the model
  says "in view" (presence >= 0.5) and its box has IoU >= 0.5 with the true box;
* ``box_iou50``: the same without the presence condition; ``mean_iou`` over those samples;
* ``presence_acc``: of goto commands, the share where presence >= 0.5 matches the truth;
* ``action_acc``: of all samples, the share where the action head picks the expert's action;
* ``velocity_mae``: mean absolute error of (linear, angular) against the expert.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from ..model.modeling import FusionModel, box_iou
from .dataset import SplitData, load_split, make_batch, read_index
from .scenes import EVAL_SPLITS


@torch.inference_mode()
def evaluate_model(model: FusionModel, data: SplitData, batch_size: int = 128) -> dict:
    model.eval()
    actions = list(model.config.actions)
    ious, pres_pred, act_ok, vel_err = [], [], [], []
    for start in range(0, len(data), batch_size):
        idx = np.arange(start, min(start + batch_size, len(data)))
        batch = make_batch(data, idx, actions, {})
        out = model.encode(batch["images"], batch["texts"])
        ious.append(box_iou(out.box, batch["boxes"]).numpy())
        pres_pred.append(out.presence.numpy())
        act_ok.append((out.action_logits.argmax(1) == batch["actions"]).numpy())
        vel_err.append((out.velocity - batch["velocity"]).abs().numpy())
    iou = np.concatenate(ious)
    pres = np.concatenate(pres_pred) >= 0.5
    present = data.present > 0.5
    goto = np.array([k == "goto" for k in data.kinds])
    acts = np.concatenate(act_ok)
    vel = np.concatenate(vel_err)
    result = {
        "n": int(len(data)),
        "n_in_view": int(present.sum()),
        "grounding_acc": float(((iou >= 0.5) & pres)[present].mean()) if present.any() else None,
        "box_iou50": float((iou >= 0.5)[present].mean()) if present.any() else None,
        "mean_iou": float(iou[present].mean()) if present.any() else None,
        "presence_acc": float((pres == present)[goto].mean()) if goto.any() else None,
        "action_acc": float(acts.mean()),
        "velocity_mae": [float(vel[:, 0].mean()), float(vel[:, 1].mean())],
    }
    return result


def evaluate_dataset(model: FusionModel, root: str | Path, splits: Optional[Sequence[str]] = None,
                     limit: Optional[int] = None, batch_size: int = 128) -> dict:
    index = read_index(root)
    splits = [s for s in (splits or EVAL_SPLITS) if s in index["splits"]]
    return {split: evaluate_model(model, load_split(root, split, limit), batch_size) for split in splits}


def markdown_table(results: dict) -> str:
    def fmt(v):
        return "–" if v is None else f"{v:.3f}"
    lines = ["| split | n | in view | grounding acc (IoU≥0.5) | box IoU≥0.5 | mean IoU | presence acc | action acc |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for split, r in results.items():
        lines.append(f"| {split} | {r['n']} | {r['n_in_view']} | {fmt(r['grounding_acc'])} | {fmt(r['box_iou50'])} "
                     f"| {fmt(r['mean_iou'])} | {fmt(r['presence_acc'])} | {fmt(r['action_acc'])} |")
    return "\n".join(lines) + "\n"


def write_report(results: dict, json_path: str | Path, md_path: Optional[str | Path] = None,
                 title: str = "Fusion model evaluation") -> None:
    Path(json_path).parent.mkdir(parents=True, exist_ok=True)
    Path(json_path).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    if md_path is not None:
        Path(md_path).write_text(f"# {title}\n\n" + markdown_table(results))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mm-robot evaluate-model", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="FusionModel.save_pretrained directory")
    p.add_argument("--data", required=True, help="dataset directory (mm-robot datagen output)")
    p.add_argument("--splits", default=",".join(EVAL_SPLITS))
    p.add_argument("--limit", type=int, default=None, help="at most this many samples per split")
    p.add_argument("--out", default=None, help="JSON report path (default: <checkpoint>/eval.json)")
    p.add_argument("--markdown", default=None, help="Markdown report path (default: beside the JSON)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    return p


def evaluate_main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.time()
    model = FusionModel.from_pretrained(args.checkpoint)
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    results = evaluate_dataset(model, args.data, splits, args.limit, args.batch_size)
    out = Path(args.out) if args.out else Path(args.checkpoint) / "eval.json"
    md = Path(args.markdown) if args.markdown else out.with_suffix(".md")
    write_report(results, out, md)
    print(markdown_table(results), end="")
    print(json.dumps({"json": str(out), "markdown": str(md), "seconds": round(time.time() - started, 1)}))
    return 0
