"""A probe node for tests and benchmarks: records cmd_vel, decisions and diagnostics with
monotonic receive times, and publishes commands and e-stops. It spins in its own thread and
context, so it can sit beside nodes started by :class:`~mm_robot.bringup.supervisor.Supervisor`."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.signals import SignalHandlerOptions
from std_msgs.msg import Bool, String

from ..bringup.graph import GraphOptions, NodeSpec
from ..bringup.supervisor import Supervisor
from ..core.validation import InputError, parse_json_object
from . import qos


class BackgroundNode:
    """An rclpy node in a context of its own (``domain_id``), spun by a daemon thread once
    :meth:`start` is called; :meth:`close` tears it down. Lets a test or a benchmark sit beside
    nodes running in other processes."""

    def __init__(self, name: str, domain_id: int, namespace: str = "", signals: bool = True) -> None:
        """``signals`` False: leave SIGINT/SIGTERM to the program (rclpy's handlers would only shut
        the context down, and a tool such as the recorder must close its bag first)."""
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id,
                   signal_handler_options=None if signals else SignalHandlerOptions.NO)
        self.node = rclpy.create_node(name, namespace=namespace, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _spin(self) -> None:
        while self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception:
                if not self.context.ok():
                    return

    def close(self) -> None:
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        if self._thread.is_alive():
            self._thread.join(timeout=2)


@dataclass
class CmdVelSample:
    time: float
    linear: float
    angular: float


@dataclass
class Probe:
    """Call :meth:`close` when done. Relative topics resolve in ``namespace`` (a robot's graph)."""

    domain_id: int
    namespace: str = ""
    cmd_vel: list[CmdVelSample] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    diagnostics: dict[str, list] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._background = BackgroundNode("test_probe", self.domain_id, self.namespace)
        self.node = self._background.node
        self.lock = threading.RLock()
        self.node.create_subscription(Twist, "cmd_vel", self._on_cmd_vel, qos.COMMAND_VELOCITY)
        self.node.create_subscription(String, "decision", self._on_decision, qos.RELIABLE)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 50)
        self.command_pub = self.node.create_publisher(String, "command", qos.RELIABLE)
        self.estop_pub = self.node.create_publisher(Bool, "estop", qos.LATCHED)
        self._background.start()

    def _on_cmd_vel(self, msg: Twist) -> None:
        with self.lock:
            self.cmd_vel.append(CmdVelSample(time.monotonic(), msg.linear.x, msg.angular.z))

    def _on_decision(self, msg: String) -> None:
        try:
            decision = parse_json_object(msg.data, {"action": str})
        except InputError:
            return  # a test's own junk on the topic

        decision["received"] = self.node.get_clock().now().nanoseconds * 1e-9  # ROS time, like "stamp"
        with self.lock:
            self.decisions.append(decision)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        with self.lock:
            for status in msg.status:
                values = {kv.key: kv.value for kv in status.values}
                self.diagnostics.setdefault(status.name.split("/")[-1], []).append(
                    (time.monotonic(), status.level[0] if isinstance(status.level, bytes) else status.level,
                     status.message, values))

    def say(self, text: str) -> float:
        self.command_pub.publish(String(data=text))
        return time.monotonic()

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if predicate():
                    return True
            time.sleep(0.02)
        with self.lock:
            return predicate()

    def samples_since(self, t: float) -> list[CmdVelSample]:
        with self.lock:
            return [s for s in self.cmd_vel if s.time >= t]

    def first_zero_after(self, t: float, timeout: float) -> Optional[float]:
        """Seconds from ``t`` to the first zero cmd_vel, after which all samples stay zero."""
        self.wait_for(lambda: any(s.time >= t and s.linear == 0 == s.angular for s in self.cmd_vel), timeout)
        for s in self.samples_since(t):
            if s.linear == 0 == s.angular:
                return s.time - t
        return None

    def settled_zero_after(self, t: float, until: float) -> Optional[float]:
        """Seconds from ``t`` to the start of the zero run that lasts until ``until`` (waits for
        it): the moment the robot stopped for good, not a passing zero. None if it still moved."""
        self.wait_for(lambda: any(s.time >= until for s in self.cmd_vel), until - time.monotonic() + 2.0)
        window = [s for s in self.samples_since(t) if s.time <= until]
        last_moving = max((s.time for s in window if s.linear or s.angular), default=-math.inf)
        zeros = [s.time for s in window if s.time > last_moving]
        return zeros[0] - t if zeros else None

    def latest_diagnostic(self, node: str):
        with self.lock:
            entries = self.diagnostics.get(node)
            return entries[-1] if entries else None

    def close(self) -> None:
        self._background.close()


def start_graph(specs: list[NodeSpec], options: GraphOptions = GraphOptions(), output=None) -> Supervisor:
    supervisor = Supervisor(specs, options, log=lambda _: None, output=output)
    supervisor.start()
    return supervisor
