"""Closed-loop evaluation of policies over a scenario suite, side by side with the oracle.

The package: :func:`evaluate` (here) runs a suite in worker processes; ``lockstep`` runs one
policy in-process on the simulator; ``graph`` runs one scenario through the real node graph;
``report`` summarises, writes Markdown and plots.

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

from .report import markdown, plot, summarise

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
        from .graph import run_scenario
        from ..bringup.graph import GraphOptions
        options = GraphOptions(policy=job.policy, checkpoint=job.checkpoint)
        result = run_scenario(job.scenario, Path(job.out_dir) / job.policy, options, domain_id=_worker_domain,
                              video=job.video, quiet=True)
    else:
        from ..policies import policy_factory
        from ..sim.episode import run_episode
        from ..sim.scenario import load_scenario
        options = {"checkpoint": job.checkpoint} if job.policy == "fusion" and job.checkpoint else {}
        episode, _ = run_episode(load_scenario(job.scenario), policy_factory(job.policy, **options))
        result = episode.to_json()
    result["category"] = job.category
    result["policy"] = job.policy
    return result


def evaluate(suite: str | Path, policies: list[str], out_dir: str | Path, mode: str = "graph",
             workers: int = 2, checkpoint: str = "", domain_base: int = 120) -> dict:
    """Run every policy over every scenario; return (and write) the summary."""
    from ..policies import needs_world
    from ..sim.scenario import load_scenario
    paths = sorted(Path(suite).glob("*.yaml"))
    if not paths:
        raise FileNotFoundError(f"no scenario files (*.yaml) in {suite}")
    out_dir = Path(out_dir)
    jobs = [Job(str(p), load_scenario(p).category or "other", policy,
                "lockstep" if needs_world(policy) else mode, str(out_dir), checkpoint)
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
