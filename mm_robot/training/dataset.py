"""The on-disk dataset: sharded ``.npz`` files + a JSON index (no pickle anywhere).

Layout of a dataset directory::

    index.json                 {"format": "mm_robot/dataset/1", "image_size": [H, W], "hfov": ...,
                                "seed": ..., "source": ..., "splits": {split: [{"file", "count"}, ...]}}
    <split>-<shard:05d>.npz    arrays, one row per sample:
        image     (n, H, W, 3) uint8 RGB
        text      (n,) unicode   the command
        label     (n,) unicode   "colour shape" the command names ("" for stop / unknown commands)
        box       (n, 4) float32 normalised (x0, y0, x1, y1) of the named object; zeros if not in view
        present   (n,) uint8     1 when the named object is in view
        action    (n,) unicode   expert decision (core.records.Action value)
        velocity  (n, 2) float32 expert (linear m/s, angular rad/s)
        kind      (n,) unicode   "goto" | "stop" | "unknown"
        n_distractors (n,) int16

Shards are written atomically (temporary name, then rename), so a directory with some
shards missing is a resumable, partly generated dataset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch

from ..core.records import Action

INDEX_NAME = "index.json"
DATASET_FORMAT = "mm_robot/dataset/1"
FIELDS = ("image", "text", "label", "box", "present", "action", "velocity", "kind", "n_distractors")


def write_shard(path: Union[str, Path], rows: dict[str, np.ndarray]) -> None:
    """Write one shard atomically. ``rows``: the FIELDS arrays, equal first dimension."""
    path = Path(path)
    missing = [f for f in FIELDS if f not in rows]
    if missing:
        raise ValueError(f"shard is missing fields {missing}")
    n = len(rows["image"])
    if any(len(rows[f]) != n for f in FIELDS):
        raise ValueError("shard fields differ in length")
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **{f: rows[f] for f in FIELDS})
    tmp.replace(path)


def read_shard(path: Union[str, Path]) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {f: data[f] for f in FIELDS}


def read_index(root: Union[str, Path]) -> dict:
    path = Path(root) / INDEX_NAME
    index = json.loads(path.read_text())
    if index.get("format") != DATASET_FORMAT:
        raise ValueError(f"{path}: not a {DATASET_FORMAT} index")
    return index


@dataclass
class SplitData:
    """One split held in memory (uint8 images: 37 kB a sample at 96x128)."""

    images: np.ndarray  # (n, H, W, 3) uint8
    texts: list[str]
    labels: list[str]
    boxes: np.ndarray  # (n, 4) float32 normalised
    present: np.ndarray  # (n,) float32
    actions: list[str]
    velocity: np.ndarray  # (n, 2) float32
    kinds: list[str]
    n_distractors: np.ndarray  # (n,) int16

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: Sequence[int]) -> "SplitData":
        idx = np.asarray(indices, dtype=np.int64)
        return SplitData(self.images[idx], [self.texts[i] for i in idx], [self.labels[i] for i in idx],
                         self.boxes[idx], self.present[idx], [self.actions[i] for i in idx],
                         self.velocity[idx], [self.kinds[i] for i in idx], self.n_distractors[idx])


def load_split(root: Union[str, Path], split: str, limit: Optional[int] = None) -> SplitData:
    """Read every shard of ``split`` listed in the index (at most ``limit`` samples)."""
    root = Path(root)
    index = read_index(root)
    if split not in index["splits"]:
        raise KeyError(f"{root}: no split {split!r}; have {sorted(index['splits'])}")
    parts = []
    total = 0
    for entry in index["splits"][split]:
        parts.append(read_shard(root / entry["file"]))
        total += len(parts[-1]["text"])
        if limit is not None and total >= limit:
            break
    if not parts:
        raise ValueError(f"{root}: split {split!r} has no shards")
    cat = {f: np.concatenate([p[f] for p in parts]) for f in FIELDS}
    if limit is not None:
        cat = {f: v[:limit] for f, v in cat.items()}
    return SplitData(cat["image"], [str(t) for t in cat["text"]], [str(t) for t in cat["label"]],
                     cat["box"].astype(np.float32), cat["present"].astype(np.float32),
                     [str(a) for a in cat["action"]], cat["velocity"].astype(np.float32),
                     [str(k) for k in cat["kind"]], cat["n_distractors"].astype(np.int16))


_FLIP = {Action.TURN_LEFT.value: Action.TURN_RIGHT.value, Action.TURN_RIGHT.value: Action.TURN_LEFT.value}


def make_batch(data: SplitData, indices: Sequence[int], actions: Sequence[str],
               label_ids: dict[str, int], flip: Optional[np.ndarray] = None) -> dict:
    """Tensors for ``FusionModel.forward``. ``flip`` (bool per sample) mirrors images left-right,
    mirroring boxes, swapping turn_left/turn_right and negating the angular velocity (except
    for ``search``, whose turn direction is the expert's convention)."""
    idx = np.asarray(indices, dtype=np.int64)
    images = data.images[idx]  # (B, H, W, 3) uint8
    boxes = data.boxes[idx].copy()  # (B, 4)
    velocity = data.velocity[idx].copy()  # (B, 2)
    acts = [data.actions[i] for i in idx]
    if flip is not None and flip.any():
        images = images.copy()
        images[flip] = images[flip][:, :, ::-1]
        x0 = boxes[flip, 0].copy()
        boxes[flip, 0] = np.where(data.present[idx][flip] > 0.5, 1.0 - boxes[flip, 2], 0.0)
        boxes[flip, 2] = np.where(data.present[idx][flip] > 0.5, 1.0 - x0, 0.0)
        # Mirror turns, but not search: the expert's search direction is a convention (left),
        # not a property of the image, so a mirrored search frame still turns left.
        mirror = flip & np.array([a != Action.SEARCH.value for a in acts])
        velocity[mirror, 1] *= -1.0
        acts = [_FLIP.get(a, a) if f else a for a, f in zip(acts, flip)]
    action_index = {a: i for i, a in enumerate(actions)}
    # (B, H, W, 3) uint8 -> (B, 3, H, W) float in [0, 1]
    tensor = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)
    return {
        "images": tensor,
        "texts": [data.texts[i] for i in idx],
        "boxes": torch.from_numpy(boxes),
        "present": torch.from_numpy(data.present[idx]),
        "actions": torch.tensor([action_index[a] for a in acts], dtype=torch.long),
        "velocity": torch.from_numpy(velocity),
        "label_ids": torch.tensor([label_ids.setdefault(data.labels[i], len(label_ids)) for i in idx],
                                  dtype=torch.long),
    }
