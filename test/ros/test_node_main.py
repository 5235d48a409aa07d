"""run_node's shutdown: SIGINT while callbacks run or wait on the executor's threads, and while
the node is still being built.

The executor is shut down (callbacks running or queued finish) before the shutdown hook runs and
before the node is destroyed; destroying first, or shutting the executor down with callbacks still
queued, made them fail with "cannot use Destroyable because destruction was requested" (printed as
an exception that was never retrieved).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros

ROOT = Path(__file__).resolve().parents[2]

SLOW_NODE = '''
import sys
import time

from rclpy.node import Node
from std_msgs.msg import String

from mm_robot.ros.node_main import run_node


class SlowNode(Node):
    def __init__(self):
        super().__init__("slow_node")
        self.pub = self.create_publisher(String, "chatter", 10)
        self.create_timer(0.05, self._tick)

    def _tick(self):
        print("callback started", flush=True)
        time.sleep(0.5)  # SIGINT arrives in here
        self.pub.publish(String(data="late"))
        print("callback finished", flush=True)

    def shutdown_hook(self):
        self.pub.publish(String(data="last"))
        print("shutdown hook", flush=True)


sys.exit(run_node(SlowNode))
'''

BUSY_NODE = '''
import sys
import time

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from std_msgs.msg import String

from mm_robot.ros.node_main import run_node


class BusyNode(Node):
    """Five slow timers in groups of their own: three run on the 3 worker threads, two wait."""

    def __init__(self):
        super().__init__("busy_node")
        self.pub = self.create_publisher(String, "chatter", 10)
        for index in range(5):
            self.create_timer(0.02, lambda index=index: self._tick(index),
                              callback_group=MutuallyExclusiveCallbackGroup())

    def _tick(self, index):
        print(f"started {index}", flush=True)
        time.sleep(0.3)
        self.pub.publish(String(data=str(index)))


sys.exit(run_node(BusyNode))
'''

SLOW_START = '''
import sys
import time

from mm_robot.ros.node_main import run_node


def build():
    print("building", flush=True)
    for _ in range(3000):  # a model that takes 30 s to load, in Python steps (a signal that lands on
        time.sleep(0.01)   # another thread is handled at the main thread's next step, not in a long sleep)


sys.exit(run_node(build))
'''


def interrupt(source: str, tmp_path: Path, domain_id: int, first_line: str) -> tuple[str, str, float]:
    """Run ``source``, SIGINT it once it prints a line starting with ``first_line``; its output and
    exit time (s)."""
    script = tmp_path / "node.py"
    script.write_text(source)
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain_id),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, start_new_session=True)
    try:
        assert process.stdout.readline().strip().startswith(first_line)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        seconds = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err[-2000:]
    assert "Destroyable" not in err and "never retrieved" not in err and "Traceback" not in err, err[-2000:]
    return out, err, seconds


def test_sigint_during_a_callback_lets_it_finish_before_the_hook_and_the_node_go(domain_id, tmp_path):
    out, _, _ = interrupt(SLOW_NODE, tmp_path, domain_id, "callback started")
    assert out.split() == "callback finished shutdown hook".split(), out


def test_sigint_with_callbacks_queued_behind_busy_worker_threads(domain_id, tmp_path):
    for _ in range(3):
        interrupt(BUSY_NODE, tmp_path, domain_id, "started ")  # whichever timer the executor picks first


def test_sigint_while_the_node_is_still_being_built_exits_at_once(domain_id, tmp_path):
    _, _, seconds = interrupt(SLOW_START, tmp_path, domain_id, "building")
    assert seconds < 10.0  # not the 30 s the build would take (a loose bound for a loaded machine)
