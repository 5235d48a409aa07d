"""``mm-robot bench --quick``: every part runs and the report is complete and sane (not timed)."""

from __future__ import annotations

import json

import pytest

from mm_robot.bench.run import bench_main

pytestmark = pytest.mark.ros


def _ordered(summary: dict) -> bool:
    return 0 < summary["p50"] <= summary["p90"] <= summary["p99"] <= summary["max"]


def test_quick_bench_writes_a_complete_and_sane_report(tmp_path, domain_id):
    out = tmp_path / "bench"
    assert (
        bench_main(
            ["--quick", "--out", str(out), "--domain-id", str(domain_id), "--frames", "20", "--swaps", "3"]
        )
        == 0
    )
    result = json.loads((out / "bench.json").read_text())
    assert (out / "latency.png").stat().st_size > 1000
    text = (out / "bench.md").read_text()
    for heading in ("## Compute (one core)", "## Live graph over DDS", "## DDS delivery"):
        assert heading in text

    compute = result["compute"]
    bounds = compute["bounds"]
    assert bounds["matmul_peak_gflops"]["best"] >= max(
        v for k, v in bounds["matmul_peak_gflops"].items() if k != "best"
    )
    assert bounds["copy_bandwidth_gbs"] > 0 and 60 < bounds["model_mflops"] < 100
    assert bounds["compute_bound_ms"] == pytest.approx(
        bounds["model_mflops"] / bounds["matmul_peak_gflops"]["best"], rel=0.02
    )
    assert set(compute["serving"]) == {"onnx", "torch"}
    for timing in compute["serving"].values():
        assert _ordered(timing["model_ms"]) and timing["select_action_ratio"] > 0
    assert compute["serving"]["onnx"]["serving"] == "onnx"
    assert all(cap["frames_per_s"] > 0 for cap in compute["loop_capacity"].values())
    assert compute["warm_start"]["first_command_ms"] > 0

    assert set(result["graph"]) == {"baseline", "fusion"}
    for policy, run in result["graph"].items():
        assert run["swaps"] >= 2, policy
        for path in ("image_to_decision", "image_to_cmd_vel", "image_to_grounding"):
            summary = run["latency_ms"][path]
            assert summary["n"] >= 1 and _ordered(summary) and summary["max"] < 5000, (policy, path)
        assert run["command_to_grounding_ms"]["first_after_start"] is not None
        assert run["safety_ms"]["stop"]["n"] == 1 and run["safety_ms"]["stop"]["max"] < 3000
        assert 450 < run["safety_ms"]["camera_silent"]["p50"] < 3000  # includes the 0.5 s input timeout
        for node in ("fusion_node", "safety_controller_node"):
            use = run["resources"][node]
            assert use["rss_mb"] > 10 and use["cpu_share"] >= 0

    rows = result["dds"]
    assert {(r["width"], r["height"], r["transport"]) for r in rows} == {
        (w, h, t) for w, h in ((320, 240), (640, 480), (1920, 1080))
        for t in ("default", "LARGE_DATA", "mm_robot profile")
    }
    for row in rows:
        assert row["sent"] > 0 and 0 <= row["received"] <= row["sent"] and 0 <= row["delivered"] <= 1
