"""``mm-robot replay``: feed a fresh graph a bag's sensor and command streams on recorded time and
compare its decisions with the recorded ones (mm_robot.bags.compare).

The graph (safety controller + fusion node, started by the supervisor as ``mm-robot up`` does)
runs on sim time; this player is its clock. Before each message it publishes ``/clock`` at the
message's log time, or at its header stamp when that is later (a frame is then never in the
node's future), and it sends the messages at the recorded pace (``rate`` x real time) as the
serialized bytes the bag holds, as ``ros2 bag play --clock`` would.
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

from ..bags.compare import compare, frame_decisions
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


def _relative(topic: str) -> str:
    return topic[1:] if topic.startswith("/") and topic[1:] in TOPICS else topic


def header_time_ns(message: BagMessage) -> Optional[int]:
    """The header stamp of a message that has one (images, camera info), in ns."""
    if not message.msgtype.startswith(("sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo",
                                       "sensor_msgs/msg/CompressedImage")):
        return None
    stamp = decode(message).header.stamp
    return stamp.sec * 1_000_000_000 + stamp.nanosec


class Player:
    """Publishes a bag's input topics and collects the graph's decisions and groundings."""

    def __init__(self, topics: dict[str, tuple[str, int]], domain_id: int) -> None:
        self.background = BackgroundNode("mm_robot_replay", domain_id)
        node = self.background.node
        self.lock = threading.Lock()
        self.decisions: list[str] = []
        self.groundings: list[str] = []
        self.publishers = {}
        for name, (msgtype, _count) in topics.items():
            relative = _relative(name)
            if relative in INPUT_TOPICS:
                profile = PUBLISH_QOS[TOPICS[relative][1]]
                self.publishers[name] = node.create_publisher(message_class(msgtype), name, profile)
        self.clock_pub = node.create_publisher(ClockMsg, "/clock", qos.RELIABLE)
        node.create_subscription(String, "decision", self._keep(self.decisions), qos.RELIABLE)
        node.create_subscription(String, "perception/grounding", self._keep(self.groundings), qos.RELIABLE)
        self.background.start()
        self.clock_ns = 0

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

    def play(self, messages: list[BagMessage], rate: float) -> None:
        """Send ``messages`` at ``rate`` x their recorded pace."""
        start_wall, start_ns = time.monotonic(), messages[0].time_ns
        for message in messages:
            delay = start_wall + (message.time_ns - start_ns) * 1e-9 / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.tick_clock(max(message.time_ns, header_time_ns(message) or 0))
            self.publishers[message.topic].publish(message.data)

    def outputs(self) -> tuple[list[str], list[str]]:
        with self.lock:
            return list(self.decisions), list(self.groundings)

    def close(self) -> None:
        self.background.close()


def replay(bag: str | Path, options: GraphOptions, rate: float = 1.0, domain_id: Optional[int] = None,
           startup_timeout: float = 120.0, log: Callable[[str], None] = print, output=None) -> dict:
    """Replay ``bag`` into the graph of ``options`` (on sim time); the comparison report."""
    topics = bag_topics(bag)
    inputs = [name for name, (_type, count) in topics.items() if _relative(name) in INPUT_TOPICS and count]
    if not any(_relative(name) in IMAGE_TOPICS for name in inputs):
        raise BagError(f"{bag}: no camera images to replay (topics: {', '.join(topics)})")
    if not any(_relative(name) == "decision" for name in topics):
        raise BagError(f"{bag}: no recorded decisions to compare with")
    messages = list(read_bag(bag, inputs))
    recorded = frame_decisions(
        [decode_text(m) for m in read_bag(bag) if _relative(m.topic) == "decision"],
        [decode_text(m) for m in read_bag(bag) if _relative(m.topic) == "perception/grounding"])
    domain = int(os.environ.get("ROS_DOMAIN_ID", "0")) if domain_id is None else domain_id
    options = GraphOptions(**{**options.__dict__, "camera": "sim", "use_sim_time": True,
                              "microphone": any(_relative(n) == "audio/raw" for n in inputs)})
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain))
    supervisor = Supervisor(bringup_graph(options), options, log=lambda _: None, env=env, output=output)
    player = Player({name: topics[name] for name in inputs}, domain)
    try:
        supervisor.start()
        player.tick_clock(messages[0].time_ns)
        _wait(lambda: player.graph_ready() or supervisor.poll() is not None, startup_timeout)
        if not player.graph_ready():
            raise RuntimeError("the graph did not come up (fusion node failed to load its policy?)")
        time.sleep(1.0)  # discovery of the remaining endpoints
        log(f"replaying {len(messages)} messages of {bag} at {rate:g}x into policy {options.policy!r}")
        player.play(messages, rate)
        _settle(player)
    finally:
        supervisor.stop()
        player.close()
    replayed = frame_decisions(*player.outputs())
    sent = [header_time_ns(m) * 1e-9 for m in messages if _relative(m.topic) in IMAGE_TOPICS]
    report = compare(recorded, replayed, sent=sent)
    report.update(bag=str(bag), policy=options.policy, rate=rate, messages_replayed=len(messages))
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
