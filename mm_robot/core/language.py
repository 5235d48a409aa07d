"""The command language: what the package understands a text to ask for, and how sure it is.

One reading serves every consumer: the policies' gate (text that is not understood never
reaches a model and never moves the robot), the safety controller's stop release, the command
parser of the baseline and the oracle, and the speech recogniser's grammar. A text is

* ``stop`` when it holds a stop word or phrase, or a negated request ("do not go"), anywhere:
  stopping is the safe reading of any sentence that mentions it;
* ``goto`` when it names an object (a colour and/or shape phrase of the lexicons, and/or a sound
  word: "the beeping one", "the ball that is making a sound", "the one you hear"), asks to move
  there (a motion verb, or the whole text is a noun phrase: "the red ball", "red ball please";
  a bare colour needs a verb or "one"), and at least ``MIN_KNOWN_FRACTION`` of its words belong
  to the language. A word one edit away from a known word (a typo) is read as that word, at a
  small cost in confidence;
* ``not_understood`` otherwise, with the reason.

The word lists are deliberately broad in function words and narrow in content words: a polite
request wraps known words around the object, while random text or an unrelated sentence that
happens to hold a colour word ("the sky is blue") asks for nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

from .lexicon import (
    MAX_COLOUR_WORDS,
    MAX_SHAPE_WORDS,
    PRONOUNS,
    colour_table,
    shape_entry,
    shape_table,
    world_colour,
    world_shape,
)
from .phrases import match_phrases
from .plan import Description, Ordinal, Plan, Reference
from .vocabulary import (
    COLOUR_SYNONYMS,
    COLOURS,
    EXTRA_COLOUR_WORDS,
    EXTRA_SHAPE_WORDS,
    SHAPE_WORDS,
    SOUND_NOUNS,
    SOUND_WORDS,
    STOP_WORDS,
)

MIN_KNOWN_FRACTION = 0.75  # share of a goto command's words that must belong to the language
TYPO_PENALTY = 0.9  # confidence factor per corrected word
MIN_CONFIDENCE = 0.6  # documented threshold for a go command to release a stop (safety controller)

_MOTION_VERBS = (
    "go", "move", "drive", "head", "navigate", "approach", "find", "locate", "reach", "travel",
    "come", "get", "take", "bring", "look", "search", "seek", "hunt", "track", "visit", "proceed",
    "roll", "walk", "run", "steer", "turn", "face", "return", "follow", "fetch", "aim", "point",
    "make", "explore", "advance", "continue", "resume", "start", "park", "ride", "hurry", "rush",
    "zoom", "pick", "grab", "touch", "pull", "spot", "check", "inspect", "join", "meet", "chase",
    "target", "want", "need", "show",
)
_IRREGULAR = ("went", "gone", "came", "got", "gotten", "took", "taken", "brought", "found", "sought",
              "ran", "drove", "driven", "made", "rode")
_OBJECT_NOUNS = ("one", "ones", "thing", "things", "object", "objects", "item", "items", "shape", "toy",
                 "something", "anything")
_DETERMINERS = ("the", "a", "an", "that", "this", "those", "these", "some", "any", "each", "my", "your",
                "our", "its")
_MODIFIERS = (
    "big", "bigger", "biggest", "small", "smaller", "smallest", "large", "larger", "largest", "little",
    "tiny", "huge", "bright", "dark", "light", "pale", "deep", "coloured", "colored", "colour", "color",
    "shaped", "round", "square", "tall", "short", "near", "nearest", "closest", "far", "farthest",
    "furthest", "leftmost", "rightmost", "first", "second", "third", "last", "other", "same", "shiny",
    "plain", "solid", "whole", "only", "single", "lone", "middle", "centre", "center", "tallest",
    "tiniest", "fourth", "fifth", "leftmost", "rightmost",
)
_POLITE = ("please", "pls", "kindly", "robot", "hey", "hi", "hello", "ok", "okay", "alright", "now",
           "thanks", "thank", "cheers", "quick", "quickly", "slowly", "carefully", "gently", "right",
           "away", "straight", "immediately", "asap", "again", "then", "there", "here", "over", "on",
           "floor", "ground", "is", "are", "which", "buddy", "friend", "mate", "sir", "just", "go")
_FUNCTION_WORDS = (
    "i", "me", "my", "we", "us", "you", "your", "yours", "yourself", "it", "its", "he", "she", "they",
    "them", "to", "toward", "towards", "at", "by", "of", "in", "into", "onto", "on", "from", "for",
    "with", "up", "down", "near", "next", "beside", "besides", "behind", "front", "left", "right",
    "between", "around", "across", "past", "along", "through", "close", "closer", "nearer", "and",
    "or", "so", "if", "when", "where", "what", "which", "who", "how", "as", "be", "been", "being",
    "was", "were", "am", "do", "does", "did", "can", "could", "would", "will", "shall", "should",
    "may", "might", "must", "let", "lets", "let's", "i'd", "i'm", "you're", "it's", "that's",
    "there's", "please", "like", "love", "mind", "way", "goal", "destination", "spot", "location",
    "position", "side", "all", "both", "every", "also", "too", "very", "really", "back", "off",
    "out", "about", "there", "here", "where's", "ahead", "forward", "over", "till", "until", "once",
    "have", "has", "had", "having", "able", "try", "see", "view", "sight", "visible", "somewhere",
    "room", "area", "place", "directly", "exactly", "fast", "slow", "now", "soon", "time", "when",
    "whenever", "possible", "can't", "cannot", "yes", "yeah", "sure", "well", "oh", "um", "uh",
    "hmm", "done", "ready", "after", "afterwards", "followed", "finally", "apart", "than", "except",
)
# A negation within two words before a motion word makes a request to stay ("do not go there").
_NEGATIONS = frozenset({"don't", "dont", "not", "never", "mustn't", "shouldn't", "can't", "cannot", "no"})
# Words of forms the language does not handle yet: the text is reported, not guessed. Exclusion
# ("anything but the red one") is understood when it reads as one (``read_plan``).
_UNSUPPORTED = ("not", "no", "but", "except", "without", "unless", "instead")
_EXCLUSION_WORDS = frozenset({"not", "but", "except"})

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_ORDINAL = re.compile(r"\d+(st|nd|rd|th)?")


def _inflections(verb: str) -> tuple[str, ...]:
    stem = verb[:-1] if verb.endswith("e") and verb not in ("see",) else verb
    double = verb + verb[-1] if re.fullmatch(r"[^aeiou]*[aeiou][bdgmnprt]", verb) else verb
    return (verb, verb + "s", verb + "es", stem + "ing", double + "ing", stem + "ed", double + "ed")


MOTION_WORDS: frozenset[str] = frozenset(w for v in _MOTION_VERBS for w in _inflections(v)) | set(_IRREGULAR)
NOUN_PHRASE_WORDS: frozenset[str] = frozenset(_DETERMINERS + _MODIFIERS + _OBJECT_NOUNS + _POLITE)
FUNCTION_WORDS: frozenset[str] = frozenset(_FUNCTION_WORDS) | NOUN_PHRASE_WORDS | MOTION_WORDS
CORE_WORDS: frozenset[str] = frozenset(COLOURS) | frozenset(COLOUR_SYNONYMS) | frozenset(SHAPE_WORDS)
SOUND_REFERENTS: frozenset[str] = frozenset(SOUND_WORDS)


@dataclass(frozen=True)
class Understanding:
    """How the package reads one command text.

    ``kind``: "goto", "stop" or "not_understood". ``colour``/``shape``: the world colour and
    shape named (None when not named, or named but not one of the world's, e.g. "brown"), with
    the words that named them in ``colour_phrase``/``shape_phrase``. ``sound_phrase``: the first
    sound word when the object is picked by the sound it makes ("beeping"), else None. ``text``:
    the text as read, typos corrected. ``confidence`` in [0, 1]; ``reason`` says why, in words.
    ``plan``: for a go command, its steps (:func:`read_plan`); ``colour``/``shape`` are its first
    step's head.
    """

    kind: str
    confidence: float
    reason: str
    text: str
    colour: Optional[str] = None
    shape: Optional[str] = None
    colour_phrase: Optional[str] = None
    shape_phrase: Optional[str] = None
    corrections: dict[str, str] = field(default_factory=dict)
    sound_phrase: Optional[str] = None
    plan: Optional[Plan] = None

    @property
    def understood(self) -> bool:
        return self.kind != "not_understood"

    @property
    def is_go(self) -> bool:
        return self.kind == "goto"

    def mend(self, original: str) -> str:
        """``original`` with this reading's typo corrections applied, all else as it was."""
        for wrong, right in self.corrections.items():
            original = re.sub(rf"(?i)\b{re.escape(wrong)}\b", right, original)
        return original

    @property
    def sound(self) -> bool:
        """Does the text pick its object by the sound it makes?"""
        return self.sound_phrase is not None

    @property
    def label(self) -> str:
        """The object as named: "red ball", "scarlet orb", "box", "beeping ball"."""
        return " ".join(p for p in (self.sound_phrase, self.colour_phrase, self.shape_phrase) if p)


def words_of(text: str) -> list[str]:
    """Lower-case words (letters, digits, one apostrophe) of ``text``."""
    return _WORD.findall(text.lower().replace("’", "'"))


def is_stop(text: str) -> bool:
    """True when the text holds a stop word or phrase, or a negated request, anywhere.

    Stopping is the safe reading of any sentence that mentions it ("don't stop" stops too: a robot
    should never move because of a negation).
    """
    words = words_of(text)
    joined = " " + " ".join(words) + " "
    if any((" " + phrase + " ") in joined for phrase in STOP_WORDS):
        return True
    return any(w in _NEGATIONS and any(v in MOTION_WORDS for v in words[i + 1:i + 3])
               for i, w in enumerate(words))


@lru_cache(maxsize=1)
def _extra_words() -> dict[str, str]:
    """The vocabulary's extra colour and shape words -> "colour" or "shape"."""
    kinds = {w: "colour" for words in EXTRA_COLOUR_WORDS.values() for w in words}
    kinds.update({w: "shape" for words in EXTRA_SHAPE_WORDS.values() for w in words})
    return kinds


@lru_cache(maxsize=1)
def _lexicon_words() -> frozenset[str]:
    """Every word of a colour or shape name the package knows."""
    words: set[str] = set()
    for name in list(colour_table()) + list(shape_table()) + list(SHAPE_WORDS) + list(_extra_words()):
        words.update(name.split())
    return frozenset(words)


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """Every word of the language: function words, motion verbs, colour and shape words."""
    stop_words = frozenset(w for p in STOP_WORDS for w in p.split())
    return (FUNCTION_WORDS | _lexicon_words() | stop_words | _NEGATIONS | frozenset(_UNSUPPORTED)
            | SOUND_REFERENTS)


@lru_cache(maxsize=1)
def _deletions_index() -> dict[str, tuple[str, ...]]:
    """word with one letter deleted -> the colour and shape words it comes from (typo lookup)."""
    index: dict[str, set[str]] = {}
    for word in _lexicon_words():
        if len(word) >= 3 and word.isalpha():
            for i in range(len(word)):
                index.setdefault(word[:i] + word[i + 1:], set()).add(word)
    return {key: tuple(sorted(values)) for key, values in index.items()}


def _edits(word: str) -> list[tuple[int, str]]:
    """(kind, known word) one edit away: 0 a swap of neighbours (any known word), else a colour or
    shape word with 1 a missing letter, 2 an extra letter, 3 a wrong letter. Short words allow
    fewer kinds, and only swaps mend verbs and function words: "tell" is more often a word we do
    not know than a typo of "teal", and "paint" is no typo of "point"."""
    known, lexical, index = known_words(), _lexicon_words(), _deletions_index()
    found = [(0, word[:i] + word[i + 1] + word[i] + word[i + 2:]) for i in range(len(word) - 1)]
    found += [(1, longer) for longer in index.get(word, ())]
    deletes = [(i, word[:i] + word[i + 1:]) for i in range(len(word))]
    if len(word) >= 4:
        found += [(2, shorter) for _, shorter in deletes]
    if len(word) >= 5:
        found += [(3, other) for i, shorter in deletes for other in index.get(shorter, ())
                  if len(other) == len(word) and other[:i] + other[i + 1:] == shorter]
    return [(kind, w) for kind, w in found if w != word and (w in lexical if kind else w in known)]


def correct(word: str) -> Optional[str]:
    """The known word one edit away from ``word``, or None. Ties go to swaps, then to the world's
    own colour and shape words, then to the lexicons' words, then to the alphabet's order, so the
    reading is deterministic."""
    if len(word) < 3 or not word.isalpha():
        return None
    candidates = _edits(word)
    if not candidates:
        return None
    lexical = _lexicon_words()
    return min(candidates, key=lambda c: (c[0] > 0, c[1] not in CORE_WORDS, c[1] not in lexical, c[0], c[1]))[1]


def understand(text: str) -> Understanding:
    """Read one command text (already validated: UTF-8, bounded, printable). Pure; tens of
    microseconds for junk, which is turned away before any phrase matching."""
    words = words_of(text)
    if not words:
        return Understanding("not_understood", 0.0, "no words", text)
    if is_stop(text):
        return Understanding("stop", 1.0, "stop word", text)
    known = known_words()
    unknown = [w for w in words if w not in known and not _ORDINAL.fullmatch(w)]
    allowed = len(words) - math.ceil(MIN_KNOWN_FRACTION * len(words))
    mendable = [w for w in unknown if len(w) >= 3 and w.isalpha()]
    if len(unknown) - len(mendable) > allowed:  # no typo correction can make it a command
        return Understanding("not_understood", 1.0 - len(unknown) / len(words),
                             f"too many unknown words: {', '.join(unknown[:5])}", text)
    corrections = {w: fixed for w in dict.fromkeys(mendable) if (fixed := correct(w)) is not None}
    return _read_goto(text, [corrections.get(w, w) for w in words], corrections)


def _colour_lookup(phrase: str) -> Optional[str]:
    """``phrase`` when it is a colour name: the vocabulary's extra words, then the colour table."""
    return phrase if _extra_words().get(phrase) == "colour" or phrase in colour_table() else None


def _shape_lookup(phrase: str) -> Optional[dict[str, float]]:
    """The vocabulary's own shape words first ("can" is a cylinder here), its extra words, then
    the WordNet table, less its nouns that are also motion verbs here ("roll over to ...")."""
    if phrase in SHAPE_WORDS:
        return {SHAPE_WORDS[phrase]: 1.0}
    extra = next((s for s, words in EXTRA_SHAPE_WORDS.items() if phrase in words), None)
    if extra is not None:
        return {extra: 1.0}
    return None if phrase in MOTION_WORDS else shape_entry(phrase)


def _read_goto(text: str, words: list[str], corrections: dict[str, str]) -> Understanding:
    read = " ".join(words)
    colours = match_phrases(read, _colour_lookup, MAX_COLOUR_WORDS)
    shapes = match_phrases(read, _shape_lookup, MAX_SHAPE_WORDS, PRONOUNS)
    shape_phrase = shapes[0][0] if shapes else None
    colours = [c for c in colours if c[0] != shape_phrase]  # "brick": a shape here, not a colour too
    colour_phrase = colours[0][0] if colours else None
    sound_phrase = next((w for w in words if w in SOUND_REFERENTS), None)
    known = known_words()
    unknown = [w for w in words if w not in known and not _ORDINAL.fullmatch(w)]
    fraction = 1.0 - len(unknown) / len(words)
    confidence = fraction * TYPO_PENALTY ** len(corrections)
    found = dict(text=read, colour=world_colour(colour_phrase) if colour_phrase else None,
                 shape=world_shape(shapes[0][1]) if shapes else None,
                 colour_phrase=colour_phrase, shape_phrase=shape_phrase, corrections=corrections,
                 sound_phrase=sound_phrase)
    plan, problem = read_plan(read)
    picks = plan is not None and any(s.ordinal is not None or s.exclude is not None for s in plan.steps)
    if colour_phrase is None and shape_phrase is None and sound_phrase is None and not picks:
        return Understanding("not_understood", 0.0, "names no object (no colour, shape or sound word)",
                             **found)
    if fraction < MIN_KNOWN_FRACTION:
        return Understanding("not_understood", confidence,
                             f"too many unknown words: {', '.join(unknown[:5])}", **found)
    unsupported = [w for w in words if w in _UNSUPPORTED
                   and not (w in _EXCLUSION_WORDS and plan is not None
                            and any(step.exclude is not None for step in plan.steps))]
    if unsupported:
        return Understanding("not_understood", confidence,
                             f"'{unsupported[0]}' is not understood here", **found)
    if plan is None:
        return Understanding("not_understood", confidence, problem, **found)
    head = plan.steps[0].head
    found.update(plan=plan, colour=head.colour if head.colour in COLOURS else None, shape=head.shape)
    phrase_words = set(" ".join(p for p in (colour_phrase, shape_phrase) if p).split())
    phrase_words |= {w for w in words if w in SOUND_REFERENTS}
    asks_to_move = any(w in MOTION_WORDS for w in words)
    names_thing = shape_phrase is not None or any(w in _OBJECT_NOUNS or w in SOUND_NOUNS for w in words)
    # Without a verb, only a plain noun phrase asks to go: "the red ball", "red ball please", with
    # a colour or a determiner, and no mended word (a lone typo is more often another word).
    # An unknown word fits a noun phrase only as an adjective, right before the object's words.
    fits = [w in NOUN_PHRASE_WORDS or w in phrase_words
            or (w not in known and i + 1 < len(words) and words[i + 1] in phrase_words)
            for i, w in enumerate(words)]
    noun_phrase = (names_thing and not corrections and all(fits)
                   and (colour_phrase is not None or any(w in _DETERMINERS for w in words)))
    if not (asks_to_move or noun_phrase):
        return Understanding("not_understood", confidence * 0.5, "does not ask to go anywhere", **found)
    return Understanding("goto", confidence, "names an object and asks to go there", **found)


# -- compositional commands: a plan of steps, each a reference to one object --------------------
_SEQUENCE = re.compile(r"\s*\b(?:and then|and after that|after that|and afterwards|afterwards|then|"
                       r"and finally|finally|followed by)\b\s*")
_EXCLUSION = re.compile(r"\b(?:but not|but|except for|except|other than|apart from|that is not|"
                        r"that isn't|which is not|not)\b")
_RELATION_PHRASES = (
    (r"in front of", "in_front_of"), (r"behind", "behind"), (r"(?:to the |on the )?left (?:side )?of", "left_of"),
    (r"(?:to the |on the )?right (?:side )?of", "right_of"), (r"next to|beside|close to|near to|near|by",
                                                             "next_to"),
)
_RELATION = [(re.compile(rf"\b(?:{pattern})\b"), name) for pattern, name in _RELATION_PHRASES]
_SUPERLATIVES = {"leftmost": "left", "rightmost": "right", "nearest": "near", "closest": "near",
                 "farthest": "far", "furthest": "far", "biggest": "big", "largest": "big", "tallest": "big",
                 "smallest": "small", "tiniest": "small"}
_ORDINAL_WORDS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "1st": 0, "2nd": 1, "3rd": 2,
                  "4th": 3, "5th": 4}
_ORD = "|".join(_ORDINAL_WORDS)
_SUP = "|".join(_SUPERLATIVES)
_FROM_SIDE = re.compile(rf"\b({_ORD})\b(?: [a-z]+){{0,3}}? from the (left|right)\b")
_NTH_SUPERLATIVE = re.compile(rf"\b({_ORD}) ({_SUP})\b")
_SUPERLATIVE = re.compile(rf"\b({_SUP})\b")
_ON_SIDE = re.compile(r"\bon the (left|right)\b")


def describe(text: str) -> Description:
    """The object a phrase describes: its world colour and shape and whether it is picked by its
    sound. A colour the world does not have ("brown") stays as said, so it matches nothing."""
    words = words_of(text)
    read = " ".join(words)
    colours = match_phrases(read, _colour_lookup, MAX_COLOUR_WORDS)
    shapes = match_phrases(read, _shape_lookup, MAX_SHAPE_WORDS, PRONOUNS)
    shape_phrase = shapes[0][0] if shapes else None
    colours = [c for c in colours if c[0] != shape_phrase]
    colour_phrase = colours[0][0] if colours else None
    colour = (world_colour(colour_phrase) or colour_phrase) if colour_phrase else None
    sound = next((w for w in words if w in SOUND_REFERENTS), None)
    label = " ".join(p for p in (sound, colour_phrase, shape_phrase) if p)
    return Description(colour, world_shape(shapes[0][1]) if shapes else None, sound is not None, label)


def _ordinal(text: str) -> Optional[Ordinal]:
    for pattern, key_group in ((_FROM_SIDE, 2), (_NTH_SUPERLATIVE, 2)):
        found = pattern.search(text)
        if found:
            key = found.group(key_group)
            return Ordinal(_SUPERLATIVES.get(key, key), _ORDINAL_WORDS[found.group(1)])
    found = _SUPERLATIVE.search(text) or _ON_SIDE.search(text)
    if found:
        return Ordinal(_SUPERLATIVES.get(found.group(1), found.group(1)), 0)
    return None


def _reference(text: str) -> Optional[Reference]:
    """One step's words as a reference, or None when they name no object."""
    exclusion = _EXCLUSION.search(text)
    if exclusion:
        head, excluded = describe(text[:exclusion.start()]), describe(text[exclusion.end():])
        if excluded.names_anything:
            return Reference(head, text.strip(), exclude=excluded)
    for pattern, relation in _RELATION:
        found = pattern.search(text)
        if found:
            head, anchor = describe(text[:found.start()]), describe(text[found.end():])
            names_head = head.names_anything or any(w in _OBJECT_NOUNS for w in words_of(text[:found.start()]))
            if names_head and anchor.names_anything:
                return Reference(head, text.strip(), relation=relation, anchor=anchor)
    head = describe(text)
    ordinal = _ordinal(text)
    if not head.names_anything and ordinal is None:
        return None
    return Reference(head, text.strip(), ordinal=ordinal)


def read_plan(text: str) -> tuple[Optional[Plan], str]:
    """(the plan of a go command's text, "") or (None, why not): "go to A and then B" has two
    steps; every step must name an object."""
    segments = [s for s in _SEQUENCE.split(" ".join(words_of(text))) if s.strip()]
    steps = []
    for i, segment in enumerate(segments):
        reference = _reference(segment)
        if reference is None:
            if i and not any(w not in NOUN_PHRASE_WORDS for w in words_of(segment)):
                continue  # a trailing "then please": no step
            return None, f"step {i + 1} ({segment!r}) names no object"
        steps.append(reference)
    if not steps:
        return None, "names no object"
    return Plan(tuple(steps)), ""
