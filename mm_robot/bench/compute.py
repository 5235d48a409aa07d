"""The compute side of ``mm-robot bench``, on one core, in a child process of its own.

Run as ``python -m mm_robot.bench.compute --out FILE [--frames N] [--checkpoint DIR]``;
:func:`run_pinned` starts it pinned to one core with one thread for every math library, so that
no thread pool created at import time escapes the pinning. Measures, in one run:

* the bounds (``bounds.py``): fp32 matmul peak (before and after the model runs; the higher
  one is used) and memory-copy bandwidth;
* FLOPs per frame of the model (``torch.utils.flop_counter`` on the PyTorch form) and the
  compute bound = FLOPs / peak;
* per serving form: model time per frame (the serving form on a frame at the model's input
  size, command cached) and ``select_action`` time on a 320x240 frame, as ratios to the bound;
* fusion loop capacity per policy: frames/s of a ``sensor_msgs/Image`` -> frame conversion ->
  ``select_action`` -> decision and grounding JSON loop, i.e. what one core can feed the node;
* warm start: policy construction (load + warm-up), then new command -> first decision for
  the first command after start-up and for later new commands.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
COMMANDS = (
    "go to the red ball",
    "drive to the blue box",
    "find the green cylinder please",
    "head over to the yellow cone",
    "approach the purple capsule",
    "go towards the white ball",
    "please move to the orange box",
    "roll over to the black cylinder",
    "find the red cube",
    "go to the cyan sphere",
)


def run_pinned(out: Path, frames: int, checkpoint: str = "", core: Optional[int] = None) -> dict:
    """Run this module in a child pinned to ``core`` (default: the last one); returns its JSON."""
    core = max(os.sched_getaffinity(0)) if core is None else core
    env = {**os.environ, **{name: "1" for name in THREAD_VARIABLES}, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "mm_robot.bench.compute", "--out", str(out), "--frames", str(frames)]
    if checkpoint:
        command += ["--checkpoint", checkpoint]
    subprocess.run(command, env=env, check=True, preexec_fn=lambda: os.sched_setaffinity(0, {core}))
    result = json.loads(out.read_text())
    result["core"] = core
    return result


def percentiles(ms: list[float], blocks: Optional[list[float]] = None) -> dict[str, float]:
    """p50/p90/p99/max/mean of ``ms``; with ``blocks`` (medians of interleaved blocks) also the
    best block's median: the cost with the least interference from other work on the machine."""
    import numpy as np

    values = np.asarray(ms, dtype=float)
    out = {
        "n": int(values.size),
        "p50": round(float(np.percentile(values, 50)), 3),
        "p90": round(float(np.percentile(values, 90)), 3),
        "p99": round(float(np.percentile(values, 99)), 3),
        "max": round(float(values.max()), 3),
        "mean": round(float(values.mean()), 3),
    }
    if blocks:
        out["best_block_p50"] = round(min(blocks), 3)
    return out


def interleaved(fns: dict[str, Callable[[], object]], frames: int, rounds: int = 10) -> dict[str, dict]:
    """Time each of ``fns`` for ``frames`` calls, in ``rounds`` interleaved blocks, so that load
    from other processes falls on all of them alike; percentiles per name."""
    import numpy as np

    times: dict[str, list[float]] = {name: [] for name in fns}
    blocks: dict[str, list[float]] = {name: [] for name in fns}
    per_block = max(1, frames // rounds)
    for _ in range(rounds):
        for name, fn in fns.items():
            block = timed_ms(fn, per_block, warmup=3)
            times[name] += block
            blocks[name].append(float(np.median(block)))
    return {name: percentiles(times[name], blocks[name]) for name in fns}


def timed_ms(fn: Callable[[], object], frames: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(frames):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def model_flops(checkpoint: str) -> float:
    """FLOPs of one frame through the PyTorch form (command tokens cached)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ..model import FusionModel
    from ..policies.fusion import DEFAULT_CHECKPOINT

    model = FusionModel.from_pretrained(checkpoint or DEFAULT_CHECKPOINT).for_inference()
    cfg = model.config
    images = torch.rand(1, 3, cfg.image_height, cfg.image_width)
    with torch.inference_mode():
        model.encode(images, [COMMANDS[0]])
        with FlopCounterMode(display=False) as counter:
            model.encode(images, [COMMANDS[0]])
    return float(counter.get_total_flops())


def camera_frame(width: int = 320, height: int = 240):
    """A synthetic 320x240 frame with a red ball left of centre and a blue box behind."""
    from ..sources.synthetic_scene import SyntheticScene, parse_scene

    return SyntheticScene(
        parse_scene("red ball 2.5 0.8; blue box 3.5 0.0"), width=width, height=height
    ).render()


def serving_times(checkpoint: str, form: str, frames: int) -> dict:
    """Model time per frame and select_action time of the fusion policy served by ``form``."""
    import numpy as np

    from ..core.records import Command, Frame, Observation
    from ..model.processing import resize_image
    from ..policies.fusion import load_fusion_policy

    policy = load_fusion_policy(checkpoint or None, serving=form, num_threads=1)
    cfg = policy.model.config
    image = camera_frame()
    model_input = resize_image(image, cfg.image_height, cfg.image_width)[None]
    observation = Observation(Frame(image, 1.0), Command(COMMANDS[0], 1.0), now=1.0)
    timings = interleaved(
        {
            "model_ms": lambda: policy.serving.predict(model_input, [COMMANDS[0]]),
            "select_action_ms": lambda: policy.select_action(observation),
            "resize_ms": lambda: resize_image(image, cfg.image_height, cfg.image_width),
        },
        frames,
    )
    return {
        "serving": policy.serving.name,
        **timings,
        "input": [cfg.image_height, cfg.image_width],
        "camera": [int(s) for s in np.shape(image)[:2]],
    }


def loop_capacity(policy, frames: int) -> dict:
    """Frames/s of the fusion node's per-frame work on this core: message -> frame, the policy,
    the decision and grounding JSON (what the node publishes), without DDS."""
    from ..core.records import Command, Frame, Observation
    from ..core.validation import InputLimits
    from ..ros.conversions import frame_to_image, image_to_frame

    message = frame_to_image(Frame(camera_frame(), 1.0, "camera"))
    limits = InputLimits()
    command = Command(COMMANDS[0], 1.0)

    def one() -> None:
        frame = image_to_frame(message, limits)
        out = policy.select_action(Observation(frame, command, now=1.0))
        json.dumps(out.decision.to_json())
        if out.grounding is not None:
            json.dumps(out.grounding.to_json())

    ms = interleaved({"loop": one}, frames)["loop"]
    return {
        "frames_per_s": round(1e3 / ms["mean"], 1),
        "frames_per_s_best_block": round(1e3 / ms["best_block_p50"], 1),
        "per_frame_ms": ms,
    }


def warm_start(checkpoint: str, commands: int) -> dict:
    """Construction time, then new command -> first decision: the first command after start-up,
    and ``commands - 1`` later new commands (each never seen before), on a fresh policy."""
    from ..core.records import Command, Frame, Observation
    from ..policies.fusion import load_fusion_policy

    start = time.perf_counter()
    policy = load_fusion_policy(checkpoint or None, num_threads=1)
    built = time.perf_counter() - start
    image = camera_frame()
    first_ms = []
    for text in COMMANDS[:commands]:
        observation = Observation(Frame(image, 1.0), Command(text, 1.0), now=1.0)
        t = time.perf_counter()
        policy.select_action(observation)
        first_ms.append((time.perf_counter() - t) * 1e3)
    return {
        "construct_s": round(built, 2),
        "first_command_ms": round(first_ms[0], 2),
        "new_command_ms": percentiles(first_ms),
        "serving": policy.serving.name,
    }


def measure(frames: int, checkpoint: str) -> dict:
    from ..policies import make_policy
    from .bounds import copy_bandwidth, matmul_peak

    peak_before = matmul_peak()
    bandwidth = copy_bandwidth()
    result: dict = {"warm_start": warm_start(checkpoint, min(len(COMMANDS), max(3, frames // 20)))}
    flops = model_flops(checkpoint)
    result["serving"] = {form: serving_times(checkpoint, form, frames) for form in ("onnx", "torch")}
    from ..policies.fusion import load_fusion_policy

    result["loop_capacity"] = {
        "fusion": loop_capacity(load_fusion_policy(checkpoint or None, num_threads=1), frames),
        "fusion_torch": loop_capacity(
            load_fusion_policy(checkpoint or None, num_threads=1, serving="torch"), frames
        ),
        "baseline": loop_capacity(make_policy("baseline"), frames),
    }
    peak_after = matmul_peak()
    peak = {k: max(peak_before[k], peak_after.get(k, 0.0)) for k in peak_before}
    bound_ms = flops / (peak["best"] * 1e9) * 1e3
    for timing in result["serving"].values():
        for key in ("model", "select_action"):
            timing[f"{key}_ratio"] = round(timing[f"{key}_ms"]["p50"] / bound_ms, 2)
            timing[f"{key}_ratio_best_block"] = round(timing[f"{key}_ms"]["best_block_p50"] / bound_ms, 2)
    result["bounds"] = {
        "matmul_peak_gflops": peak,
        "matmul_peak_before": peak_before,
        "matmul_peak_after": peak_after,
        "copy_bandwidth_gbs": bandwidth,
        "model_mflops": round(flops / 1e6, 2),
        "compute_bound_ms": round(bound_ms, 3),
    }
    return result


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--frames", type=int, default=300, help="timed frames per measurement")
    parser.add_argument("--checkpoint", default="", help="fusion checkpoint (default: the shipped one)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    Path(args.out).write_text(json.dumps(measure(args.frames, args.checkpoint), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
