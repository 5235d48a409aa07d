"""Policies: turn an :class:`~mm_robot.core.records.Observation` into grounding and a decision.

Policies are looked up by name so that nodes and tools stay ignorant of torch:
the baseline needs only OpenCV; the fusion model is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Callable

from .base import Policy

# name -> "module:factory". Factories take keyword options (e.g. checkpoint=...).
_REGISTRY: dict[str, str] = {
    "baseline": "mm_robot.policies.colour_baseline:ColourShapeBaseline",
    "fusion": "mm_robot.model.policy:load_fusion_policy",
}


def available() -> list[str]:
    return sorted(_REGISTRY)


def register(name: str, target: str) -> None:
    """Register ``"package.module:factory"`` under ``name``."""
    _REGISTRY[name] = target


def make_policy(name: str, **options) -> Policy:
    """Build the policy registered as ``name``; unknown names list the known ones."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(available())}")
    module_name, _, attr = _REGISTRY[name].partition(":")
    factory: Callable[..., Policy] = getattr(importlib.import_module(module_name), attr)
    return factory(**options)


__all__ = ["Policy", "available", "make_policy", "register"]
