#!/usr/bin/env python3
"""Fusion-mode ablation: train concat / add / gated with everything else equal, compare.

    python scripts/ablate_fusion.py --data DATA --out WORK [--steps 2000] [--workers 2]
                                    [--markdown docs/results/fusion_ablation.md]

Each mode trains in its own process on one thread (stage 1 + ``--steps`` of stage 2, same
seed, same batches) and is evaluated on the held-out splits; the table goes to stdout and
``--markdown``. Short runs rank the modes; they do not reach the shipped checkpoint's accuracy.
Resumable: a mode whose ``WORK/<mode>/summary.json`` exists is not retrained.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mm_robot.training.scenes import EVAL_SPLITS as SPLITS  # noqa: E402

MODES = ("concat", "add", "gated")
TRAIN = "import sys; from mm_robot.training import train_main; sys.exit(train_main(sys.argv[1:]))"


def train_mode(mode: str, args: argparse.Namespace) -> dict:
    run = Path(args.out) / mode
    summary = run / "summary.json"
    if not summary.exists():
        cmd = [sys.executable, "-c", TRAIN, "--data", args.data, "--out", str(run),
               "--stage1-steps", str(args.stage1_steps), "--stage2-steps", str(args.steps),
               "--batch-size", "48", "--lr", "2e-3", "--threads", "1", "--log-every", "100",
               "--eval-every", str(args.steps), "--ckpt-every", "500", "--resume",
               "--eval-limit", str(args.eval_limit), "--set", f'fusion="{mode}"']
        for override in args.set:
            cmd += ["--set", override]
        env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
        with (Path(args.out) / f"{mode}.log").open("w") as log:
            subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT, env=env)
    return json.loads(summary.read_text())


def table(results: dict[str, dict], steps: int) -> str:
    lines = [f"Grounding accuracy (presence ≥ 0.5 and IoU ≥ 0.5) after {steps} stage-2 steps:", "",
             "| fusion | " + " | ".join(SPLITS) + " | action (seen) | train min |",
             "|---|" + "---:|" * (len(SPLITS) + 2)]
    for mode, summary in results.items():
        ev = summary["eval"]
        cells = [f"{ev[s]['grounding_acc']:.3f}" if s in ev else "–" for s in SPLITS]
        lines.append(f"| {mode} | " + " | ".join(cells) + f" | {ev['seen']['action_acc']:.3f} "
                     f"| {summary['wall_seconds'] / 60:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="dataset directory (mm-robot datagen output)")
    p.add_argument("--out", required=True, help="work directory, one run per mode")
    p.add_argument("--steps", type=int, default=2000, help="stage-2 steps per mode")
    p.add_argument("--stage1-steps", type=int, default=200)
    p.add_argument("--eval-limit", type=int, default=600, help="samples per held-out split")
    p.add_argument("--workers", type=int, default=2, help="modes trained at once (one core each)")
    p.add_argument("--set", action="append", default=[], help="extra FusionConfig override for every mode")
    p.add_argument("--markdown", default=None, help="also write the table here")
    args = p.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.workers) as pool:
        results = dict(zip(MODES, pool.map(lambda mode: train_mode(mode, args), MODES)))
    text = table(results, args.steps)
    print(text, end="")
    if args.markdown:
        Path(args.markdown).write_text("# Fusion-mode ablation\n\n`python scripts/ablate_fusion.py "
                                       f"--steps {args.steps}` (one CPU thread per mode, same data, seed "
                                       "and batches).\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
