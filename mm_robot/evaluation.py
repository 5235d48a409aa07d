"""Closed-loop evaluation of policies over a scenario suite, side by side with the oracle.

Each scenario runs in a worker process; graph runs get a ROS domain per worker (localhost
only). The oracle needs ground truth, so it always runs in lockstep without ROS; other
policies run either through the real node graph ("graph": what a robot would run) or
in-process ("lockstep": faster, without the fusion node's freshness and confidence gates).
Writes eval.json, report.md and success_by_category.png.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tqdm import tqdm

_worker_domain: Optional[int] = None


@dataclass(frozen=True)
class Job:
    scenario: str
    category: str
    policy: str
    mode: str  # "graph" or "lockstep"
    out_dir: str
    checkpoint: str = ""
    video: str = "none"


def _init_worker(counter, base: int) -> None:
    global _worker_domain
    with counter.get_lock():
        _worker_domain = base + counter.value
        counter.value += 1
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"


def _run(job: Job) -> dict:
    if job.mode == "graph":
        from .ros.closed_loop import run_scenario
        from .bringup.graph import GraphOptions
        options = GraphOptions(policy=job.policy, checkpoint=job.checkpoint)
        result = run_scenario(job.scenario, Path(job.out_dir) / job.policy, options, domain_id=_worker_domain,
                              video=job.video, quiet=True)
    else:
        from .sim.episode import run_episode
        from .sim.scenario import load_scenario
        from .sim.suite import policy_factory
        options = {"checkpoint": job.checkpoint} if job.policy == "fusion" and job.checkpoint else {}
        episode, _ = run_episode(load_scenario(job.scenario), policy_factory(job.policy, **options))
        result = episode.to_json()
    result["category"] = job.category
    result["policy"] = job.policy
    return result


def evaluate(suite: str | Path, policies: list[str], out_dir: str | Path, mode: str = "graph",
             workers: int = 2, checkpoint: str = "", domain_base: int = 120) -> dict:
    """Run every policy over every scenario; return (and write) the summary."""
    from .sim.scenario import load_scenario
    paths = sorted(Path(suite).glob("*.yaml"))
    if not paths:
        raise FileNotFoundError(f"no scenario files (*.yaml) in {suite}")
    out_dir = Path(out_dir)
    jobs = [Job(str(p), load_scenario(p).category or "other", policy,
                "lockstep" if policy == "oracle" else mode, str(out_dir), checkpoint)
            for policy in policies for p in paths]
    results: list[dict] = []
    context = multiprocessing.get_context("spawn")  # no forked GL or DDS state
    counter = context.Value("i", 0)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(counter, domain_base)) as pool:
        futures = [pool.submit(_run, job) for job in jobs]
        with tqdm(total=len(jobs), desc="scenarios", unit="run") as bar:
            for future in as_completed(futures):
                results.append(future.result())
                bar.update()
    summary = summarise(results, policies, mode)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "eval.json").write_text(json.dumps(summary, indent=2))
    (out_dir / "report.md").write_text(markdown(summary))
    plot(summary, out_dir / "success_by_category.png")
    return summary


def summarise(results: list[dict], policies: list[str], mode: str) -> dict:
    summary: dict = {"mode": mode, "policies": {}}
    for policy in policies:
        mine = sorted((r for r in results if r["policy"] == policy), key=lambda r: r["scenario"])
        categories: dict[str, list[bool]] = {}
        for r in mine:
            categories.setdefault(r["category"], []).append(bool(r["success"]))
        summary["policies"][policy] = {
            "scenarios": len(mine),
            "success_rate": sum(r["success"] for r in mine) / max(1, len(mine)),
            "by_category": {k: sum(v) / len(v) for k, v in sorted(categories.items())},
            "collisions": sum(int(r.get("collisions", 0)) for r in mine),
            "results": mine,
        }
    return summary


def markdown(summary: dict) -> str:
    policies = list(summary["policies"])
    categories = sorted({c for p in summary["policies"].values() for c in p["by_category"]})
    lines = [f"# Closed-loop evaluation ({summary['mode']} mode; the oracle always lockstep)", "",
             "| task type | " + " | ".join(policies) + " |", "|---|" + "---|" * len(policies)]
    for category in categories:
        cells = []
        for policy in policies:
            stats = summary["policies"][policy]
            n = sum(1 for r in stats["results"] if r["category"] == category)
            rate = stats["by_category"].get(category)
            cells.append("–" if rate is None else f"{rate:.0%} (n={n})")
        lines.append(f"| {category} | " + " | ".join(cells) + " |")
    lines.append("| **all** | " + " | ".join(
        f"**{summary['policies'][p]['success_rate']:.0%}** (n={summary['policies'][p]['scenarios']})"
        for p in policies) + " |")
    lines.append("| collisions | " + " | ".join(str(summary["policies"][p]["collisions"]) for p in policies) + " |")
    lines += ["", "Failures:", ""]
    for policy in policies:
        for r in summary["policies"][policy]["results"]:
            if not r["success"]:
                lines.append(f"- {policy} / {r['scenario']}: {'; '.join(r.get('reasons', []))}")
    return "\n".join(lines) + "\n"


def plot(summary: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    policies = list(summary["policies"])
    categories = sorted({c for p in summary["policies"].values() for c in p["by_category"]})
    x = np.arange(len(categories))
    width = 0.8 / max(1, len(policies))
    fig, ax = plt.subplots(figsize=(1.4 * len(categories) + 2, 3.5))
    for i, policy in enumerate(policies):
        rates = [100 * summary["policies"][policy]["by_category"].get(c, 0.0) for c in categories]
        ax.bar(x + i * width, rates, width, label=f"{policy} ({summary['policies'][policy]['success_rate']:.0%})")
    ax.set_xticks(x + width * (len(policies) - 1) / 2, categories)
    ax.set(ylabel="success (%)", ylim=(0, 105), title="closed-loop success by task type")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
