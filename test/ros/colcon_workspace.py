"""A colcon workspace holding this package, and `ros2` commands run in it as a ROS user runs them.

Two toolchains: a ROS distro (ROS_DISTRO set and `ros2` on PATH) or, without one, `.venv-ros2`
(scripts/setup_ros2_launch.sh: colcon from PyPI, the upstream launch stack as wheels, the rest
reused from the project's venv, which holds mm_robot only as an editable install). Children get an
environment with nothing of this checkout on it (no PYTHONPATH, no venv), so only the colcon-built
copy of mm_robot can be imported.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
TOOLS_VENV = ROOT / ".venv-ros2"
# Set by the project's venv (the ROS wheels' bootstrapper, our own test runs); a ROS shell has none.
NOT_INHERITED = ("PYTHONPATH", "LD_LIBRARY_PATH", "_ROS_WHEELS_BOOTSTRAP_COMPLETE", "AMENT_PREFIX_PATH",
                 "COLCON_PREFIX_PATH", "CMAKE_PREFIX_PATH", "VIRTUAL_ENV", "PYTHONHOME",
                 "PYTHONDONTWRITEBYTECODE")  # with it, setuptools warns that byte-compiling is disabled
# What `ros2 launch` itself prints when it gets the SIGINT that stops it: not a warning about us.
SIGINT_ACKNOWLEDGED = "[WARNING] [launch]: user interrupted with ctrl-c (SIGINT)"
# The safety controller refusing a decision or frame older than input_timeout (R2): the system
# reacting to CPU starvation (seen with a load average of 9 on 2 cores), not a defect of the package.
STALE_INPUT = re.compile(r"\[safety_controller_node-\d+\] \[WARN\] .*\[\w+\.stamp_old\] ")
WARNING = re.compile(r"warn|error|traceback|exception|deprecat", re.IGNORECASE)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Toolchain:
    """Where `colcon`, `ros2` and their python are, and the environment children start from."""

    kind: str  # "distro" or "wheels"
    colcon: str
    ros2: str
    python: str
    env: dict

    @staticmethod
    def find() -> Optional["Toolchain"]:
        if os.environ.get("ROS_DISTRO") and shutil.which("ros2"):
            env = {k: v for k, v in os.environ.items()
                   if k not in ("_ROS_WHEELS_BOOTSTRAP_COMPLETE", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")}
            env["PYTHONPATH"] = os.pathsep.join(p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                                if p and not Path(p).resolve().is_relative_to(ROOT))
            colcon = shutil.which("colcon") or str(TOOLS_VENV / "bin" / "colcon")
            return Toolchain("distro", colcon, shutil.which("ros2"), shutil.which("python3"), env)
        bin_dir = TOOLS_VENV / "bin"
        if not (bin_dir / "ros2").exists() or not (bin_dir / "colcon").exists():
            return None
        env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        env["PATH"] = os.pathsep.join([str(bin_dir), "/usr/local/bin", "/usr/bin", "/bin"])
        return Toolchain("wheels", str(bin_dir / "colcon"), str(bin_dir / "ros2"), str(bin_dir / "python"),
                         env)


@dataclass
class Workspace:
    """``root/src/mm_robot`` (a copy of this checkout's files), built into ``root/install``."""

    root: Path
    toolchain: Toolchain
    build_output: str = ""
    build_seconds: float = 0.0
    sourced: dict = field(default_factory=dict)

    @property
    def install(self) -> Path:
        return self.root / "install"

    @property
    def share(self) -> Path:
        return self.install / "mm_robot" / "share" / "mm_robot"

    def copy_sources(self) -> None:
        target = self.root / "src" / "mm_robot"
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                                cwd=ROOT, capture_output=True, text=True)
        if listed.returncode == 0:
            for name in filter(None, listed.stdout.split("\0")):
                source = ROOT / name
                if source.is_file():
                    (target / name).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, target / name)
        else:  # not a git checkout
            shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(
                ".git", ".venv*", "build", "install", "log", "runs", "__pycache__", "*.egg-info"))

    def build(self) -> subprocess.CompletedProcess:
        """``colcon build`` (console output of every step, so setuptools' warnings show)."""
        started = time.monotonic()
        result = subprocess.run([self.toolchain.colcon, "build", "--base-paths", "src",
                                 "--event-handlers", "console_direct+"],
                                cwd=self.root, env=self.toolchain.env, capture_output=True, text=True,
                                timeout=600)
        self.build_seconds = time.monotonic() - started
        self.build_output = result.stdout + result.stderr
        return result

    def source(self, extra_env: Optional[dict] = None) -> dict:
        """The environment after ``source install/setup.bash`` (colcon's own script)."""
        env = dict(self.toolchain.env, **(extra_env or {}))
        done = subprocess.run(["bash", "-c", 'source "$1/setup.bash" && env -0', "_", str(self.install)],
                              env=env, capture_output=True, text=True, check=True)
        return dict(line.split("=", 1) for line in done.stdout.split("\0") if "=" in line)

    def ros2(self, *args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([self.toolchain.ros2, *args], env=env, capture_output=True, text=True,
                              timeout=timeout, cwd=self.root)


def _default_sigint() -> None:
    # A background job of a non-interactive shell starts with SIGINT ignored, and exec keeps that:
    # `ros2 launch` could then not be stopped with SIGINT. Give it the default handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Launch:
    """``ros2 launch ...`` in a session of its own, output to a file; :meth:`interrupt` stops it."""

    def __init__(self, workspace: Workspace, args: list[str], env: dict, name: str):
        self.log_path = workspace.root / f"{name}.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen([workspace.toolchain.ros2, "launch", *args], env=env,
                                        cwd=workspace.root, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True, preexec_fn=_default_sigint)

    @property
    def output(self) -> str:
        return ANSI.sub("", self.log_path.read_text())

    def children(self) -> dict[int, list[str]]:
        """pid -> command line of the processes ``ros2 launch`` started (the nodes)."""
        found = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.process.pid:
                    cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
                    found[int(stat.parent.name)] = [part.decode() for part in cmdline if part]
            except (OSError, IndexError, ValueError):
                continue  # exited meanwhile
        return found

    def session_alive(self) -> list[int]:
        """Processes still in the launch's session (it leads its own)."""
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) == self.process.pid and fields[0] != "Z":
                    alive.append(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                continue
        return alive

    def interrupt(self, timeout: float = 30.0) -> int:
        """SIGINT to ``ros2 launch`` (as Ctrl-C would); its exit code."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        finally:
            self.close()

    def close(self) -> None:
        """Kill whatever is left (only after a failure)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        for pid in self.session_alive():
            os.kill(pid, signal.SIGKILL)
        self._log.close()


def warnings_in(output: str, allowed: tuple[str, ...] = (),
                tolerated: Optional[re.Pattern] = None) -> list[str]:
    """Lines of ``output`` that warn or report an error, less the ``allowed`` ones and those that
    match ``tolerated`` (printed, for the record)."""
    found = []
    for line in ANSI.sub("", output).splitlines():
        if not WARNING.search(line) or line.strip() in allowed:
            continue
        if tolerated is not None and tolerated.search(line):
            print(f"tolerated: {line}")
            continue
        found.append(line)
    return found
