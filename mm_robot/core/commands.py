"""Parse command text into an intent.

The parser is deliberately small: it recognises stop words, a colour and a shape.
The trained model reads the raw text itself; this parser serves the baseline
policy, the oracle expert and the safety controller's stop-word check. Text can
only ever *ask* to move or stop: nothing here touches limits or the e-stop (R8).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from .vocabulary import STOP_WORDS, colour_of, shape_of

_WORD = re.compile(r"[a-z']+")

# Shape words that are also ordinary words ("can you find ..."): they name a shape only right
# after a colour or a determiner ("the can", "a red can").
_ALSO_ORDINARY = {"can", "cans"}
_DETERMINERS = {"the", "a", "an", "that", "this", "each", "any", "one"}


@dataclass(frozen=True)
class Intent:
    """``kind`` is "goto", "stop" or "unknown"."""

    kind: str
    colour: Optional[str] = None
    shape: Optional[str] = None

    @property
    def label(self) -> str:
        return " ".join(part for part in (self.colour, self.shape) if part)


def is_stop(text: str) -> bool:
    """True when the text contains a stop word or phrase, anywhere.

    Stopping is the safe reading of any sentence that mentions it
    ("don't stop" stops too: a robot should never move because of a negation).
    """
    lowered = text.lower()
    words = set(_WORD.findall(lowered))
    for phrase in STOP_WORDS:
        if (" " in phrase or "'" in phrase) and phrase in lowered:
            return True
        if phrase in words:
            return True
    return False


def parse(text: str) -> Intent:
    """Turn "go to the red ball" into ``Intent("goto", "red", "ball")``.

    A colour alone or a shape alone still makes a goto intent; a sentence with
    neither is "unknown" and the robot does not move.
    """
    if is_stop(text):
        return Intent("stop")
    colour = shape = None
    previous = ""
    for word in _WORD.findall(text.lower()):
        colour = colour or colour_of(word)
        if word not in _ALSO_ORDINARY or previous in _DETERMINERS or colour_of(previous):
            shape = shape or shape_of(word)
        previous = word
    if colour is None and shape is None:
        return Intent("unknown")
    return Intent("goto", colour, shape)
