"""Record topics into a rosbag2 MCAP bag (``mm-robot record``, ``mm-robot sim --record``).

Raw subscriptions hand over the CDR bytes as they came off the wire, which the bag keeps byte for
byte (mm_robot.bags.store). Each message is logged at its receive time on the recorder's clock:
sim time when ``use_sim_time`` (a simulator run), wall time otherwise, as ``ros2 bag record``
does. Runs in a context of its own on a daemon thread (like the test probe), so it can sit
beside a graph started by the supervisor.
"""

from __future__ import annotations

import importlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Optional, Sequence

from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from ..bags.store import BagError, BagWriter
from ..bringup.graph import TOPICS
from .probe import BackgroundNode

# What `mm-robot record` records with no topics named: what the graph saw and what it decided.
DEFAULT_TOPICS = ("camera/image_raw", "camera/camera_info", "audio/raw", "audio/info", "command", "decision",
                  "perception/grounding", "cmd_vel", "/diagnostics")
# Deep enough to ride out a slow disk write; the bag, not the history, is the record.
RECORD_DEPTH = 50


def message_class(msgtype: str):
    """The rclpy message class of ``pkg/msg/Name``."""
    package, kind, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.{kind}"), name)
    except (ImportError, AttributeError):
        raise BagError(f"message type {msgtype!r} is not installed") from None


def record_qos(profile: str) -> QoSProfile:
    """A subscription that matches the publishers of ``profile`` (a TOPICS QoS name) and keeps up."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=RECORD_DEPTH,
                      reliability=(ReliabilityPolicy.BEST_EFFORT if profile == "sensor"
                                   else ReliabilityPolicy.RELIABLE),
                      durability=(DurabilityPolicy.TRANSIENT_LOCAL if profile == "latched"
                                  else DurabilityPolicy.VOLATILE))


class Recorder:
    """Record ``topics`` (names as in the topic table, relative to ``namespace``) to a new bag at
    ``path`` until :meth:`close`. Topics outside the table are typed from the live graph."""

    def __init__(self, path: str | Path, topics: Sequence[str] = DEFAULT_TOPICS, namespace: str = "",
                 use_sim_time: bool = False, domain_id: Optional[int] = None, discover_timeout: float = 3.0):
        self.background = BackgroundNode("mm_robot_recorder", _domain(domain_id), namespace, signals=False)
        self.node = self.background.node
        if use_sim_time:
            self.node.set_parameters([Parameter("use_sim_time", value=True)])
        self.lock = threading.Lock()
        self.bag: Optional[BagWriter] = BagWriter(path)
        self.path = Path(path)
        self.topics = {}
        for topic in topics:
            msgtype, profile = self._type_of(topic, discover_timeout)
            name = self.node.resolve_topic_name(topic)  # absolute, as ros2 bag records
            self.bag.add_topic(name, msgtype, profile)
            self.node.create_subscription(message_class(msgtype), topic, self._writer_for(name),
                                          record_qos(profile), raw=True)
            self.topics[name] = msgtype
        self.background.start()

    def _type_of(self, topic: str, timeout: float) -> tuple[str, str]:
        if topic in TOPICS:
            return TOPICS[topic]
        name = self.node.resolve_topic_name(topic)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            types = dict(self.node.get_topic_names_and_types())
            if types.get(name):
                return types[name][0], "reliable"
            time.sleep(0.1)
        raise BagError(f"{topic}: not in the topic table and no publisher seen within {timeout:.0f} s "
                       "to tell its type")

    def _writer_for(self, name: str):
        def write(data: bytes) -> None:
            stamp = self.node.get_clock().now().nanoseconds
            with self.lock:
                if self.bag is not None:
                    self.bag.write(name, stamp, data)
        return write

    @property
    def counts(self) -> dict[str, int]:
        with self.lock:
            return dict(self.bag.counts) if self.bag is not None else {}

    def close(self) -> dict[str, int]:
        """Stop recording and finish the bag; the message count per topic."""
        self.background.close()
        with self.lock:
            bag, self.bag = self.bag, None
        if bag is None:
            return {}
        bag.close()
        return dict(bag.counts)


def _domain(domain_id: Optional[int]) -> int:
    return int(os.environ.get("ROS_DOMAIN_ID", "0")) if domain_id is None else domain_id


def record(path: str, topics: Sequence[str], duration: Optional[float], namespace: str = "",
           use_sim_time: bool = False) -> int:
    """``mm-robot record``: until Ctrl-C/SIGTERM or ``duration`` seconds; the bag is always closed
    (a bag without its metadata.yaml is not a bag)."""
    stop = threading.Event()  # a signal ends the loop, never the process: the bag is closed first
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        recorder = Recorder(path, topics or DEFAULT_TOPICS, namespace=namespace, use_sim_time=use_sim_time)
        print(f"recording {', '.join(recorder.topics)} to {path} (Ctrl-C stops)", flush=True)
        end = None if duration is None else time.monotonic() + duration
        try:
            while not stop.wait(0.1) and (end is None or time.monotonic() < end):
                pass
        finally:
            counts = recorder.close()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    print(f"{path}: " + ", ".join(f"{topic} {n}" for topic, n in counts.items()), flush=True)
    return 0
