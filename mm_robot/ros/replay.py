"""``mm-robot replay``: feed a fresh graph a bag's sensor and command streams on recorded time and
compare its decisions with the recorded ones (mm_robot.bags.compare).

The graph (safety controller + fusion node, started by the supervisor as ``mm-robot up`` does)
runs on sim time; this player is its clock (and in lockstep it also waits for the graph). The
messages are played on their *event* time: the header stamp of a message that has one (when the
frame was taken), the log time of the others (when the recorder got them); a recorder that fell
behind for a moment then cannot make a frame look old. Before each message the player publishes
``/clock`` at that time and sends the serialized bytes the bag holds, at the recorded pace
(``rate`` x real time), as ``ros2 bag play --clock`` would.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from rosgraph_msgs.msg import Clock as ClockMsg
from std_msgs.msg import String

from ..bags.compare import compare, frame_decisions, stamp_key
from ..bags.store import BagError, BagMessage, bag_topics, decode, decode_text, read_bag
from ..bringup.graph import TOPICS, GraphOptions, bringup_graph
from ..bringup.supervisor import Supervisor
from . import qos
from .probe import BackgroundNode
from .recorder import message_class
from .time import to_stamp

# What a replay sends to the graph; outputs (decision, grounding, cmd_vel, ...) are what it checks.
INPUT_TOPICS = ("camera/image_raw", "camera/image_raw/compressed", "camera/camera_info", "audio/raw",
                "audio/info", "command", "estop")
IMAGE_TOPICS = ("camera/image_raw", "camera/image_raw/compressed")
PUBLISH_QOS = {"sensor": qos.SENSOR_PUB, "reliable": qos.RELIABLE, "latched": qos.LATCHED,
               "cmd_vel": qos.COMMAND_VELOCITY}


def split_topic(topic: str) -> tuple[str, str]:
    """(namespace, name in the topic table) of a recorded, fully qualified topic:
    ``/robot1/camera/image_raw`` -> (``robot1``, ``camera/image_raw``); ("", topic) when unknown."""
    for name in sorted(TOPICS, key=len, reverse=True):
        if name.startswith("/"):
            if topic == name:
                return "", name
        elif topic == "/" + name or topic.endswith("/" + name):
            return topic[:-len(name)].strip("/"), name
    return "", topic


def _relative(topic: str) -> str:
    return split_topic(topic)[1]


def header_time_ns(message: BagMessage) -> Optional[int]:
    """The header stamp of a message that has one (images, camera info), in ns."""
    if not message.msgtype.startswith(("sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo",
                                       "sensor_msgs/msg/CompressedImage")):
        return None
    stamp = decode(message).header.stamp
    return stamp.sec * 1_000_000_000 + stamp.nanosec


# A header stamp this far from the log time is not trusted (a camera that stamps zero, a wrong clock).
MAX_STAMP_SKEW_NS = 5_000_000_000


def timeline(messages: list[BagMessage]) -> list[tuple[int, BagMessage]]:
    """(event time in ns, message) in event-time order (stable for equal times)."""
    events = []
    for message in messages:
        header_ns = header_time_ns(message)
        trusted = header_ns is not None and abs(header_ns - message.time_ns) <= MAX_STAMP_SKEW_NS
        events.append((header_ns if trusted else message.time_ns, message))
    return sorted(events, key=lambda event: event[0])


class Player:
    """Publishes a bag's input topics and collects the graph's decisions and groundings."""

    def __init__(self, topics: dict[str, tuple[str, int]], domain_id: int, namespace: str = "") -> None:
        self.background = BackgroundNode("mm_robot_replay", domain_id, namespace, signals=False)
        node = self.background.node
        self.lock = threading.Condition()
        self.decided: set[int] = set()  # stamp keys of the frames decided on
        self.lockstep_misses = 0
        self.decisions: list[str] = []
        self.groundings: list[str] = []
        self.publishers = {}
        for name, (msgtype, _count) in topics.items():
            relative = _relative(name)
            if relative in INPUT_TOPICS:
                profile = PUBLISH_QOS[TOPICS[relative][1]]
                self.publishers[name] = node.create_publisher(message_class(msgtype), name, profile)
        self.clock_pub = node.create_publisher(ClockMsg, "/clock", qos.RELIABLE)
        node.create_subscription(String, "decision", self._on_decision, qos.RELIABLE)
        node.create_subscription(String, "perception/grounding", self._keep(self.groundings), qos.RELIABLE)
        self.background.start()
        self.clock_ns = 0

    def _on_decision(self, msg: String) -> None:
        try:
            stamp = json.loads(msg.data).get("stamp")
        except (ValueError, AttributeError):
            stamp = None
        with self.lock:
            self.decisions.append(msg.data)
            if isinstance(stamp, (int, float)):
                self.decided.add(stamp_key(stamp))
            self.lock.notify_all()

    def _keep(self, into: list[str]):
        def callback(msg: String) -> None:
            with self.lock:
                into.append(msg.data)
        return callback

    def graph_ready(self) -> bool:
        """The fusion node has loaded its policy (its publishers exist) and every input is heard."""
        node = self.background.node
        return (node.count_publishers("decision") >= 1
                and all(p.get_subscription_count() >= 1 for p in self.publishers.values()
                        if p.topic_name.endswith(("image_raw", "command"))))

    def tick_clock(self, time_ns: int) -> None:
        if time_ns > self.clock_ns:
            self.clock_ns = time_ns
            self.clock_pub.publish(ClockMsg(clock=to_stamp(time_ns * 1e-9)))

    def play(self, events: list[tuple[int, BagMessage]], rate: float, lockstep: bool = False,
             lockstep_timeout: float = 2.0) -> None:
        """Send the :func:`timeline` ``events`` at ``rate`` x their recorded pace. ``lockstep``: besides,
        after an image wait (the clock stands still) until the graph has decided on it, and after a
        command until it has decided again, at most ``lockstep_timeout`` wall seconds each (a miss is counted):
        every frame is then decided on however slow the machine, as in the simulator's lockstep."""
        start_wall, start_ns = time.monotonic(), events[0][0]
        for event_ns, message in events:
            delay = start_wall + (event_ns - start_ns) * 1e-9 / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.tick_clock(event_ns)
            with self.lock:
                before = len(self.decisions)
            self.publishers[message.topic].publish(message.data)
            relative = _relative(message.topic)
            if lockstep and (relative in IMAGE_TOPICS or relative == "command"):
                if relative in IMAGE_TOPICS:
                    key = stamp_key(header_time_ns(message) * 1e-9)  # decisions carry it (R22)
                    done = lambda key=key: key in self.decided  # noqa: E731
                else:
                    done = lambda before=before: len(self.decisions) > before  # noqa: E731
                waited_from = time.monotonic()
                with self.lock:
                    if not self.lock.wait_for(done, lockstep_timeout):
                        self.lockstep_misses += 1
                start_wall += time.monotonic() - waited_from  # the recorded pace resumes from here

    def outputs(self) -> tuple[list[str], list[str]]:
        with self.lock:
            return list(self.decisions), list(self.groundings)

    def close(self) -> None:
        self.background.close()


def replay(bag: str | Path, options: GraphOptions, rate: float = 1.0, domain_id: Optional[int] = None,
           lockstep: bool = False, startup_timeout: float = 120.0, log: Callable[[str], None] = print,
           output=None) -> dict:
    """Replay ``bag`` into the graph of ``options`` (on sim time); the comparison report.
    ``lockstep``: see :meth:`Player.play`."""
    topics = bag_topics(bag)
    inputs = [name for name, (_type, count) in topics.items() if _relative(name) in INPUT_TOPICS and count]
    if not any(_relative(name) in IMAGE_TOPICS for name in inputs):
        raise BagError(f"{bag}: no camera images to replay (topics: {', '.join(topics)})")
    if not any(_relative(name) == "decision" for name in topics):
        raise BagError(f"{bag}: no recorded decisions to compare with")
    messages = list(read_bag(bag, inputs))
    events = timeline(messages)
    recorded = frame_decisions(
        [decode_text(m) for m in read_bag(bag) if _relative(m.topic) == "decision"],
        [decode_text(m) for m in read_bag(bag) if _relative(m.topic) == "perception/grounding"])
    namespaces = {split_topic(name)[0] for name in inputs}
    if len(namespaces) > 1:
        raise BagError(f"{bag}: inputs of several robots ({', '.join(sorted(namespaces))}); record one robot")
    namespace = namespaces.pop()
    domain = int(os.environ.get("ROS_DOMAIN_ID", "0")) if domain_id is None else domain_id
    options = GraphOptions(**{**options.__dict__, "camera": "sim", "use_sim_time": True, "namespace": namespace,
                              "microphone": any(_relative(n) == "audio/raw" for n in inputs)})
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain))
    supervisor = Supervisor(bringup_graph(options), options, log=lambda _: None, env=env, output=output)
    player = Player({name: topics[name] for name in inputs}, domain, namespace)
    try:
        supervisor.start()
        player.tick_clock(events[0][0])
        _wait(lambda: player.graph_ready() or supervisor.poll() is not None, startup_timeout)
        if not player.graph_ready():
            raise RuntimeError("the graph did not come up (fusion node failed to load its policy?)")
        time.sleep(1.0)  # discovery of the remaining endpoints
        log(f"replaying {len(messages)} messages of {bag} at {rate:g}x{' in lockstep' if lockstep else ''} "
            f"into policy {options.policy!r}")
        player.play(events, rate, lockstep)
        _settle(player)
    finally:
        supervisor.stop()
        player.close()
    replayed = frame_decisions(*player.outputs())
    sent = [header_time_ns(m) * 1e-9 for m in messages if _relative(m.topic) in IMAGE_TOPICS]
    report = compare(recorded, replayed, sent=sent)
    report.update(bag=str(bag), policy=options.policy, rate=rate, lockstep=lockstep,
                  lockstep_misses=player.lockstep_misses, messages_replayed=len(messages))
    return report


def _wait(predicate: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not predicate():
        time.sleep(0.1)


def _settle(player: Player, quiet: float = 1.5, limit: float = 10.0) -> None:
    """Wait until no decision has arrived for ``quiet`` s (the last frames are decided)."""
    end, count, since = time.monotonic() + limit, -1, time.monotonic()
    while time.monotonic() < end:
        now_count = len(player.outputs()[0])
        if now_count != count:
            count, since = now_count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


def write_report(report: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path
