"""Command text -> an intent: go to (colour, shape), stop, or unknown.

A thin view of :func:`mm_robot.core.language.understand` for the baseline policy and the oracle
expert, which need the world colour and shape named. The trained model reads the raw text
itself, behind the same understanding gate. Text can only ever *ask* to move or stop: nothing
here touches limits or the e-stop (R8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .language import is_stop, understand
from .plan import Plan, Reference, plain_plan

__all__ = ["Intent", "is_stop", "parse"]


@dataclass(frozen=True)
class Intent:
    """``kind`` is "goto", "stop" or "unknown"; ``colour`` and ``shape`` are the world's (None
    when the text names none, or a colour the world does not have, such as "brown"); ``sound``:
    the object is the one making a sound ("go to the beeping one"); ``plan``: the command's steps
    and how each picks its object (core.plan), None for a command that goes nowhere."""

    kind: str
    colour: Optional[str] = None
    shape: Optional[str] = None
    sound: bool = False
    plan: Optional[Plan] = field(default=None, compare=False)  # how, not what: equality is the reading

    def step(self, index: int = 0) -> Reference:
        """The reference of step ``index`` of the plan (the plain one when there is no plan)."""
        plan = self.plan or plain_plan(self.colour, self.shape, self.sound, self.label)
        return plan.steps[min(index, len(plan.steps) - 1)]

    @property
    def steps(self) -> int:
        return len(self.plan.steps) if self.plan else 1

    @property
    def label(self) -> str:
        """"red ball", "ball", "sounding red ball", "sounding object"."""
        named = " ".join(part for part in (self.colour, self.shape) if part)
        if self.sound:
            return "sounding " + (named or "object")
        return named


def parse(text: str) -> Intent:
    """Turn "go to the red ball" into ``Intent("goto", "red", "ball")``; text the command
    language does not understand (``core.language``) is "unknown" and the robot does not move."""
    reading = understand(text)
    if reading.kind == "stop":
        return Intent("stop")
    if reading.kind != "goto":
        return Intent("unknown")
    return Intent("goto", reading.colour, reading.shape, reading.sound, reading.plan)
