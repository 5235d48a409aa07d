"""A hostile publisher for fault-injection tests and benchmarks: floods ``command`` with junk.

    python -m mm_robot.ros.flood --rate 2000 --seconds 3 --kind invalid --stop-at 1.5

Runs in its own process (its own GIL, like a real intruder), publishes at ``--rate`` messages
per second with the documented command QoS (reliable, depth 10) and, with ``--stop-at``,
one "stop" in the middle of the stream. Prints one JSON line: messages sent, the rate reached,
and ``stop_sent`` (``time.monotonic()``, comparable across processes on one machine).

Kinds: ``invalid`` (over-length, empty, whitespace, control characters, invalid UTF-8 as raw
CDR bytes) and ``plausible`` (printable text that the command language does not understand:
pseudo-words, random English words, sentences that are not requests).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import string
import time
from typing import Iterator, Union

Junk = Union[str, bytes]
NOT_REQUESTS = ("what a nice day", "the sky is blue today", "tell me a story about cats", "hello there robot",
                "i like trains", "where did you put my keys", "nothing to see here", "lorem ipsum dolor sit amet")


def invalid_commands(rng: random.Random, max_bytes: int = 1024) -> Iterator[Junk]:
    """Commands every node must refuse before reading them."""
    while True:
        kind = rng.randrange(5)
        if kind == 0:
            yield "go to the red ball " * (max_bytes // 10)  # over-length
        elif kind == 1:
            yield ""
        elif kind == 2:
            yield " \t \n " * rng.randint(1, 20)
        elif kind == 3:
            yield "".join(chr(rng.randrange(0, 32)) for _ in range(rng.randint(1, 40)))
        else:
            yield _invalid_utf8(rng)


def _invalid_utf8(rng: random.Random) -> bytes:
    """A std_msgs/String as CDR bytes whose string is not UTF-8."""
    body = bytes(rng.choice((0xFF, 0xFE, 0xC0, 0x80)) for _ in range(rng.randint(1, 30))) + b"\x00"
    return b"\x00\x01\x00\x00" + len(body).to_bytes(4, "little") + body + b"\x00" * (-len(body) % 4)


def plausible_commands(rng: random.Random) -> Iterator[str]:
    """Printable text that passes validation but is not a command (checked, so it never is)."""
    from ..core.language import understand
    words = _english_words()
    while True:
        kind = rng.randrange(3)
        if kind == 0 and words:
            text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 8)))
        elif kind == 1:
            text = " ".join("".join(rng.choice("bcdfghjklmnprstvwz") + rng.choice("aeiou")
                                    for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 6)))
        else:
            text = rng.choice(NOT_REQUESTS) + " " + "".join(rng.choice(string.ascii_lowercase) for _ in range(5))
        if not understand(text).understood:
            yield text


def distinct_commands(n: int, seed: int) -> list[str]:
    """``n`` different go commands the language understands (training re-wordings, numbered)."""
    import numpy as np

    from ..training.phrasing import phrase
    rng = np.random.default_rng(seed)
    colours, shapes = ("red", "green", "blue", "yellow"), ("ball", "box", "cone", "cylinder")
    texts: set[str] = set()
    while len(texts) < n:
        texts.add(phrase(rng, colours[rng.integers(4)], shapes[rng.integers(4)], p_synonym=0.8, shape_nouns=True)
                  + f" {rng.integers(1_000_000)}")
    return sorted(texts)


def _english_words() -> list[str]:
    try:
        from ..model.encoders import bundled_minilm_dir
        with open(bundled_minilm_dir() / "vocab.txt") as handle:
            return [w.strip() for w in handle if w.strip().isalpha() and len(w.strip()) > 2]
    except (ImportError, RuntimeError, OSError):
        return []


def flood(rate: float, seconds: float, kind: str, stop_at: float | None, seed: int = 0) -> dict:
    """Publish junk on ``command`` for ``seconds`` at ``rate``/s."""
    import rclpy
    from std_msgs.msg import String

    from . import qos

    rng = random.Random(seed)
    junk = invalid_commands(rng) if kind == "invalid" else plausible_commands(rng)
    texts = [next(junk) for _ in range(min(int(rate * seconds), 20000))]  # prepared: nothing slows the pace
    rclpy.init()
    node = rclpy.create_node("mm_robot_flood")
    publisher = node.create_publisher(String, "command", qos.RELIABLE)
    deadline = time.monotonic() + 10.0
    while publisher.get_subscription_count() < 1 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    time.sleep(0.5)
    sent, stop_sent = 0, None
    start = time.monotonic()
    total = int(rate * seconds)
    for i in range(total):
        if stop_at is not None and stop_sent is None and i >= stop_at * rate:
            publisher.publish(String(data="stop"))
            stop_sent = time.monotonic()
        item = texts[i % len(texts)]
        publisher.publish(item if isinstance(item, bytes) else String(data=item))
        sent += 1
        ahead = start + (i + 1) / rate - time.monotonic()
        if ahead > 0.002:  # sleep in small slices: pace without burning a core
            time.sleep(ahead)
    elapsed = time.monotonic() - start
    node.destroy_node()
    rclpy.try_shutdown()
    return {"sent": sent, "rate": sent / elapsed, "stop_sent": stop_sent, "start": start,
            "end": start + elapsed}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to flood")
    parser.add_argument("--kind", choices=("invalid", "plausible"), default="invalid")
    parser.add_argument("--stop-at", type=float, default=None, help="publish 'stop' this many seconds in")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    print(json.dumps(flood(args.rate, args.seconds, args.kind, args.stop_at, args.seed)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
