"""DDS delivery of camera images between two processes on this machine.

:func:`measure` starts a receiver and a publisher (``python -m mm_robot.bench.dds publish|receive``)
with the same environment, so a transport setting (``FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA``, or
the package's shared-memory profile through ``FASTDDS_DEFAULT_PROFILES_FILE``) applies to both
ends. The publisher waits for the receiver, then sends ``rgb8`` images at a fixed rate with the
sensor QoS the graph uses (best effort, depth 1: a late image is replaced, never queued); the
receiver counts distinct images and their age on arrival (receive time - stamp).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

SIZES = ((320, 240), (640, 480), (1920, 1080))
LARGE_DATA_PROFILE = Path(__file__).resolve().parent.parent / "resources" / "fastdds_large_data.xml"
# Transport settings by name: the environment both processes get (README: Long runs and large frames).
TRANSPORTS: dict[str, dict[str, str]] = {
    "default": {},
    "LARGE_DATA": {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"},
    "mm_robot profile": {"FASTDDS_DEFAULT_PROFILES_FILE": str(LARGE_DATA_PROFILE)},
}


def measure(width: int, height: int, rate_hz: float, seconds: float, domain_id: int, transport: str) -> dict:
    """Delivery of ``seconds`` of ``width`` x ``height`` images at ``rate_hz`` with the
    :data:`TRANSPORTS` setting named ``transport``."""
    env = {k: v for k, v in os.environ.items() if k not in ("FASTDDS_BUILTIN_TRANSPORTS",
                                                            "FASTDDS_DEFAULT_PROFILES_FILE")}
    env.update(TRANSPORTS[transport], ROS_DOMAIN_ID=str(domain_id))
    common = [
        "--width",
        str(width),
        "--height",
        str(height),
        "--rate",
        str(rate_hz),
        "--seconds",
        str(seconds),
    ]
    receiver = subprocess.Popen(
        [sys.executable, "-m", "mm_robot.bench.dds", "receive", *common],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        sent = subprocess.run(
            [sys.executable, "-m", "mm_robot.bench.dds", "publish", *common],
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
        time.sleep(0.5)  # the last images in flight
        receiver.send_signal(signal.SIGINT)  # the receiver stops and reports
        received, _ = receiver.communicate(timeout=30)
    finally:
        if receiver.poll() is None:
            receiver.kill()
    out = {
        "width": width,
        "height": height,
        "rate_hz": rate_hz,
        "transport": transport,
        **json.loads(sent.stdout.strip().splitlines()[-1]),
        **json.loads(received.strip().splitlines()[-1]),
    }
    out["delivered"] = round(out["received"] / out["sent"], 3) if out["sent"] else 0.0
    out["dropped"] = max(0, out["sent"] - out["received"])
    out["received_hz"] = round(out["received"] / seconds, 1)
    return out


def _publish(args, node) -> dict:
    import numpy as np
    from sensor_msgs.msg import Image

    from ..ros import qos
    from ..ros.time import to_stamp

    publisher = node.create_publisher(Image, "bench/image", qos.SENSOR_PUB)
    msg = Image(height=args.height, width=args.width, encoding="rgb8", step=args.width * 3)
    msg.data = (
        np.random.default_rng(0).integers(0, 256, args.width * args.height * 3, dtype=np.uint8).tobytes()
    )
    end = time.monotonic() + 20.0
    while publisher.get_subscription_count() == 0 and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(1.0)  # the subscriber matches the writer a moment after the writer sees it
    sent, period = 0, 1.0 / args.rate
    tick = start = time.monotonic()
    while time.monotonic() - start < args.seconds:
        msg.header.stamp = to_stamp(time.time())
        publisher.publish(msg)
        sent += 1
        tick += period
        time.sleep(max(0.0, tick - time.monotonic()))
    return {"sent": sent}


def _receive(args, node) -> dict:
    import numpy as np
    import rclpy
    from sensor_msgs.msg import Image

    from ..ros import qos

    ages: list[float] = []
    stamps: set[tuple[int, int]] = set()

    def on_image(msg: Image) -> None:
        ages.append(time.time() - (msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9))
        stamps.add((msg.header.stamp.sec, msg.header.stamp.nanosec))

    node.create_subscription(Image, "bench/image", on_image, qos.SENSOR)
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))  # sent by measure() once the publisher is done
    end = time.monotonic() + args.seconds + 120.0  # never longer than this, even if nobody says stop
    while not stop and time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)
    age = np.asarray(ages) * 1e3 if ages else np.zeros(1)
    return {
        "received": len(stamps),
        "age_ms_p50": round(float(np.percentile(age, 50)), 1),
        "age_ms_p99": round(float(np.percentile(age, 99)), 1),
    }


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=("publish", "receive"))
    parser.add_argument("--width", type=int, default=320, help="image width (px)")
    parser.add_argument("--height", type=int, default=240, help="image height (px)")
    parser.add_argument("--rate", type=float, default=30.0, help="images per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long the publisher sends")
    args = parser.parse_args(argv)
    import rclpy

    rclpy.init()
    node = rclpy.create_node(f"bench_dds_{args.role}")
    try:
        result = _publish(args, node) if args.role == "publish" else _receive(args, node)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
