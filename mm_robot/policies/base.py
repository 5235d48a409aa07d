"""The policy interface shared by the baseline, the fusion model and the oracle expert."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..core.records import Observation, PolicyOutput


@runtime_checkable
class Policy(Protocol):
    """``select_action`` is called at the fusion node's tick rate with the latest inputs.

    Implementations cache per-command work (e.g. text embeddings) and must be
    fast: the fusion node calls them on a timer, never in a subscription callback.
    """

    name: str

    def select_action(self, observation: Observation) -> PolicyOutput:
        ...

    def reset(self) -> None:
        ...
