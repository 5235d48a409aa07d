"""Offline evaluation of a fusion checkpoint on held-out splits -> JSON + Markdown.

Metrics per split:

* ``grounding_acc``: of samples whose named object is in view, the share where the model
  says "in view" (presence >= 0.5) and its box has IoU >= 0.5 with the true box;
* ``box_iou50``: the same without the presence condition; ``mean_iou`` over those samples;
* ``presence_acc``: of goto commands, the share where presence >= 0.5 matches the truth;
* ``action_acc``: of all samples, the share where the action head picks the expert's action;
* ``velocity_mae``: mean absolute error of (linear, angular) against the expert.

``--breakdown`` adds, for the paraphrase split, grounding accuracy by held-out synonym and by
held-out template, which separates "new sentence shape" from "new word". ``--gallery DIR``
draws each split's missed samples (``gallery.py``).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np
import torch

from ..model.modeling import FusionModel, box_iou
from ..model.serving import SERVING_FORMS, ServingForm, make_serving
from .dataset import SplitData, load_split, make_batch, read_index
from .gallery import draw_misses
from .scenes import EVAL_SPLITS, HELD_OUT_WORDS, PARAPHRASE_TEMPLATES


@torch.inference_mode()
def predict(model: FusionModel, data: SplitData, batch_size: int = 128,
            serving: Optional[ServingForm] = None) -> dict[str, np.ndarray]:
    """Per-sample box, IoU, presence probability, action hit and |velocity error| over ``data``,
    from ``model.encode`` or, when given, from a serving form of the model (``model.serving``)."""
    model.eval()
    actions = list(model.config.actions)
    parts: dict[str, list[np.ndarray]] = {"box": [], "iou": [], "presence": [], "action_ok": [], "velocity_err": []}
    for start in range(0, len(data), batch_size):
        idx = np.arange(start, min(start + batch_size, len(data)))
        batch = make_batch(data, idx, actions, {})
        if serving is None:
            out = model.encode(batch["images"], batch["texts"])
            box, presence, logits, velocity = out.box, out.presence, out.action_logits, out.velocity
        else:
            served = serving.predict(data.images[idx], batch["texts"])  # the uint8 pixels themselves
            box, presence, logits, velocity = (torch.from_numpy(v) for v in (
                served.box, served.presence, served.action_logits, served.velocity))
        parts["box"].append(box.numpy())
        parts["iou"].append(box_iou(box, batch["boxes"]).numpy())
        parts["presence"].append(presence.numpy())
        parts["action_ok"].append((logits.argmax(1) == batch["actions"]).numpy())
        parts["velocity_err"].append((velocity - batch["velocity"]).abs().numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


def summarise(pred: dict[str, np.ndarray], data: SplitData) -> dict:
    """The metrics of one split from ``predict``'s per-sample output."""
    iou, acts, vel = pred["iou"], pred["action_ok"], pred["velocity_err"]
    pres = pred["presence"] >= 0.5
    present = data.present > 0.5
    goto = np.array([k == "goto" for k in data.kinds])
    return {
        "n": int(len(data)),
        "n_in_view": int(present.sum()),
        "grounding_acc": float(((iou >= 0.5) & pres)[present].mean()) if present.any() else None,
        "box_iou50": float((iou >= 0.5)[present].mean()) if present.any() else None,
        "mean_iou": float(iou[present].mean()) if present.any() else None,
        "presence_acc": float((pres == present)[goto].mean()) if goto.any() else None,
        "action_acc": float(acts.mean()),
        "velocity_mae": [float(vel[:, 0].mean()), float(vel[:, 1].mean())],
    }


def evaluate_model(model: FusionModel, data: SplitData, batch_size: int = 128) -> dict:
    return summarise(predict(model, data, batch_size), data)


def paraphrase_breakdown(pred: dict[str, np.ndarray], data: SplitData) -> dict:
    """Grounding accuracy of in-view samples by held-out synonym ("-": none) and by template,
    from ``predict``'s output on the paraphrase split."""
    hit = (pred["presence"] >= 0.5) & (pred["iou"] >= 0.5)
    by_word: dict[str, list[bool]] = {}
    by_template: dict[str, list[bool]] = {}
    for i in np.nonzero(data.present > 0.5)[0]:
        words = sorted(HELD_OUT_WORDS & set(re.findall(r"[a-z]+", data.texts[i].lower())))
        for word in words or ["-"]:
            by_word.setdefault(word, []).append(bool(hit[i]))
        template = next((t for t in PARAPHRASE_TEMPLATES if t.split("{c}")[0] in data.texts[i]), "other")
        by_template.setdefault(template, []).append(bool(hit[i]))

    def summary(groups: dict[str, list[bool]]) -> dict:
        return {k: {"n": len(v), "grounding_acc": float(np.mean(v))} for k, v in sorted(groups.items())}
    return {"by_held_out_word": summary(by_word), "by_template": summary(by_template)}


def predict_splits(model: FusionModel, root: str | Path, splits: Optional[Sequence[str]] = None,
                   limit: Optional[int] = None, batch_size: int = 128, serving: Optional[ServingForm] = None,
                   ) -> Iterator[tuple[str, SplitData, dict[str, np.ndarray]]]:
    """(split, data, predictions) for each of ``splits`` (default: the test splits) the dataset has."""
    index = read_index(root)
    for split in [s for s in (splits or EVAL_SPLITS) if s in index["splits"]]:
        data = load_split(root, split, limit)
        yield split, data, predict(model, data, batch_size, serving)


def evaluate_dataset(model: FusionModel, root: str | Path, splits: Optional[Sequence[str]] = None,
                     limit: Optional[int] = None, batch_size: int = 128) -> dict:
    return {split: summarise(pred, data)
            for split, data, pred in predict_splits(model, root, splits, limit, batch_size)}


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
                 title: str = "Fusion model evaluation", extra: Optional[dict] = None) -> None:
    """``results`` (split -> metrics) as JSON (plus the ``extra`` keys) and as a Markdown table."""
    Path(json_path).parent.mkdir(parents=True, exist_ok=True)
    Path(json_path).write_text(json.dumps({**results, **(extra or {})}, indent=2, sort_keys=True) + "\n")
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
    p.add_argument("--breakdown", action="store_true",
                   help="also report paraphrase accuracy by held-out word and template "
                        "(JSON key 'paraphrase_breakdown')")
    p.add_argument("--serving", default="model", choices=("model",) + SERVING_FORMS,
                   help="what computes the predictions: 'model' (the training code's encode), or the "
                        "policy's serving form 'onnx' or 'torch', to check that serving keeps the numbers")
    p.add_argument("--gallery", default=None, metavar="DIR",
                   help="write DIR/<split>_misses.png: the in-view samples each split failed to ground")
    return p


def evaluate_main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.time()
    results, extra = {}, {}
    model = FusionModel.from_pretrained(args.checkpoint)
    serving = None
    if args.serving != "model":
        serving = make_serving(FusionModel.from_pretrained(args.checkpoint), args.serving, args.threads)
        extra["serving"] = serving.name
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    for split, data, pred in predict_splits(model, args.data, splits, args.limit, args.batch_size, serving):
        results[split] = summarise(pred, data)
        if args.breakdown and split == "paraphrase":
            extra["paraphrase_breakdown"] = paraphrase_breakdown(pred, data)
        if args.gallery:
            draw_misses(pred, data, Path(args.gallery) / f"{split}_misses.png")
    out = Path(args.out) if args.out else Path(args.checkpoint) / "eval.json"
    md = Path(args.markdown) if args.markdown else out.with_suffix(".md")
    write_report(results, out, md, extra=extra)
    print(markdown_table(results), end="")
    for group, rows in extra.get("paraphrase_breakdown", {}).items():
        print(group + ": " + ", ".join(f"{k} {r['grounding_acc']:.2f} (n={r['n']})" for k, r in rows.items()))
    print(json.dumps({"json": str(out), "markdown": str(md), "seconds": round(time.time() - started, 1)}))
    return 0
