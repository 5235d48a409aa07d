"""From a grounded target to a discrete action and a velocity proposal.

Shared by the baseline policy and the synthetic-scene tests: a proportional turn
toward the target's bearing, forward motion once it is roughly centred, and
"arrived" when it fills enough of the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from .camera_model import DEFAULT_HFOV, CameraModel
from .config import setting
from .records import Action, Candidate


@dataclass(frozen=True)
class SteeringConfig:
    cruise_speed: float = setting(0.3, "Forward speed when the target is centred (m/s).", low=0.0, high=2.0)
    turn_gain: float = setting(1.5, "Angular speed per radian of bearing error (1/s).", low=0.0, high=10.0)
    max_turn: float = setting(0.8, "Largest turn rate the policy proposes (rad/s).", low=0.0, high=4.0)
    centre_tolerance: float = setting(0.12, "Bearing within which the robot drives forward (rad).",
                                      low=0.01, high=1.0)
    arrive_height_fraction: float = setting(0.45, "Target box height / image height that means arrived.",
                                            low=0.05, high=1.0)
    search_turn: float = setting(0.5, "Turn rate while searching for a target (rad/s).", low=0.0, high=4.0)


def bearing_of(x_pixel: float, width: int, hfov: float) -> float:
    """Bearing of an image column in radians, positive to the left (REP 103), for a centred
    pinhole of horizontal field of view ``hfov``; policies use the frame's own intrinsics
    (:class:`~mm_robot.core.camera_model.CameraModel`)."""
    focal = (width / 2.0) / math.tan(hfov / 2.0)
    return math.atan2((width / 2.0) - x_pixel, focal)


def steer(target: Optional[Candidate], image_height: int, cfg: SteeringConfig,
          searching: bool = True, lens: Optional[CameraModel] = None) -> tuple[Action, float, float, str]:
    """Return (action, linear, angular, reason) for a target, or for none in view.

    ``arrive_height_fraction`` is tuned for the default 60° lens; with the camera's intrinsics
    (``lens``) it is scaled by their vertical focal length, so "arrived" means the same angular
    size, hence the same distance, through a wide or a narrow lens."""
    if target is None:
        if searching:
            return Action.SEARCH, 0.0, cfg.search_turn, "target not in view: turning to search"
        return Action.NOT_FOUND, 0.0, 0.0, "target not in view"
    box_height = target.box[3] - target.box[1]
    scale = 1.0
    if lens is not None:
        scale = lens.fy / CameraModel.from_hfov(lens.width, lens.height, DEFAULT_HFOV).fy
    if box_height >= cfg.arrive_height_fraction * image_height * scale:
        return Action.ARRIVED, 0.0, 0.0, f"{target.label} fills {box_height / image_height:.0%} of the view"
    angular = max(-cfg.max_turn, min(cfg.max_turn, cfg.turn_gain * target.bearing))
    if abs(target.bearing) > cfg.centre_tolerance:
        action = Action.TURN_LEFT if target.bearing > 0 else Action.TURN_RIGHT
        return action, 0.0, angular, f"{target.label} at {math.degrees(target.bearing):+.0f} deg"
    return Action.FORWARD, cfg.cruise_speed, angular, f"{target.label} ahead"
