#!/usr/bin/env python3
"""Benchmark the MuJoCo simulator: lockstep step + render rate on one core.

    python scripts/bench_sim.py                       # 320x240, 300 frames, pinned to CPU 0
    python scripts/bench_sim.py --width 640 --height 480 --frames 200 --no-boxes

Reports frames per second for (a) step only, (b) step + RGB render, (c) step + RGB +
segmentation boxes + ground truth (what data generation and the sim node do per frame),
plus the one-off cost of building a world. Not a test: the number depends on the machine.
Target: (c) >= 20 Hz at 320x240 on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--distractors", type=int, default=5)
    parser.add_argument("--dt", type=float, default=1 / 15, help="sim seconds per step")
    parser.add_argument("--all-cores", action="store_true", help="do not pin to one CPU")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    # One core for us and for Mesa's software rasteriser (llvmpipe) threads.
    os.environ.setdefault("MUJOCO_GL", "egl")
    if not args.all_cores:
        os.environ["LP_NUM_THREADS"] = "1"
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    from dataclasses import replace

    from mm_robot.sim.generate import random_scene
    from mm_robot.sim.spec import CameraSpec
    from mm_robot.sim.world import World

    scene, _ = random_scene(7, distractors=args.distractors)
    scene = replace(scene, camera=CameraSpec(args.width, args.height))
    started = time.perf_counter()
    world = World(scene)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    next_scene = replace(random_scene(8, distractors=args.distractors)[0], camera=scene.camera)
    World(next_scene).close()  # later worlds share the GL context
    rebuild_s = time.perf_counter() - started

    def rate(body) -> float:
        world.reset()
        for _ in range(5):
            body()
        t0 = time.perf_counter()
        for _ in range(args.frames):
            body()
        return args.frames / (time.perf_counter() - t0)

    step_hz = rate(lambda: world.step(0.3, 0.4, args.dt))
    render_hz = rate(lambda: (world.step(0.3, 0.4, args.dt), world.render(with_boxes=False)))
    full_hz = rate(lambda: world.ground_truth(world.step(0.3, 0.4, args.dt) and world.render()))
    world.close()
    report = {"width": args.width, "height": args.height, "objects": len(scene.objects),
              "one_core": not args.all_cores, "build_first_world_ms": round(build_s * 1000, 1),
              "build_next_world_ms": round(rebuild_s * 1000, 1),
              "step_hz": round(step_hz, 1), "step_render_hz": round(render_hz, 1),
              "step_render_boxes_truth_hz": round(full_hz, 1), "target_hz": 20.0,
              "meets_target": full_hz >= 20.0}
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>28}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
