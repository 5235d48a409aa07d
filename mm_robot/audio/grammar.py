"""The speech grammar, generated from the package's own command language.

A recogniser constrained to what the robot can do hears "go to the red ball" far more reliably
than an open-vocabulary one, and grows with the language: every word list here is read from
``core.vocabulary``, ``core.language`` and ``core.lexicon`` (verbs, determiners, modifiers,
polite words, colours and shapes with their synonyms, extra words and lexicon names, stop words,
sound words), so a word added there is a word the robot can hear. Only words the recogniser's
pronouncing dictionary knows are used (a word it cannot pronounce cannot be recognised).

The grammar has three top-level alternatives: ``<stop>``, ``<goto>`` and ``<filler>``, a loop of
common English words outside the language. Speech that is not a command is most likely heard as
filler; a hypothesis that holds a filler word is reported as not understood (out-of-grammar
rejection), never forced into the nearest command.

    jsgf = command_grammar(words_known_to_recogniser)
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Iterable, Optional

from ..core import language
from ..core.lexicon import colour_table, shape_table
from ..core.vocabulary import (
    COLOUR_SYNONYMS,
    COLOURS,
    EXTRA_COLOUR_WORDS,
    EXTRA_SHAPE_WORDS,
    SHAPE_WORDS,
    SHAPES,
    SOUND_NOUNS,
    SOUND_WORDS,
    STOP_WORDS,
)

GRAMMAR_NAME = "mm_robot"
# core: the world's nine colours and its shape words; extended: + colour synonyms, plurals: + the vocabulary's extra
# words; full: + every colour-survey, CSS4 and WordNet shape name (a larger grammar is slower and
# confuses more words: docs/hearing.md has the numbers).
LEXICONS = ("core", "extended", "full")
# Verb phrases, as people say them (the training re-wording's templates, mm_robot.training.phrasing),
# each checked against the command language's motion words (test_hearing). A flat list: a product
# of every verb and every preposition made the search space, and the confusions, far larger.
VERBS = ("go to", "move to", "drive to", "find", "go towards", "navigate to", "head to", "approach",
         "take me to", "look for", "get close to", "locate", "reach", "travel to", "come to", "search for",
         "get to", "proceed to", "go over to", "move towards", "drive up to", "go near", "move closer to",
         "steer towards", "go and find", "track down", "drive towards", "go find", "visit", "go up to",
         "turn to", "turn towards", "face", "head towards", "roll to", "follow", "fetch")
PREFIXES = ("please", "robot", "hey robot", "okay", "can you", "could you", "could you please", "would you",
            "i need you to")
SUFFIXES = ("please", "now", "right away", "quickly", "thanks")
# The sound words the grammar hears: the common ones (each a word of SOUND_WORDS); all twenty-odd
# made the search several times slower and took "black" for "loud".
SPOKEN_SOUND_WORDS = ("beeping", "buzzing", "humming", "ringing", "whistling", "speaking", "talking", "noisy",
                      "sound", "noise", "beep", "alarm")
DETERMINERS = ("the", "a", "that", "this")
# Common English words outside the command language: the out-of-grammar (filler) model.
FILLER_WORDS = (
    "weather", "today", "tomorrow", "dinner", "coffee", "water", "music", "telephone", "mother", "family",
    "people", "children", "morning", "evening", "museum", "piano", "umbrella", "kitchen", "office",
    "meeting", "yesterday", "tickets", "neighbours", "forgotten", "learning", "sentences", "numbers",
    "bought", "smells", "fresh", "later", "weekend", "birthday", "computer", "internet", "chocolate",
    "holiday", "question", "answer", "football", "station", "country", "city", "money", "window",
    "picture", "story", "paper", "tea", "bread", "sky", "time", "what", "is", "it",
)
_TOKEN = re.compile(r"^[a-z][a-z']*$")


def _ok(word: str, known: Optional[Callable[[str], bool]]) -> bool:
    return bool(_TOKEN.match(word)) and (known is None or known(word))


def _phrases(items: Iterable[str], known: Optional[Callable[[str], bool]]) -> list[str]:
    """Phrases (lower case) all of whose words are pronounceable, deduplicated, sorted."""
    out = set()
    for item in items:
        words = item.lower().replace("-", " ").split()
        if words and all(_ok(w, known) for w in words):
            out.add(" ".join(words))
    return sorted(out)


def colour_phrases(lexicon: str = "core") -> list[str]:
    """Colour names the grammar may hear (see ``LEXICONS``)."""
    names = set(COLOURS)
    if lexicon != "core":
        names |= set(COLOUR_SYNONYMS) | {w for ws in EXTRA_COLOUR_WORDS.values() for w in ws}
    if lexicon == "full":
        names |= set(colour_table())
    return sorted(names)


def shape_phrases(lexicon: str = "core") -> list[str]:
    """Shape nouns (singular and plural) the grammar may hear (see ``LEXICONS``)."""
    names = {w for ws in SHAPES.values() for w in ws}
    if lexicon != "core":
        names |= set(SHAPE_WORDS) | {w for ws in EXTRA_SHAPE_WORDS.values() for w in ws}
    if lexicon == "full":
        names |= {n for n in shape_table() if n not in language.MOTION_WORDS}
    return sorted(names)


def _alternatives(phrases: Iterable[str]) -> str:
    phrases = list(phrases)
    if not phrases:
        raise ValueError("a grammar rule would be empty: the recogniser's dictionary lacks every word")
    return " | ".join(phrases)


def grammar_rules(known: Optional[Callable[[str], bool]] = None, lexicon: str = "core") -> dict[str, list[str]]:
    """Rule name -> alternatives (word sequences), before JSGF formatting."""
    if lexicon not in LEXICONS:
        raise ValueError(f"lexicon must be one of {LEXICONS}, not {lexicon!r}")
    sound_adjectives = [w for w in SOUND_WORDS if w in SPOKEN_SOUND_WORDS]
    return {
        "stopword": _phrases(list(STOP_WORDS) + ["emergency stop", "stop now"], known),
        "prefix": _phrases(PREFIXES, known),
        "suffix": _phrases(SUFFIXES, known),
        "verb": _phrases(VERBS, known),
        "det": _phrases(DETERMINERS, known),
        "colour": _phrases(colour_phrases(lexicon), known),
        "shape": _phrases(shape_phrases(lexicon), known),
        "soundadj": _phrases(sound_adjectives, known),
        "soundnoun": _phrases([w for w in SOUND_NOUNS if w in SPOKEN_SOUND_WORDS], known),
        "filler": _phrases(FILLER_WORDS, known),
    }


# The sentence structure over the word rules above. <filler>+ is the out-of-grammar model; its
# weight against the commands trades rejections of commands for false commands (docs/hearing.md).
STRUCTURE = (
    "public <utterance> = /{command_weight}/ <stop> | /{command_weight}/ <goto> | /1/ <filler>+;",
    "<stop> = [please] <stopword>;",
    "<goto> = [<prefix>] [<verb>] [<det>] <object> [<soundclause>] [<suffix>];",
    "<object> = <colour> <shape> | <colour> one | <shape> | one | <soundadj> one | <soundnoun>;",
    "<soundclause> = that is <soundadj> | that is making a <soundnoun> | you hear;",
)


# Words that never end a sentence of the grammar. When the search loses every path to the final
# state, pocketsphinx returns the best partial path ("find the blue capsule you" of "... you hear");
# these are trimmed from its end so a cut-off clause does not change the reading.
OPEN_ENDINGS = frozenset({"that", "is", "you", "making", "a", "can", "could", "would", "please"})


def trim_open_ending(text: str) -> str:
    """``text`` without trailing words that cannot end a sentence of the grammar."""
    words = text.split()
    while len(words) > 1 and words[-1] in OPEN_ENDINGS:
        words.pop()
    return " ".join(words)


def command_grammar(known: Optional[Callable[[str], bool]] = None, lexicon: str = "core",
                    command_weight: float = 1.0) -> str:
    """The JSGF grammar of the command language (see the module docstring). ``known(word)`` says
    whether the recogniser can pronounce a word (None: every word)."""
    rules = grammar_rules(known, lexicon)
    body = [f"<{name}> = {_alternatives(alts)};" for name, alts in rules.items()]
    structure = [line.format(command_weight=f"{command_weight:g}") for line in STRUCTURE]
    return "\n".join(["#JSGF V1.0;", f"grammar {GRAMMAR_NAME};", *structure, *body]) + "\n"


@lru_cache(maxsize=1)
def filler_words() -> frozenset[str]:
    """The filler model's words: a hypothesis holding any of them is not understood."""
    return frozenset(FILLER_WORDS)


def _structure_words() -> set[str]:
    """The literal words of ``STRUCTURE`` (outside rule references and weights)."""
    text = re.sub(r"<[^>]*>|/[^/]*/", " ", " ".join(line.split("=", 1)[1] for line in STRUCTURE))
    return {w for w in re.findall(r"[a-z']+", text)}


def grammar_words(known: Optional[Callable[[str], bool]] = None, lexicon: str = "core") -> frozenset[str]:
    """Every word the grammar can produce."""
    words: set[str] = set(_structure_words())
    for alternatives in grammar_rules(known, lexicon).values():
        for phrase in alternatives:
            words.update(phrase.split())
    return frozenset(words)
