"""Measure the model, the live graph's latency and DDS delivery, with their bounds measured in the same run
(the ``mm-robot bench`` command)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Optional, Sequence

PARTS = ("compute", "graph", "dds")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mm-robot bench", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/bench", help="directory for bench.json, bench.md and the plots")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a smoke test (about 2 min): few frames, 4 swaps, 1 s of DDS per setting",
    )
    p.add_argument(
        "--parts",
        default=None,
        help="comma-separated subset of: "
        + ", ".join(PARTS)
        + " (default: all of them, or none with --soak)",
    )
    p.add_argument("--policies", default="baseline,fusion", help="policies for the live-graph part")
    p.add_argument(
        "--frames", type=int, default=None, help="timed frames per compute measurement (default 600)"
    )
    p.add_argument(
        "--swaps", type=int, default=None, help="ball swaps (one a second) per policy (default 60)"
    )
    p.add_argument(
        "--trials", type=int, default=None, help="stop / e-stop / camera-silent trials per policy (default 3)"
    )
    p.add_argument("--dds-seconds", type=float, default=None, help="seconds per DDS setting (default 5)")
    p.add_argument("--checkpoint", default="", help="fusion checkpoint (default: the shipped one)")
    p.add_argument(
        "--domain-id",
        type=int,
        default=None,
        help="ROS domain for the graph and DDS parts (default: $ROS_DOMAIN_ID, else 77)",
    )
    p.add_argument(
        "--soak",
        type=float,
        default=0.0,
        metavar="MINUTES",
        help="also run a closed-loop soak this long, sampling RSS and latency every 10 s",
    )
    return p


def _machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "python": platform.python_version()}


def bench_main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    quick = args.quick
    frames = args.frames or (60 if quick else 600)
    swaps = args.swaps or (4 if quick else 60)
    trials = args.trials or (1 if quick else 3)
    dds_seconds = args.dds_seconds or (1.0 if quick else 5.0)
    domain = args.domain_id if args.domain_id is not None else int(os.environ.get("ROS_DOMAIN_ID") or 77)
    chosen = args.parts if args.parts is not None else ("" if args.soak > 0 else ",".join(PARTS))
    parts = [p.strip() for p in chosen.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(
            f"mm-robot bench: unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    started = time.time()
    result: dict = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "quick": quick,
        "machine": {**_machine(), "load_before": round(os.getloadavg()[0], 2)},
        "settings": {
            "frames": frames,
            "swaps": swaps,
            "trials": trials,
            "dds_seconds": dds_seconds,
            "domain_id": domain,
            "checkpoint": args.checkpoint or "shipped",
        },
    }
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    steps = ("compute" in parts) + len(policies) * ("graph" in parts) + ("dds" in parts) * 9 + (args.soak > 0)
    with tqdm(total=steps, desc="bench", unit="part") as bar:
        if "compute" in parts:
            from .compute import run_pinned

            bar.set_postfix_str("compute on one core")
            result["compute"] = run_pinned(out / "compute.json", frames, args.checkpoint)
            bar.update()
        if "graph" in parts:
            from ..ros.latency_probe import run_policy

            result["graph"] = {}
            for policy in policies:
                bar.set_postfix_str(f"live graph, {policy}")
                result["graph"][policy] = run_policy(
                    policy, domain, swaps, trials, out / f"nodes_{policy}.log", args.checkpoint
                )
                bar.update()
        if "dds" in parts:
            from .dds import SIZES, TRANSPORTS, measure

            result["dds"] = []
            for transport in TRANSPORTS:
                for width, height in SIZES:
                    bar.set_postfix_str(f"DDS {width}x{height} {transport}")
                    result["dds"].append(measure(width, height, 30.0, dds_seconds, domain, transport))
                    bar.update()
        if args.soak > 0:
            from .soak import run_soak

            bar.set_postfix_str(f"soak {args.soak:g} min")
            result["soak"] = run_soak(args.soak, domain, out, args.checkpoint)
            bar.update()
    result["machine"]["load_after"] = round(os.getloadavg()[0], 2)
    result["seconds"] = round(time.time() - started, 1)
    write(result, out)
    print(f"report: {out / 'bench.md'} (JSON: {out / 'bench.json'})")
    return 0


def write(result: dict, out: Path) -> None:
    from .report import histogram, markdown

    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    if "graph" in result:
        histogram(result["graph"], out / "latency.png")
        text += "\n![latency histograms](latency.png)\n"
    if "soak" in result:
        from .soak import soak_markdown

        text += "\n" + soak_markdown(result["soak"])
    (out / "bench.md").write_text(text)
