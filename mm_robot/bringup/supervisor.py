"""Run the node graph as one process per node, without ``ros2 launch`` (ROS-free).

Stops everything on Ctrl-C/SIGTERM, when the duration is up, or when any node
exits; nodes get SIGINT first (so the safety controller publishes its last
zero), then SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional

from .graph import GraphOptions, NodeSpec, ros_arguments


@dataclass
class Running:
    spec: NodeSpec
    process: subprocess.Popen


def node_command(spec: NodeSpec, options: GraphOptions) -> list[str]:
    return [sys.executable, "-m", spec.module] + ros_arguments(spec, options)


class Supervisor:
    def __init__(self, specs: list[NodeSpec], options: GraphOptions, log: Callable[[str], None] = print,
                 env: Optional[dict] = None, output=None):
        """``output``: a file for the nodes' stdout and stderr (default: inherit)."""
        self.specs = specs
        self.options = options
        self.log = log
        self.env = dict(os.environ if env is None else env)
        self.running: list[Running] = []
        self.output = output

    def start(self) -> None:
        for spec in self.specs:
            process = subprocess.Popen(node_command(spec, self.options), env=self.env,
                                       stdout=self.output, stderr=self.output,
                                       start_new_session=True)  # our signals, not the terminal's
            self.running.append(Running(spec, process))
            self.log(f"started {spec.name} (pid {process.pid})")

    def poll(self) -> Optional[Running]:
        """The first node that has exited, if any."""
        for item in self.running:
            if item.process.poll() is not None:
                return item
        return None

    def wait(self, duration: Optional[float] = None, tick: Optional[Callable[[], None]] = None) -> int:
        """Block until a node exits, ``duration`` passes or a signal; then stop all. Returns exit code."""
        deadline = None if duration is None else time.monotonic() + duration
        interrupted = {"flag": False}

        def on_signal(signum, _frame):
            interrupted["flag"] = True

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        code = 0
        try:
            while not interrupted["flag"]:
                dead = self.poll()
                if dead is not None:
                    self.log(f"{dead.spec.name} exited with code {dead.process.returncode}; stopping the graph")
                    code = dead.process.returncode or 1
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if tick is not None:
                    tick()
                time.sleep(0.1)
        finally:
            self.stop()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return code

    def stop(self, grace: float = 5.0) -> None:
        """SIGINT every node, the safety controller last so it keeps publishing zero till the end."""
        others = [r for r in self.running if r.spec.executable != "safety_controller_node"]
        safety = [r for r in self.running if r.spec.executable == "safety_controller_node"]
        for group in (others, safety):
            for item in group:
                _signal(item.process, signal.SIGINT)
            for item in group:
                _wait(item.process, grace)
        self.log("graph stopped")


def _wait(process: subprocess.Popen, grace: float) -> None:
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal(process, signal.SIGTERM)
        try:
            process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _signal(process: subprocess.Popen, signum: int) -> None:
    if process.poll() is None:
        try:
            process.send_signal(signum)
        except ProcessLookupError:
            pass
