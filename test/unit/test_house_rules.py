"""Every rule tag the code cites (R1-R22, "convention N") is defined in docs/requirements.md, and
no comment cites a document the repository does not hold."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for folder in ("mm_robot", "test", "scripts", "launch") for p in (ROOT / folder).rglob("*.py")
           if p.name != Path(__file__).name]
RULES = (ROOT / "docs" / "requirements.md").read_text()
DEFINED_R = set(re.findall(r"^### (R\d+)$", RULES, re.M))
DEFINED_C = set(re.findall(r"^### Convention (\d+)$", RULES, re.M))


def cited(pattern: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in SOURCES:
        for tag in re.findall(pattern, path.read_text()):
            found.setdefault(tag, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_cited_requirement_is_defined():
    missing = {tag: where for tag, where in cited(r"\b(R\d{1,2})\b").items() if tag not in DEFINED_R}
    assert not missing, missing
    assert DEFINED_R == {f"R{i}" for i in range(1, 23)}


def test_every_cited_convention_is_defined():
    missing = {tag: where for tag, where in cited(r"(?i)\bconvention (\d+)").items() if tag not in DEFINED_C}
    assert not missing, missing


def test_no_citation_of_documents_outside_the_repository():
    outside = cited(r"(DESIGN §\d+|Done-when|RELIABILITY\.md)")
    assert not outside, outside


def _definitions():
    import ast
    for path in (ROOT / "mm_robot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            yield path.relative_to(ROOT), node


def test_no_function_is_over_80_lines():
    import ast
    long = [(str(path), node.name, node.end_lineno - node.lineno + 1) for path, node in _definitions()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 80]
    assert not long, long


def test_no_two_classes_share_a_name():
    import ast
    seen: dict[str, str] = {}
    twice = []
    for path, node in _definitions():
        if isinstance(node, ast.ClassDef):
            if node.name in seen and seen[node.name] != str(path):
                twice.append((node.name, seen[node.name], str(path)))
            seen.setdefault(node.name, str(path))
    assert not twice, twice
