"""Write and read rosbag2 bags in MCAP storage with rosbags (pure Python, no ROS install).

Messages go in as the serialized CDR bytes rclpy hands a raw subscription, and come back out
byte for byte, so a bag is exactly what was on the wire. The layout is rosbag2's (a directory
with metadata.yaml and one .mcap file, chunks compressed with zstd inside the MCAP), so
``ros2 bag info/play``, Foxglove and the ``mcap`` library read it too. Message definitions come
from rosbags' type store of the ROS 2 distribution the wheels are built from (Kilted).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

try:
    from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
    from rosbags.rosbag2 import Reader, StoragePlugin, Writer
    from rosbags.rosbag2.enums import CompressionFormat, CompressionMode
    from rosbags.typesys import Stores, get_typestore
except ImportError as error:  # an optional extra: say how to get it
    raise ImportError(f"{error}: recording and replay need rosbags: pip install 'mm_robot[bags]' "
                      "(or rosdep's python3-rosbags-pip)") from error

# rclpy 9 (the PyPI wheels) is ROS 2 Kilted; its message definitions are the ones recorded.
TYPESTORE = Stores.ROS2_KILTED
BAG_VERSION = 9


class BagError(Exception):
    """A bag that cannot be written or read (exists already, not a bag, unknown type)."""


@dataclass(frozen=True)
class BagMessage:
    topic: str
    msgtype: str  # "pkg/msg/Name"
    time_ns: int  # log time: when the recorder received it, on its clock (sim time in a sim run)
    data: bytes  # the CDR bytes as serialized by the publisher


def _typestore():
    return get_typestore(TYPESTORE)


def offered_qos(profile: str) -> Qos:
    """The rosbag2 QoS record of one of mm_robot.ros.qos's profile names, for ``ros2 bag play``."""
    zero = QosTime(0, 0)
    reliability = QosReliability.BEST_EFFORT if profile == "sensor" else QosReliability.RELIABLE
    durability = QosDurability.TRANSIENT_LOCAL if profile == "latched" else QosDurability.VOLATILE
    return Qos(QosHistory.KEEP_LAST, 1 if profile in ("cmd_vel", "latched") else 10, reliability, durability,
               zero, zero, QosLiveliness.AUTOMATIC, zero, False)


class BagWriter:
    """A new bag at ``path`` (a directory that must not exist). Use as a context manager, or call
    :meth:`close`: only a closed bag has its metadata.yaml and MCAP summary."""

    def __init__(self, path: str | Path, compress: bool = True) -> None:
        self.path = Path(path)
        if self.path.exists():
            raise BagError(f"{self.path} exists already; a bag is never overwritten")
        self.store = _typestore()
        self._writer = Writer(self.path, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP)
        if compress:  # zstd chunks inside the MCAP (rosbag2's "storage" compression): any MCAP reader
            self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        self._writer.open()
        self._connections: dict[str, object] = {}
        self.counts: dict[str, int] = {}

    def add_topic(self, topic: str, msgtype: str, profile: str = "reliable") -> None:
        if topic in self._connections:
            return
        if msgtype not in self.store.fielddefs:
            raise BagError(f"{topic}: message type {msgtype!r} is not in the {TYPESTORE.name} type store")
        self._connections[topic] = self._writer.add_connection(
            topic, msgtype, typestore=self.store, offered_qos_profiles=[offered_qos(profile)])
        self.counts[topic] = 0

    def write(self, topic: str, time_ns: int, data: bytes) -> None:
        self._writer.write(self._connections[topic], int(time_ns), bytes(data))
        self.counts[topic] += 1

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> "BagWriter":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def write_bag(path: str | Path, messages: Iterable[BagMessage], profiles: Optional[dict[str, str]] = None) -> Path:
    """A bag of ``messages`` (each topic's QoS profile name from ``profiles``, default reliable)."""
    profiles = profiles or {}
    with BagWriter(path) as bag:
        for message in messages:
            bag.add_topic(message.topic, message.msgtype, profiles.get(message.topic, "reliable"))
            bag.write(message.topic, message.time_ns, message.data)
    return Path(path)


def bag_topics(path: str | Path) -> dict[str, tuple[str, int]]:
    """topic -> (message type, message count)."""
    with _open(path) as reader:
        return {c.topic: (c.msgtype, c.msgcount) for c in reader.connections}


def read_bag(path: str | Path, topics: Optional[Iterable[str]] = None) -> Iterator[BagMessage]:
    """The messages of ``topics`` (all when None) in log-time order."""
    wanted = None if topics is None else set(topics)
    with _open(path) as reader:
        connections = [c for c in reader.connections if wanted is None or c.topic in wanted]
        for connection, time_ns, data in reader.messages(connections=connections):
            yield BagMessage(connection.topic, connection.msgtype, time_ns, bytes(data))


def decode(message: BagMessage):
    """The message as a rosbags dataclass (field names as in the .msg definition)."""
    return _typestore().deserialize_cdr(message.data, message.msgtype)


def decode_text(message: BagMessage) -> str:
    """The text of a std_msgs/String message."""
    if message.msgtype != "std_msgs/msg/String":
        raise BagError(f"{message.topic} is {message.msgtype}, not std_msgs/msg/String")
    return decode(message).data


def _open(path: str | Path) -> Reader:
    """An unopened reader; ``with`` opens and closes it."""
    path = Path(path)
    if not (path / "metadata.yaml").is_file():
        raise BagError(f"{path}: not a rosbag2 bag (no metadata.yaml); was the recording stopped cleanly?")
    return Reader(path)
