"""Run a policy over a directory of scenarios and summarise (ROS-free, lockstep).

    python -m mm_robot.evaluation.lockstep scenarios/public                # the oracle expert
    python -m mm_robot.evaluation.lockstep scenarios/public --policy baseline --out runs/suite.json

Any policy registered in :mod:`mm_robot.policies` can be named; ``oracle`` is the expert.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable, Optional, Union

from ..policies import policy_factory
from ..sim.criteria import EpisodeResult
from ..sim.episode import PolicyFactory, run_episode
from ..sim.scenario import Scenario, load_suite


def run_suite(scenarios: Union[str, Path, list[Scenario]], policy: Optional[PolicyFactory] = None,
              control_dt: float = 1.0 / 15.0, progress: Optional[Callable[[EpisodeResult], None]] = None) -> dict:
    """Run every scenario with ``policy`` (default: the oracle); return a summary dict with
    per-scenario results and rates."""
    policy = policy or policy_factory("oracle")
    suite = load_suite(scenarios) if isinstance(scenarios, (str, Path)) else scenarios
    results = []
    started = time.perf_counter()
    for scenario in suite:
        result, _ = run_episode(scenario, policy, control_dt=control_dt)
        results.append(result)
        if progress:
            progress(result)
    by_category: dict[str, list[bool]] = {}
    for scenario, result in zip(suite, results):
        by_category.setdefault(scenario.category or "other", []).append(result.success)
    return {
        "scenarios": len(results),
        "success_rate": sum(r.success for r in results) / max(1, len(results)),
        "by_category": {k: round(sum(v) / len(v), 3) for k, v in sorted(by_category.items())},
        "collisions": sum(r.collisions for r in results),
        "wall_s": round(time.perf_counter() - started, 1),
        "results": [r.to_json() for r in results],
    }


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--policy", default="oracle")
    parser.add_argument("--dt", type=float, default=1.0 / 15.0,
                        help="control period (s of sim time); 1/15 matches fusion_node and sim_node")
    parser.add_argument("--out", type=Path, help="write the summary JSON here")
    args = parser.parse_args(argv)

    def show(r: EpisodeResult) -> None:
        print(f"{'ok  ' if r.success else 'FAIL'} {r.scenario:<20} t={r.time:5.1f}s path={r.path_length:4.1f}m "
              f"{'; '.join(r.reasons)}", flush=True)

    summary = run_suite(args.directory, policy_factory(args.policy), args.dt, show)
    print(f"{args.policy}: {summary['success_rate']:.1%} of {summary['scenarios']} "
          f"{summary['by_category']} collisions={summary['collisions']} ({summary['wall_s']} s)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2))
    return 0 if summary["success_rate"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
