"""Subscriptions that take everything waiting each time they wake (the command path).

rclpy's executor rebuilds its wait set for every message, so one message per wake-up tops
out at a few hundred messages per second on a small CPU: under a flood, a depth-10 history
overflows and a "stop" can be lost before any callback sees it. A draining subscription keeps
every sample (``qos.COMMAND_IN``: reliable, keep all) and, once woken, takes all that are
waiting in one go (tens of microseconds each), in arrival order, and hands them over as one
batch, so the consumer can look for a stop in all of them before it reads any further.
Its callback group is mutually exclusive, so the executor and the drain never take from the
same reader at once.
"""

from __future__ import annotations

from typing import Callable

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile
from rclpy.subscription import Subscription

from . import qos as profiles


def create_draining_subscription(node: Node, msg_type, topic: str, on_batch: Callable[[list], None],
                                 qos: QoSProfile = profiles.COMMAND_IN, max_batch: int = 10000,
                                 event_callbacks=None) -> Subscription:
    """Subscribe to ``topic`` so that no message waiting in the reader is skipped: ``on_batch``
    gets every message waiting at a wake-up, oldest first.

    ``max_batch`` bounds one wake-up's work so other callbacks of the node get their turn; what
    is left waits, unharmed, for the next wake-up.
    """
    holder: dict[str, Subscription] = {}

    def on_message(first) -> None:
        batch = [first]
        subscription = holder["subscription"]
        while len(batch) < max_batch:
            with subscription.handle:
                taken = subscription.handle.take_message(msg_type, subscription.raw)
            if taken is None:
                break
            batch.append(taken[0])
        on_batch(batch)

    holder["subscription"] = node.create_subscription(msg_type, topic, on_message, qos,
                                                      callback_group=MutuallyExclusiveCallbackGroup(),
                                                      event_callbacks=event_callbacks)
    return holder["subscription"]
