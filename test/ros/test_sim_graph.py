"""The real graph on the simulator: sim_node (lockstep) + fusion_node (baseline policy) +
safety_controller_node, all on sim time, reach the red ball of a small scenario."""

from __future__ import annotations

import json

import pytest
import yaml

from mm_robot.bringup.graph import GraphOptions, NodeSpec
from mm_robot.ros.probe import start_graph

pytestmark = pytest.mark.ros
pytest.importorskip("mujoco")

SCENARIO = {
    "schema": "mm_robot/scenario/1", "name": "graph_goto",
    "scene": {"arena_size": 6, "robot": {"x": -1.0, "y": 0.0, "yaw": 0.2}, "randomise": {"seed": 11},
              "objects": [{"name": "ball", "colour": "red", "shape": "ball", "x": 0.9, "y": 0.1},
                          {"name": "box", "colour": "blue", "shape": "box", "x": 0.5, "y": -1.6}]},
    "timeline": [{"t": 0.5, "text": "go to the red ball"}],
    "criteria": {"expect": "reach", "targets": ["ball"], "time_limit": 30},
}


def test_baseline_graph_reaches_the_ball_in_lockstep(domain_id, tmp_path):
    scenario = tmp_path / "graph_goto.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    out = tmp_path / "out"
    specs = [NodeSpec("safety_controller_node", "safety_controller_node"),
             NodeSpec("fusion_node", "fusion_node", {"use_audio": False, "policy": "baseline"}),
             NodeSpec("sim_node", "sim_node", {"scenario": str(scenario), "mode": "lockstep",
                                               "output_dir": str(out), "video": "none"})]
    supervisor = start_graph(specs, GraphOptions(use_sim_time=True, camera="sim"))
    try:
        sim = next(r.process for r in supervisor.running if r.spec.name == "sim_node")
        try:
            code = sim.wait(timeout=90)
        except Exception:
            code = None
        assert code == 0, f"sim_node did not finish (exit {code})"
    finally:
        supervisor.stop()
    result = json.loads((out / "graph_goto" / "result.json").read_text())
    assert result["success"], result["reasons"]
    assert result["reported"] == "arrived" and result["collisions"] == 0
