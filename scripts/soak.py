#!/usr/bin/env python3
"""Soak the live graph (R11, R18): camera at 30 Hz, a command, RSS and decision lag sampled.

Not a test: a long run whose numbers go into the README. Writes JSON and a PNG with each node's
resident memory over time and the lag (decision receive time - source image stamp).

    python scripts/soak.py --minutes 10 --out soak
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(random.randrange(100, 200)))

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from mm_robot.bringup.graph import NodeSpec  # noqa: E402
from mm_robot.ros.probe import Probe, start_graph  # noqa: E402


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--policy", default="baseline")
    parser.add_argument("--out", default="soak")
    args = parser.parse_args()
    specs = [NodeSpec("safety_controller_node", "safety_controller_node"),
             NodeSpec("camera_node", "camera_node", {"rate_hz": 30.0, "synthetic_drive": False,
                                                      "synthetic_scene": "red ball 3 0.2; blue box 3 -1"}),
             NodeSpec("fusion_node", "fusion_node", {"policy": args.policy, "use_audio": False, "rate_hz": 30.0})]
    with open(os.devnull, "w") as quiet:
        supervisor = start_graph(specs, output=quiet)
        probe = Probe(int(os.environ["ROS_DOMAIN_ID"]))
        memory: dict[str, list[tuple[float, float]]] = {r.spec.name: [] for r in supervisor.running}
        lags: list[tuple[float, float]] = []
        try:
            probe.wait_for(lambda: len(probe.decisions) > 5, 30.0)
            probe.say("go to the red ball")
            start = time.monotonic()
            seen = 0
            with tqdm(total=int(args.minutes * 60), desc="soak", unit="s") as bar:
                while time.monotonic() - start < args.minutes * 60:
                    time.sleep(1.0)
                    bar.update(1)
                    elapsed = time.monotonic() - start
                    for item in supervisor.running:
                        memory[item.spec.name].append((elapsed, rss_mb(item.process.pid)))
                    with probe.lock:
                        fresh = probe.decisions[seen:]
                        seen = len(probe.decisions)
                    lags += [(elapsed, d["received"] - d["stamp"]) for d in fresh]
        finally:
            probe.close()
            supervisor.stop()
    report = {"minutes": args.minutes, "policy": args.policy, "nodes": {}}
    for name, samples in memory.items():
        t, mb = np.array(samples).T
        half = len(t) // 2
        slope = float(np.polyfit(t[half:], mb[half:], 1)[0] * 3600) if half > 2 else float("nan")
        report["nodes"][name] = {"rss_start_mb": float(mb[0]), "rss_end_mb": float(mb[-1]),
                                 "rss_slope_second_half_mb_per_hour": slope}
    lag = np.array([value for _, value in lags])
    report["decision_lag_s"] = {"p50": float(np.percentile(lag, 50)), "p99": float(np.percentile(lag, 99)),
                                "max": float(lag.max()), "n": int(lag.size)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(report, indent=2))
    _plot(memory, lags, out / "soak.png")
    print(json.dumps(report, indent=2))
    return 0


def _plot(memory, lags, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, samples in memory.items():
        t, mb = np.array(samples).T
        left.plot(t / 60, mb, label=name)
    left.set(xlabel="minutes", ylabel="RSS (MB)", title="resident memory per node")
    left.legend(fontsize=8)
    t, lag = np.array(lags).T
    right.plot(t / 60, lag * 1000, ".", markersize=2)
    right.set(xlabel="minutes", ylabel="lag (ms)", title="decision lag behind the image stamp")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    raise SystemExit(main())
