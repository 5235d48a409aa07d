#!/usr/bin/env python3
"""Measure the safety path on the live graph (not a test: numbers for the README).

For N trials: command "go to the red ball", wait for motion, then one of
  stop   - publish "stop"               -> time to the first zero cmd_vel
  estop  - publish estop=true           -> time to the first zero cmd_vel
  camera - SIGKILL the camera process   -> time to the first zero cmd_vel (the graph is restarted)
Prints median / p90 / max per kind and writes JSON.

    python scripts/bench_safety.py --trials 5 --out bench_safety.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import time

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(random.randrange(100, 200)))

from std_msgs.msg import Bool  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from tqdm import tqdm  # noqa: E402

from mm_robot.ros.graph import NodeSpec  # noqa: E402
from mm_robot.ros.probe import Probe, start_graph  # noqa: E402

# The baseline policy, as when the README's latencies were measured (the safety path, not the model).
SPECS = [NodeSpec("safety_controller_node", "safety_controller_node"),
         NodeSpec("camera_node", "camera_node", {"synthetic_scene": "red ball 4 0.3", "rate_hz": 15.0}),
         NodeSpec("fusion_node", "fusion_node", {"use_audio": False, "policy": "baseline"})]


def moving_since(probe: Probe, t: float, timeout: float = 15.0) -> bool:
    return probe.wait_for(lambda: any(s.time >= t and (s.linear or s.angular) for s in probe.cmd_vel), timeout)


def reset_estop(probe: Probe) -> None:
    client = probe.node.create_client(Trigger, "estop/reset")
    client.wait_for_service(timeout_sec=5.0)
    future = client.call_async(Trigger.Request())
    probe.wait_for(lambda: future.done(), 5.0)


def trial(kind: str, domain: int) -> float | None:
    with open(os.devnull, "w") as quiet:
        supervisor = start_graph(SPECS, output=quiet)
        probe = Probe(domain)
        try:
            probe.wait_for(lambda: len(probe.decisions) > 5, 30.0)
            if not moving_since(probe, probe.say("go to the red ball")):
                return None
            time.sleep(0.5)
            if kind == "stop":
                t0 = probe.say("stop")
            elif kind == "estop":
                t0 = time.monotonic()
                probe.estop_pub.publish(Bool(data=True))
            else:
                camera = next(r.process for r in supervisor.running if r.spec.name == "camera_node")
                camera.send_signal(signal.SIGKILL)
                t0 = time.monotonic()
            return probe.first_zero_after(t0, 3.0)
        finally:
            probe.close()
            supervisor.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--kinds", default="stop,estop,camera")
    parser.add_argument("--out", default="bench_safety.json")
    args = parser.parse_args()
    domain = int(os.environ["ROS_DOMAIN_ID"])
    results: dict[str, list[float]] = {}
    kinds = args.kinds.split(",")
    with tqdm(total=len(kinds) * args.trials, desc="safety trials") as bar:
        for kind in kinds:
            for _ in range(args.trials):
                delay = trial(kind, domain)
                if delay is not None:
                    results.setdefault(kind, []).append(delay)
                bar.update()
    summary = {}
    for kind, delays in results.items():
        delays.sort()
        summary[kind] = {"n": len(delays), "median_ms": 1000 * statistics.median(delays),
                         "p90_ms": 1000 * delays[int(0.9 * (len(delays) - 1))], "max_ms": 1000 * delays[-1]}
        print(f"{kind:<7} n={len(delays)} median={summary[kind]['median_ms']:.0f} ms "
              f"p90={summary[kind]['p90_ms']:.0f} ms max={summary[kind]['max_ms']:.0f} ms")
    with open(args.out, "w") as handle:
        json.dump({"summary": summary, "raw_s": results}, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
