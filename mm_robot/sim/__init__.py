"""MuJoCo simulation: world, sound, scenarios, success criteria, lockstep episodes. No rclpy.

Public API (see docs/simulation.md)::

    from mm_robot.sim import World, SceneSpec, ObjectSpec, Pose2D, load_scenario, run_episode
    scenario = load_scenario("scenarios/public/goto_d2_0.yaml")
    with World(scenario.scene) as world:
        world.step(0.3, 0.0, 0.1)            # v m/s, ω rad/s, dt s (lockstep)
        view = world.render()                # view.rgb (H, W, 3) uint8, view.boxes {name: Box}
        truth = world.ground_truth(view)     # distances, bearings, clearances, boxes, contacts
    result, samples = run_episode(scenario, policy_factory("oracle"))  # judged by the criteria
                                             # (policy_factory: mm_robot.policies)

MuJoCo is imported when a :class:`World` is made, so scenario and criteria code works
without it.
"""

from .camera import Box, camera_info, intrinsics
from .criteria import EpisodeResult, Judge, Sample, evaluate, sample_from_truth
from .episode import PolicyFactory, Tick, run_episode
from .generate import public_suite, random_scene
from .kinematics import BaseLimits
from .scenario import (
                       Criteria,
                       Scenario,
                       ScenarioError,
                       TimedCommand,
                       load_scenario,
                       load_suite,
                       scenario_from_dict,
)
from .sound import MicPair, SoundRenderer, SoundSource, hear_scene, render_heard
from .soundtrack import Soundtrack
from .spec import AudioSpec, CameraSpec, ObjectSpec, Pose2D, Randomisation, SceneSpec, SoundSpec, SpeechSpec
from .truth import GroundTruth, ObjectTruth
from .world import StepInfo, View, World

__all__ = [
    "AudioSpec", "MicPair", "SoundRenderer", "SoundSource", "SoundSpec", "Soundtrack", "SpeechSpec",
    "hear_scene", "render_heard",
    "BaseLimits", "Box", "CameraSpec", "Criteria", "EpisodeResult", "GroundTruth", "Judge", "ObjectSpec",
    "ObjectTruth", "PolicyFactory", "Pose2D", "Randomisation", "Sample", "Scenario",
    "ScenarioError", "SceneSpec", "StepInfo", "Tick", "TimedCommand", "View", "World", "camera_info",
    "evaluate", "intrinsics", "load_scenario", "load_suite", "public_suite",
    "random_scene", "run_episode", "sample_from_truth", "scenario_from_dict",
]
