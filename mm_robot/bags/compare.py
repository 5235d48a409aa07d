"""Compare a replay's decisions with the recorded ones (ROS-free).

Decisions and groundings carry the stamp of the image they were made on (R22), so the two runs
are matched frame by frame. Per stamp the *last* decision counts: a command that arrives
between two frames makes the node decide again on the frame it holds, and the later decision
is the one it acted on. Watchdog decisions (no frame yet, frame too old) are not decisions on a
frame and are left out. Two decisions agree when the action is the same and the grounding
target is the same: both absent, or boxes overlapping with IoU >= ``min_iou``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

DEFAULT_MIN_IOU = 0.9
# Reasons of decisions the fusion node's watchdog makes without the policy (policies/runner.py).
WATCHDOG_REASONS = ("no camera frame yet", "camera frame ")


@dataclass(frozen=True)
class FrameDecision:
    stamp: float
    action: str
    box: Optional[tuple[int, int, int, int]]  # the grounding target (x0, y0, x1, y1), None: not in view
    reason: str = ""

    def to_json(self) -> dict:
        return {"stamp": self.stamp, "action": self.action, "box": list(self.box) if self.box else None,
                "reason": self.reason}


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes; 0 for empty ones."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def stamp_key(stamp: float) -> int:
    return round(float(stamp) * 1e6)  # microseconds: JSON floats of one stamp compare equal


def frame_decisions(decisions: Iterable[str], groundings: Iterable[str]) -> dict[int, FrameDecision]:
    """Stamp key -> the last decision on that frame, with that frame's last grounding target.

    ``decisions`` and ``groundings`` are the JSON texts of the decision and perception/grounding
    topics in arrival order; malformed ones are skipped (the other run has the same stream).
    """
    boxes: dict[int, Optional[tuple]] = {}
    for text in groundings:
        data = _json(text)
        if data is None or "stamp" not in data:
            continue
        target = data.get("target")
        boxes[stamp_key(data["stamp"])] = tuple(int(v) for v in target["box"]) if target else None
    frames: dict[int, FrameDecision] = {}
    for text in decisions:
        data = _json(text)
        if data is None or "stamp" not in data or "action" not in data:
            continue
        reason = str(data.get("reason", ""))
        if reason.startswith(WATCHDOG_REASONS):
            continue
        key = stamp_key(data["stamp"])
        frames[key] = FrameDecision(float(data["stamp"]), str(data["action"]), boxes.get(key), reason)
    return frames


def _json(text: str) -> Optional[dict]:
    try:
        data = json.loads(text)
    except (ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def agree(recorded: FrameDecision, replayed: FrameDecision, min_iou: float = DEFAULT_MIN_IOU) -> bool:
    if recorded.action != replayed.action:
        return False
    if recorded.box is None or replayed.box is None:
        return recorded.box is None and replayed.box is None
    return iou(recorded.box, replayed.box) >= min_iou


def compare(recorded: dict[int, FrameDecision], replayed: dict[int, FrameDecision],
            min_iou: float = DEFAULT_MIN_IOU, sent: Optional[Iterable[float]] = None) -> dict:
    """The replay verdict as JSON-ready data.

    ``sent``: the stamps of the images the replay sent (default: all recorded frames); a recorded
    decision on a frame the bag does not hold (the recorder's best-effort subscription missed
    it) cannot be replayed and is only counted, as ``recorded_without_image``.
    ``agreement``: agreeing / recorded frames that the replay also decided on; ``coverage``: that
    count / recorded frames that were sent (a frame the replay never decided on, because a newer
    one replaced it in the node's one-slot mailbox, is a missed frame, not a disagreement);
    ``first_divergence``: the earliest recorded frame the replay decided differently on.
    """
    missing_image = 0
    if sent is not None:
        keys = {stamp_key(stamp) for stamp in sent}
        missing_image = sum(1 for key in recorded if key not in keys)
        recorded = {key: value for key, value in recorded.items() if key in keys}
    matched = [key for key in sorted(recorded) if key in replayed]
    agreeing = [key for key in matched if agree(recorded[key], replayed[key], min_iou)]
    differing = [key for key in matched if key not in set(agreeing)]
    first = differing[0] if differing else None
    actions: dict[str, int] = {}
    for key in recorded:
        actions[recorded[key].action] = actions.get(recorded[key].action, 0) + 1
    return {
        "recorded_frames": len(recorded),
        "recorded_without_image": missing_image,
        "replayed_frames": len(replayed),
        "matched_frames": len(matched),
        "agreeing_frames": len(agreeing),
        "agreement": len(agreeing) / len(matched) if matched else 0.0,
        "coverage": len(matched) / len(recorded) if recorded else 0.0,
        "min_iou": min_iou,
        "recorded_actions": dict(sorted(actions.items())),
        "first_divergence": None if first is None else {
            "stamp": recorded[first].stamp, "index": matched.index(first),
            "recorded": recorded[first].to_json(), "replayed": replayed[first].to_json()},
        "divergences": len(differing),
    }


def summary(report: dict) -> str:
    """Two or three lines for people."""
    lines = [f"replay agreement {report['agreement']:.1%} ({report['agreeing_frames']}/{report['matched_frames']} "
             f"frames: same action, target IoU >= {report['min_iou']}); coverage {report['coverage']:.1%} of "
             f"{report['recorded_frames']} recorded frames"
             + (f" ({report['recorded_without_image']} more recorded without their image)"
                if report.get("recorded_without_image") else "")]
    first = report.get("first_divergence")
    if first is None:
        lines.append("no divergence")
    else:
        rec, rep = first["recorded"], first["replayed"]
        lines.append(f"first divergence at stamp {first['stamp']:.3f} (frame {first['index']}): recorded "
                     f"{rec['action']} box {rec['box']}, replay {rep['action']} box {rep['box']}")
    return "\n".join(lines)
