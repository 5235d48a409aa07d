"""Greedy longest-first matching of table phrases in a command (shared by the lexicons)."""

from __future__ import annotations

import re
from typing import Callable, Optional, TypeVar

T = TypeVar("T")
_WORD = re.compile(r"[a-z]+")


def match_phrases(text: str, lookup: Callable[[str], Optional[T]], max_words: int,
                  not_before: frozenset[str] = frozenset()) -> list[tuple[str, T]]:
    """Phrases of ``text`` (lower-cased words) that ``lookup`` knows, in order, each with its
    entry; at every word the longest phrase of at most ``max_words`` wins. A phrase directly
    followed by a word of ``not_before`` is not taken."""
    words = _WORD.findall(text.lower())
    found, i = [], 0
    while i < len(words):
        for n in range(min(max_words, len(words) - i), 0, -1):
            if i + n < len(words) and words[i + n] in not_before:
                continue
            phrase = " ".join(words[i:i + n])
            entry = lookup(phrase)
            if entry is not None:
                found.append((phrase, entry))
                i += n
                break
        else:
            i += 1
    return found
