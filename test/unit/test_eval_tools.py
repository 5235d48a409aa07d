"""Evaluation tooling: ROS domains claimed per evaluation, wall-clock stops reported, per-run logs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mm_robot.evaluation.domains import DomainClaim, parse_range


def test_two_evaluations_never_share_a_domain(tmp_path):
    with DomainClaim(2, 100, 119, lock_dir=tmp_path) as first:
        with DomainClaim(2, 100, 119, lock_dir=tmp_path) as second:
            assert len(first.domains) == len(second.domains) == 2
            assert not set(first.domains) & set(second.domains)
            held = first.domains
    with DomainClaim(2, 100, 119, lock_dir=tmp_path) as again:
        assert again.domains == held  # released on exit


def test_a_domain_held_by_another_process_is_skipped(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from mm_robot.evaluation.domains import DomainClaim; "
        f"c = DomainClaim(1, 100, 100, lock_dir=Path({str(tmp_path)!r})); print('held', flush=True); "
        "time.sleep(30)")], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert holder.stdout.readline().strip() == "held"
        with DomainClaim(1, 100, 101, lock_dir=tmp_path) as claim:
            assert claim.domains == [101]
        with pytest.raises(RuntimeError, match="free"):
            DomainClaim(1, 100, 100, lock_dir=tmp_path)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("text, expected", [("120-140", (120, 140)), ("105", (105, 105))])
def test_domain_ranges(text, expected):
    assert parse_range(text) == expected


@pytest.mark.parametrize("text", ["5-2", "1-300", "abc"])
def test_bad_domain_ranges(text):
    with pytest.raises(ValueError):
        parse_range(text)


def test_a_graph_run_stopped_by_its_wall_clock_limit_says_so(tmp_path, monkeypatch):
    from mm_robot.evaluation import graph

    class Process:
        returncode = None

        def poll(self):
            return None

    class FakeSupervisor:
        def __init__(self, *args, **kwargs):
            spec = type("Spec", (), {"executable": "sim_node", "name": "sim_node"})()
            self.running = [type("Running", (), {"process": Process(), "spec": spec})()]

        def start(self):
            pass

        def poll(self):
            return None

        def stop(self):
            pass

    monkeypatch.setattr(graph, "Supervisor", FakeSupervisor)
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "public" / "go_to_red_ball.yaml"
    result = graph.run_scenario(scenario, tmp_path, domain_id=100, timeout=0.3, quiet=True)
    assert result["timed_out"] is True and result["success"] is False
    assert result["reasons"][0].startswith("wall-clock limit of 0.3 s reached")
    written = json.loads((tmp_path / "go_to_red_ball" / "result.json").read_text())
    assert written["timed_out"] is True and written["reasons"] == result["reasons"]


def test_lockstep_evaluation_keeps_decisions_and_counts(tmp_path):
    pytest.importorskip("mujoco")
    from mm_robot.evaluation import evaluate
    suite = tmp_path / "suite"
    suite.mkdir()
    source = Path(__file__).resolve().parents[2] / "scenarios" / "public" / "go_to_red_ball.yaml"
    (suite / source.name).write_text(source.read_text())
    summary = evaluate(suite, ["oracle"], tmp_path / "out", mode="lockstep", workers=1, video="gif")
    stats = summary["policies"]["oracle"]
    assert stats["success_rate"] == 1.0 and stats["timed_out"] == 0
    assert stats["decisions"].get("arrived", 0) >= 1
    run = tmp_path / "out" / "oracle" / "go_to_red_ball"
    result = json.loads((run / "result.json").read_text())
    assert result["decisions"] == stats["decisions"]
    lines = [json.loads(line) for line in (run / "decisions.jsonl").read_text().splitlines()]
    assert sum(result["decisions"].values()) == len(lines)
    assert any(line.get("plan") for line in lines)
    assert (run / "groundings.jsonl").is_file()
    assert result["outputs"]["video"] == str(run / "camera.gif") and (run / "camera.gif").stat().st_size > 1000
    assert (tmp_path / "out" / "report.md").read_text().count("wall-clock") == 1
