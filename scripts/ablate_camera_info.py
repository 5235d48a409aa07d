"""Ablation: a policy with the camera's intrinsics (camera_info) against the old assumption of
a 60° lens, on generated camera_fov scenarios (45°-100°), lockstep.

    MUJOCO_GL=egl python scripts/ablate_camera_info.py [--policy baseline|fusion] [--count 12] [--seed 31000]

Prints success per arm and the mean and largest |bearing error| of the policy's target (deg) against the
camera-relative truth, per lens bucket. Numbers go to docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import math

from mm_robot.evaluation.heldout import heldout_scenario
from mm_robot.policies import make_policy
from mm_robot.sim.episode import run_episode
from mm_robot.sim.spec import CAMERA_FORWARD


class AssumedLens:
    """A policy as it was: frames without intrinsics, so the 60° fallback lens."""

    def __init__(self, inner) -> None:
        self.inner, self.name = inner, inner.name

    def select_action(self, observation):
        frame = dataclasses.replace(observation.frame, camera=None)
        return self.inner.select_action(dataclasses.replace(observation, frame=frame))

    def reset(self) -> None:
        self.inner.reset()


def run(make_policy, scenario) -> tuple[bool, list[float]]:
    errors: list[float] = []

    def measure(tick) -> None:
        target = tick.output.grounding.target if tick.output.grounding else None
        name = scenario.criteria.targets[0]
        truth = tick.truth.object(name)
        if target is None or truth.box is None or target.box != truth.box.as_tuple():
            return
        dx = truth.distance * math.cos(truth.bearing) - CAMERA_FORWARD
        dy = truth.distance * math.sin(truth.bearing)
        errors.append(abs(math.degrees(target.bearing - math.atan2(dy, dx))))

    result, _ = run_episode(scenario, make_policy(), on_tick=measure)
    return result.success, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="baseline", choices=("baseline", "fusion"))
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--seed", type=int, default=31000)
    args = parser.parse_args()
    scenarios = [heldout_scenario("camera_fov", i, args.seed + i) for i in range(args.count)]
    policy = make_policy(args.policy)  # built once (the fusion model loads in seconds)
    for label, factory in (("camera_info", lambda: policy), ("assumed 60 deg", lambda: AssumedLens(policy))):
        wins, by_lens = 0, {}
        for scenario in scenarios:
            ok, errors = run(factory, scenario)
            wins += ok
            hfov = round(math.degrees(scenario.scene.camera.hfov) / 10) * 10
            by_lens.setdefault(hfov, []).extend(errors)
        spread = ", ".join(f"~{k} deg: {sum(v) / max(1, len(v)):.1f} / {max(v, default=0.0):.1f}"
                           for k, v in sorted(by_lens.items()))
        print(f"{args.policy} {label:>15}: {wins}/{len(scenarios)} reached; |bearing error| mean / max (deg) by "
              f"lens ({spread})", flush=True)


if __name__ == "__main__":
    main()
