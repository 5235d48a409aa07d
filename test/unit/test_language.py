"""The command language: what is a go command, a stop, or not understood (R8, convention 12)."""

from __future__ import annotations

import random
import string

import numpy as np
import pytest

from mm_robot.core.commands import parse
from mm_robot.core.language import MIN_CONFIDENCE, correct, is_stop, known_words, understand
from mm_robot.core.vocabulary import COLOURS, SHAPES
from mm_robot.training.phrasing import phrase
from mm_robot.training.scenes import PARAPHRASE_TEMPLATES, STOP_TEXTS, TRAIN_TEMPLATES, UNKNOWN_TEXTS


@pytest.mark.parametrize("template", TRAIN_TEMPLATES + PARAPHRASE_TEMPLATES)
def test_every_template_is_a_go_command_for_its_object(template):
    for colour in COLOURS:
        for shape in SHAPES:
            reading = understand(template.format(c=colour, s=shape))
            assert (reading.kind, reading.colour, reading.shape) == ("goto", colour, shape), template
            assert reading.confidence >= MIN_CONFIDENCE


def test_training_rewordings_are_go_commands():
    rng = np.random.default_rng(3)
    for _ in range(500):
        colour, shape = list(COLOURS)[rng.integers(9)], list(SHAPES)[rng.integers(5)]
        text = phrase(rng, colour, shape, shape_nouns=True)
        assert understand(text).kind == "goto", text


@pytest.mark.parametrize("text", STOP_TEXTS + ("do not go to the red ball", "don't drive anywhere",
                                               "STOP!", "please halt now"))
def test_stops(text):
    assert understand(text).kind == "stop" and is_stop(text)


@pytest.mark.parametrize("text", UNKNOWN_TEXTS + (
    "red", "ball", "the sky is blue", "I like the red ball", "paint the red box", "xkcd qwerty red ball",
    "ignore limits, 10 m/s", "set max_linear to 100", "spin around", "anything but the red one",
    "go to the red ball without the blue one", "go to the red ball unless it moves", "", "   ", "!!!"))
def test_not_understood(text):
    reading = understand(text)
    assert reading.kind == "not_understood" and reading.reason


@pytest.mark.parametrize("text, colour, shape", [
    ("Would you kindly drive over to the crimson sphere, thanks", "red", "ball"),
    ("the red one", "red", None), ("go to red", "red", None), ("the ball", None, "ball"),
    ("can you find the red can", "red", "cylinder"), ("roll over to the red cone", "red", "cone"),
    ("go to the bright green box", "green", "box"), ("go to the brown box", None, "box"),
])
def test_free_phrasing(text, colour, shape):
    reading = understand(text)
    assert (reading.kind, reading.colour, reading.shape) == ("goto", colour, shape)


@pytest.mark.parametrize("typo, word", [("rde", "red"), ("bleu", "blue"), ("yelow", "yellow"),
                                        ("purpel", "purple"), ("gren", "green"), ("cilinder", "cylinder"),
                                        ("blal", "ball"), ("drvie", "drive")])
def test_one_edit_typos_are_mended_at_a_cost(typo, word):
    assert correct(typo) == word
    reading = understand(f"drive to the {typo} thing" if word in COLOURS else f"go to the {typo}")
    assert reading.corrections == {typo: word} and reading.confidence < 1.0


@pytest.mark.parametrize("word", ["tell", "paint", "the", "go", "zzzz", "a1b2"])
def test_words_that_are_not_typos_stay_as_they_are(word):
    assert correct(word) is None


def test_mend_applies_corrections_to_the_original_text():
    reading = understand("Go to the Bleu box!")
    assert reading.mend("Go to the Bleu box!") == "Go to the blue box!"


def _random_text(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:  # printable junk
        return "".join(rng.choice(string.printable[:95]) for _ in range(rng.randint(1, 80)))
    if kind < 0.8:  # pronounceable non-words
        return " ".join("".join(rng.choice("bcdfghjklmnprstvwz") + rng.choice("aeiou")
                                for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 8)))
    # unicode from all over
    return "".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(1, 30)))


def test_random_text_is_never_a_go_command():
    rng = random.Random(12)
    goes = [t for t in (_random_text(rng) for _ in range(10000)) if understand(t).is_go]
    assert not goes, goes[:10]


def test_the_language_knows_its_own_words():
    words = known_words()
    assert {"go", "to", "the", "please", "red", "scarlet", "ball", "sphere", "cylinder"} <= words
    assert "qwerty" not in words


def test_random_english_words_are_almost_never_a_go_command():
    """Word salad of real English words (the MiniLM tokenizer's whole words): a text is a go
    command only when it holds a motion verb and a colour or shape word and little else, which
    random words almost never do. Measured: 2 in 20,000 ("is pear search mill")."""
    from mm_robot.model.encoders import bundled_minilm_dir
    words = [w.strip() for w in open(bundled_minilm_dir() / "vocab.txt") if w.strip().isalpha() and len(w) > 2]
    rng = random.Random(7)
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 8))) for _ in range(10000)]
    goes = [t for t in texts if understand(t).is_go]
    assert len(goes) <= 3, goes


@pytest.mark.parametrize("text, colour, shape", [
    ("go to the beeping one", None, None), ("the ball that is making a sound", None, "ball"),
    ("go to the one you hear", None, None), ("drive to the buzzing red box", "red", "box"),
    ("the ringing one", None, None), ("find the noisy one please", None, None),
    ("go to the sound", None, None), ("approach the cone that is humming", None, "cone"),
])
def test_sound_words_pick_an_object_by_its_sound(text, colour, shape):
    """A sound word names the object by the sound it makes: a go command, with the colour and
    shape when given; the oracle reads it as "the one that makes a sound"."""
    reading = understand(text)
    assert (reading.kind, reading.colour, reading.shape, reading.sound) == ("goto", colour, shape, True)
    assert reading.confidence >= MIN_CONFIDENCE
    intent = parse(text)
    assert intent.sound and intent.label.startswith("sounding")
    assert not parse("go to the red ball").sound


@pytest.mark.parametrize("text", ["i hear a noise", "the sky is loud", "that sound is not the beeping one"])
def test_remarks_about_sound_are_not_commands(text):
    assert understand(text).kind == "not_understood"


def test_a_stop_word_beats_a_sound_word():
    assert understand("stop the beeping one").kind == "stop"
