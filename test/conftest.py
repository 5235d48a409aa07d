"""Test-wide environment: localhost-only DDS, an isolated ROS domain, no model hub."""

from __future__ import annotations

import itertools
import os
import random
from pathlib import Path

import pytest

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("MUJOCO_GL", "egl")

# Domains 1..100, spaced by process so parallel runs on one machine do not meet;
# MM_ROBOT_TEST_DOMAIN_BASE pins the first of the ten (for several checkouts tested at once).
_BASE = int(os.environ.get("MM_ROBOT_TEST_DOMAIN_BASE") or random.Random(os.getpid()).randrange(1, 90))
_domains = itertools.cycle(range(_BASE, _BASE + 10))


def next_domain_id() -> int:
    return next(_domains)


os.environ["ROS_DOMAIN_ID"] = str(next_domain_id())


@pytest.fixture
def domain_id(monkeypatch) -> int:
    """A fresh ROS domain for one test; also exported for child processes."""
    value = next_domain_id()
    monkeypatch.setenv("ROS_DOMAIN_ID", str(value))
    return value


@pytest.fixture(scope="module")
def module_domain_id():
    """A fresh ROS domain shared by one module's tests (and its child processes)."""
    value, before = next_domain_id(), os.environ.get("ROS_DOMAIN_ID")
    os.environ["ROS_DOMAIN_ID"] = str(value)
    yield value
    if before is None:
        os.environ.pop("ROS_DOMAIN_ID", None)
    else:
        os.environ["ROS_DOMAIN_ID"] = before


# ../shared next to the checkout (CI has it): offline rosdep data, the ROS 2 launch wheels.
SHARED = Path(os.environ.get("MM_ROBOT_SHARED") or Path(__file__).resolve().parents[2] / "shared")


def require(condition: bool, reason: str) -> None:
    """Skip when a prerequisite is missing on a developer machine; fail in CI (``.ci/run`` sets
    CI=1), so that a broken setup can never pass there as a skipped test."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    require(SHARED.is_dir(), f"{SHARED} is missing (CI has ../shared next to the checkout; "
            "MM_ROBOT_SHARED points elsewhere)")
    return SHARED
