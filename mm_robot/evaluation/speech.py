"""``mm-robot evaluate-speech``: how well the hearing pipeline understands spoken commands.

Utterances of the command language (go commands over the world's colours and shapes in the
phrasing templates' wording, sound-referent commands, stop words) are synthesised with espeak-ng
(``sim.voice``) in several voices, speeds and pitches, and mixed with white noise or babble
(``sim.emitters``) at each SNR. Each mixture streams through the real :class:`Listener` (VAD,
streaming recognition, the command language) in 100 ms chunks, as a microphone would deliver it.

* exact command: the transcript reads as the same command as the reference (``understand``: same
  kind, world colour, shape and sound referent); a reference stop must give a stop;
* word error rate of the transcript against the reference;
* rejection: no command came out (not understood, out of grammar, low confidence, or nothing);
* latency: end of speech (the last speech sample) -> command, counting the VAD's end silence and
  the processing of the chunk that completes it, on one core;
* noise only: minutes of noise and babble without a command; every command is a false one.

The voices used to tune the recogniser (``TUNING_VOICES``) are kept out of the measured set.
Writes speech_eval.json and speech_eval.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..core.language import understand
from ..core.vocabulary import COLOURS, SHAPES

# Voices the grammar weights were tuned on: never in the measured set.
TUNING_VOICES = ("en-us", "en-gb")
EVAL_VOICES = ("en-us+m3", "en-us+f3", "en-gb-x-rp", "en-gb-scotland", "en-029", "en+f2")
SPEEDS = (140, 160, 185)
PITCHES = (35, 50, 70)
SNRS = (20.0, 10.0, 5.0)
NOISES = ("white", "babble")
CHUNK_S = 0.1
VERBS = ("go to", "find", "drive to", "move towards", "approach", "navigate to", "head to", "look for",
         "please go to", "can you find")
SOUND_COMMANDS = ("go to the beeping one", "go to the one you hear", "find the one that is making a sound",
                  "go to the humming one", "find the red ball that is beeping", "look for the one you hear")
STOP_COMMANDS = ("stop", "halt", "please stop", "stop now", "freeze", "wait")


def utterances(count: int, seed: int = 0) -> list[str]:
    """``count`` command texts: mostly go commands (verb, colour, shape), a tenth sound commands,
    a tenth stops; deterministic for a seed."""
    rng = np.random.default_rng([seed, 0x5EEC])
    colours, shapes = sorted(COLOURS), sorted(SHAPES)
    out = []
    for i in range(count):
        roll = i % 10
        if roll == 8:
            out.append(SOUND_COMMANDS[int(rng.integers(len(SOUND_COMMANDS)))])
        elif roll == 9:
            out.append(STOP_COMMANDS[int(rng.integers(len(STOP_COMMANDS)))])
        else:
            verb = VERBS[int(rng.integers(len(VERBS)))]
            colour = colours[int(rng.integers(len(colours)))]
            shape = shapes[int(rng.integers(len(shapes)))]
            out.append(f"{verb} the {colour} {shape}")
    return out


def same_command(reference: str, heard: Optional[str]) -> bool:
    """Does ``heard`` (the published command, or None) ask for what ``reference`` asks for?"""
    if heard is None:
        return False
    want, got = understand(reference), understand(heard)
    return (want.kind == got.kind and want.colour == got.colour and want.shape == got.shape
            and want.sound == got.sound)


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length)."""
    ref, hyp = reference.lower().split(), hypothesis.lower().split()
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)], len(ref)


@dataclass
class Trial:
    reference: str
    voice: str
    speed: int
    pitch: int
    noise: str
    snr_db: float
    heard: str
    command: Optional[str]
    exact: bool
    errors: int
    words: int
    latency_ms: Optional[float]


def _noise_bed(kind: str, seed: int) -> np.ndarray:
    from ..sim.emitters import babble_bed, white_bed
    bed = white_bed(seed) if kind == "white" else babble_bed(seed, 4, 0.16)
    return bed[:, 0].astype(np.float32)  # (frames,) RMS about 1


def _mix(speech: np.ndarray, bed: np.ndarray, snr_db: float, offset: int, lead_s: float = 0.6,
         tail_s: float = 0.8, rate: int = 16000) -> tuple[np.ndarray, float]:
    """Speech placed after ``lead_s`` s in noise at ``snr_db`` (speech RMS over its active part);
    returns (mixture, time of the last speech sample)."""
    active = np.abs(speech) > 0.02 * np.abs(speech).max()
    last = int(np.nonzero(active)[0][-1]) if active.any() else speech.size - 1
    speech_rms = float(np.sqrt(np.mean(speech[active] ** 2))) if active.any() else 1e-3
    lead, tail = int(lead_s * rate), int(tail_s * rate)
    total = lead + speech.size + tail
    rows = (offset + np.arange(total)) % bed.size
    mixture = bed[rows] * speech_rms / 10 ** (snr_db / 20.0)
    mixture[lead:lead + speech.size] += speech
    return np.clip(mixture, -1, 1).astype(np.float32), (lead + last + 1) / rate


def run_stream(listener, audio: np.ndarray, rate: int = 16000) -> list[tuple[float, object]]:
    """Stream ``audio`` in ``CHUNK_S`` chunks as a live microphone would: each chunk arrives when
    its last sample has been captured and is processed once the previous one is done (a slow
    recogniser builds a backlog). Returns (stream time at which the event was ready, event)."""
    step = int(CHUNK_S * rate)
    out, done = [], 0.0
    for at in range(0, audio.size, step):
        chunk = audio[at:at + step]
        arrival = (at + chunk.size) / rate
        begin = time.perf_counter()
        events = listener.accept(chunk[:, None], rate, at / rate)
        done = max(done, arrival) + (time.perf_counter() - begin)
        out += [(done, event) for event in events]
    return out


def trial(listener, text: str, voice: str, speed: int, pitch: int, noise: str, snr_db: float,
          bed: np.ndarray, offset: int) -> Trial:
    from ..audio.listener import SpokenStop, Transcript
    from ..sim.voice import synthesise
    audio, speech_end = _mix(np.asarray(synthesise(text, voice, speed, pitch), np.float32), bed, snr_db, offset)
    listener.reset()
    events = run_stream(listener, audio)
    heard = " | ".join(e.text for _, e in events if isinstance(e, Transcript))
    commands = [(t, "stop" if isinstance(e, SpokenStop) else e.command) for t, e in events
                if isinstance(e, SpokenStop) or e.command is not None]
    command = commands[0][1] if commands else None
    latency = commands[0][0] - speech_end if commands else None
    errors, words = word_errors(text, heard.replace("|", " "))
    return Trial(text, voice, speed, pitch, noise, snr_db, heard, command, same_command(text, command), errors,
                 words, 1000.0 * latency if latency is not None else None)


def _percentile(values: Sequence[float], q: float) -> Optional[float]:
    return float(np.percentile(values, q)) if len(values) else None


def summarise(trials: Sequence[Trial]) -> dict:
    """Per (noise, SNR) and overall: exact-command accuracy, WER, rejection rate, latency."""
    groups: dict[str, list[Trial]] = {}
    for t in trials:
        groups.setdefault(f"{t.noise}@{t.snr_db:g}dB", []).append(t)
        groups.setdefault(f"all@{t.snr_db:g}dB", []).append(t)
    out = {}
    for key, group in sorted(groups.items()):
        latencies = [t.latency_ms for t in group if t.latency_ms is not None and t.exact]
        out[key] = {
            "utterances": len(group),
            "exact": sum(t.exact for t in group) / len(group),
            "wer": sum(t.errors for t in group) / max(1, sum(t.words for t in group)),
            "rejected": sum(t.command is None for t in group) / len(group),
            "wrong_command": sum(t.command is not None and not t.exact for t in group) / len(group),
            "latency_ms_median": _percentile(latencies, 50), "latency_ms_p90": _percentile(latencies, 90),
        }
    return out


def noise_only(listener, minutes: float, seed: int = 1) -> dict:
    """Stream ``minutes`` of noise and babble (half each, at speech-like levels) with no command;
    every command that comes out is a false one."""
    result = {}
    for kind in NOISES:
        bed = _noise_bed(kind, seed) * 0.05  # about -26 dBFS RMS: a talker's level at the robot
        total = int(minutes / len(NOISES) * 60 * 16000)
        listener.reset()
        audio = bed[np.arange(total) % bed.size]
        events = run_stream(listener, audio)
        false = [e for _, e in events if getattr(e, "command", None) is not None or type(e).__name__ == "SpokenStop"]
        result[kind] = {"minutes": total / 16000 / 60, "false_commands": len(false),
                        "per_hour": len(false) / (total / 16000 / 3600),
                        "examples": [getattr(e, "command", None) or e.text for e in false[:10]]}
    return result


def evaluate_speech(count: int = 240, snrs: Sequence[float] = SNRS, voices: Sequence[str] = EVAL_VOICES,
                    noise_minutes: float = 10.0, config=None, seed: int = 0, log=print) -> dict:
    """Run the evaluation (module docstring); returns the report dictionary."""
    from ..audio.listener import HearingConfig, Listener
    listener = Listener(config or HearingConfig())
    rng = np.random.default_rng([seed, 0xE7A1])
    beds = {kind: _noise_bed(kind, seed) for kind in NOISES}
    texts = utterances(count, seed)
    trials = []
    begin = time.perf_counter()
    for i, text in enumerate(texts):
        voice = voices[i % len(voices)]
        speed, pitch = int(rng.choice(SPEEDS)), int(rng.choice(PITCHES))
        for snr in snrs:
            noise = NOISES[(i + int(snr)) % len(NOISES)]
            offset = int(rng.integers(beds[noise].size))
            trials.append(trial(listener, text, voice, speed, pitch, noise, snr, beds[noise], offset))
        if log and (i + 1) % 20 == 0:
            log(f"{i + 1}/{len(texts)} utterances, {time.perf_counter() - begin:.0f} s")
    report = {"config": {"utterances": len(texts), "voices": list(voices), "tuning_voices": list(TUNING_VOICES),
                         "speeds": list(SPEEDS), "pitches": list(PITCHES), "snr_db": list(snrs),
                         "noises": list(NOISES), "chunk_s": CHUNK_S, "threads": 1,
                         "hearing": {k: v for k, v in vars(listener.config).items()}},
              "summary": summarise(trials),
              "noise_only": noise_only(listener, noise_minutes) if noise_minutes > 0 else None,
              "trials": [vars(t) for t in trials]}
    return report


def markdown(report: dict) -> str:
    cfg = report["config"]
    lines = ["# Speech evaluation\n",
             f"{cfg['utterances']} utterances x {len(cfg['snr_db'])} SNRs; voices {', '.join(cfg['voices'])} "
             f"(tuned on {', '.join(cfg['tuning_voices'])}, held out here); speeds {cfg['speeds']}, pitches "
             f"{cfg['pitches']}; backend {cfg['hearing']['backend']}, lexicon {cfg['hearing']['lexicon']}.\n",
             "| condition | utterances | exact command | WER | rejected | wrong command | latency median / p90 (ms) |",
             "|---|---|---|---|---|---|---|"]
    for key, s in report["summary"].items():
        lat = (f"{s['latency_ms_median']:.0f} / {s['latency_ms_p90']:.0f}" if s["latency_ms_median"] is not None
               else "-")
        lines.append(f"| {key} | {s['utterances']} | {s['exact']:.1%} | {s['wer']:.1%} | {s['rejected']:.1%} | "
                     f"{s['wrong_command']:.1%} | {lat} |")
    if report.get("noise_only"):
        lines += ["", "| noise only | minutes | false commands | per hour |", "|---|---|---|---|"]
        for kind, n in report["noise_only"].items():
            lines.append(f"| {kind} | {n['minutes']:.1f} | {n['false_commands']} | {n['per_hour']:.1f} |")
    return "\n".join(lines) + "\n"


def evaluate_speech_main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="mm-robot evaluate-speech", description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=240)
    parser.add_argument("--snr", default=",".join(f"{s:g}" for s in SNRS), help="comma-separated SNRs (dB)")
    parser.add_argument("--voices", default=",".join(EVAL_VOICES), help="espeak-ng voices (held out)")
    parser.add_argument("--noise-minutes", type=float, default=10.0, help="noise-only run length (0: skip)")
    parser.add_argument("--lexicon", default="core", choices=("core", "extended", "full"))
    parser.add_argument("--command-weight", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/speech")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # the one-core latency target
    from ..audio.listener import HearingConfig
    config = HearingConfig(lexicon=args.lexicon, **({"command_weight": args.command_weight}
                                                     if args.command_weight is not None else {}))
    report = evaluate_speech(args.utterances, [float(s) for s in args.snr.split(",")], args.voices.split(","),
                             args.noise_minutes, config, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speech_eval.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "speech_eval.md").write_text(markdown(report))
    print(markdown(report))
    print(f"wrote {out / 'speech_eval.json'} and {out / 'speech_eval.md'}")
    return 0
