"""Training-time re-wording: it names the right object and never leaks what the paraphrase split holds out."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mm_robot.core.commands import parse
from mm_robot.core.vocabulary import COLOURS
from mm_robot.model.colour_lexicon import find_colours, srgb_to_lab
from mm_robot.model.shape_lexicon import shape_table
from mm_robot.training.phrasing import EXTRA_SHAPE_WORDS, Rephraser, lexicon_shape_words, phrase, survey_colour_words
from mm_robot.training.scenes import ALL_COMBOS, HELD_OUT_WORDS, PARAPHRASE_TEMPLATES, TRAIN_SYNONYMS, TRAIN_TEMPLATES


def _samples(n: int = 4000, shape_nouns: bool = True) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        colour, shape = ALL_COMBOS[i % len(ALL_COMBOS)]
        out.append((colour, shape, phrase(rng, colour, shape, shape_nouns=shape_nouns)))
    return out


def test_no_held_out_synonym_is_ever_produced():
    held = HELD_OUT_WORDS
    assert held, "the paraphrase split must hold some synonyms out"
    for _, _, text in _samples():
        assert not held & set(re.findall(r"[a-z]+", text)), text


def test_no_held_out_template_wording_is_produced():
    # The words before the object in each held-out template ("seek out the", ...), and the
    # question form's "go there" ("please" alone is too common a word to hold out).
    fixed = [t.split("{c}")[0].strip() for t in PARAPHRASE_TEMPLATES] + ["go there"]
    assert all(fixed)
    for _, _, text in _samples():
        for words in fixed:
            assert words not in text, (words, text)


def test_the_grammar_goes_well_beyond_the_stored_templates():
    texts = {text for _, _, text in _samples()}
    stored = {t.format(c=c, s=s) for t in TRAIN_TEMPLATES for c, s in ALL_COMBOS}
    assert len(texts) > 2000
    assert len(texts - stored) > 0.9 * len(texts)


def test_canonical_words_parse_back_to_the_named_object():
    rng = np.random.default_rng(3)
    for colour, shape in ALL_COMBOS:
        for _ in range(20):
            text = phrase(rng, colour, shape, p_synonym=0.0)
            cmd = parse(text)
            assert (cmd.colour, cmd.shape) == (colour, shape), text


def test_rephraser_changes_only_goto_commands_at_the_given_rate():
    labels = ["red ball", "", "blue cone", ""] * 250
    kinds = ["goto", "stop", "goto", "unknown"] * 250
    texts = ["go to the red ball", "stop", "find the blue cone", "hello"] * 250
    out = Rephraser(labels, p=0.5, seed=0)(texts, labels, kinds, np.random.default_rng(0))
    changed = [i for i, (a, b) in enumerate(zip(texts, out)) if a != b]
    assert all(kinds[i] == "goto" for i in changed)
    assert 0.35 < len(changed) / 500 < 0.65
    for i in changed:
        cmd = parse(out[i])
        assert cmd.colour is None or cmd.colour == labels[i].split()[0], out[i]
    assert Rephraser(labels, p=0.0)(texts, labels, kinds, np.random.default_rng(0)) == texts
    with pytest.raises(ValueError):
        Rephraser(labels, p=1.5)


def test_survey_colour_words_are_nearest_to_the_colour_they_train():
    words = survey_colour_words()
    assert set(words) == set(COLOURS)
    assert sum(len(v) for v in words.values()) > 80
    labels = list(COLOURS)
    rendered = srgb_to_lab(np.array([COLOURS[c] for c in labels]))
    held = HELD_OUT_WORDS
    for colour, names in words.items():
        for name in names:
            (found, rgb), = find_colours(name)  # the lexicon reads the whole name as one colour
            assert found == name
            nearest = labels[int(np.linalg.norm(rendered - srgb_to_lab(np.array(rgb)), axis=1).argmin())]
            assert nearest == colour, (name, nearest, colour)
            assert not any(h in name for h in held), name
    assert "tangerine" in words["orange"] and "cherry red" in words["red"]
    assert "dark" not in words["black"]  # a modifier, not a colour


def test_phrases_use_survey_colour_names():
    used = {name for _, _, text in _samples() for names in survey_colour_words().values()
            for name in names if f" {name} " in f" {text} "}
    assert len(used) > 40


def test_lexicon_shape_words_name_their_shape_and_hold_nothing_out():
    held = HELD_OUT_WORDS
    words = lexicon_shape_words()
    assert all(len(words[s]) >= 4 for s in ("ball", "box", "cylinder", "capsule", "cone"))
    table = shape_table()
    for shape, names in words.items():
        for name in names:
            assert table[name] == {shape: 1.0}, name
            assert not held & set(name.split()) and not find_colours(name), name
    assert "block" in table and "block" not in words["box"]  # in the lexicon, never in training


def test_phrases_use_lexicon_shape_words_only_when_asked():
    plain = {w for table in (EXTRA_SHAPE_WORDS, TRAIN_SYNONYMS) for words in table.values() for w in words}
    added = {name for names in lexicon_shape_words().values() for name in names} - plain

    def used(samples):
        return {name for _, _, text in samples for name in added if f" {name} " in f" {text} "}
    assert len(used(_samples())) > 40
    assert not used(_samples(shape_nouns=False))  # a model without the shape token: run F's wording
