#!/usr/bin/env python3
"""Make the committed replay bag: a recorded simulator run, trimmed to the part the graph decided on.

    python scripts/make_replay_bag.py [--out test/data/bags/go_to_red_ball_small] [--policy fusion]

Runs ``mm-robot sim --record`` on test/data/go_to_red_ball_small.yaml (go_to_red_ball with a
128x96 camera, the fusion model's input size) in a ROS domain of its own, then keeps the
messages from one second before the first recorded decision on (the frames the simulator
rendered while the fusion node was still loading its model carry nothing to compare).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mm_robot.bags.store import bag_topics, read_bag, write_bag  # noqa: E402
from mm_robot.bringup.graph import TOPICS  # noqa: E402

SCENARIO = ROOT / "test" / "data" / "go_to_red_ball_small.yaml"
LEAD_NS = 1_000_000_000


def trim(source: Path, target: Path) -> dict:
    """Copy ``source`` to ``target`` from LEAD_NS before its first decision; counts per topic."""
    decisions = [m.time_ns for m in read_bag(source, ["/decision"])]
    if not decisions:
        raise SystemExit(f"{source}: no decisions recorded")
    start = decisions[0] - LEAD_NS
    profiles = {name: TOPICS.get(name.lstrip("/"), TOPICS.get(name, ("", "reliable")))[1]
                for name in bag_topics(source)}
    write_bag(target, (m for m in read_bag(source) if m.time_ns >= start), profiles)
    return {name: count for name, (_type, count) in bag_topics(target).items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "test" / "data" / "bags" / "go_to_red_ball_small"))
    parser.add_argument("--policy", default="fusion")
    parser.add_argument("--domain", default=os.environ.get("ROS_DOMAIN_ID", "77"))
    args = parser.parse_args()
    env = dict(os.environ, ROS_DOMAIN_ID=str(args.domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               MUJOCO_GL=os.environ.get("MUJOCO_GL", "egl"), PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as work:
        raw = Path(work) / "raw"
        subprocess.run([sys.executable, "-m", "mm_robot.cli", "sim", "--scenario", str(SCENARIO),
                        "--policy", args.policy, "--out", str(Path(work) / "out"), "--video", "none",
                        "--record", str(raw)], env=env, check=True)
        counts = trim(raw, Path(args.out))
    size = sum(p.stat().st_size for p in Path(args.out).iterdir())
    print(f"{args.out}: {size / 1e6:.2f} MB; " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
