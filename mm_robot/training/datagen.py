"""``mm-robot datagen``: render samples, label them with the oracle, write shards.

Each shard ``<split>-<k>.npz`` is generated from its own seed (derived from the run's
seed, the split and k), so shards are independent: workers make them in parallel, a
re-run skips shards already on disk (resume), and the same seed gives the same data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing as mp
import os
import random
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .dataset import DATASET_FORMAT, INDEX_NAME, write_shard
from .scenes import EVAL_SPLITS, SPLITS, expert_label, sample_spec

DEFAULT_COUNTS = {"train": 48000, "val": 600, "seen": 600, "unseen_combo": 600, "paraphrase": 600,
                  "distractors": 600, "lighting": 600, "confusers": 600}


def shard_seed(seed: int, split: str, shard: int) -> int:
    digest = hashlib.sha256(f"{seed}/{split}/{shard}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def generate_shard(task: dict) -> dict:
    """Make one shard (run in a worker). ``task``: root, split, shard, count, seed, source,
    height, width, hfov. Returns its index entry."""
    root = Path(task["root"])
    name = f"{task['split']}-{task['shard']:05d}.npz"
    path = root / name
    if path.exists():
        with np.load(path, allow_pickle=False) as data:
            return {"file": name, "count": int(len(data["text"])), "resumed": True}
    rng = random.Random(shard_seed(task["seed"], task["split"], task["shard"]))
    h, w, hfov = task["height"], task["width"], task["hfov"]
    source = task["source"]
    if source == "sim":
        os.environ.setdefault("MUJOCO_GL", "egl")
        from .sim_source import sim_samples
        samples = sim_samples(rng, task["split"], task["count"], h, w, hfov=hfov)
    else:
        from .painter import paint_scene

        def painted():
            for _ in range(task["count"]):
                spec = sample_spec(rng, task["split"])
                image, box = paint_scene(spec, rng, h, w)
                yield spec, image, box, None
        samples = painted()
    rows: dict[str, list] = {k: [] for k in ("image", "text", "label", "box", "present", "action",
                                             "velocity", "kind", "n_distractors")}
    for spec, image, box, label in samples:
        # The simulator's oracle labels sim samples; painted ones get the steering expert.
        action, linear, angular = label if label is not None else expert_label(spec, box, w, h, hfov)
        rows["image"].append(image)
        rows["text"].append(spec.text)
        rows["label"].append(" ".join(spec.target) if spec.kind == "goto" and spec.target else "")
        norm = (0.0, 0.0, 0.0, 0.0) if box is None else (box[0] / w, box[1] / h, box[2] / w, box[3] / h)
        rows["box"].append(np.clip(np.array(norm, dtype=np.float32), 0.0, 1.0))
        rows["present"].append(np.uint8(box is not None))
        rows["action"].append(action.value)
        rows["velocity"].append(np.array([linear, angular], dtype=np.float32))
        rows["kind"].append(spec.kind)
        rows["n_distractors"].append(np.int16(spec.n_distractors))
    arrays = {
        "image": np.stack(rows["image"]).astype(np.uint8),
        "text": np.array(rows["text"], dtype=np.str_),
        "label": np.array(rows["label"], dtype=np.str_),
        "box": np.stack(rows["box"]).astype(np.float32),
        "present": np.array(rows["present"], dtype=np.uint8),
        "action": np.array(rows["action"], dtype=np.str_),
        "velocity": np.stack(rows["velocity"]).astype(np.float32),
        "kind": np.array(rows["kind"], dtype=np.str_),
        "n_distractors": np.array(rows["n_distractors"], dtype=np.int16),
    }
    write_shard(path, arrays)
    return {"file": name, "count": int(len(arrays["text"])), "resumed": False}


def resolve_source(source: str) -> str:
    if source == "auto":
        from .sim_source import available
        return "sim" if available() else "painter"
    if source not in ("sim", "painter"):
        raise ValueError(f"source must be auto, sim or painter, got {source!r}")
    return source


def generate(root: str | Path, counts: dict[str, int], seed: int = 0, source: str = "auto",
             workers: int = 1, shard_size: int = 500, height: int = 96, width: int = 128,
             hfov: float = math.radians(60.0), progress: bool = True) -> dict:
    """Generate (or finish generating) a dataset; returns the index written to ``root/index.json``."""
    from tqdm import tqdm

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    source = resolve_source(source)
    index_path = root / INDEX_NAME
    settings = {"seed": seed, "source": source, "image_size": [height, width], "hfov": hfov,
                "shard_size": shard_size}
    if source == "sim":  # the labelling rule: a dataset never mixes two
        from .sim_source import MIN_INPUT_PIXELS
        settings["in_view_min_pixels"] = MIN_INPUT_PIXELS
    if index_path.exists():
        old = json.loads(index_path.read_text())
        clash = {k: (old.get(k), v) for k, v in settings.items() if old.get(k) != v}
        if clash:
            raise ValueError(f"{root} holds a dataset made with other settings {clash}; use another directory")
    tasks = []
    for split, count in counts.items():
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")
        for shard in range(math.ceil(count / shard_size)):
            tasks.append({"root": str(root), "split": split, "shard": shard, "seed": seed,
                          "count": min(shard_size, count - shard * shard_size), "source": source,
                          "height": height, "width": width, "hfov": hfov})
    started = time.time()
    results: dict[tuple[str, int], dict] = {}
    bar = tqdm(total=len(tasks), desc="datagen shards", disable=not progress, file=sys.stderr)
    if workers > 1:
        with mp.get_context("spawn").Pool(workers) as pool:
            for task, entry in zip(tasks, pool.imap(generate_shard, tasks)):
                results[(task["split"], task["shard"])] = entry
                bar.update(1)
    else:
        for task in tasks:
            results[(task["split"], task["shard"])] = generate_shard(task)
            bar.update(1)
    bar.close()
    index = {"format": DATASET_FORMAT, **settings, "splits": {}, "counts": {},
             "wall_seconds": round(time.time() - started, 1)}
    for (split, _shard), entry in sorted(results.items()):
        index["splits"].setdefault(split, []).append({"file": entry["file"], "count": entry["count"]})
    index["counts"] = {s: sum(e["count"] for e in v) for s, v in index["splits"].items()}
    index_path.write_text(json.dumps(index, indent=2) + "\n")
    return index


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mm-robot datagen", description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="dataset directory (created; re-run to resume)")
    p.add_argument("--train", type=int, default=DEFAULT_COUNTS["train"], help="training samples")
    p.add_argument("--eval", type=int, default=600, help="samples per evaluation split")
    p.add_argument("--splits", default=",".join(SPLITS), help="comma-separated splits to make")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--source", default="auto", choices=("auto", "sim", "painter"),
                   help="sim: MuJoCo world; painter: OpenCV shapes; auto: sim when importable")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--shard-size", type=int, default=500)
    p.add_argument("--height", type=int, default=96)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--hfov-deg", type=float, default=60.0)
    p.add_argument("--no-progress", action="store_true")
    return p


def datagen_main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    counts = {s: (args.train if s == "train" else args.eval) for s in splits}
    index = generate(args.out, counts, seed=args.seed, source=args.source, workers=args.workers,
                     shard_size=args.shard_size, height=args.height, width=args.width,
                     hfov=math.radians(args.hfov_deg), progress=not args.no_progress)
    print(json.dumps({"out": str(args.out), "source": index["source"], "counts": index["counts"],
                      "wall_seconds": index["wall_seconds"]}))
    return 0


__all__ = ["DEFAULT_COUNTS", "EVAL_SPLITS", "datagen_main", "generate", "generate_shard"]
