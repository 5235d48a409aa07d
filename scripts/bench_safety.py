#!/usr/bin/env python3
"""Measure the safety path on the live graph with the fusion policy (numbers for the README).

One graph (safety controller, synthetic camera that does not move, fusion policy); each trial
says "go to the red ball", waits for motion, then
  stop           - publish "stop"                                   -> first zero cmd_vel
  estop          - publish estop=true (then estop/reset)            -> first zero cmd_vel
  flood_invalid  - 2,000 invalid commands/s from another process, "stop" in the middle
  flood_plausible- the same with printable text that is not a command
  camera         - SIGKILL the camera process (the graph restarts)  -> first zero cmd_vel
and checks that nothing moves again until the next go command. Reports p50/p90/p99/max per kind,
with the machine's single-core matmul peak and copy bandwidth measured in the same run.

    python scripts/bench_safety.py --trials 100 --flood-trials 20 --out runs/bench_safety
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(random.randrange(100, 200)))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from std_msgs.msg import Bool  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from tqdm import tqdm  # noqa: E402

from mm_robot.bringup.graph import NodeSpec  # noqa: E402
from mm_robot.ros.probe import Probe, start_graph  # noqa: E402

SPECS = [NodeSpec("safety_controller_node", "safety_controller_node"),
         NodeSpec("camera_node", "camera_node", {"synthetic_scene": "red ball 3.0 0.5", "synthetic_drive": False}),
         NodeSpec("fusion_node", "fusion_node", {"policy": "fusion", "use_audio": False})]


def machine_bounds() -> dict:
    """Single-core fp32 matmul peak (GFLOP/s) and memory copy bandwidth (GB/s), measured now."""
    import torch
    torch.set_num_threads(1)
    a, b = torch.randn(512, 512), torch.randn(512, 512)
    for _ in range(3):
        a @ b
    t0 = time.perf_counter()
    for _ in range(20):
        a @ b
    gflops = 20 * 2 * 512 ** 3 / (time.perf_counter() - t0) / 1e9
    src = np.ones(64 * 2 ** 20 // 8)
    dst = np.empty_like(src)
    t0 = time.perf_counter()
    for _ in range(10):
        np.copyto(dst, src)
    copy = 10 * 2 * src.nbytes / (time.perf_counter() - t0) / 1e9
    return {"matmul_gflops_1core": round(gflops, 1), "copy_gbps": round(copy, 1), "cpus": os.cpu_count()}


class Bench:
    def __init__(self, domain: int, safety_parameters: dict) -> None:
        self.domain = domain
        self.quiet = open(os.devnull, "w")
        specs = [NodeSpec(s.name, s.executable, {**s.parameters, **safety_parameters})
                 if s.executable == "safety_controller_node" else s for s in SPECS]
        self.supervisor = start_graph(specs, output=self.quiet)
        self.probe = Probe(domain)
        if not self.probe.wait_for(lambda: len(self.probe.decisions) > 5
                                   and self.probe.command_pub.get_subscription_count() >= 2, 60.0):
            raise RuntimeError("graph did not come up")

    def close(self) -> None:
        self.probe.close()
        self.supervisor.stop()

    def go(self) -> bool:
        t0 = self.probe.say("go to the red ball")
        return self.probe.wait_for(lambda: any(s.time >= t0 and (s.linear or s.angular)
                                               for s in self.probe.cmd_vel), 15.0)

    def trial(self, kind: str, seed: int) -> tuple[float | None, bool]:
        """(seconds to the zero that lasts, whether the first zero already was that one)."""
        if not self.go():
            return None, False
        time.sleep(0.3)
        if kind == "stop":
            t0 = self.probe.say("stop")
        elif kind == "estop":
            t0 = time.monotonic()
            self.probe.estop_pub.publish(Bool(data=True))
        else:
            report = self.flood(kind.removeprefix("flood_"), seed)
            t0 = report["stop_sent"]
        first = self.probe.first_zero_after(t0, 3.0)
        delay = self.probe.settled_zero_after(t0, time.monotonic() + 0.5)
        still = delay is not None and first is not None and abs(delay - first) < 1e-9
        if kind == "estop":
            self.reset_estop()
        return delay, still

    def flood(self, kind: str, seed: int) -> dict:
        args = [sys.executable, "-m", "mm_robot.ros.flood", "--rate", "2000", "--seconds", "2.0",
                "--kind", kind, "--stop-at", "1.0", "--seed", str(seed)]
        out = subprocess.run(args, capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, ROS_DOMAIN_ID=str(self.domain))).stdout
        return json.loads(out.strip().splitlines()[-1])

    def reset_estop(self) -> None:
        client = self.probe.node.create_client(Trigger, "estop/reset")
        client.wait_for_service(timeout_sec=5.0)
        future = client.call_async(Trigger.Request())
        self.probe.wait_for(lambda: future.done(), 5.0)
        self.probe.estop_pub.publish(Bool(data=False))


def camera_trial(domain: int, safety_parameters: dict) -> tuple[float | None, bool]:
    bench = Bench(domain, safety_parameters)
    try:
        if not bench.go():
            return None, False
        camera = next(r.process for r in bench.supervisor.running if r.spec.name == "camera_node")
        camera.send_signal(signal.SIGKILL)
        t0 = time.monotonic()
        first = bench.probe.first_zero_after(t0, 3.0)
        delay = bench.probe.settled_zero_after(t0, time.monotonic() + 1.0)
        return delay, delay is not None and first is not None and abs(delay - first) < 1e-9
    finally:
        bench.close()


def summarise(delays: list[float], still: list[bool]) -> dict:
    ms = np.array(delays) * 1000.0
    return {"n": len(delays), "p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max()),
            "stayed_still": f"{sum(still)}/{len(still)}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100, help="trials each of stop and estop")
    parser.add_argument("--flood-trials", type=int, default=20, help="trials of each flood kind")
    parser.add_argument("--camera-trials", type=int, default=5, help="camera-kill trials (graph restarts)")
    parser.add_argument("--safety-nice", type=int, default=None,
                        help="override safety_controller_node's nice parameter (default: the node's)")
    parser.add_argument("--out", default="runs/bench_safety", help="output directory")
    args = parser.parse_args()
    safety_parameters = {} if args.safety_nice is None else {"nice": args.safety_nice}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    domain = int(os.environ["ROS_DOMAIN_ID"])
    bounds = machine_bounds()
    plan = ([("stop", args.trials), ("estop", args.trials), ("flood_invalid", args.flood_trials),
             ("flood_plausible", args.flood_trials)])
    raw: dict[str, list] = {}
    bench = Bench(domain, safety_parameters)
    try:
        with tqdm(total=sum(n for _, n in plan), desc="safety trials", disable=None) as bar:
            for kind, n in plan:
                for i in range(n):
                    raw.setdefault(kind, []).append(bench.trial(kind, seed=i))
                    bar.update()
    finally:
        bench.close()
    for _ in range(args.camera_trials):
        raw.setdefault("camera", []).append(camera_trial(domain, safety_parameters))
    summary = {}
    for kind, results in raw.items():
        delays = [d for d, _ in results if d is not None]
        summary[kind] = {**summarise(delays, [s for _, s in results]), "missed": len(results) - len(delays)}
    report = {"machine": bounds, "summary": summary, "raw": raw}
    (out / "bench_safety.json").write_text(json.dumps(report, indent=2))
    lines = [f"Machine: {bounds['cpus']} CPUs, 1-core fp32 matmul {bounds['matmul_gflops_1core']} GFLOP/s, "
             f"copy {bounds['copy_gbps']} GB/s.", "",
             "| event | trials | p50 | p90 | p99 | max | zero reached | first zero was final |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for kind, s in summary.items():
        lines.append(f"| {kind} | {s['n'] + s['missed']} | {s['p50_ms']:.0f} ms | {s['p90_ms']:.0f} ms | "
                     f"{s['p99_ms']:.0f} ms | {s['max_ms']:.0f} ms | {s['n']}/{s['n'] + s['missed']} | "
                     f"{s['stayed_still']} |")
    (out / "bench_safety.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
