#!/usr/bin/env python3
"""Benchmark bbgen the way people use it: as a command, in a fresh process each time.

    python bench/run.py            # full: 5 runs each; 100, 300 and 1,000 synthetic apps
    python bench/run.py --quick    # CI: 1 run each; 10 and 30 synthetic apps

Prints one table (median / min / max wall-clock seconds over the runs) with each
target next to its measurement, then where the time of a render goes. Targets are
informational: the exit status is 0 unless a command fails or misbehaves (a no-op
re-render that writes files, a diff of an unchanged tree that finds changes, a
validate with findings). Needs only the interpreter bbgen runs on; the validate and
kustomize rows also need the kustomize and kubeconform binaries (skipped with a note
when they are missing, or with --no-tools).

Every command runs as ``<this python> -m bbgen`` with the checkout's ``src/`` first
on PYTHONPATH, after untimed warm-up runs, with Python's bytecode cache
(PYTHONPYCACHEPREFIX) and bbgen's own caches (XDG_CACHE_HOME: compiled templates,
converted schemas) in the scratch directory: the numbers are those of an installed
bbgen that has run before, and neither the checkout nor ~/.cache is touched. Peak
memory is each child's own maximum RSS, read from ``os.wait4`` when it is reaped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
REFERENCE = ROOT / "profiles" / "betelgeuse.yaml"
TIMEOUT = 900.0
FULL_SIZES = (100, 300, 1000)
QUICK_SIZES = (10, 30)
# Synthetic apps depend on these catalog components, in rotation.
DEPENDENCIES = (["postgres"], ["postgres", "redis"], ["postgres", "redis", "qdrant"], ["redis", "qdrant"])

# In-process phases of one `bbgen.api.render` (what `bbgen render` calls), in a fresh
# interpreter: the three stages are wrapped with timers; "other" is whatever else
# api.render does (e.g. checks on the tree). See Bench.phase_split.
PHASE_SNIPPET = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
import bbgen.api, bbgen.spec, bbgen.render.build, bbgen.render.write
t1 = time.perf_counter()
spent = {"load": 0.0, "build": 0.0, "write": 0.0}
def timed(module, attr, key):
    inner = getattr(module, attr)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - start
    setattr(module, attr, wrapper)
timed(bbgen.spec, "load_platform", "load")
timed(bbgen.render.build, "build_tree", "build")
timed(bbgen.render.write, "write_tree", "write")
t2 = time.perf_counter()
bbgen.api.render(Path(sys.argv[1]), Path(sys.argv[2]))
t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, **spent, "other": (t3 - t2) - sum(spent.values())}))
"""


class BenchError(Exception):
    """A command failed or misbehaved: the benchmark's numbers would be meaningless."""


@dataclass(frozen=True)
class Done:
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    max_rss_kib: int


@dataclass
class Row:
    key: str
    label: str
    samples: list[float] = field(default_factory=list)
    unit: str = "s"  # "s" for seconds, "x" for a ratio (samples hold one value)
    per_app: float | None = None
    max_rss_kib: int | None = None
    target: str = ""
    check: Callable[[float], bool] | None = None
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def ok(self) -> bool | None:
        if self.check is None or self.median is None:
            return None
        return self.check(self.median)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "runs": len(self.samples),
            "median": self.median,
            "min": min(self.samples) if self.samples else None,
            "max": max(self.samples) if self.samples else None,
            "per_app": self.per_app,
            "max_rss_kib": self.max_rss_kib,
            "target": self.target or None,
            "ok": self.ok,
            "note": self.note or None,
        }


def run(argv: Sequence[str | Path], *, env: dict[str, str], cwd: Path = ROOT) -> Done:
    """Run one command; wall-clock time and the child's own peak RSS (ru_maxrss, KiB on Linux)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([str(a) for a in argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        timer = threading.Timer(TIMEOUT, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return Done(
            seconds=seconds,
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            max_rss_kib=int(usage.ru_maxrss),
        )


def expect(done: Done, what: str, *, ok: Callable[[Done], bool] | None = None, why: str = "") -> Done:
    if done.returncode != 0 or (ok is not None and not ok(done)):
        detail = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise BenchError(f"{what}: exit {done.returncode}{'; ' + why if why else ''}\n{detail}")
    return done


def find_tool(name: str) -> Path | None:
    """Same search order as bbgen: $BBGEN_TOOLS_DIR/bin, PATH, ~/.cache/bbgen/tools/bin."""
    dirs: list[Path] = []
    if os.environ.get("BBGEN_TOOLS_DIR"):
        dirs.append(Path(os.environ["BBGEN_TOOLS_DIR"]).expanduser() / "bin")
    dirs += [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    dirs.append(Path.home() / ".cache" / "bbgen" / "tools" / "bin")
    for directory in dirs:
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def tools_note(use_tools: bool, kustomize: Path | None, kubeconform: Path | None) -> str:
    """Why the rows that need kustomize and kubeconform are skipped; "" when they run."""
    if not use_tools:
        return "skipped: --no-tools"
    if kustomize is None or kubeconform is None:
        return "skipped: kustomize/kubeconform not found (scripts/install-tools.sh)"
    return ""


def child_env(scratch: Path, tool_dirs: Sequence[Path]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    env["XDG_CACHE_HOME"] = str(scratch / "cache")
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["NO_COLOR"] = "1"
    if tool_dirs:
        env["PATH"] = os.pathsep.join([*dict.fromkeys(str(d) for d in tool_dirs), env.get("PATH", "")])
    return env


def synthetic_spec(apps: int, path: Path) -> Path:
    """The reference profile plus ``apps`` custom apps, each with its own host and 1-3 dependencies."""
    import yaml

    spec = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    spec["name"] = f"bench-{apps}"
    for i in range(1, apps + 1):
        name = f"svc-{i:04d}"
        spec.setdefault("apps", {})[name] = {
            "image": f"registry.example.org/bench/{name}:1.{i % 7}.0",
            "namespace": f"team-{i % 10}",
            "port": 8000 + i % 100,
            "host": name,
            "dependsOn": list(DEPENDENCIES[i % len(DEPENDENCIES)]),
            "env": [{"name": "LOG_LEVEL", "value": "info"}],
        }
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def kustomize_roots(tree: Path) -> list[str]:
    """Directories with a kustomization that no other kustomization pulls in (what Argo CD builds)."""
    import yaml

    kdirs: dict[Path, list[str]] = {}
    for kfile in sorted(tree.rglob("kustomization.yaml")):
        if any(part.startswith(".") for part in kfile.relative_to(tree).parts):
            continue
        body = yaml.safe_load(kfile.read_text(encoding="utf-8")) or {}
        kdirs[kfile.parent.resolve()] = [e for key in ("resources", "components") for e in body.get(key) or [] if isinstance(e, str)]
    included = {(d / entry).resolve() for d, entries in kdirs.items() for entry in entries if (d / entry).is_dir()}
    return sorted(d.relative_to(tree.resolve()).as_posix() for d in kdirs if d not in included)


def written_count(stderr: str) -> int | None:
    for line in stderr.splitlines():
        if line.startswith("written "):
            try:
                return int(line.split()[1].rstrip(","))
            except (IndexError, ValueError):
                return None
    return None


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 100 else f"{value:.1f}"


def fmt_row_value(row: Row, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x" if row.unit == "x" else fmt_seconds(value)


def fmt_mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f} MiB"


def print_table(rows: list[Row], out: Any) -> None:
    headers = ["measurement", "median", "min", "max", "per app", "peak RSS", "target", "ok"]
    table = [headers]
    for row in rows:
        if not row.samples:
            table.append([row.label, "-", "-", "-", "-", "-", row.target or "-", row.note or "skipped"])
            continue
        ok = {True: "✓", False: "✗", None: ""}[row.ok]
        per_app = "-" if row.per_app is None else f"{row.per_app * 1000:.2f} ms"
        many = len(row.samples) > 1
        table.append(
            [
                row.label,
                fmt_row_value(row, row.median),
                fmt_row_value(row, min(row.samples)) if many else "",
                fmt_row_value(row, max(row.samples)) if many else "",
                per_app,
                fmt_mib(row.max_rss_kib),
                row.target or "-",
                ok,
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    right = {1, 2, 3, 4, 5}
    for index, r in enumerate(table):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        out.write("  ".join(cells).rstrip() + "\n")
        if index == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")


class Bench:
    def __init__(self, *, runs: int, sizes: Sequence[int], use_tools: bool, scratch: Path, log: Callable[[str], None]) -> None:
        self.runs = runs
        self.sizes = sorted(set(sizes))
        self.scratch = scratch
        self.log = log
        self.use_tools = use_tools
        self.kustomize = find_tool("kustomize") if use_tools else None
        self.kubeconform = find_tool("kubeconform") if use_tools else None
        self.env = child_env(scratch, [tool.parent for tool in (self.kustomize, self.kubeconform) if tool is not None])
        self.bbgen = [sys.executable, "-m", "bbgen"]
        self.rows: list[Row] = []
        self.phases: list[dict[str, Any]] = []
        self._dirs = 0

    def fresh_dir(self, stem: str) -> Path:
        self._dirs += 1
        return self.scratch / f"{stem}-{self._dirs}"

    def timed(self, row: Row, argv: Sequence[str | Path], what: str, *, ok: Callable[[Done], bool] | None = None, why: str = "") -> Done:
        done = expect(run(argv, env=self.env), what, ok=ok, why=why)
        row.samples.append(done.seconds)
        row.max_rss_kib = max(row.max_rss_kib or 0, done.max_rss_kib)
        return done

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        self.log(f"  {row.label}: " + (fmt_row_value(row, row.median) if row.samples else row.note or "skipped"))
        return row

    def render_rows(self, spec: Path, key: str, label: str, stem: str) -> Row:
        row = Row(key=key, label=label)
        for _ in range(self.runs):
            out = self.fresh_dir(stem)
            self.timed(
                row, [*self.bbgen, "render", spec, "--out", out], f"render {spec.name}",
                ok=lambda d: (written_count(d.stderr) or 0) > 0, why="expected files to be written into an empty directory",
            )
        return row

    def phase_split(self, spec: Path, label: str, cli: Row) -> None:
        """Where one render's time goes, measured inside a fresh interpreter (median per phase)."""
        samples: dict[str, list[float]] = {}
        for _ in range(self.runs):
            done = expect(run([sys.executable, "-c", PHASE_SNIPPET, spec, self.fresh_dir("phase")], env=self.env), f"phases of {label}")
            for name, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
                samples.setdefault(name, []).append(value)
        phases = {name: statistics.median(values) for name, values in samples.items()}
        rest = (cli.median or 0.0) - sum(phases.values())
        self.phases.append({"label": label, **phases, "cli_rest": rest, "cli_total": cli.median})

    def execute(self) -> None:
        bbgen = self.bbgen
        self.log(f"warming up the caches in {self.scratch}")
        warm = self.fresh_dir("warm")
        expect(run([*bbgen, "--help"], env=self.env), "bbgen --help")
        expect(run([*bbgen, "render", REFERENCE, "--out", warm], env=self.env), "render (warm-up)")
        if self.kustomize is not None and self.kubeconform is not None:
            expect(run([*bbgen, "validate", warm], env=self.env), "validate (warm-up)")

        row = Row(key="help", label="bbgen --help (start-up)", target="≤ 0.3 s", check=lambda v: v <= 0.3)
        for _ in range(self.runs):
            self.timed(row, [*bbgen, "--help"], "bbgen --help", ok=lambda d: "render" in d.stdout, why="help lists no commands")
        self.add(row)

        render = self.render_rows(REFERENCE, "render", "render reference → empty dir", "ref")
        render.target, render.check = "≤ 0.5 s", (lambda v: v <= 0.5)
        self.add(render)
        reference_out = self.scratch / "reference"
        expect(run([*bbgen, "render", REFERENCE, "--out", reference_out], env=self.env), "render reference")

        row = Row(key="rerender", label="re-render, no-op (written 0)", target="≤ 0.5 s", check=lambda v: v <= 0.5)
        for _ in range(self.runs):
            self.timed(
                row, [*bbgen, "render", REFERENCE, "--out", reference_out], "no-op re-render",
                ok=lambda d: written_count(d.stderr) == 0, why="a re-render of an unchanged spec wrote files",
            )
        self.add(row)

        row = Row(key="diff", label="diff --against unchanged tree")
        for _ in range(self.runs):
            self.timed(row, [*bbgen, "diff", REFERENCE, "--against", reference_out], "diff of an unchanged tree")
        self.add(row)

        missing = tools_note(self.use_tools, self.kustomize, self.kubeconform)
        row = Row(key="validate", label="validate reference output", target="≤ 10 s", check=lambda v: v <= 10, note=missing)
        if not missing:
            for _ in range(self.runs):
                self.timed(row, [*bbgen, "validate", reference_out], "validate reference output")
        self.add(row)

        roots = kustomize_roots(reference_out)
        build_all = Row(key="kustomize_all", label=f"kustomize build, {len(roots)} overlays, sequential", note=missing)
        if not missing:
            assert self.kustomize is not None
            for _ in range(self.runs):
                start = time.perf_counter()
                for rel in roots:
                    done = expect(run([self.kustomize, "build", reference_out / rel], env=self.env), f"kustomize build {rel}")
                    build_all.max_rss_kib = max(build_all.max_rss_kib or 0, done.max_rss_kib)
                build_all.samples.append(time.perf_counter() - start)
        self.add(build_all)

        self.phase_split(REFERENCE, "reference", render)
        ratio = Row(key="ratio_cli", label="ratio render (CLI) / kustomize-build-all", unit="x", target="≤ 0.2x", check=lambda v: v <= 0.2, note=missing)
        work = Row(key="ratio_work", label="ratio render work (load+build+write) / kustomize-build-all", unit="x", target="≤ 0.2x", check=lambda v: v <= 0.2, note=missing)
        if build_all.median and render.median:
            ratio.samples.append(render.median / build_all.median)
            ref = self.phases[-1]
            work.samples.append((ref["load"] + ref["build"] + ref["write"]) / build_all.median)
        self.add(ratio)
        self.add(work)

        per_app: dict[int, float] = {}
        largest: Row | None = None
        for size in self.sizes:
            spec = synthetic_spec(size, self.scratch / f"apps-{size}.yaml")
            row = self.render_rows(spec, f"apps_{size}", f"render {size:,} apps → empty dir", f"apps{size}")
            if size == 1000:
                row.target, row.check = "≤ 10 s", (lambda v: v <= 10)
            assert row.median is not None and render.median is not None
            row.per_app = per_app[size] = (row.median - render.median) / size
            self.add(row)
            self.phase_split(spec, f"{size:,} apps", row)
            largest = row
        if len(per_app) >= 2:
            small, big = min(per_app), max(per_app)
            growth = Row(key="growth", label=f"per-app time, {big:,} vs {small:,} apps", unit="x")
            if per_app[small] > 0:
                growth.samples.append(per_app[big] / per_app[small])
            if small >= 100:
                growth.target, growth.check = "≤ 1.5x (flat)", (lambda v: v <= 1.5)
            self.add(growth)
        if largest is not None:
            peak = Row(key="peak_memory", label=f"peak memory, {largest.label.split(' →')[0]} (child max RSS)")
            peak.max_rss_kib = largest.max_rss_kib
            peak.note = fmt_mib(largest.max_rss_kib)
            self.rows.append(peak)


def print_report(bench: Bench, out: Any) -> None:
    cpus = os.cpu_count() or 0
    out.write(
        f"bbgen benchmark: {bench.runs} run{'s' if bench.runs > 1 else ''} per row, wall clock in seconds; "
        f"Python {platform.python_version()}, {cpus} CPUs, {platform.system()} {platform.machine()}\n\n"
    )
    rows = [r for r in bench.rows if r.key != "peak_memory"]
    print_table(rows, out)
    peak = next((r for r in bench.rows if r.key == "peak_memory"), None)
    if peak is not None:
        out.write(f"\n{peak.label}: {peak.note} (os.wait4 rusage of that child process)\n")
    out.write("per app = (median - reference render median) / apps; peak RSS = largest child max RSS of the row\n")
    if bench.phases:
        out.write(
            "\nwhere a render's time goes (median seconds; bbgen.api.render timed in a fresh interpreter; "
            "other = rest of api.render; CLI rest = CLI total - the rest = interpreter + typer):\n\n"
        )
        headers = ["render", "imports", "load spec", "build tree", "write", "other", "CLI rest", "CLI total"]
        table = [headers]
        for p in bench.phases:
            table.append(
                [p["label"], *(fmt_seconds(p[k]) for k in ("imports", "load", "build", "write", "other", "cli_rest", "cli_total"))]
            )
        widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
        for index, r in enumerate(table):
            out.write("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip() + "\n")
            if index == 0:
                out.write("  ".join("-" * w for w in widths) + "\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark bbgen's commands (informational targets; exit 1 only when a command fails).")
    parser.add_argument("--quick", action="store_true", help="1 run per row, 10 and 30 synthetic apps (for CI).")
    parser.add_argument("--runs", type=int, help="runs per row (default 5, or 1 with --quick).")
    parser.add_argument("--sizes", help="comma-separated synthetic app counts (default 100,300,1000, or 10,30 with --quick).")
    parser.add_argument("--no-tools", action="store_true", help="skip the rows that need kustomize and kubeconform.")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON.")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR (kept afterwards) instead of a temporary directory.")
    args = parser.parse_args(argv)
    if args.runs is None:
        args.runs = 1 if args.quick else 5
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        args.sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(QUICK_SIZES if args.quick else FULL_SIZES)
    except ValueError:
        parser.error("--sizes takes comma-separated integers, e.g. 100,300,1000")
    if any(s < 1 for s in args.sizes):
        parser.error("--sizes must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def log(message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        scratch = args.keep.resolve()
        cleanup = None
    else:
        scratch = Path(tempfile.mkdtemp(prefix="bbgen-bench-"))
        cleanup = scratch
    bench = Bench(runs=args.runs, sizes=args.sizes, use_tools=not args.no_tools, scratch=scratch, log=log)
    try:
        bench.execute()
    except (BenchError, OSError) as exc:
        log(f"bench: FAILED: {exc}")
        return 1
    finally:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)
    print_report(bench, sys.stdout)
    if args.json is not None:
        payload = {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "runs": bench.runs,
            "sizes": bench.sizes,
            "rows": [r.as_json() for r in bench.rows],
            "phases": bench.phases,
        }
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
