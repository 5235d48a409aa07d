"""A portable ``main()`` for every node (convention 1, R9, R13).

rclpy's default signal handlers shut the context down before our code runs, so
a node could not publish its last zero velocity. We take SIGINT/SIGTERM
ourselves (a flag the spin loop checks) and leave the loop; then, in this order:
shut the executor down (waiting for callbacks still queued or running on its
threads, which would otherwise touch a node being destroyed), call the node's
``shutdown_hook`` (its messages are the last: no callback can publish after
them), destroy the node, shut down rclpy, and end the process at once (Python's
own teardown of torch and transformers takes seconds, past ros2 launch's
SIGINT-to-SIGTERM deadline on a loaded machine).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Callable, Optional, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from ..core.config import ConfigError

# How long shutdown waits for callbacks in flight; ros2 launch escalates to SIGTERM after 5 s.
EXECUTOR_STOP_TIMEOUT = 3.0
# After this long the process ends whatever is still shutting down (the last zero is sent well before).
SHUTDOWN_DEADLINE = 4.5


class _Stop(Exception):
    pass


def run_node(factory: Callable[[], Node], args: Optional[Sequence[str]] = None, threads: int = 3,
             exit_process: bool = True, events: bool = False) -> int:
    """Create the node, spin it until a signal, shut down cleanly.

    The executor is rclpy's multi-threaded one (``threads`` workers), or with ``events`` its
    EventsExecutor: one thread, with the wait and the dispatch in C++ (rclpy.experimental), for a
    node whose callbacks are all short and whose reaction time matters (the safety controller).
    The exit code is 0 after a signal, 2 for a configuration error. With ``exit_process`` (what a
    node's ``main`` wants) the process ends with it here; otherwise it is returned.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    state = {"spinning": False, "stop": False}

    def on_signal(signum, _frame):
        state["stop"] = True
        if not state["spinning"]:  # still building the node (loading a model): abandon it at once
            raise _Stop()
        # Spinning: the loop sees the flag within one spin_once (0.1 s). Raising here instead could
        # land inside the executor's own bookkeeping (a lock, a worker thread being started).

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    node = None
    executor = None
    code = 0
    try:
        node = factory()
        executor = EventsExecutor() if events else MultiThreadedExecutor(num_threads=threads)
        executor.add_node(node)
        state["spinning"] = True
        _spin(executor, node, lambda: state["stop"])
    except ConfigError as error:
        print(f"[{getattr(factory, '__name__', 'mm_robot')}] configuration error: {error}", file=sys.stderr)
        code = 2
    except (_Stop, KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        for s in previous:
            signal.signal(s, signal.SIG_IGN)
        if exit_process:  # a shutdown that hangs (seen once in rclpy's teardown) must still end the process
            deadline = threading.Timer(SHUTDOWN_DEADLINE, _exit_now, args=(code,))
            deadline.daemon = True
            deadline.start()
        if executor is not None and not _stop_executor(executor, EXECUTOR_STOP_TIMEOUT):
            print(f"a callback was still running {EXECUTOR_STOP_TIMEOUT:.0f} s after the stop request; "
                  "destroying the node anyway", file=sys.stderr)
        if node is not None:
            _run_shutdown_hook(node)
            node.destroy_node()
        rclpy.try_shutdown()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if exit_process:
        _exit_now(code)
    return code


def _spin(executor: MultiThreadedExecutor, node: Node, stopped: Callable[[], bool]) -> None:
    """Spin until ``stopped()`` or rclpy shuts down; a callback that raises is logged, not fatal."""
    failures = 0
    while rclpy.ok() and not stopped():
        try:
            executor.spin_once(timeout_sec=0.1)
        except (_Stop, ExternalShutdownException):
            raise
        except Exception as error:  # R9: last line of defence; callbacks guard themselves first
            failures += 1
            if failures == 1 or failures % 100 == 0:
                node.get_logger().error(f"callback raised {error!r} ({failures} so far); node continues")


def _stop_executor(executor: MultiThreadedExecutor, timeout: float) -> bool:
    """Shut ``executor`` down and wait up to ``timeout`` s for the callbacks it is running.

    Returns False when one is still running then (a hung callback must not keep the process alive).
    """
    finished = threading.Event()

    def stop() -> None:
        # Drain rclpy's worker pool first: Executor.shutdown destroys the executor's guard condition
        # before it shuts the pool down (rclpy 9), and a callback still queued there then fails on
        # the destroyed guard ("cannot use Destroyable because destruction was requested"). Nothing
        # new is queued: the spin loop has ended.
        pool = getattr(executor, "_executor", None)
        if pool is not None:
            pool.shutdown(wait=True)
        executor.shutdown()  # joins the worker threads: every callback in flight has returned
        finished.set()

    threading.Thread(target=stop, name="executor-shutdown", daemon=True).start()
    return finished.wait(timeout)


def _run_shutdown_hook(node: Node) -> None:
    hook = getattr(node, "shutdown_hook", None)
    if hook is not None and rclpy.ok():
        try:
            hook()
        except Exception as error:  # shutdown must finish
            print(f"shutdown hook failed: {error!r}", file=sys.stderr)


def _exit_now(code: int) -> None:
    """End the process without Python's module teardown (everything the node owned is shut down)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken pipe: nothing left to save
            pass
    os._exit(code)
