"""Pure parts of ``mm-robot bench``: swap latencies from recorded streams, the soak summary."""

from __future__ import annotations

import pytest

pytest.importorskip("rclpy")  # bench.graph imports the message types

from mm_robot.bench.soak import summarise  # noqa: E402
from mm_robot.ros.latency_probe import Recorded, swap_latencies  # noqa: E402


def test_swap_latency_is_measured_to_the_first_message_turning_toward_the_new_side():
    seen = Recorded(frames=[(0.0, 1), (0.1, 1), (1.0, -1), (1.1, -1), (2.0, 1)])
    seen.decisions = [(0.5, {"angular": 0.4}), (1.05, {"angular": 0.3}), (1.08, {"angular": -0.3}),
                      (2.2, {"angular": 0.5})]
    seen.proposals = [(1.07, -0.3), (2.19, 0.5)]
    seen.cmd_vel = [(1.06, 0.0, 0.2), (1.09, 0.0, 0.0), (1.1, 0.0, -0.1), (2.3, 0.0, 0.1)]
    swaps, out = swap_latencies(seen)
    assert swaps == 2
    assert out["image_to_decision"] == pytest.approx([0.08, 0.2])  # 1.05 still turned the old way
    assert out["image_to_cmd_vel"] == pytest.approx([0.1, 0.3])  # zero is not a turn
    assert out["proposal_to_cmd_vel"] == pytest.approx([0.03, 0.11])


def test_swap_without_an_answer_before_the_next_swap_is_left_out():
    seen = Recorded(frames=[(0.0, 1), (1.0, -1), (2.0, 1)])
    seen.decisions = [(2.5, {"angular": -0.4})]  # answers the first swap, but after the second
    swaps, out = swap_latencies(seen)
    assert swaps == 2 and out["image_to_decision"] == []


def test_soak_summary_reports_rss_slope_and_latency_stability():
    windows = [{"t_s": 10.0 * k, "rss_mb": {"a": 100.0 + 0.01 * k, "b": 50.0}, "lag_ms_p50": 20.0,
                "lag_ms_p99": (40.0 if k < 45 else 55.0) if k != 20 else 90.0, "n": 300} for k in range(1, 61)]
    out = summarise(windows)
    assert out["lag_p99_ms_last_5_min"] == 55.0  # the last 30 windows' median: a drift shows
    assert out["rss"]["a"]["slope_mb_per_hour"] == pytest.approx(3.6, rel=1e-3)  # 0.01 MB per 10 s
    assert out["rss"]["b"]["slope_mb_per_hour"] == pytest.approx(0.0, abs=1e-9)
    assert out["lag_p99_ms_first_5_min"] == 40.0 and out["lag_p99_ms_worst_window"] == 90.0
    assert out["windows_within_20_percent"] == 43 and out["minutes"] == 10.0
