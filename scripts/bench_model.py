#!/usr/bin/env python3
"""Per-frame latency, FLOP/s and memory of the fusion model on one CPU thread.

    python scripts/bench_model.py [--checkpoint DIR] [--frames 200] [--json out.json]

Measures, with torch.set_num_threads(1):
  * median / p90 latency of ``FusionModel.encode`` (in its ``for_inference`` serving form, as
    ``load_fusion_policy`` loads it) on one preprocessed frame, the command's
    text states cached (what the fusion node pays per frame);
  * median latency of ``FusionPolicy.select_action`` on a 320x240 camera frame (adds resizing
    and building the records);
  * FLOPs per frame (torch.utils.flop_counter) and achieved FLOP/s, against a measured fp32
    matmul peak on the same thread;
  * resident memory (RSS) of the process after loading and running.
Without --checkpoint it uses the bundled default checkpoint if present, else a randomly
initialised default configuration (same cost).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from mm_robot.core.records import Command, Frame, Observation  # noqa: E402
from mm_robot.model import FusionConfig, FusionModel  # noqa: E402
from mm_robot.policies.fusion import DEFAULT_CHECKPOINT, FusionPolicy  # noqa: E402
from mm_robot.model.processing import prepare_frame  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def matmul_peak(n: int = 512, repeats: int = 20) -> float:
    """Best observed fp32 GFLOP/s of an n x n matmul on the current thread settings."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2.0 * n ** 3 / best / 1e9


def timed(fn, frames: int, warmup: int = 10) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(frames):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e3)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rss_start = rss_mb()
    path = Path(args.checkpoint) if args.checkpoint else DEFAULT_CHECKPOINT
    if (path / "config.json").is_file():
        model, source = FusionModel.from_pretrained(path), str(path)
    else:
        model, source = FusionModel(FusionConfig()), "random init (default config)"
    model.for_inference()  # what load_fusion_policy serves
    cfg = model.config
    policy = FusionPolicy(model)
    text = "go to the red ball"
    camera = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    images = prepare_frame(camera, cfg.image_height, cfg.image_width)
    with torch.inference_mode():
        model.encode(images, [text])  # fills the text cache
        with FlopCounterMode(display=False) as counter:
            model.encode(images, [text])
        flops = counter.get_total_flops()
        encode_ms = timed(lambda: model.encode(images, [text]), args.frames)
    obs = Observation(Frame(camera, 0.0), Command(text, 0.0), now=0.0)
    policy_ms = timed(lambda: policy.select_action(obs), args.frames)
    peak = matmul_peak()
    median = statistics.median(encode_ms)
    result = {
        "checkpoint": source,
        "threads": torch.get_num_threads(),
        "input": [cfg.image_height, cfg.image_width],
        "parameters": model.num_parameters(),
        "trainable_parameters": model.num_parameters(trainable_only=True),
        "encode_median_ms": round(median, 3),
        "encode_p90_ms": round(float(np.percentile(encode_ms, 90)), 3),
        "select_action_median_ms": round(statistics.median(policy_ms), 3),
        "mflops_per_frame": round(flops / 1e6, 2),
        "achieved_gflops": round(flops / (median / 1e3) / 1e9, 2),
        "matmul_peak_gflops": round(peak, 2),
        "fraction_of_peak": round(flops / (median / 1e3) / 1e9 / peak, 3),
        "rss_mb_start": round(rss_start, 1),
        "rss_mb": round(rss_mb(), 1),
        "target_ms": 5.0,
    }
    result["meets_target"] = result["encode_median_ms"] <= 5.0
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
