"""Geometry of the vocabulary's shapes, as MJCF geom attributes.

Every shape stands on the floor and is ``size`` metres tall. The cone has no MuJoCo
primitive: it is a mesh (apex + a 24-gon base), which MuJoCo collides as its convex hull,
i.e. exactly a cone.
"""

from __future__ import annotations

import math

CONE_SEGMENTS = 24


def cone_mesh_vertices(segments: int = CONE_SEGMENTS) -> list[float]:
    """Vertices of a unit cone: base radius 1 at z = 0, apex at z = 1. Flat list (3 * (n + 2))."""
    vertices = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    for i in range(segments):
        angle = 2.0 * math.pi * i / segments
        vertices += [math.cos(angle), math.sin(angle), 0.0]
    return vertices


def geom_attributes(shape: str, size: float, mesh: str = "cone") -> dict[str, str]:
    """MJCF attributes (type, size, pos, mesh) for ``shape`` of height ``size``.

    ``pos`` is relative to a body frame whose origin is on the floor under the object. A cone
    refers to the mesh asset ``mesh``, which must be scaled with :func:`cone_scale`.
    """
    s = float(size)
    if shape == "ball":
        return {"type": "sphere", "size": _f(s / 2), "pos": f"0 0 {_f(s / 2)}"}
    if shape == "box":
        return {"type": "box", "size": f"{_f(s / 2)} {_f(s / 2)} {_f(s / 2)}", "pos": f"0 0 {_f(s / 2)}"}
    if shape == "cylinder":
        return {"type": "cylinder", "size": f"{_f(0.35 * s)} {_f(s / 2)}", "pos": f"0 0 {_f(s / 2)}"}
    if shape == "capsule":
        radius = 0.25 * s
        return {"type": "capsule", "size": f"{_f(radius)} {_f(s / 2 - radius)}", "pos": f"0 0 {_f(s / 2)}"}
    if shape == "cone":
        return {"type": "mesh", "mesh": mesh, "pos": "0 0 0"}
    raise ValueError(f"unknown shape {shape!r}")


def cone_scale(size: float) -> tuple[float, float, float]:
    """Mesh scale that makes the unit cone ``size`` tall with base radius 0.45 * size."""
    return (0.45 * size, 0.45 * size, size)


def _f(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value else "0"
