"""Speech recognition backends behind one small registry.

    recognizer = make_recognizer("pocketsphinx")          # offline default, grammar-constrained
    recognizer = make_recognizer("whisper", model="openai/whisper-tiny.en")  # needs the weights
    recognition = recognizer.recognise(samples_16k)

Every backend takes 16 kHz mono float32 in [-1, 1] and returns a :class:`Recognition`. Streaming
backends (pocketsphinx) also decode while the utterance is still being spoken (``start`` /
``feed`` / ``partial`` / ``finish``), so the end of speech leaves only the last chunk to decode
and a stop word can be heard before the speaker has finished.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .grammar import LEXICONS, command_grammar, filler_words, trim_open_ending
from .signal import TARGET_RATE


class RecognizerError(RuntimeError):
    """A backend is missing, its model cannot be loaded, or it was given bad settings."""


@dataclass(frozen=True)
class Recognition:
    """What a backend heard. ``text`` is empty when nothing was heard; ``rejected`` says the
    speech was heard as out of the grammar (filler), so it must come out as not understood."""

    text: str
    confidence: float
    backend: str
    rejected: bool = False
    decode_ms: float = 0.0


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


class PocketSphinxRecognizer:
    """CMU PocketSphinx with its shipped US-English model, constrained by the command grammar
    (:mod:`mm_robot.audio.grammar`). ``command_weight`` weighs commands against the filler loop."""

    name = "pocketsphinx"
    streaming = True

    def __init__(self, lexicon: str = "core", command_weight: float = 100.0, dither: bool = True,
                 beam: float = 1e-48) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise RecognizerError("pocketsphinx is not installed (pip install pocketsphinx)") from None
        if lexicon not in LEXICONS:
            raise RecognizerError(f"lexicon must be one of {LEXICONS}, not {lexicon!r}")
        # Dither: digital silence (synthetic or muted input) has log(0) energies that derail the
        # front end; a least-significant-bit of noise costs nothing on real microphones.
        # The default beams: narrower ones (1e-20) decode faster but often lose every path to the
        # grammar's final state and hear nothing (docs/hearing.md).
        settings = dict(loglevel="FATAL", dither=dither, samprate=TARGET_RATE, beam=beam, pbeam=beam)
        # Two decoders on the same grammar: one follows the utterance as it is spoken (its running
        # hypothesis is where a stop word is spotted early), the other decodes the whole utterance
        # once it has ended, with the cepstral mean of that utterance ("batch" normalisation):
        # the running decoder's live mean hears far worse in noise (docs/hearing.md).
        self._decoder = Decoder(**settings)
        self._batch = Decoder(**settings)
        dictionary = Path(self._decoder.config["dict"])
        words = _dictionary_words(dictionary)
        self.grammar = command_grammar(words.__contains__, lexicon, command_weight)
        for decoder in (self._decoder, self._batch):
            decoder.add_jsgf_string("commands", self.grammar.encode("utf-8"))
            decoder.activate_search("commands")
        self._fillers = filler_words()
        self._active = False
        self._decode_s = 0.0
        self._audio: list[bytes] = []

    def start(self) -> None:
        if self._active:
            self._decoder.end_utt()
        self._decoder.start_utt()
        self._active, self._decode_s, self._audio = True, 0.0, []

    def feed(self, samples: np.ndarray) -> None:
        """Decode more of the utterance (16 kHz mono float32)."""
        if not self._active:
            self.start()
        begin = time.perf_counter()
        pcm = _pcm16(samples)
        self._audio.append(pcm)
        self._decoder.process_raw(pcm, no_search=False, full_utt=False)
        self._decode_s += time.perf_counter() - begin

    def partial(self) -> str:
        """The best hypothesis so far (may change as more audio arrives)."""
        hyp = self._decoder.hyp() if self._active else None
        return hyp.hypstr if hyp is not None else ""

    def finish(self) -> Recognition:
        begin = time.perf_counter()
        if not self._active:
            self.start()
        self._decoder.end_utt()
        self._active = False
        self._batch.start_utt()
        self._batch.process_raw(b"".join(self._audio), no_search=False, full_utt=True)
        self._batch.end_utt()
        self._audio = []
        hyp = self._batch.hyp()
        text = trim_open_ending(hyp.hypstr.strip()) if hyp is not None else ""
        self._decode_s += time.perf_counter() - begin
        words = text.split()
        rejected = not words or any(w in self._fillers for w in words)
        # hyp.prob is the posterior of the best path in the lattice (1 when nothing competes).
        confidence = 0.0 if rejected else float(min(1.0, max(0.0, hyp.prob))) if hyp is not None else 0.0
        return Recognition("" if rejected else text, confidence, self.name, rejected and bool(words),
                           1000.0 * self._decode_s)

    def recognise(self, samples: np.ndarray) -> Recognition:
        self.start()
        self.feed(samples)
        return self.finish()


def _dictionary_words(path: Path) -> frozenset[str]:
    words = set()
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.strip():
                words.add(line.split(maxsplit=1)[0].split("(")[0])
    return frozenset(words)


class WhisperRecognizer:
    """OpenAI Whisper through transformers, from a hub name or a local directory. Offline unless
    ``allow_download`` (R21): without the weights on disk it fails at configure time, naming them."""

    name = "whisper"
    streaming = False

    def __init__(self, model: str = "openai/whisper-tiny.en", allow_download: bool = False,
                 num_threads: int = 1, max_new_tokens: int = 32) -> None:
        try:
            import torch
            from transformers import WhisperForConditionalGeneration, WhisperProcessor
        except ImportError as error:
            raise RecognizerError(f"the whisper backend needs torch and transformers: {error}") from None
        torch.set_num_threads(max(1, num_threads))
        local_only = not allow_download or Path(model).is_dir()
        try:
            self.processor = WhisperProcessor.from_pretrained(model, local_files_only=local_only)
            self.model = WhisperForConditionalGeneration.from_pretrained(model, local_files_only=local_only).eval()
        except (OSError, ValueError) as error:
            raise RecognizerError(f"cannot load Whisper model {model!r} "
                                  f"({'offline' if local_only else 'download allowed'}): {error}") from None
        self._torch, self.max_new_tokens = torch, max_new_tokens
        self._buffer: list[np.ndarray] = []

    def start(self) -> None:
        self._buffer = []

    def feed(self, samples: np.ndarray) -> None:
        self._buffer.append(np.asarray(samples, dtype=np.float32))

    def partial(self) -> str:
        return ""  # Whisper decodes whole utterances only

    def finish(self) -> Recognition:
        samples = np.concatenate(self._buffer) if self._buffer else np.zeros(0, np.float32)
        self._buffer = []
        return self.recognise(samples)

    def recognise(self, samples: np.ndarray) -> Recognition:
        begin = time.perf_counter()
        features = self.processor(np.asarray(samples, dtype=np.float32), sampling_rate=TARGET_RATE,
                                  return_tensors="pt").input_features  # (1, n_mels, 3000)
        with self._torch.no_grad():
            out = self.model.generate(features, max_new_tokens=self.max_new_tokens, output_scores=True,
                                      return_dict_in_generate=True)
        text = self.processor.batch_decode(out.sequences, skip_special_tokens=True)[0].strip()
        # Confidence: the mean probability of the chosen tokens.
        probs = [float(self._torch.softmax(score[0], -1).max()) for score in out.scores] if out.scores else []
        confidence = float(np.mean(probs)) if probs else 0.0
        return Recognition(text, confidence, self.name, False, 1000.0 * (time.perf_counter() - begin))


RECOGNIZERS: dict[str, Callable[..., object]] = {
    "pocketsphinx": PocketSphinxRecognizer,
    "whisper": WhisperRecognizer,
}


def make_recognizer(name: str, **options) -> "PocketSphinxRecognizer | WhisperRecognizer":
    """The backend ``name`` of :data:`RECOGNIZERS`, built with ``options``; RecognizerError if unknown."""
    factory: Optional[Callable[..., object]] = RECOGNIZERS.get(name)
    if factory is None:
        raise RecognizerError(f"unknown speech backend {name!r}; one of {', '.join(RECOGNIZERS)}")
    return factory(**options)
