"""Import direction (README, Layout), derived from the folders: ``ros/`` and ``nodes/`` are the only
packages that may import rclpy; nothing imports ``nodes``; ``core`` imports nothing of ours but
itself and no heavy library."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mm_robot"
ROS_PACKAGES = {"ros", "nodes"}
SUBPACKAGES = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
ROS_FREE = [p for p in SUBPACKAGES if p not in ROS_PACKAGES]


def modules_of(folder: str) -> list[str]:
    return sorted(f"mm_robot.{folder}.{p.stem}" if p.stem != "__init__" else f"mm_robot.{folder}"
                  for p in (PACKAGE / folder).glob("*.py"))


def imports_of(path: Path) -> set[str]:
    """Absolute names of what ``path`` imports (relative imports resolved within mm_robot)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1]  # the package a relative import starts from (for __init__ too)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else ()
            module = ".".join(base + ((node.module,) if node.module else ()))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_the_layers_are_the_folders():
    assert {"core", "ros", "nodes", "bringup", "policies", "model", "sim", "evaluation"} <= set(SUBPACKAGES)


@pytest.mark.parametrize("folder", ROS_FREE)
def test_ros_free_packages_never_import_rclpy(folder):
    modules = modules_of(folder)
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('rclpy', 'rosidl_parser')]\n"
            "sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"mm_robot.{folder} imports rclpy\n{result.stderr[-2000:]}"


def test_the_cli_never_imports_rclpy_until_a_command_needs_it():
    code = "import sys, mm_robot.cli; sys.exit(1 if 'rclpy' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_nothing_imports_the_nodes():
    offenders = [str(p) for p in PACKAGE.rglob("*.py") if "nodes" not in p.parts
                 and any(name.startswith("mm_robot.nodes") for name in imports_of(p))]
    assert not offenders, offenders


def test_core_imports_only_core():
    for path in (PACKAGE / "core").glob("*.py"):
        ours = {name for name in imports_of(path) if name.startswith("mm_robot.")}
        assert all(name.startswith("mm_robot.core") for name in ours), (path.name, ours)


def test_core_imports_nothing_heavy():
    code = ("import sys, mm_robot.core.safety, mm_robot.core.records, mm_robot.core.commands, "
            "mm_robot.core.language; "
            "sys.exit(1 if any(m in sys.modules for m in ('torch', 'cv2', 'rclpy', 'mujoco', 'matplotlib')) else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
