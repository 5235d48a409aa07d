"""Import direction (README, Layout): the ROS-free layers never import rclpy."""

import subprocess
import sys

import pytest

ROS_FREE = ["mm_robot.core.records", "mm_robot.core.safety", "mm_robot.core.commands",
            "mm_robot.core.validation", "mm_robot.policies", "mm_robot.policies.colour_baseline",
            "mm_robot.policies.runner", "mm_robot.sources.camera", "mm_robot.sources.audio",
            "mm_robot.bringup.graph", "mm_robot.bringup.parameter_docs", "mm_robot.bringup.supervisor", "mm_robot.cli",
            "mm_robot.model", "mm_robot.sim", "mm_robot.audio", "mm_robot.training"]


@pytest.mark.parametrize("module", ROS_FREE)
def test_module_does_not_import_rclpy(module):
    code = (f"import importlib, sys; importlib.import_module({module!r}); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('rclpy', 'rosidl_parser')]; "
            "sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"{module} imports rclpy\n{result.stderr[-2000:]}"


def test_core_imports_nothing_heavy():
    code = ("import sys, mm_robot.core.safety, mm_robot.core.records, mm_robot.core.commands; "
            "sys.exit(1 if any(m in sys.modules for m in ('torch', 'cv2', 'rclpy', 'mujoco')) else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
