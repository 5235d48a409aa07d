"""Outputs of a simulated run: camera video (with the grounding overlay), top-down
trajectory plot, result JSON.

Video frames are written as they come (MP4 through OpenCV, constant memory) or collected at
reduced size for a GIF (Pillow). The trajectory plot uses matplotlib's Agg backend.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np

from ..core.vocabulary import COLOURS
from .criteria import EpisodeResult, Sample
from .spec import ROBOT_RADIUS, SceneSpec


def draw_grounding(image: np.ndarray, grounding: Optional[dict], caption: str = "") -> np.ndarray:
    """Copy of ``image`` (H, W, 3 RGB) with the grounding JSON's candidates (grey), target
    (green, labelled) and a caption line at the bottom."""
    canvas = np.ascontiguousarray(image).copy()
    if grounding:
        for cand in grounding.get("candidates") or []:
            x0, y0, x1, y1 = (int(v) for v in cand["box"])
            cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), (200, 200, 200), 1)
        target = grounding.get("target")
        if target:
            x0, y0, x1, y1 = (int(v) for v in target["box"])
            cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), (0, 255, 0), 2)
            cv2.putText(canvas, f"{target.get('label', '')} {float(target.get('score', 0)):.2f}",
                        (x0, max(10, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 0), 1, cv2.LINE_AA)
    if caption:
        cv2.putText(canvas, caption, (4, canvas.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 0),
                    1, cv2.LINE_AA)
    return canvas


class VideoRecorder:
    """Append RGB frames; :meth:`close` finishes the file. ``path`` ends in .mp4 or .gif."""

    def __init__(self, path: Path, fps: float, gif_every: int = 2, gif_scale: float = 0.5) -> None:
        self.path = Path(path)
        self.fps = fps
        self.frames = 0
        self._gif = self.path.suffix.lower() == ".gif"
        if not self._gif and self.path.suffix.lower() != ".mp4":
            raise ValueError(f"video path must end in .mp4 or .gif: {self.path}")
        self._gif_every, self._gif_scale = gif_every, gif_scale
        self._gif_frames: list = []
        self._writer = None

    def add(self, rgb: np.ndarray) -> None:
        """``rgb``: (H, W, 3) uint8; every frame must have the size of the first."""
        self.frames += 1
        if self._gif:
            if (self.frames - 1) % self._gif_every == 0:
                from PIL import Image

                small = cv2.resize(rgb, None, fx=self._gif_scale, fy=self._gif_scale, interpolation=cv2.INTER_AREA)
                self._gif_frames.append(Image.fromarray(small))
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            height, width = rgb.shape[:2]
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps,
                                           (width, height))
            if not self._writer.isOpened():
                raise RuntimeError(f"OpenCV cannot write {self.path}")
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> Optional[Path]:
        """Finish the file; returns its path, or None when no frame was added."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            return self.path
        if self._gif and self._gif_frames:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            duration = int(1000 * self._gif_every / self.fps)
            self._gif_frames[0].save(self.path, save_all=True, append_images=self._gif_frames[1:],
                                     duration=duration, loop=0)
            self._gif_frames = []
            return self.path
        return None


def plot_trajectory(scene: SceneSpec, samples: Sequence[Sample], path: Path,
                    result: Optional[EpisodeResult] = None, targets: Sequence[str] = (),
                    title: str = "") -> Path:
    """Top-down PNG: arena, objects in their colours (targets outlined), the robot's path
    coloured by time, start and end poses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, Rectangle

    half = scene.arena_size / 2.0
    fig, ax = plt.subplots(figsize=(5.5, 5.5), dpi=100)
    ax.add_patch(Rectangle((-half, -half), 2 * half, 2 * half, fill=False, lw=2, ec="0.3"))
    targets = set(targets)
    for obj in scene.objects:
        r = obj.footprint_radius
        ax.add_patch(Circle((obj.x, obj.y), r, fc=COLOURS[obj.colour], ec="k" if obj.name in targets else "0.5",
                            lw=2.5 if obj.name in targets else 0.8))
        ax.annotate(obj.label, (obj.x, obj.y + r + 0.08), ha="center", fontsize=7)
    if samples:
        xs = np.array([s.x for s in samples])
        ys = np.array([s.y for s in samples])
        ts = np.array([s.t for s in samples])
        ax.plot(xs, ys, "-", color="0.6", lw=0.8, zorder=1)
        points = ax.scatter(xs, ys, c=ts, s=4, cmap="viridis", zorder=2)
        fig.colorbar(points, ax=ax, fraction=0.046, pad=0.04, label="time (s)")
        for s, marker in ((samples[0], "start"), (samples[-1], "end")):
            ax.add_patch(Circle((s.x, s.y), ROBOT_RADIUS, fill=False, ec="k", ls="--" if marker == "start" else "-"))
            ax.arrow(s.x, s.y, 0.3 * math.cos(s.yaw), 0.3 * math.sin(s.yaw), head_width=0.08, color="k")
    ax.set_xlim(-half - 0.2, half + 0.2)
    ax.set_ylim(-half - 0.2, half + 0.2)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    if result is not None:
        title = title or f"{result.scenario}: {'success' if result.success else 'FAIL'}"
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_result(result: EpisodeResult, path: Path, extra: Optional[dict] = None) -> Path:
    """The result JSON (``EpisodeResult.to_json`` plus ``extra``)."""
    data = result.to_json()
    data.update(extra or {})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path
