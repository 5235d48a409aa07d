#!/usr/bin/env python3
"""Resident memory of each node while the fusion policy hears N distinct commands (R18).

Not a test: numbers for the README. The graph (safety controller, synthetic camera, fusion policy
at 60 Hz) hears N distinct go commands at 50/s, each followed by five invalid ones; each node's
RSS is sampled every 100 commands. Target: fusion_node's RSS after 10,000 distinct commands
within 50 MB of its RSS after 100.

    python scripts/bench_memory.py --commands 10000 --out runs/bench_memory
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(random.randrange(100, 200)))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from std_msgs.msg import String  # noqa: E402
from tqdm import tqdm  # noqa: E402

from mm_robot.bringup.graph import NodeSpec  # noqa: E402
from mm_robot.core.processes import rss_mb  # noqa: E402
from mm_robot.ros.flood import distinct_commands, invalid_commands  # noqa: E402
from mm_robot.ros.probe import Probe, start_graph  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=10000, help="distinct go commands to send")
    parser.add_argument("--cache-size", type=int, default=256, help="fusion_node command_cache_size")
    parser.add_argument("--out", default="runs/bench_memory", help="output directory")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    specs = [NodeSpec("safety_controller_node", "safety_controller_node"),
             NodeSpec("camera_node", "camera_node", {"rate_hz": 60.0, "synthetic_drive": False}),
             NodeSpec("fusion_node", "fusion_node", {"policy": "fusion", "use_audio": False, "rate_hz": 60.0,
                                                     "command_cache_size": args.cache_size,
                                                     "limits.max_commands_per_second": 1000.0})]
    with open(os.devnull, "w") as quiet:
        supervisor = start_graph(specs, output=quiet)
    probe = Probe(int(os.environ["ROS_DOMAIN_ID"]))
    samples = []
    try:
        probe.wait_for(lambda: len(probe.decisions) > 5 and probe.command_pub.get_subscription_count() >= 2, 60.0)
        pids = {r.spec.name: r.process.pid for r in supervisor.running}
        junk = invalid_commands(random.Random(0))
        commands = tqdm(distinct_commands(args.commands, seed=0), desc="distinct commands", disable=None)
        for i, text in enumerate(commands):
            probe.say(text)
            for _ in range(5):
                item = next(junk)
                probe.command_pub.publish(item if isinstance(item, bytes) else String(data=item))
            time.sleep(1 / 50)
            if (i + 1) % 100 == 0:
                samples.append({"commands": i + 1, **{name: rss_mb(pid) for name, pid in pids.items()}})
    finally:
        probe.close()
        supervisor.stop()
    first, last = samples[0], samples[-1]
    summary = {name: {"rss_after_100_mb": first[name], f"rss_after_{last['commands']}_mb": last[name],
                      "growth_mb": last[name] - first[name], "peak_mb": max(s[name] for s in samples)}
               for name in pids}
    (out / "memory.json").write_text(json.dumps({"summary": summary, "samples": samples}, indent=2))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name in pids:
        ax.plot([s["commands"] for s in samples], [s[name] for s in samples], label=name)
    ax.set_xlabel("distinct commands heard")
    ax.set_ylabel("RSS (MB)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "memory.png", dpi=120)
    for name, row in summary.items():
        print(f"{name:<24} " + "  ".join(f"{k}={v:.1f}" for k, v in row.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
