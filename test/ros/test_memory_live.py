"""Memory is bounded (R18, convention 11): a round of fuzz may raise a node's high-water mark once,
but a second round of the same kind must not raise it again. A leak grows every round.

Round = distinct go commands the fusion policy must encode (its per-command caches are bounded,
here to 32 entries) plus a flood of invalid commands, junk decisions and junk audio/info.
``scripts/bench_safety.py --memory`` runs the 10,000-command version for the README.
"""

from __future__ import annotations

import time

import pytest
from std_msgs.msg import String

from mm_robot.bringup.graph import NodeSpec
from mm_robot.core.processes import rss_mb
from mm_robot.ros import qos
from mm_robot.ros.flood import distinct_commands, invalid_commands
from mm_robot.ros.probe import Probe, start_graph

pytestmark = pytest.mark.ros

NOISE_MB = 10.0  # a leak of 20 kB per command shows; a bounded cache plus allocator wobble (~3 MB) does not


def fuzz_round(probe: Probe, seed: int, commands: int) -> None:
    junk = invalid_commands(__import__("random").Random(seed))
    decision_pub = probe.node.create_publisher(String, "decision", qos.RELIABLE)
    for text in distinct_commands(commands, seed):
        probe.say(text)
        for _ in range(5):
            item = next(junk)
            probe.command_pub.publish(item if isinstance(item, bytes) else String(data=item))
        decision_pub.publish(String(data='{"stamp": ' + "[" * 100 + "]" * 100 + "}"))
        time.sleep(1 / 50)  # the policy ticks at 60 Hz: most commands get encoded
    probe.say("stop")
    time.sleep(3.0)  # idle


def test_a_second_fuzz_round_does_not_grow_memory(domain_id):
    specs = [NodeSpec("safety_controller_node", "safety_controller_node"),
             NodeSpec("camera_node", "camera_node", {"rate_hz": 60.0, "synthetic_drive": False}),
             NodeSpec("fusion_node", "fusion_node", {"policy": "fusion", "use_audio": False, "rate_hz": 60.0,
                                                     "command_cache_size": 32,
                                                     "limits.max_commands_per_second": 1000.0})]
    supervisor = start_graph(specs)
    probe = Probe(domain_id)
    try:
        assert probe.wait_for(lambda: len(probe.decisions) > 5 and probe.command_pub.get_subscription_count() >= 2,
                              60.0)
        pids = {r.spec.name: r.process.pid for r in supervisor.running}
        fuzz_round(probe, seed=1, commands=500)  # warm-up: fills caches and pools to their bounds
        after = []
        for seed in (2, 3):
            fuzz_round(probe, seed=seed, commands=500)
            after.append({name: rss_mb(pid) for name, pid in pids.items()})
        growth = {name: after[1][name] - after[0][name] for name in pids}
        assert all(g < NOISE_MB for g in growth.values()), (growth, after)
        assert all(r.process.poll() is None for r in supervisor.running)
        with probe.lock:
            encoded = sum(1 for d in probe.decisions if d["action"] not in ("idle", "stop", "not_understood"))
        assert encoded > 300, "the fusion policy hardly ran: the round did not exercise its caches"
    finally:
        probe.close()
        supervisor.stop()
