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
from ..core.vocabulary import (COLOUR_SYNONYMS, COLOURS, EXTRA_COLOUR_WORDS, EXTRA_SHAPE_WORDS, SHAPE_WORDS,
                               SOUND_NOUNS, SOUND_WORDS, STOP_WORDS)

GRAMMAR_NAME = "mm_robot"
# core: the world's colour and shape words and their synonyms; extended: + the vocabulary's extra
# words; full: + every colour-survey, CSS4 and WordNet shape name (a larger grammar is slower and
# confuses more words: docs/hearing.md has the numbers).
LEXICONS = ("core", "extended", "full")
# Verb phrases: every motion verb of the language, alone and with the prepositions people use.
PREPOSITIONS = ("to", "towards", "toward", "over to", "up to", "near", "closer to", "for", "at")
VERB_FORMS = ("go", "move", "drive", "head", "navigate", "come", "get", "travel", "proceed", "turn", "steer",
              "run", "walk", "roll", "look", "search", "hunt", "point", "face", "return", "hurry", "rush")
TRANSITIVE = ("find", "approach", "reach", "locate", "visit", "fetch", "follow", "track", "seek", "chase",
              "take me to", "bring me to", "go and find", "go find", "track down", "get close to",
              "inspect", "touch", "check", "spot")
PREFIXES = ("please", "robot", "hey robot", "hey", "okay", "ok", "now", "can you", "could you",
            "could you please", "would you", "would you please", "i need you to", "i'd like you to",
            "go ahead and", "alright", "quick", "robot please")
SUFFIXES = ("please", "now", "right away", "quickly", "slowly", "thanks", "thank you", "for me",
            "when you can", "carefully", "straight away", "over there", "on the floor", "again")
DETERMINERS = ("the", "a", "an", "that", "this", "one")
MODIFIERS = ("big", "small", "little", "large", "tiny", "bright", "pale", "nearest", "closest", "other")
OBJECT_NOUNS = ("one", "thing", "object", "item", "shape")
# Common English words outside the command language: the out-of-grammar (filler) model.
FILLER_WORDS = (
    "what", "time", "weather", "today", "tomorrow", "yesterday", "dinner", "lunch", "breakfast", "coffee",
    "water", "music", "play", "song", "phone", "call", "mother", "father", "friend", "house", "home",
    "work", "school", "money", "buy", "sell", "car", "train", "bus", "city", "country", "people",
    "person", "man", "woman", "child", "children", "dog", "cat", "bird", "fish", "tree", "flower",
    "rain", "snow", "sun", "moon", "night", "morning", "evening", "week", "month", "year", "day",
    "good", "bad", "nice", "happy", "sad", "hungry", "tired", "think", "know", "say", "tell", "talk",
    "read", "write", "book", "paper", "news", "story", "question", "answer", "number", "name",
    "open", "close", "door", "window", "table", "chair", "kitchen", "bread", "cheese", "apple",
    "sugar", "milk", "tea", "wine", "beer", "doctor", "office", "meeting", "party", "holiday",
    "ticket", "price", "shop", "market", "garden", "street", "road", "bank", "hotel", "station",
    "museum", "piano", "guitar", "movie", "picture", "photo", "computer", "internet", "email",
    "letter", "game", "team", "sport", "football", "weekend", "family", "brother", "sister",
    "neighbour", "neighbor", "umbrella", "jacket", "shoes", "hat", "glass", "cup", "plate",
    "spoon", "knife", "soup", "salad", "pizza", "cake", "chocolate", "birthday", "wedding",
    "yes", "no", "maybe", "hello", "goodbye", "sorry", "why", "because", "often", "never",
    "always", "sometimes", "usually", "learn", "teach", "listen", "remember", "forget", "understand",
    "believe", "hope", "wish", "feel", "seem", "become", "begin", "end", "change", "keep", "give",
    "send", "leave", "live", "die", "eat", "drink", "sleep", "wake", "sit", "stand", "lose", "win",
    "pay", "cost", "spend", "save", "build", "grow", "fall", "rise", "cut", "break", "fix", "clean",
    "wash", "cook", "bake", "smell", "taste", "six", "seven", "eight", "nine", "ten", "hundred",
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
    names = set(COLOURS) | set(COLOUR_SYNONYMS)
    if lexicon != "core":
        names |= {w for ws in EXTRA_COLOUR_WORDS.values() for w in ws}
    if lexicon == "full":
        names |= set(colour_table())
    return sorted(names)


def shape_phrases(lexicon: str = "core") -> list[str]:
    """Shape nouns (singular and plural) the grammar may hear (see ``LEXICONS``)."""
    names = set(SHAPE_WORDS)
    if lexicon != "core":
        names |= {w for ws in EXTRA_SHAPE_WORDS.values() for w in ws}
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
    sound_adjectives = [w for w in SOUND_WORDS if w.endswith("ing") or w in ("noisy", "loud", "louder", "loudest")]
    return {
        "stopword": _phrases(list(STOP_WORDS) + ["emergency stop", "stop now"], known),
        "prefix": _phrases(PREFIXES, known),
        "suffix": _phrases(SUFFIXES, known),
        "motion": _phrases(VERB_FORMS, known),
        "prep": _phrases(PREPOSITIONS, known),
        "transitive": _phrases(TRANSITIVE, known),
        "det": _phrases(DETERMINERS, known),
        "colour": _phrases(colour_phrases(lexicon), known),
        "shape": _phrases(shape_phrases(lexicon), known),
        "noun": _phrases(OBJECT_NOUNS, known),
        "soundadj": _phrases(sound_adjectives, known),
        "soundnoun": _phrases([w for w in SOUND_NOUNS if not w.endswith("s")], known),
        "filler": _phrases(FILLER_WORDS, known),
    }


# The sentence structure over the word rules above. <filler>+ is the out-of-grammar model; its
# weight against the commands trades rejections of commands for false commands (docs/hearing.md).
STRUCTURE = (
    "public <utterance> = /{command_weight}/ <stop> | /{command_weight}/ <goto> | /1/ <filler>+;",
    "<stop> = [<prefix>] <stopword> [<suffix>];",
    "<goto> = [<prefix>] [<verb>] [<det>] <object> [<suffix>];",
    "<verb> = <motion> <prep> | <motion> | <transitive>;",
    "<object> = <colour> <shape> | <colour> <noun> | <shape> | <colour> <shape> <soundclause>"
    " | <shape> <soundclause> | <noun> <soundclause> | <soundadj> <noun> | <soundadj> <shape> | <soundnoun>;",
    "<soundclause> = that is <soundadj> | that is making a <soundnoun> | making a <soundnoun> | you hear"
    " | you can hear;",
)


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


def grammar_words(known: Optional[Callable[[str], bool]] = None, lexicon: str = "core") -> frozenset[str]:
    """Every word the grammar can produce."""
    words: set[str] = set()
    for alternatives in grammar_rules(known, lexicon).values():
        for phrase in alternatives:
            words.update(phrase.split())
    return frozenset(words)
