"""Roles, not names: no catalog component is named in bbgen's Python.

Code asks the catalog for a role (``sso``, ``ingress``, ``gitops`` …) and for the
facts a component declares in its component.yaml, so a new provider works without a
code change. This reads every module under src/bbgen with ``ast`` (so comments and
prose in longer strings do not count, and a name split across lines or built with an
f-string of one literal still does) and fails on any string literal equal to a
component name the shipped catalog has.
"""

from __future__ import annotations

import ast
from pathlib import Path

from bbgen.catalog import load_catalog, templates_root
from bbgen.spec.models import GATEWAY_API
from support import ROOT

SRC = ROOT / "src" / "bbgen"

# Literals that equal a component name but do not mean the component. Each entry is
# checked to still occur, so the list cannot silently outgrow its reasons.
ALLOWED = {
    # `ingress.provider: gateway` (Gateway API routing): a spec value, in the model's Literal and
    # named once for the rest of the code as models.GATEWAY_API; unrelated to the catalog
    # component that makes the Gateway.
    ("spec/models.py", GATEWAY_API),
    # Grafana's datasource plugin id for PromQL, which the generated dashboards' datasource variable selects by.
    ("render/observability.py", "prometheus"),
}


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [(node.lineno, node.value) for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _hits() -> list[tuple[str, int, str]]:
    names = set(load_catalog(templates_root()))
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        out += [(rel, line, value) for line, value in _literals(path) if value in names]
    return out


def test_no_component_name_is_written_in_python() -> None:
    found = [(f, line, v) for f, line, v in _hits() if (f, v) not in ALLOWED]
    assert not found, "component names in Python (ask the catalog for a role instead):\n" + "\n".join(
        f"src/bbgen/{f}:{line}: {v!r}" for f, line, v in sorted(found)
    )


def test_every_allowed_literal_still_occurs() -> None:
    used = {(f, v) for f, _, v in _hits()}
    assert ALLOWED <= used, f"stale allow-list entries: {sorted(ALLOWED - used)}"


def test_the_scan_sees_a_name_in_code(tmp_path: Path) -> None:
    """The scanner itself: literals anywhere in an expression count, prose and comments do not."""
    name = sorted(load_catalog(templates_root()))[0]
    sample = tmp_path / "sample.py"
    sample.write_text(
        f'"""Talks about {name} in prose."""\n'
        f"# {name} in a comment\n"
        f"X = {{'{name}': 1}}\n"
        f"def f(units):\n    return units.get(\n        '{name}')\n",
        encoding="utf-8",
    )
    assert [(line, value) for line, value in _literals(sample) if value == name] == [(3, name), (6, name)]
