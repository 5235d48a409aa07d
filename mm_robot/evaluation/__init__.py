"""Closed-loop evaluation of policies over a scenario suite, side by side with the oracle.

The package: :func:`evaluate` (here) runs a suite in worker processes; ``lockstep`` runs one
policy in-process on the simulator; ``graph`` runs one scenario through the real node graph;
``report`` summarises, writes Markdown and plots.

Each scenario runs in a worker process; graph runs get a ROS domain per worker (localhost
only) that no other evaluation on the machine holds (``domains.DomainClaim``). Every run keeps its
decisions and groundings as JSON lines beside its result.json, which counts the decisions by
action. The oracle needs ground truth, so it always runs in lockstep without ROS; other
policies run either through the real node graph ("graph": what a robot would run) or
in-process ("lockstep": faster, without the fusion node's freshness and confidence gates).
Writes, under the directory the caller names: eval.json, report.md, success_by_category.png, and
per policy and scenario a directory with result.json, decisions.jsonl, groundings.jsonl and, when
asked, the camera video with the grounding drawn on it (graph runs also the node log).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tqdm import tqdm

from .domains import DEFAULT_RANGE, DomainClaim
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
    timeout: float = 600.0
    speech: bool = False  # graph runs: speech_node hears the scenario's spoken commands


def _init_worker(counter, domains: list[int]) -> None:
    global _worker_domain
    with counter.get_lock():
        _worker_domain = domains[counter.value % len(domains)] if domains else None
        counter.value += 1
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"


def _run(job: Job) -> dict:
    if job.mode == "graph":
        from ..bringup.graph import GraphOptions
        from .graph import run_scenario
        options = GraphOptions(policy=job.policy, checkpoint=job.checkpoint, speech=job.speech)
        result = run_scenario(job.scenario, Path(job.out_dir) / job.policy, options, domain_id=_worker_domain,
                              video=job.video, timeout=job.timeout, quiet=True)
    else:
        result = _run_lockstep(job)
    result["category"] = job.category
    result["policy"] = job.policy
    return result


def _run_lockstep(job: Job) -> dict:
    """One scenario in-process; its decisions and groundings are kept as JSON lines and counted,
    as a graph run's are (sim/session.py)."""
    from ..policies import policy_factory
    from ..sim.episode import run_episode
    from ..sim.recording import VideoRecorder, draw_grounding
    from ..sim.scenario import load_scenario
    from ..sim.session import DecisionLog
    scenario = load_scenario(job.scenario)
    run_dir = Path(job.out_dir) / job.policy / scenario.name
    log, counts = DecisionLog(run_dir), {}
    video = VideoRecorder(run_dir / f"camera.{job.video}", 15.0) if job.video != "none" else None

    def keep(tick) -> None:
        decision = tick.output.decision
        counts[decision.action.value] = counts.get(decision.action.value, 0) + 1
        log.write("decision", decision.to_json(), tick.truth.time, tick.truth.time)
        grounding = tick.output.grounding.to_json() if tick.output.grounding is not None else None
        if grounding is not None:
            log.write("grounding", grounding, tick.truth.time, tick.truth.time)
        if video is not None:
            video.add(draw_grounding(tick.view.rgb, grounding, f"{decision.action.value}: {decision.reason}"[:70]))

    options = {"checkpoint": job.checkpoint} if job.policy == "fusion" and job.checkpoint else {}
    started = time.monotonic()
    try:
        episode, _ = run_episode(scenario, policy_factory(job.policy, **options), on_tick=keep)
    finally:
        log.close()
        written = video.close() if video is not None else None
    result = episode.to_json()
    outputs = dict(log.paths, **({"video": str(written)} if written else {}))
    result.update(mode="lockstep", decisions=dict(sorted(counts.items())), timed_out=False,
                  outputs=outputs, wall_s=round(time.monotonic() - started, 1))
    (run_dir / "result.json").write_text(json.dumps(result, indent=2))
    return result


def evaluate(suite: str | Path, policies: list[str], out_dir: str | Path, mode: str = "graph",
             workers: int = 2, checkpoint: str = "", domains: tuple[int, int] = DEFAULT_RANGE,
             video: str = "none", timeout: float = 600.0, speech: bool = False) -> dict:
    """Run every policy over every scenario; return (and write under ``out_dir``) the summary.

    Graph runs use ROS domains of ``domains`` (low, high) that no other evaluation on this machine
    holds (:class:`DomainClaim`); ``video``: the camera video of each run ("none", "mp4",
    "gif"); ``timeout``: the wall-clock limit of one graph run (s), after which it counts as a
    failure that says so; ``speech``: graph runs start ``speech_node``, so spoken commands are
    heard through the simulated microphones (lockstep runs hand the policy the words)."""
    from ..policies import needs_world
    from ..sim.scenario import load_scenario
    paths = sorted(Path(suite).glob("*.yaml"))
    if not paths:
        raise FileNotFoundError(f"no scenario files (*.yaml) in {suite}")
    out_dir = Path(out_dir)
    jobs = [Job(str(p), load_scenario(p).category or "other", policy,
                "lockstep" if needs_world(policy) else mode, str(out_dir), checkpoint, video, timeout, speech)
            for policy in policies for p in paths]
    claim = DomainClaim(workers, *domains) if any(j.mode == "graph" for j in jobs) else None
    used = claim.domains if claim else []
    results: list[dict] = []
    context = multiprocessing.get_context("spawn")  # no forked GL or DDS state
    counter = context.Value("i", 0)
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                 initargs=(counter, used)) as pool:
            futures = [pool.submit(_run, job) for job in jobs]
            with tqdm(total=len(jobs), desc="scenarios", unit="run") as bar:
                for future in as_completed(futures):
                    results.append(future.result())
                    bar.update()
    finally:
        if claim is not None:
            claim.release()
    summary = summarise(results, policies, mode)
    summary["domains"] = used
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "eval.json").write_text(json.dumps(summary, indent=2))
    (out_dir / "report.md").write_text(markdown(summary))
    plot(summary, out_dir / "success_by_category.png")
    return summary
