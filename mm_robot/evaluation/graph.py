"""One scenario through the real node graph on the MuJoCo simulator (ROS-free: processes only).

``sim_node`` runs the scenario in lockstep, judges it and exits; this module starts the graph
in a ROS domain of its own, waits for that exit and returns the result JSON it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Optional

from ..bringup.graph import GraphOptions, simulation_graph, simulation_options
from ..bringup.supervisor import Supervisor

GRAPH_COMMAND_READERS = 2  # safety_controller_node and fusion_node read ``command``


def run_scenario(scenario: str | Path, out_dir: str | Path, options: GraphOptions = GraphOptions(),
                 domain_id: Optional[int] = None, video: str = "mp4", mode: str = "lockstep",
                 timeout: float = 600.0, quiet: bool = False, extra_command_readers: int = 0) -> dict:
    """Run ``scenario`` with the graph of ``options``; return its result dict.

    ``extra_command_readers``: readers of ``command`` outside the graph (a recorder) that the first
    command must wait for. A run that crashes or times out is returned as a failure with the
    reason, never raised: an evaluation must count it. A run stopped by the wall-clock ``timeout`` says so
    (``timed_out``: true, and the first reason), keeping what sim_node wrote when it was stopped.
    """
    scenario, out_dir = Path(scenario), Path(out_dir)
    options = simulation_options(options)
    name = scenario.stem
    sim_parameters = {"scenario": str(scenario.resolve()), "mode": mode, "output_dir": str(out_dir.resolve()),
                      "video": video, "exit_on_done": True}
    if extra_command_readers:  # e.g. a recorder: sim_node waits for it too before the first command
        sim_parameters["command_readers"] = GRAPH_COMMAND_READERS + extra_command_readers
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE=os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE",
                                                                          "LOCALHOST"))
    if domain_id is not None:
        env["ROS_DOMAIN_ID"] = str(domain_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / f"{name}.log"
    started = time.monotonic()
    with open(log_path if quiet else os.devnull, "w") as log:  # quiet: node output to a log file
        supervisor = Supervisor(simulation_graph(options, sim_parameters), options, env=env,
                                log=(lambda _: None) if quiet else print, output=log if quiet else None)
        supervisor.start()
        sim = next(r.process for r in supervisor.running if r.spec.executable == "sim_node")
        try:
            code, ended_by = _wait_for_sim(supervisor, sim, timeout)
        finally:
            supervisor.stop()  # sim_node writes what it has (result, logs) when stopped early
    result_path = out_dir / name / "result.json"
    partial = json.loads(result_path.read_text()) if result_path.exists() else None
    if code == 0 and partial is not None:
        result = partial
    else:
        where = f"; see {log_path}" if quiet else ""
        if ended_by == "timeout":
            why = f"wall-clock limit of {timeout:g} s reached: the graph was stopped"
        elif ended_by is not None:
            why = f"{ended_by} exited before sim_node"
        else:
            why = f"graph run failed (sim_node exit {code})"
        result = dict(partial or {"scenario": name})
        result["success"] = False
        result["reasons"] = [why + where] + list(result.get("reasons", []))
    result["timed_out"] = ended_by == "timeout"
    result["wall_s"] = round(time.monotonic() - started, 1)
    result_path.parent.mkdir(parents=True, exist_ok=True)
    result_path.write_text(json.dumps(result, indent=2))  # the run's own file says how it ended too
    return result


def _wait_for_sim(supervisor: Supervisor, sim: subprocess.Popen, timeout: float) -> tuple[Optional[int], Optional[str]]:
    """(sim_node's exit code, None) once it exits; (None, "timeout") when ``timeout`` wall seconds
    passed first; (None, the node's name) when another node died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sim.poll() is not None:
            return sim.returncode, None
        dead = supervisor.poll()
        if dead is not None and dead.process is not sim:
            return None, dead.spec.name
        time.sleep(0.2)
    return None, "timeout"
