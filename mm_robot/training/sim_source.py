"""Training samples rendered by the MuJoCo world of ``mm_robot.sim``.

One scene (a compiled World, ~0.3 s to build) serves ``views_per_scene`` samples taken
from random robot poses (~10 ms a view at 320x240), each with its own command; the
label comes from the segmentation boxes and the simulator's oracle expert (``mm_robot.policies.oracle``, fresh
for every view, so its decision depends on that frame's ground truth only): "not in view"
means the named object covers fewer than ``MIN_INPUT_PIXELS`` pixels of the image the model
gets (the oracle's own threshold, applied at the model's resolution rather than the camera's: a
2-pixel sliver at the image edge shows neither colour nor shape), and the action and
(v, omega) are what the oracle would command there. Which objects a scene holds (look-alikes
of the target included) is ``scenes.scene_objects``'s choice.
"""

from __future__ import annotations

import math
import random
from typing import Iterator

import cv2

from .scenes import (
    ALL_COMBOS,
    GOTO_ONLY_SPLITS,
    HELD_OUT_COMBOS,
    SEEN_COMBOS,
    SampleSpec,
    command_text,
    relight,
    scene_objects,
)

MIN_INPUT_PIXELS = 30  # visible pixels of the model's input image for the target to count as in view


def available() -> bool:
    """True when the simulator's world can be imported (MuJoCo installed)."""
    try:
        from ..sim import world  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means "use the painter"
        return False
    return True


def _place_objects(rng: random.Random, combos: list[tuple[str, str]], near_bias: bool):
    from ..sim.spec import ObjectSpec

    objects: list = []
    for i, (colour, shape) in enumerate(combos):
        for _ in range(50):
            size = rng.uniform(0.25, 0.45)
            dist = rng.uniform(0.55, 1.2) if (near_bias and i == 0 and rng.random() < 0.35) else rng.uniform(0.6, 3.0)
            bearing = rng.uniform(-0.9, 0.9)
            x, y = dist * math.cos(bearing), dist * math.sin(bearing)
            spec = ObjectSpec(f"obj{i}", colour, shape, round(x, 3), round(y, 3), round(size, 3),
                              yaw=rng.uniform(-math.pi, math.pi))
            if max(abs(x), abs(y)) + spec.footprint_radius > 3.8:
                continue
            if math.hypot(x, y) - spec.footprint_radius < 0.45:  # leave the robot room
                continue
            if all(math.hypot(x - o.x, y - o.y) > spec.footprint_radius + o.footprint_radius + 0.1 for o in objects):
                objects.append(spec)
                break
    return tuple(objects)


def sim_samples(rng: random.Random, split: str, count: int, height: int, width: int,
                views_per_scene: int = 16, camera: tuple[int, int] = (320, 240),
                hfov: float = math.radians(60.0)) -> Iterator[tuple]:
    """Yield ``count`` (spec, image (height, width, 3) uint8, pixel box or None, (action, v, omega))
    samples of ``split``; the box is in output pixels, the label the oracle's."""
    from ..core.records import Command
    from ..policies.oracle import OracleConfig, OracleExpert
    from ..sim.spec import CameraSpec, Pose2D, Randomisation, SceneSpec
    from ..sim.world import World

    # The oracle counts pixels of the camera image; scale the threshold to the output image.
    labelling = OracleConfig(min_pixels=math.ceil(MIN_INPUT_PIXELS * camera[0] * camera[1] / (width * height)))
    pool = [c for c in ALL_COMBOS if c in HELD_OUT_COMBOS] if split == "unseen_combo" else list(SEEN_COMBOS)
    made = 0
    while made < count:
        n_dis = rng.randint(5, 8) if split == "distractors" else rng.randint(0, 3)
        target = rng.choice(pool)
        placed, others = scene_objects(rng, split, target, n_dis)
        combos = ([target] if placed else []) + others
        objects = _place_objects(rng, combos, near_bias=True)
        scene = SceneSpec(objects=objects, camera=CameraSpec(camera[0], camera[1], hfov),
                          randomisation=Randomisation(seed=rng.getrandbits(31), lighting=True, floor=True,
                                                      colour_jitter=0.05))
        world = World(scene)
        try:
            for _ in range(min(views_per_scene, count - made)):
                aim = objects[0] if objects and rng.random() < 0.7 else None
                yaw = math.atan2(aim.y, aim.x) + rng.gauss(0.0, 0.35) if aim else rng.uniform(-1.2, 1.2)
                world.reset(Pose2D(rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15), yaw))
                view = world.render()
                roll = rng.random()
                kind = "goto" if split in GOTO_ONLY_SPLITS or roll < 0.84 else (
                    "stop" if roll < 0.92 else "unknown")
                named = None
                if kind == "goto":
                    absent = [c for c in pool if c not in combos] or pool
                    named = target if split == "confusers" or rng.random() < 0.85 else rng.choice(absent)
                text = command_text(rng, split, kind, named)
                truth = world.ground_truth(view)
                oracle = OracleExpert(truth=lambda truth=truth: truth, camera=scene.camera, config=labelling)
                decision = oracle.act(truth, Command(text, 0.0))
                box = None
                target_box = decision.grounding.target.box if decision.grounding and decision.grounding.target else None
                if named is not None and target_box is not None:
                    sx, sy = width / camera[0], height / camera[1]
                    box = (target_box[0] * sx, target_box[1] * sy, target_box[2] * sx, target_box[3] * sy)
                label = (decision.decision.action, decision.decision.linear, decision.decision.angular)
                image = cv2.resize(view.rgb, (width, height), interpolation=cv2.INTER_AREA)
                image = relight(image, rng, split == "lighting")
                spec = SampleSpec(split, kind, text, named, box is not None, tuple(others), len(others),
                                  split == "lighting")
                made += 1
                yield spec, image, box, label
        finally:
            world.close()
