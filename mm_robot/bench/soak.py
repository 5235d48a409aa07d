"""``mm-robot bench --soak MINUTES``: a long closed-loop run of the live graph (R11, R18).

The probe of ``graph.py`` keeps publishing 320x240 frames at 30 Hz and swapping the red ball
every second while ``fusion_node`` (fusion policy) and ``safety_controller_node`` run. Every
10 s it samples each node's resident memory and the image -> grounding latency of that window.
Reported: RSS slope per node (least squares, MB per hour, from the second minute on, once caches
and allocator pools have filled), and p50/p99 latency per window; the median window p99 of the
last 5 minutes against that of the first 5 (one window's p99 of ~300 frames is noisy; the
medians are what "stable p99" is read from).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ..bringup.graph import GraphOptions, NodeSpec
from ..bringup.supervisor import Supervisor
from ..core.processes import rss_mb

WINDOW_S = 10.0


def run_soak(minutes: float, domain_id: int, out: Path, checkpoint: str = "") -> dict:
    from ..ros.latency_probe import GraphProbe  # rclpy: only when a soak runs
    specs = [
        NodeSpec("safety_controller_node", "safety_controller_node"),
        NodeSpec(
            "fusion_node",
            "fusion_node",
            {"policy": "fusion", "use_audio": False, **({"checkpoint": checkpoint} if checkpoint else {})},
        ),
    ]
    env = {**os.environ, "ROS_DOMAIN_ID": str(domain_id)}
    windows: list[dict] = []
    with open(out / "nodes_soak.log", "w") as log:
        supervisor = Supervisor(specs, GraphOptions(), log=lambda _: None, env=env, output=log)
        supervisor.start()
        probe = GraphProbe(domain_id)
        try:
            if not probe.wait_for(lambda: len(probe.seen.decisions) > 3, 90.0):
                raise RuntimeError(f"fusion_node sent no decision; see {out / 'nodes_soak.log'}")
            probe.say("go to the red ball")
            start = time.time()
            next_swap = start + 1.0
            while time.time() - start < minutes * 60:
                window_end = time.time() + WINDOW_S
                while time.time() < window_end:
                    time.sleep(max(0.0, min(next_swap, window_end) - time.time()))
                    if time.time() >= next_swap:
                        probe.side, next_swap = -probe.side, next_swap + 1.0
                with probe.lock:  # this window's groundings; older records are dropped (bounded)
                    lags = [r - float(g["stamp"]) for r, g in probe.seen.groundings if g.get("stamp")]
                    probe.seen.groundings.clear()
                    probe.seen.decisions.clear()
                    probe.seen.cmd_vel.clear()
                    probe.seen.proposals.clear()
                    probe.seen.frames.clear()
                lag_ms = np.asarray(lags) * 1e3 if lags else np.full(1, np.nan)
                windows.append(
                    {
                        "t_s": round(time.time() - start, 1),
                        "rss_mb": {r.spec.name: round(rss_mb(r.process.pid), 1) for r in supervisor.running},
                        "lag_ms_p50": round(float(np.percentile(lag_ms, 50)), 1),
                        "lag_ms_p99": round(float(np.percentile(lag_ms, 99)), 1),
                        "n": len(lags),
                    }
                )
        finally:
            probe.close()
            supervisor.stop()
    result = summarise(windows)
    plot(windows, out / "soak.png")
    return result


def summarise(windows: list[dict]) -> dict:
    """RSS slope per node and latency stability from the 10-s windows."""
    t = np.array([w["t_s"] for w in windows])
    late = t >= 60.0 if (t >= 60.0).sum() >= 3 else np.ones_like(t, dtype=bool)
    slopes = {}
    for node in windows[0]["rss_mb"] if windows else []:
        mb = np.array([w["rss_mb"][node] for w in windows])
        slopes[node] = {
            "start_mb": float(mb[0]),
            "end_mb": float(mb[-1]),
            "slope_mb_per_hour": round(float(np.polyfit(t[late], mb[late], 1)[0] * 3600), 2)
            if late.sum() >= 2
            else float("nan"),
        }
    p99 = np.array([w["lag_ms_p99"] for w in windows])
    first = p99[t <= 300.0] if (t <= 300.0).any() else p99
    reference = float(np.nanmedian(first)) if first.size else float("nan")
    last = p99[t > t[-1] - 300.0] if t.size else p99
    return {
        "minutes": round(float(t[-1]) / 60, 2) if t.size else 0.0,
        "window_s": WINDOW_S,
        "rss": slopes,
        "lag_p99_ms_first_5_min": round(reference, 1),
        "lag_p99_ms_last_5_min": round(float(np.nanmedian(last)), 1) if last.size else float("nan"),
        "lag_p99_ms_worst_window": round(float(np.nanmax(p99)), 1) if p99.size else float("nan"),
        "windows_within_20_percent": int(np.sum(p99 <= 1.2 * reference)),
        "windows": windows,
    }


def soak_markdown(soak: dict) -> str:
    lines = [
        f"## Soak ({soak['minutes']} min, fusion policy, windows of {soak['window_s']:g} s)",
        "",
        "| node | RSS start | RSS end | slope (from minute 1) |",
        "|---|---:|---:|---:|",
    ]
    for node, r in soak["rss"].items():
        lines.append(f"| {node} | {r['start_mb']} MB | {r['end_mb']} MB | {r['slope_mb_per_hour']} MB/h |")
    lines += [
        "",
        f"Image -> grounding p99: {soak['lag_p99_ms_first_5_min']} ms (median window of the first "
        f"5 min), {soak['lag_p99_ms_last_5_min']} ms (of the last 5 min), worst window "
        f"{soak['lag_p99_ms_worst_window']} ms; {soak['windows_within_20_percent']} of "
        f"{len(soak['windows'])} windows within 20 % of the first.",
        "",
        "![soak](soak.png)",
        "",
    ]
    return "\n".join(lines)


def plot(windows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    t = np.array([w["t_s"] for w in windows]) / 60
    for node in windows[0]["rss_mb"] if windows else []:
        left.plot(t, [w["rss_mb"][node] for w in windows], label=node)
    left.set(xlabel="minutes", ylabel="RSS (MB)", title="resident memory per node")
    left.legend(fontsize=8)
    right.plot(t, [w["lag_ms_p50"] for w in windows], label="p50")
    right.plot(t, [w["lag_ms_p99"] for w in windows], label="p99")
    right.set(xlabel="minutes", ylabel="ms", title="image -> grounding latency per 10-s window")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
