"""`mm-robot sim` and `mm-robot eval`: the closed loop through the real graph, and the report."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mm_robot.evaluation import evaluate

pytestmark = pytest.mark.ros
pytest.importorskip("mujoco")

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "public" / "go_to_red_ball.yaml"


def test_sim_command_runs_the_public_red_ball_scenario_and_writes_its_outputs(domain_id, tmp_path):
    result = subprocess.run([sys.executable, "-m", "mm_robot.cli", "sim", "--scenario", str(DEMO),
                             "--out", str(tmp_path), "--video", "gif"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "SUCCESS: go_to_red_ball" in result.stdout
    out = tmp_path / "go_to_red_ball"
    data = json.loads((out / "result.json").read_text())
    assert data["success"] and data["collisions"] == 0 and data["reported"] == "arrived"
    assert (out / "trajectory.png").stat().st_size > 1000 and (out / "camera.gif").stat().st_size > 1000


def test_eval_reports_each_policy_by_task_type(domain_id, tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    for name in ("go_to_red_ball.yaml", "stop_0.yaml"):
        shutil.copy(ROOT / "scenarios" / "public" / name, suite / name)
    summary = evaluate(suite, ["oracle", "baseline"], tmp_path / "out", mode="graph", workers=1,
                       domains=(domain_id, domain_id))
    oracle = summary["policies"]["oracle"]
    assert oracle["scenarios"] == 2 and oracle["success_rate"] == 1.0
    assert set(oracle["by_category"]) == {"goto", "stop"}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| goto |" in report and "| stop |" in report and "oracle" in report and "baseline" in report
    assert (tmp_path / "out" / "success_by_category.png").stat().st_size > 1000
    baseline = {r["scenario"]: r for r in summary["policies"]["baseline"]["results"]}
    assert baseline["go_to_red_ball"]["success"], baseline["go_to_red_ball"]["reasons"]
    assert json.loads((tmp_path / "out" / "eval.json").read_text())["mode"] == "graph"
