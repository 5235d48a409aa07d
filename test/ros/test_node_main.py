"""run_node's shutdown order: SIGINT while a callback is running on an executor thread.

The executor is shut down (the callback finishes) before the shutdown hook runs and before the
node is destroyed; destroying first made the late callback fail with "cannot use Destroyable
because destruction was requested" (printed as an exception that was never retrieved).
"""

import os
import signal
import subprocess
import sys
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


def test_sigint_during_a_callback_lets_it_finish_before_the_hook_and_the_node_go(domain_id, tmp_path):
    script = tmp_path / "slow_node.py"
    script.write_text(SLOW_NODE)
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain_id),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, start_new_session=True)
    try:
        assert process.stdout.readline().strip() == "callback started"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err[-2000:]
    assert "Destroyable" not in err and "never retrieved" not in err and "Traceback" not in err, err[-2000:]
    assert out.split() == "callback finished shutdown hook".split(), out
