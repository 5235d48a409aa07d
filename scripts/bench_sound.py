#!/usr/bin/env python3
"""Benchmark the simulator's sound renderer: cost of one chunk (one sim step) on one core.

    python scripts/bench_sound.py                      # pinned to CPU 0, 15 Hz steps, 450 chunks
    python scripts/bench_sound.py --out runs/bench_sound.json --markdown runs/bench_sound.md

Renders what the stereo microphone pair hears while the robot drives and turns, for three
scenes: one beep; a beep, a tone and a noise source; the same plus a talking object, a spoken
command and babble at 10 dB SNR. Reports the median and p95 milliseconds per chunk and the
real-time factor, beside two bounds measured in the same run on the same core (numpy copy
bandwidth and float64 matmul rate), so numbers from a loaded machine can be read against them.
Not a test: the numbers depend on the machine.
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


def machine_bounds() -> dict:
    """numpy copy bandwidth (GB/s) and 512x512 float64 matmul rate (GFLOP/s), best of 5."""
    import numpy as np
    a = np.ones(8_000_000)  # 64 MB
    b = np.empty_like(a)
    copy = min(_timed(lambda: np.copyto(b, a)) for _ in range(5))
    m = np.random.default_rng(0).standard_normal((512, 512))
    matmul = min(_timed(lambda: m @ m) for _ in range(5))
    return {"copy_gb_s": round(2 * a.nbytes / copy / 1e9, 2),
            "matmul_gflop_s": round(2 * 512 ** 3 / matmul / 1e9, 2)}


def _timed(body) -> float:
    started = time.perf_counter()
    body()
    return time.perf_counter() - started


def scenes() -> dict:
    """name -> a function making a fresh renderer for that scene."""
    from mm_robot.sim.emitters import Beep, Recording, Tone, make_background, white_noise
    from mm_robot.sim.sound import MicPair, SoundRenderer, SoundSource
    from mm_robot.sim.voice import synthesise

    def one_beep() -> SoundRenderer:
        r = SoundRenderer(MicPair())
        r.add(SoundSource("beep", 2.0, 1.0, Beep(1200.0, 0.5, 0.5), -20.0))
        return r

    def three() -> SoundRenderer:
        r = one_beep()
        r.add(SoundSource("tone", 3.0, -1.0, Tone(440.0), -20.0))
        r.add(SoundSource("noise", -1.0, 2.0, white_noise(1), -24.0))
        return r

    def busy() -> SoundRenderer:
        r = three()
        r.background = make_background("babble", 0.1 / 10 ** 0.5, seed=1)
        talker = Recording(synthesise("over here", "en-gb"), repeat_s=2.0)
        r.add(SoundSource("talker", 1.0, -2.0, talker, -20.0))
        operator = Recording(synthesise("go to the beeping one", "en-us"))
        r.add(SoundSource("operator", -1.0, 0.0, operator, -20.0, start=1.0))
        return r

    return {"1 beep": one_beep, "beep + tone + noise": three,
            "beep + tone + noise + talker + spoken command + babble": busy}


def measure(make, chunks: int, rate_hz: float) -> dict:
    import numpy as np

    from mm_robot.sim.spec import Pose2D
    renderer = make()
    times = []
    for k in range(1, chunks + 1):
        t = k / rate_hz
        started = time.perf_counter()
        renderer.render(Pose2D(0.3 * t, 0.0, 0.5 * t), t)
        times.append(time.perf_counter() - started)
    ms = np.array(times) * 1e3
    return {"median_ms": round(float(np.median(ms)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3),
            "real_time_factor": round(1000.0 / rate_hz / float(np.median(ms)), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=450, help="chunks rendered per scene")
    parser.add_argument("--rate-hz", type=float, default=15.0, help="sim steps per second (one chunk each)")
    parser.add_argument("--all-cores", action="store_true", help="do not pin to one CPU")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the results as a Markdown table here")
    args = parser.parse_args(argv)
    if not args.all_cores:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = "1"
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    results = {"chunk_s": round(1.0 / args.rate_hz, 4), "bounds": machine_bounds(), "scenes": {}}
    for name, make in scenes().items():
        results["scenes"][name] = measure(make, args.chunks, args.rate_hz)
    lines = ["| scene | median ms/chunk | p95 ms/chunk | real-time factor |", "|---|---|---|---|"]
    lines += [f"| {name} | {r['median_ms']} | {r['p95_ms']} | {r['real_time_factor']}× |"
              for name, r in results["scenes"].items()]
    b = results["bounds"]
    lines.append(f"\nSame run, same core: numpy copy {b['copy_gb_s']} GB/s, "
                 f"matmul {b['matmul_gflop_s']} GFLOP/s; "
                 f"chunks of {results['chunk_s']} s (16 kHz, 2 channels).")
    print("\n".join(lines))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
