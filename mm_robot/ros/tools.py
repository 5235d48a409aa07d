"""Small rclpy tools behind ``mm-robot say | watch | estop`` (there is no ros2 CLI here)."""

from __future__ import annotations

import json
import time
from typing import Callable, Optional

import rclpy
from rclpy.node import Node
from std_msgs.msg import Bool, String
from std_srvs.srv import Trigger

from . import qos


def _with_node(name: str, body: Callable[[Node], int]) -> int:
    rclpy.init()
    node = rclpy.create_node(name)
    try:
        return body(node)
    except KeyboardInterrupt:
        return 0
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def _wait_for_subscribers(node: Node, publisher, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    return publisher.get_subscription_count() > 0


def say(text: str, topic: str = "command", wait: float = 3.0) -> int:
    """Publish one command (std_msgs/String) once a subscriber is there."""
    def body(node: Node) -> int:
        publisher = node.create_publisher(String, topic, qos.RELIABLE)
        if not _wait_for_subscribers(node, publisher, wait):
            node.get_logger().warning(f"no subscriber on {topic!r} after {wait:.0f} s; publishing anyway")
        publisher.publish(String(data=text))
        end = time.monotonic() + 0.3  # let reliable delivery finish before the node goes away
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.05)
        print(f"sent {text!r} on {topic}")
        return 0
    return _with_node("mm_robot_say", body)


def estop(engage: bool, wait: float = 3.0) -> int:
    """Engage the latched e-stop, or call estop/reset to release it."""
    def body(node: Node) -> int:
        if engage:
            publisher = node.create_publisher(Bool, "estop", qos.LATCHED)
            _wait_for_subscribers(node, publisher, wait)
            publisher.publish(Bool(data=True))
            end = time.monotonic() + 0.3
            while time.monotonic() < end:
                rclpy.spin_once(node, timeout_sec=0.05)
            print("e-stop engaged")
            return 0
        client = node.create_client(Trigger, "estop/reset")
        if not client.wait_for_service(timeout_sec=wait):
            print("estop/reset service not available")
            return 1
        future = client.call_async(Trigger.Request())
        rclpy.spin_until_future_complete(node, future, timeout_sec=wait)
        result = future.result()
        print(result.message if result else "no answer from estop/reset")
        return 0 if result and result.success else 1
    return _with_node("mm_robot_estop", body)


def format_decision(data: str) -> str:
    try:
        d = json.loads(data)
        return (f"decision  {d['action']:<10} conf={d['confidence']:.2f} v={d['linear']:+.2f} "
                f"w={d['angular']:+.2f} {d['latency_ms']:.1f} ms  {d['reason']}")
    except (ValueError, KeyError, TypeError):
        return f"decision  (malformed) {data[:80]}"


def format_grounding(data: str) -> str:
    try:
        g = json.loads(data)
        target = g.get("target")
        where = f"{target['label']} box={target['box']} bearing={target['bearing']:+.2f}" if target else "not in view"
        return f"grounding '{g['phrase']}' -> {where} ({len(g['candidates'])} candidates)"
    except (ValueError, KeyError, TypeError):
        return f"grounding (malformed) {data[:80]}"


def format_cmd_vel(linear: float, angular: float) -> str:
    return f"cmd_vel   v={linear:+.2f} m/s  w={angular:+.2f} rad/s"


def watch(duration: Optional[float] = None, min_interval: float = 0.5, say_text: Optional[str] = None,
          alive: Callable[[], bool] = lambda: True) -> int:
    """Print decisions, grounding and cmd_vel live (one line per topic per ``min_interval`` s).

    With ``say_text``, first publish it as a command once the graph listens.
    Stops after ``duration``, on Ctrl-C, or when ``alive()`` turns False.
    """
    from geometry_msgs.msg import Twist

    def body(node: Node) -> int:
        last: dict[str, float] = {}

        def throttled(kind: str, line: Callable) -> Callable:
            def callback(msg) -> None:
                now = time.monotonic()
                if now - last.get(kind, 0.0) >= min_interval:
                    last[kind] = now
                    print(line(msg), flush=True)
            return callback

        node.create_subscription(String, "decision", throttled("decision", lambda m: format_decision(m.data)),
                                 qos.RELIABLE)
        node.create_subscription(String, "perception/grounding",
                                 throttled("grounding", lambda m: format_grounding(m.data)), qos.RELIABLE)
        node.create_subscription(Twist, "cmd_vel", throttled(
            "cmd_vel", lambda m: format_cmd_vel(m.linear.x, m.angular.z)), qos.COMMAND_VELOCITY)
        if say_text is not None:
            publisher = node.create_publisher(String, "command", qos.RELIABLE)
            # fusion_node and safety_controller_node both listen to commands
            deadline = time.monotonic() + 30.0
            while publisher.get_subscription_count() < 2 and time.monotonic() < deadline and alive():
                rclpy.spin_once(node, timeout_sec=0.1)
            time.sleep(1.0)  # let the camera and the policy produce their first outputs
            publisher.publish(String(data=say_text))
            print(f"command   {say_text!r}", flush=True)
        end = None if duration is None else time.monotonic() + duration
        while rclpy.ok() and alive() and (end is None or time.monotonic() < end):
            rclpy.spin_once(node, timeout_sec=0.1)
        return 0
    return _with_node("mm_robot_watch", body)


def format_transcript(data: str) -> str:
    try:
        t = json.loads(data)
        if t.get("partial"):
            return f"heard     STOP (mid-utterance: {t['text']!r}) {t['latency_ms']:.0f} ms -> command 'stop'"
        command = f"-> command {t['command']!r}" if t.get("command") else f"-> no command ({t['reason']})"
        return (f"heard     {t['text']!r} [{t['kind']}, conf={t['confidence']:.2f}, {t['backend']}, "
                f"{t['end'] - t['start']:.2f} s, {t['latency_ms']:.0f} ms] {command}")
    except (ValueError, KeyError, TypeError):
        return f"heard     (malformed) {data[:80]}"


def listen(duration: Optional[float] = None) -> int:
    """Print every speech/transcript live (``mm-robot listen``) until ``duration`` or Ctrl-C."""
    def body(node: Node) -> int:
        node.create_subscription(String, "speech/transcript", lambda m: print(format_transcript(m.data), flush=True),
                                 qos.RELIABLE)
        end = None if duration is None else time.monotonic() + duration
        while rclpy.ok() and (end is None or time.monotonic() < end):
            rclpy.spin_once(node, timeout_sec=0.1)
        return 0
    return _with_node("mm_robot_listen", body)


def lifecycle(node_name: str, transition: Optional[str] = None, wait: float = 5.0,
              timeout: float = 120.0) -> int:
    """Ask a managed node for a transition (``configure`` may take a while: it loads the model)
    and print the state it is in; with no transition, just print the state."""
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState, GetState

    def call(node: Node, client, request, limit: float):
        if not client.wait_for_service(timeout_sec=wait):
            return None
        future = client.call_async(request)
        rclpy.spin_until_future_complete(node, future, timeout_sec=limit)
        return future.result()

    def body(node: Node) -> int:
        name = node_name.strip("/")
        if transition is not None:
            answer = call(node, node.create_client(ChangeState, f"{name}/change_state"),
                          ChangeState.Request(transition=Transition(label=transition)), timeout)
            if answer is None:
                print(f"{name}/change_state: no answer (is {name} running and managed?)")
                return 1
            if not answer.success:
                print(f"{name}: transition {transition!r} refused or failed")
        state = call(node, node.create_client(GetState, f"{name}/get_state"), GetState.Request(), wait)
        if state is None:
            print(f"{name}/get_state: no answer")
            return 1
        print(f"{name}: {state.current_state.label}")
        return 0 if transition is None or answer.success else 1
    return _with_node("mm_robot_lifecycle", body)
