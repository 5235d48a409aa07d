"""Hearing without ROS: signal conditioning, silero-vad, the generated grammar, the recognisers
(pocketsphinx on espeak-ng speech; Whisper's loading and decoding on a tiny random config), the
streaming listener and the evaluation's scoring."""

from __future__ import annotations

import numpy as np
import pytest

from mm_robot.audio.grammar import FILLER_WORDS, command_grammar, grammar_rules, grammar_words
from mm_robot.audio.signal import StreamResampler, measure, resample_clip, to_mono
from mm_robot.core.language import known_words, understand
from mm_robot.core.vocabulary import COLOURS, SHAPES, STOP_WORDS
from mm_robot.evaluation.speech import same_command, utterances, word_errors


# -- signal -------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resampling_keeps_a_tone_and_its_level_from_any_device_rate(rate):
    t = np.arange(rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    out = resample_clip(tone, rate, 16000)
    assert out.size == 16000
    spectrum = np.abs(np.fft.rfft(out[2000:-2000] * np.hanning(12000)))
    assert abs(np.argmax(spectrum) * 16000 / 12000 - 440.0) < 3.0
    assert np.sqrt(np.mean(out[2000:-2000] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_streamed_resampling_equals_one_shot_whatever_the_chunking():
    rng = np.random.default_rng(0)
    signal = rng.standard_normal(48000).astype(np.float32) * 0.1
    whole = StreamResampler(48000).process(signal)
    parts = StreamResampler(48000)
    cuts = np.cumsum(rng.integers(1, 3000, 40))
    chunks = np.split(signal, cuts[cuts < signal.size])
    streamed = np.concatenate([parts.process(c) for c in chunks])
    assert streamed.size == whole.size and np.allclose(streamed, whole, atol=1e-5)


def test_levels_detect_silence_and_clipping_and_channels_are_averaged():
    assert measure(np.zeros((1600, 2), np.float32)).silent
    loud = np.clip(np.sin(np.arange(1600) / 3.0) * 3.0, -1, 1).astype(np.float32)
    assert measure(loud).clipped and not measure(0.1 * loud).clipped
    stereo = np.stack([np.ones(4), -np.ones(4)], axis=1)
    assert np.allclose(to_mono(stereo), 0.0)


# -- the grammar grows with the command language ------------------------------------------------
def test_the_grammar_holds_the_languages_colours_shapes_stop_words_and_sound_words():
    words = grammar_words()
    assert set(COLOURS) <= words and {w for ws in SHAPES.values() for w in ws} <= words
    assert {w for p in STOP_WORDS for w in p.split()} <= words
    assert {"beeping", "hear", "sound"} <= words
    jsgf = command_grammar()
    assert jsgf.startswith("#JSGF V1.0;") and "public <utterance>" in jsgf
    assert "ebony" in grammar_words(lexicon="extended") and "ebony" not in words
    assert len(grammar_rules(lexicon="full")["colour"]) > 500  # the colour survey's names


def test_words_the_recogniser_cannot_pronounce_are_left_out():
    rules = grammar_rules(lambda w: w != "cyan")
    assert "cyan" not in rules["colour"] and "red" in rules["colour"]


def test_every_command_word_of_the_grammar_is_a_word_of_the_language():
    """Whatever the recogniser hears through the command rules, the language can read."""
    command_words = grammar_words() - set(FILLER_WORDS)
    assert command_words <= known_words() | {"'s"}
    assert not set(FILLER_WORDS) & {w for p in STOP_WORDS for w in p.split()}


# -- scoring ------------------------------------------------------------------------------------
def test_scoring_counts_a_command_as_exact_when_it_asks_for_the_same_thing():
    assert same_command("go to the red ball", "come to that red ball")
    assert not same_command("go to the red ball", "go to the red box")
    assert not same_command("go to the red ball", None)
    assert same_command("stop", "please stop")
    assert word_errors("go to the red ball", "go to red bell") == (2, 5)
    texts = utterances(200)
    assert len(texts) == 200 and all(understand(t).understood for t in texts)


# -- models shipped in PyPI packages -------------------------------------------------------------
def test_silero_vad_hears_speech_and_not_silence():
    vad_module = pytest.importorskip("mm_robot.audio.vad")
    pytest.importorskip("silero_vad")
    voice = pytest.importorskip("mm_robot.sim.voice")
    if not voice.espeak_available():
        pytest.skip("espeak-ng is not installed")
    vad = vad_module.SileroVad()
    speech = np.asarray(voice.synthesise("go to the red ball"), np.float32)
    frames = speech[:speech.size // 512 * 512].reshape(-1, 512)
    assert max(vad(f) for f in frames) > 0.8
    vad.reset()
    assert max(vad(f) for f in np.zeros((20, 512), np.float32)) < 0.2


@pytest.fixture(scope="module")
def listener():
    pytest.importorskip("pocketsphinx")
    pytest.importorskip("silero_vad")
    voice = pytest.importorskip("mm_robot.sim.voice")
    if not voice.espeak_available():
        pytest.skip("espeak-ng is not installed")
    from mm_robot.audio.listener import HearingConfig, Listener
    listener = Listener(HearingConfig())
    # The live decoder (stop spotting) normalises cepstra with a running mean that starts from a
    # generic estimate: warm it, as a robot's first seconds of sound would (docs/hearing.md).
    _stream(listener, "find the blue box")
    return listener


def _stream(listener, text: str, rate: int = 44100):
    from mm_robot.sim.voice import synthesise
    clip = np.asarray(synthesise(text, "en-us", 160, 50, rate), np.float32)
    rng = np.random.default_rng(1)
    audio = np.concatenate([np.zeros(rate // 2), clip, np.zeros(rate)]) + 0.003 * rng.standard_normal(
        clip.size + rate * 3 // 2)
    audio = np.stack([audio, audio], axis=1).astype(np.float32)
    listener.reset()
    events = []
    for at in range(0, audio.shape[0], rate // 10):
        events += listener.accept(audio[at:at + rate // 10], rate, at / rate)
    return events


def test_a_spoken_command_streamed_at_a_device_rate_becomes_that_command(listener):
    from mm_robot.audio.listener import Transcript
    events = _stream(listener, "go to the red ball")
    transcripts = [e for e in events if isinstance(e, Transcript)]
    assert len(transcripts) == 1, transcripts
    heard = transcripts[0]
    assert heard.command is not None and same_command("go to the red ball", heard.command), heard
    assert 0.3 < heard.start < heard.end < 3.0


def test_a_stop_is_heard_before_the_utterance_ends(listener):
    from mm_robot.audio.listener import SpokenStop, Transcript
    events = _stream(listener, "stop")
    assert isinstance(events[0], SpokenStop)
    assert all(e.command is None for e in events if isinstance(e, Transcript))  # sent once, not twice


def test_speech_outside_the_language_is_never_a_command(listener):
    from mm_robot.audio.listener import SpokenStop
    for text in ("what time is it today", "i forgot my umbrella at the office"):
        events = _stream(listener, text)
        assert not [e for e in events if isinstance(e, SpokenStop) or e.command is not None], events


def test_whisper_loads_and_decodes_a_tiny_random_model_offline(tmp_path, monkeypatch):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    from mm_robot.audio.recognizers import RecognizerError, make_recognizer
    config = transformers.WhisperConfig(vocab_size=51865, d_model=16, encoder_layers=1, decoder_layers=1,
                                        encoder_attention_heads=2, decoder_attention_heads=2,
                                        encoder_ffn_dim=32, decoder_ffn_dim=32, max_source_positions=1500,
                                        max_target_positions=64, num_mel_bins=80)
    transformers.WhisperForConditionalGeneration(config).save_pretrained(tmp_path)
    extractor = transformers.WhisperFeatureExtractor(feature_size=80)
    tokenizer = _tiny_whisper_tokenizer(transformers, tmp_path)
    transformers.WhisperProcessor(extractor, tokenizer).save_pretrained(tmp_path)
    recognizer = make_recognizer("whisper", model=str(tmp_path), max_new_tokens=4)
    out = recognizer.recognise(np.zeros(16000, np.float32))
    assert out.backend == "whisper" and isinstance(out.text, str) and 0.0 <= out.confidence <= 1.0
    with pytest.raises(RecognizerError, match="offline"):
        make_recognizer("whisper", model="openai/whisper-not-on-this-disk")
    with pytest.raises(RecognizerError, match="unknown speech backend"):
        make_recognizer("nope")


def _tiny_whisper_tokenizer(transformers, folder):
    """A byte-level BPE tokenizer with Whisper's special tokens, built offline (no hub)."""
    import json
    vocab = {chr(c): i for i, c in enumerate(range(33, 127))}
    specials = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>",
                "<|translate|>", "<|nocaptions|>", "<|startoflm|>", "<|startofprev|>"]
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = transformers.WhisperTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    tokenizer.add_special_tokens({"additional_special_tokens": specials})
    return tokenizer


def test_an_utterance_over_babble_ends_when_the_talker_stops_though_the_vad_still_hears_speech():
    from mm_robot.audio.vad import FRAME, Segmenter, VadSettings
    rng = np.random.default_rng(3)
    segmenter = Segmenter(VadSettings())
    babble = [0.01 * rng.standard_normal(FRAME).astype(np.float32) for _ in range(100)]
    talker = [0.1 * rng.standard_normal(FRAME).astype(np.float32) for _ in range(30)]
    events = [segmenter.push(f, 0.9) for f in babble[:50] + talker + babble[50:]]  # the VAD says speech throughout
    kinds = [e[0] for e in events if e is not None]
    assert kinds[0] == "start" and kinds.count("end") == 1 and kinds.index("end") < len(kinds)
    assert all(e is None for e in events[:45])  # babble alone never starts an utterance
    ungated = Segmenter(VadSettings(floor_margin_db=0.0))
    assert not any(e and e[0] == "end" for e in (ungated.push(f, 0.9) for f in babble + talker + babble))


def test_evaluate_speech_writes_its_json_and_markdown(listener, tmp_path):
    import json

    from mm_robot.evaluation.speech import evaluate_speech_main
    assert evaluate_speech_main(["--utterances", "2", "--snr", "20", "--voices", "en-us+m3",
                                 "--noise-minutes", "0.05", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "speech_eval.json").read_text())
    assert len(report["trials"]) == 2 and set(report["noise_only"]) == {"white", "babble"}
    assert "all@20dB" in report["summary"] and "| noise only |" in (tmp_path / "speech_eval.md").read_text()
