"""Helpers for the API-server tests (a plain module: `conftest` names collide across test dirs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml"))
TIMEOUT = 600


def bbgen(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the bbgen CLI from this checkout; bounded in time."""
    full = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bbgen", *args], capture_output=True, text=True, env=full, timeout=TIMEOUT, check=False)


def render(profile: str, out: Path) -> Path:
    done = bbgen("render", str(ROOT / "profiles" / f"{profile}.yaml"), "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    return out


def copy_render(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def chart_args() -> list[str]:
    """The upstream chart trees, when present ($BBGEN_CHARTS, else ../shared/charts as in CI): their output is dry-run too."""
    explicit = os.environ.get("BBGEN_CHARTS")
    found = Path(explicit) if explicit else ROOT.parent / "shared" / "charts"
    return [f"--charts={found}", "--chart-version-mismatch=allow"] if found.is_dir() else []


def validate_server(tree: Path, *extra: str, env: dict[str, str] | None = None, charts: bool = False) -> tuple[int, dict[str, Any], str]:
    """`bbgen validate TREE --server ... -o json -v` (``charts``: with the chart trees if present): (exit code, the JSON report or {}, stderr).

    Without ``charts`` the charts are not rendered (``--no-charts``): the negative tests are about one object of bbgen's own.
    """
    args = chart_args() if charts else ["--no-charts"]
    done = bbgen("validate", str(tree), "--server", *extra, *args, "-o", "json", "-v", env=env)
    payload = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    return done.returncode, payload, done.stderr


def server_findings(payload: dict[str, Any], severity: str = "error", check: str = "server") -> list[dict[str, Any]]:
    return [f for f in payload.get("findings", []) if f["check"] == check and f["severity"] == severity]


def edit_yaml(path: Path, change: Any) -> None:
    """Load the one-document YAML file, let ``change`` mutate it, write it back."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def first_file(tree: Path, pattern: str, kind: str) -> Path:
    """The first (sorted) file under ``tree`` matching ``pattern`` whose document is a ``kind``."""
    for path in sorted(tree.glob(pattern)):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and doc.get("kind") == kind:
            return path
    raise AssertionError(f"no {kind} under {tree}/{pattern}")
