"""fusion_node on a machine without torch: it starts, logs one line saying it falls back to the
baseline, and drives with the baseline (its decisions say so)."""

import os

import pytest

from mm_robot.bringup.graph import GraphOptions, NodeSpec
from mm_robot.bringup.supervisor import Supervisor
from mm_robot.ros.probe import Probe

pytestmark = pytest.mark.ros


def test_fusion_node_without_torch_runs_the_baseline_and_says_so(domain_id, tmp_path):
    hidden = tmp_path / "no_torch" / "torch"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\", "
                                        "name='torch')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(hidden.parent),
                                                                     os.environ.get("PYTHONPATH")])))
    log_path = tmp_path / "nodes.log"
    with open(log_path, "w") as log:
        supervisor = Supervisor([NodeSpec("camera_node", "camera_node", {"synthetic_drive": False}),
                                 NodeSpec("fusion_node", "fusion_node", {"use_audio": False})],
                                GraphOptions(), log=lambda _: None, env=env, output=log)
        supervisor.start()
        probe = Probe(domain_id)
        try:
            assert probe.wait_for(lambda: len(probe.decisions) >= 3, 40.0), log_path.read_text()[-2000:]
            assert {d["policy"] for d in probe.decisions} == {"baseline"}
        finally:
            probe.close()
            supervisor.stop()
    lines = [line for line in log_path.read_text().splitlines() if "falling back to 'baseline'" in line]
    assert len(lines) == 1 and "WARN" in lines[0] and "No module named 'torch'" in lines[0], lines
