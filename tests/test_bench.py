"""bench/run.py keeps working: quick mode runs every row and exits 0.

Only the structure of the report is checked, never a timing: speed is measured by
running the benchmark, not asserted in tests. The quick run happens once per session,
with the real tools when they are installed (always in CI) and with --no-tools when
they are not; why a tool row is skipped is checked without another run.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support import ROOT

BENCH = ROOT / "bench" / "run.py"
# Starts bbgen, and kustomize and kubeconform when installed, in dozens of fresh processes.
pytestmark = pytest.mark.integration
ROWS = {
    "help": "bbgen --help (start-up)",
    "render": "render reference → empty dir",
    "rerender": "re-render, no-op (written 0)",
    "diff": "diff --against unchanged tree",
    "validate": "validate reference output",
    "kustomize_all": "kustomize build, ",
    "ratio_cli": "ratio render (CLI) / kustomize-build-all",
    "ratio_work": "ratio render work (load+build+write) / kustomize-build-all",
    "apps_10": "render 10 apps → empty dir",
    "apps_30": "render 30 apps → empty dir",
    "growth": "per-app time, 30 vs 10 apps",
    "peak_memory": "peak memory, render 30 apps",
}
TOOL_ROWS = {"validate", "kustomize_all", "ratio_cli", "ratio_work"}
PHASES = ("imports", "load", "build", "write", "other", "cli_rest", "cli_total")


def _run_bench(tmp_path: Path, *args: str, path_prefix: list[str] | None = None) -> tuple[str, dict[str, Any]]:
    report = tmp_path / "bench.json"
    env = dict(os.environ)
    if path_prefix:
        env["PATH"] = os.pathsep.join([*path_prefix, env.get("PATH", "")])
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(report), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, encoding="utf-8", timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads(report.read_text(encoding="utf-8"))


def _check_report(stdout: str, data: dict[str, Any], *, tools_ran: bool) -> None:
    assert stdout.startswith("bbgen benchmark: 1 run per row")
    header = next(line for line in stdout.splitlines() if line.startswith("measurement"))
    assert header.split() == ["measurement", "median", "min", "max", "per", "app", "peak", "RSS", "target", "ok"]
    for label in ROWS.values():
        assert label in stdout, f"row {label!r} missing from:\n{stdout}"

    assert data["runs"] == 1 and data["sizes"] == [10, 30]
    rows = {row["key"]: row for row in data["rows"]}
    assert set(rows) == set(ROWS)
    for key, row in rows.items():
        assert row["label"].startswith(ROWS[key])
        assert row["ok"] in (True, False, None)
        skipped = key in TOOL_ROWS and not tools_ran
        if key == "peak_memory":
            assert isinstance(row["max_rss_kib"], int) and row["max_rss_kib"] > 0
        elif skipped:
            assert row["runs"] == 0 and row["median"] is None and "skipped" in row["note"]
        elif key == "growth":
            assert row["unit"] == "x" and row["target"] is None  # no target below 100 apps
        else:
            assert row["runs"] == 1 and isinstance(row["median"], float), row
    for key in ("help", "render", "rerender", "validate", "apps_30"):
        assert (rows[key]["target"] is not None) == (key != "apps_30")
    for key in ("apps_10", "apps_30"):
        assert isinstance(rows[key]["per_app"], float)

    assert [p["label"] for p in data["phases"]] == ["reference", "10 apps", "30 apps"]
    for phase in data["phases"]:
        assert all(isinstance(phase[name], float) for name in PHASES), phase
    assert "where a render's time goes" in stdout


def _bench_module() -> Any:
    spec = importlib.util.spec_from_file_location("bbgen_bench_run", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_bench_quick(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """One quick run (the slowest test of the suite otherwise, twice): with the tools if there are any."""
    try:
        tools: dict[str, str] | None = request.getfixturevalue("tools")  # fails in CI when they are missing
    except pytest.skip.Exception:
        tools = None
    if tools is None:
        stdout, data = _run_bench(tmp_path, "--no-tools")
    else:
        stdout, data = _run_bench(tmp_path, path_prefix=sorted({str(Path(p).parent) for p in tools.values()}))
    _check_report(stdout, data, tools_ran=tools is not None)


def test_tool_rows_say_why_they_are_skipped(tmp_path: Path) -> None:
    bench = _bench_module()
    tool = tmp_path / "kustomize"
    assert bench.tools_note(False, tool, tool) == "skipped: --no-tools"
    assert bench.tools_note(True, tool, None).startswith("skipped: kustomize/kubeconform not found")
    assert bench.tools_note(True, None, tool).startswith("skipped: kustomize/kubeconform not found")
    assert bench.tools_note(True, tool, tool) == ""
    row = bench.Row(key="validate", label="validate reference output", target="≤ 10 s", note="skipped: --no-tools")
    out = io.StringIO()
    bench.print_table([row], out)
    assert row.as_json()["runs"] == 0 and row.as_json()["median"] is None and row.as_json()["ok"] is None
    assert out.getvalue().splitlines()[-1].split() == ["validate", "reference", "output", "-", "-", "-", "-", "-", "≤", "10", "s", "skipped:", "--no-tools"]
