"""Hearing, end to end and ROS-free: audio chunks in, transcripts and commands out.

    listener = Listener(HearingConfig())
    for event in listener.accept(samples, rate, stamp):   # (frames, channels) float32 in [-1, 1]
        ...   # Transcript (each utterance) or SpokenStop (a stop word, heard mid-utterance)

Each chunk is measured (level, clipping, silence), mixed to mono, resampled to 16 kHz, cut into
32 ms frames for silero-vad, and every frame of an utterance goes to the recogniser as it
arrives, so the end of speech leaves one chunk to decode. A stop word in the running hypothesis
is reported at once (convention 12), before the utterance ends. A transcript is a command only
when the recogniser did not reject it as out of grammar, the command language understands it
and its confidence reaches ``min_confidence``; anything else is reported, never acted on (R8).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np

from ..core.config import setting
from ..core.language import is_stop, understand
from .recognizers import RECOGNIZERS, Recognition, make_recognizer
from .signal import TARGET_RATE, Level, StreamResampler, measure, to_mono
from .vad import FRAME, Segmenter, SileroVad, VadSettings


@dataclass(frozen=True)
class HearingConfig:
    """speech_node's hearing settings (the node declares them as parameters)."""

    backend: str = setting("pocketsphinx", "Speech recogniser.", choices=tuple(RECOGNIZERS), read_only=True)
    lexicon: str = setting("core", "pocketsphinx grammar words: core (world colours, shapes, synonyms), "
                           "extended (+ the extra words), full (+ colour-survey and WordNet names).",
                           choices=("core", "extended", "full"), read_only=True)
    command_weight: float = setting(100.0, "pocketsphinx: weight of commands against the out-of-grammar filler "
                                    "loop (higher: fewer rejections, more false commands).", low=0.01,
                                    high=1000.0, read_only=True)
    whisper_model: str = setting("openai/whisper-tiny.en", "whisper backend: hub name or local directory.",
                                 read_only=True)
    allow_model_download: bool = setting(False, "whisper backend: may download weights (else offline only).",
                                         read_only=True)
    min_confidence: float = setting(0.6, "A transcript becomes a command at this confidence or above.",
                                    low=0.0, high=1.0)
    vad_threshold: float = setting(0.5, "silero-vad speech probability that starts an utterance.",
                                   low=0.05, high=0.99, read_only=True)
    end_silence_ms: float = setting(192.0, "Silence that ends an utterance (ms).", low=32.0, high=2000.0,
                                    read_only=True)
    floor_margin_db: float = setting(6.0, "A frame is speech only this far above the background's level (dB; "
                                     "the quietest frame of the last 1.5 s); 0 = the VAD alone.", low=0.0,
                                     high=30.0, read_only=True)
    max_utterance_s: float = setting(8.0, "Longest utterance (s); longer speech is cut there.", low=1.0,
                                     high=30.0, read_only=True)
    spot_stop_words: bool = setting(True, "Publish a stop as soon as the running hypothesis holds a stop word.")


@dataclass(frozen=True)
class Transcript:
    """One utterance: what was heard and what it means. Stamps are the audio's (s); ``latency_ms``
    is the processing time from the end of the utterance's last chunk to this result."""

    text: str
    confidence: float
    start: float
    end: float
    latency_ms: float
    backend: str
    kind: str  # "goto", "stop" or "not_understood"
    reason: str
    command: Optional[str] = None  # the text published on ``command``, when it is one

    def to_json(self) -> dict:
        return {"text": self.text, "confidence": round(self.confidence, 4), "start": self.start, "end": self.end,
                "latency_ms": round(self.latency_ms, 2), "backend": self.backend, "kind": self.kind,
                "reason": self.reason, "command": self.command}


@dataclass(frozen=True)
class SpokenStop:
    """A stop word heard in the running hypothesis, before the end of the utterance."""

    text: str
    stamp: float  # audio time of the chunk in which it was heard
    latency_ms: float


Event = Union[Transcript, SpokenStop]


@dataclass
class HearingStats:
    """Counters for /diagnostics."""

    chunks: int = 0
    silent_chunks: int = 0
    clipped_chunks: int = 0
    utterances: int = 0
    commands: int = 0
    stops_spotted: int = 0
    rejections: int = 0  # out-of-grammar or not understood
    low_confidence: int = 0
    bursts_dropped: int = 0
    last_level: Optional[Level] = None
    reasons: Counter = field(default_factory=Counter)


class Listener:
    """The streaming pipeline (see the module docstring). Not thread-safe: one caller."""

    def __init__(self, config: HearingConfig = HearingConfig(), recognizer=None, vad: Optional[SileroVad] = None):
        self.config = config
        self.recognizer = recognizer or _recognizer_for(config)
        self.vad = vad or SileroVad()
        self.segmenter = Segmenter(VadSettings(start_threshold=config.vad_threshold,
                                               end_threshold=max(0.05, config.vad_threshold - 0.15),
                                               end_silence_ms=config.end_silence_ms,
                                               floor_margin_db=config.floor_margin_db,
                                               max_utterance_s=config.max_utterance_s))
        self.stats = HearingStats()
        self._resampler: Optional[StreamResampler] = None
        self._pending = np.zeros(0, np.float32)  # 16 kHz samples not yet a whole VAD frame
        self._clock = 0.0  # audio time (s) of the first pending sample
        self._start = 0.0
        self._stop_sent = self._stop_seen = False

    def reset(self) -> None:
        """Forget the stream (a new source, or between evaluation trials); counters are kept."""
        self.vad.reset()
        self.segmenter = Segmenter(self.segmenter.settings)
        self._resampler, self._pending, self._stop_sent = None, np.zeros(0, np.float32), False
        if getattr(self.recognizer, "streaming", False):
            self.recognizer.start()

    def accept(self, samples: np.ndarray, rate: int, stamp: float) -> list[Event]:
        """One validated chunk, (frames, channels) float32, first frame captured at ``stamp``."""
        self.stats.chunks += 1
        level = measure(samples)
        self.stats.last_level = level
        self.stats.silent_chunks += level.silent
        self.stats.clipped_chunks += level.clipped
        if self._resampler is None or self._resampler.rate != rate:
            self._resampler = StreamResampler(rate, TARGET_RATE)
            self._pending = np.zeros(0, np.float32)
        if self._pending.size == 0:
            self._clock = stamp
        self._pending = np.concatenate([self._pending, self._resampler.process(to_mono(samples))])
        begin = time.perf_counter()
        events: list[Event] = []
        speech: list[np.ndarray] = []
        while self._pending.size >= FRAME:
            frame, self._pending = self._pending[:FRAME], self._pending[FRAME:]
            frame_time, self._clock = self._clock, self._clock + FRAME / TARGET_RATE
            step = self.segmenter.push(frame, self.vad(frame))
            if step is None:
                continue
            kind, frames = step
            if kind == "start":
                self._start_utterance(frame_time - (len(frames) - 1) * FRAME / TARGET_RATE)
            speech += frames
            if kind in ("end", "drop"):  # a chunk may end one utterance and start the next
                self._feed(speech)
                speech = []
                transcript = self._finish(kind, frame_time + FRAME / TARGET_RATE, begin)
                if transcript is not None:
                    events.append(transcript)
        if speech:
            self._feed(speech)
            stop = self._spot_stop(stamp, begin)
            if stop is not None:
                events.append(stop)
        return events

    def _start_utterance(self, start: float) -> None:
        self.recognizer.start()
        self._start, self._stop_sent, self._stop_seen = start, False, False

    def _feed(self, frames: list[np.ndarray]) -> None:
        if frames:
            self.recognizer.feed(np.concatenate(frames))

    def _spot_stop(self, stamp: float, begin: float) -> Optional[SpokenStop]:
        if not self.config.spot_stop_words or self._stop_sent or not getattr(self.recognizer, "streaming", False):
            return None
        partial = self.recognizer.partial()
        heard = bool(partial) and is_stop(partial)
        # A running hypothesis flickers ("look" is briefly "stay"): the stop word must hold over
        # two consecutive chunks. The end of the utterance still catches a stop this misses.
        self._stop_seen, confirmed = heard, heard and self._stop_seen
        if confirmed:
            self._stop_sent = True
            self.stats.stops_spotted += 1
            return SpokenStop(partial, stamp, 1000.0 * (time.perf_counter() - begin))
        return None

    def _finish(self, kind: str, end: float, begin: float) -> Optional[Transcript]:
        recognition = self.recognizer.finish()
        if kind == "drop":
            self.stats.bursts_dropped += 1
            return None
        self.stats.utterances += 1
        transcript = self.decide(recognition, self._start, end, 1000.0 * (time.perf_counter() - begin))
        if transcript.command is None and transcript.kind != "stop":
            self.stats.rejections += 1
        elif transcript.command is not None:
            self.stats.commands += 1
        self.stats.reasons[transcript.reason] += 1
        return transcript

    def decide(self, recognition: Recognition, start: float, end: float, latency_ms: float) -> Transcript:
        """What an utterance's recognition means, and whether it becomes a command."""
        base = dict(text=recognition.text, start=start, end=end, latency_ms=latency_ms,
                    backend=recognition.backend)
        if recognition.rejected or not recognition.text:
            reason = "out of grammar" if recognition.rejected else "nothing recognised"
            return Transcript(confidence=0.0, kind="not_understood", reason=reason, **base)
        reading = understand(recognition.text)
        confidence = reading.confidence * (recognition.confidence if recognition.backend != "pocketsphinx" else 1.0)
        if not reading.understood:
            return Transcript(confidence=confidence, kind="not_understood", reason=reading.reason, **base)
        if reading.kind == "stop":
            already = self._stop_sent
            return Transcript(confidence=confidence, kind="stop",
                              reason="stop word (already sent)" if already else "stop word",
                              command=None if already else recognition.text, **base)
        if confidence < self.config.min_confidence:
            self.stats.low_confidence += 1
            return Transcript(confidence=confidence, kind=reading.kind, reason="low confidence", **base)
        return Transcript(confidence=confidence, kind=reading.kind, reason=reading.reason,
                          command=recognition.text, **base)


def _recognizer_for(config: HearingConfig):
    if config.backend == "pocketsphinx":
        return make_recognizer("pocketsphinx", lexicon=config.lexicon, command_weight=config.command_weight)
    return make_recognizer(config.backend, model=config.whisper_model,
                           allow_download=config.allow_model_download)
