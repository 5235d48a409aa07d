"""Voice activity detection: silero-vad (its ONNX weights ship in the ``silero-vad`` PyPI package),
run with ONNX Runtime on 32 ms frames, and a segmenter that turns frame probabilities into
utterances with hysteresis.

    vad = SileroVad()
    probability = vad(frame_512)          # (512,) float32 at 16 kHz -> P(speech)

The package's own loader imports torch; this one reads the same ``.onnx`` file without it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .signal import TARGET_RATE

FRAME = 512  # samples per VAD frame at 16 kHz (32 ms): what the model takes
CONTEXT = 64  # samples of the previous frame the model sees before each frame


class VadError(RuntimeError):
    """silero-vad or onnxruntime is missing, or the model file cannot be loaded."""


def silero_model_path() -> Path:
    """The ONNX model inside the installed silero-vad package (found without importing it: its
    ``__init__`` imports torch)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise VadError("silero-vad is not installed (pip install silero-vad)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "silero_vad.onnx"
    if not path.is_file():
        raise VadError(f"silero-vad's model is missing at {path}")
    return path


class SileroVad:
    """Streaming silero-vad: call with consecutive 512-sample frames; :meth:`reset` between streams."""

    def __init__(self, path: Optional[Path] = None, threads: int = 1) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise VadError("onnxruntime is not installed") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = max(1, threads)
        try:
            self._session = onnxruntime.InferenceSession(str(path or silero_model_path()), options,
                                                         providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise VadError(f"cannot load silero-vad: {error}") from None
        self._rate = np.array(TARGET_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, CONTEXT), dtype=np.float32)

    def __call__(self, frame: np.ndarray) -> float:
        frame = np.asarray(frame, dtype=np.float32).reshape(1, FRAME)
        x = np.concatenate([self._context, frame], axis=1)  # (1, CONTEXT + FRAME)
        out, self._state = self._session.run(None, {"input": x, "state": self._state, "sr": self._rate})
        self._context = x[:, -CONTEXT:]
        return float(out[0, 0])


@dataclass(frozen=True)
class VadSettings:
    """Hysteresis of the segmenter, in probabilities and milliseconds."""

    start_threshold: float = 0.5  # P(speech) that opens an utterance
    end_threshold: float = 0.35  # P(speech) below which silence is counted
    min_speech_ms: float = 96.0  # shorter bursts (clicks) are dropped
    end_silence_ms: float = 192.0  # this much silence ends an utterance
    pre_roll_ms: float = 192.0  # audio kept from before the start (the first phoneme's onset)
    max_utterance_s: float = 8.0  # an utterance is cut here (bounded buffers, convention 11)
    # A frame is speech only when it is also this far above the background's level (the quietest
    # frame of the last ``floor_window_s``): silero-vad takes babble for speech, and without the
    # gate an utterance in a babbling room never ends.
    floor_margin_db: float = 6.0
    floor_window_s: float = 1.5


class NoiseFloor:
    """The background's level: the quietest frame (dB RMS) of a sliding window (minimum statistics)."""

    def __init__(self, frames: int) -> None:
        self._levels: list[float] = []
        self._frames = max(1, frames)

    def update(self, level_db: float) -> float:
        self._levels = (self._levels + [level_db])[-self._frames:]
        return min(self._levels)


class Segmenter:
    """Frame probabilities (gated by the level above the background) -> utterance events.
    :meth:`push` takes one frame and its probability and returns ``("start", pre_roll_frames)``,
    ``("speech", [frame])``, ``("end", [frame])``, ``("drop", [frame])`` (a burst too short to be
    speech) or None (silence)."""

    def __init__(self, settings: VadSettings = VadSettings()) -> None:
        ms = 1000.0 * FRAME / TARGET_RATE
        self.settings = settings
        self._min_frames = max(1, round(settings.min_speech_ms / ms))
        self._end_frames = max(1, round(settings.end_silence_ms / ms))
        self._pre_frames = max(0, round(settings.pre_roll_ms / ms))
        self._max_frames = max(1, round(settings.max_utterance_s * 1000.0 / ms))
        self._floor = NoiseFloor(round(settings.floor_window_s * 1000.0 / ms))
        self._pre: list[np.ndarray] = []
        self.active = False
        self._speech = self._silence = self._length = 0

    def push(self, frame: np.ndarray, probability: float) -> Optional[tuple[str, list[np.ndarray]]]:
        s = self.settings
        level = 20.0 * np.log10(max(float(np.sqrt(np.mean(np.square(frame, dtype=np.float64)))), 1e-6))
        if level < self._floor.update(level) + s.floor_margin_db:
            probability = min(probability, 0.0)  # no louder than the background: not the talker
        if not self.active:
            self._pre = (self._pre + [frame])[-(self._pre_frames + 1):]
            if probability >= s.start_threshold:
                self.active, self._speech, self._silence, self._length = True, 1, 0, len(self._pre)
                return "start", list(self._pre)
            return None
        self._length += 1
        if probability < s.end_threshold:
            self._silence += 1
        else:
            self._silence, self._speech = 0, self._speech + 1
        if self._silence >= self._end_frames or self._length >= self._max_frames:
            self.active, self._pre = False, []
            return ("end" if self._speech >= self._min_frames else "drop"), [frame]
        return "speech", [frame]

    @property
    def trailing_silence_frames(self) -> int:
        return self._silence
