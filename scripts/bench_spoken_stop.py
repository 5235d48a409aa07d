#!/usr/bin/env python3
"""Spoken "stop" -> zero cmd_vel on the live graph (issue 15's latency target; numbers for docs/hearing.md).

One graph (safety controller, synthetic camera with a red ball, fusion policy, speech_node); a
probe plays a live microphone on audio/raw (48 kHz stereo, 0.1 s chunks in real time, quiet noise
between utterances). Each trial types "go to the red ball", waits for motion, then speaks a stop
word (espeak-ng; voices the recogniser was not tuned on, several speeds and pitches) and measures
from the end of the spoken word (the last speech sample's time on the probe's clock) to the first
zero cmd_vel. A negative delay: the stop was spotted before the word ended. A trial whose stop is
never heard (no zero within 3 s) is counted as missed, not timed. Reports p50/p90/p99/max with the
single-core matmul peak and copy bandwidth measured in the same run.

    python scripts/bench_spoken_stop.py --trials 30 --out runs/bench_spoken_stop
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(random.randrange(100, 200)))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_safety import machine_bounds, summarise  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from mm_robot.bringup.graph import NodeSpec  # noqa: E402
from mm_robot.core.records import AudioChunk  # noqa: E402
from mm_robot.evaluation.speech import EVAL_VOICES, PITCHES, SPEEDS  # noqa: E402
from mm_robot.ros import qos  # noqa: E402
from mm_robot.ros.conversions import audio_info_json, chunk_to_audio  # noqa: E402
from mm_robot.ros.probe import Probe, start_graph  # noqa: E402
from mm_robot.sim import voice  # noqa: E402

RATE = 48000
CHUNK = 4800  # 0.1 s
STOP_WORDS = ("stop", "halt", "freeze")
SPECS = [NodeSpec("safety_controller_node", "safety_controller_node"),
         NodeSpec("camera_node", "camera_node", {"synthetic_scene": "red ball 3.0 0.5", "synthetic_drive": False}),
         NodeSpec("speech_node", "speech_node", {}),
         NodeSpec("fusion_node", "fusion_node", {"policy": "fusion", "use_audio": False})]


class Microphone:
    """Plays queued clips on audio/raw in real time, quiet noise in between; records when the last
    sample of each clip was played (monotonic clock)."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.pub = probe.node.create_publisher(Image, "audio/raw", qos.SENSOR_PUB)
        info = probe.node.create_publisher(String, "audio/info", qos.LATCHED)
        info.publish(String(data=audio_info_json(RATE, 2, "f32", CHUNK, "microphone")))
        self.clips: queue.Queue = queue.Queue()
        self.ended: queue.Queue = queue.Queue()
        self.rng = np.random.default_rng(0)
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def say(self, clip: np.ndarray) -> float:
        """Play ``clip`` (mono, RATE); returns when its last sample was played."""
        self.clips.put(clip)
        return self.ended.get(timeout=30.0)

    def _run(self) -> None:
        pending = np.zeros(0, np.float32)
        marks: list[int] = []  # sample index (in pending) where a clip ends
        tick = time.monotonic()
        while self.running:
            if not self.clips.empty():
                clip = self.clips.get()
                pending = np.concatenate([pending, clip.astype(np.float32)])
                marks.append(pending.size)
            if pending.size < CHUNK:
                pending = np.concatenate([pending, np.zeros(CHUNK - pending.size, np.float32)])
            chunk, pending = pending[:CHUNK], pending[CHUNK:]
            chunk = chunk + 0.003 * self.rng.standard_normal(CHUNK).astype(np.float32)
            tick += CHUNK / RATE
            time.sleep(max(0.0, tick - time.monotonic()))  # the chunk's audio has now "happened"
            now = time.monotonic()
            stamp = self.probe.node.get_clock().now().nanoseconds * 1e-9
            self.pub.publish(chunk_to_audio(AudioChunk(np.stack([chunk, chunk], axis=1), RATE, stamp,
                                                       "microphone")))
            for mark in marks:
                if mark <= CHUNK:
                    self.ended.put(now - (CHUNK - mark) / RATE)  # the clip's last sample, in the past
            marks = [m - CHUNK for m in marks if m > CHUNK]

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=2.0)


def speech_end(clip: np.ndarray, threshold: float = 0.02) -> int:
    """Index just after the last sample of ``clip`` louder than ``threshold`` (espeak pads with silence)."""
    loud = np.nonzero(np.abs(clip) > threshold)[0]
    return int(loud[-1]) + 1 if loud.size else clip.size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--out", default="runs/bench_spoken_stop", help="output directory")
    args = parser.parse_args()
    if not voice.espeak_available():
        raise SystemExit("espeak-ng is not installed (scripts/setup.sh installs it)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bounds = machine_bounds()
    domain = int(os.environ["ROS_DOMAIN_ID"])
    quiet = open(os.devnull, "w")
    supervisor = start_graph(SPECS, output=quiet)
    probe = Probe(domain)
    mic = Microphone(probe)
    rng = random.Random(0)
    raw = []
    try:
        if not probe.wait_for(lambda: len(probe.decisions) > 5 and probe.latest_diagnostic("speech_node") is not None
                              and probe.command_pub.get_subscription_count() >= 2, 90.0):
            raise RuntimeError("graph did not come up")
        for _ in range(args.trials):
            word, name = rng.choice(STOP_WORDS), rng.choice(EVAL_VOICES)
            speed, pitch = rng.choice(SPEEDS), rng.choice(PITCHES)
            clip = np.asarray(voice.synthesise(word, name, speed, pitch, RATE), np.float32)
            clip = clip[:speech_end(clip)]
            t0 = probe.say("go to the red ball")
            moving = probe.wait_for(lambda t0=t0: any(s.time >= t0 and (s.linear or s.angular)
                                                      for s in probe.cmd_vel), 15.0)
            time.sleep(0.5)
            started = time.monotonic()
            ended = mic.say(clip)
            zero = probe.first_zero_after(started, 3.0 + clip.size / RATE)
            delay = None if zero is None else started + zero - ended
            raw.append({"word": word, "voice": name, "speed": speed, "pitch": pitch, "moving": moving,
                        "delay_s": delay})
            time.sleep(1.5)  # the utterance ends for the recogniser; the next go releases the stop
    finally:
        mic.close()
        probe.close()
        supervisor.stop()
    delays = [r["delay_s"] for r in raw if r["moving"] and r["delay_s"] is not None]
    timed = [r for r in raw if r["moving"]]
    if not delays:
        raise SystemExit(f"no spoken stop was heard in {len(timed)} trials; see {out}")
    summary = {**summarise(delays, [True] * len(delays)), "trials": len(timed), "missed": len(timed) - len(delays)}
    (out / "bench_spoken_stop.json").write_text(json.dumps({"machine": bounds, "summary": summary, "raw": raw},
                                                           indent=2))
    text = (f"Machine: {bounds['cpus']} CPUs, 1-core fp32 matmul {bounds['matmul_gflops_1core']} GFLOP/s, copy "
            f"{bounds['copy_gbps']} GB/s.\n\nSpoken stop (end of the word) -> zero cmd_vel: heard "
            f"{len(delays)}/{len(timed)}; p50 {summary['p50_ms']:.0f} ms, p90 {summary['p90_ms']:.0f} ms, "
            f"p99 {summary['p99_ms']:.0f} ms, max {summary['max_ms']:.0f} ms.\n")
    (out / "bench_spoken_stop.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
