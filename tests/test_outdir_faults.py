"""Fault injection on the real `bbgen render`: SIGKILL at random points, and several renders at once.

A render killed anywhere leaves the directory as it was, or in the middle of its
journaled rename phase; either way the next render leaves it exactly as a clean
render does (no leftovers at all). Renders racing for one directory take turns:
each one succeeds or refuses with one clear line, never a traceback, and the
directory always ends as one of the clean renders. Bounded: 20 kills, 2 rounds of 4.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import ROOT

MINIMAL = ROOT / "profiles" / "minimal.yaml"
TRANSIENT = {".bbgen.lock", ".bbgen.journal", ".bbgen-stage"}
KILLS = 20


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def _render(spec: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bbgen", "render", str(spec), "--out", str(out), "-q"],
        env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _snapshot(directory: Path, *, skip_transient: bool = False) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if skip_transient and rel.parts[0] in TRANSIENT:
            continue
        out[rel.as_posix()] = None if path.is_dir() else path.read_bytes()
    return out


Snapshot = dict[str, bytes | None]


def _mismatch(actual: Snapshot, *expected: Snapshot) -> str:
    """Empty when ``actual`` equals one of ``expected``; else what differs from the nearest, path by path.

    The snapshots hold every byte of a render: printed whole, a failure under CI load
    showed only the end of one dict and not what was wrong.
    """
    if any(actual == want for want in expected):
        return ""
    def lines(want: Snapshot) -> list[str]:
        extra = sorted(set(actual) - set(want))
        missing = sorted(set(want) - set(actual))
        changed = sorted(p for p in set(actual) & set(want) if actual[p] != want[p])
        return [f"+ {p}" for p in extra] + [f"- {p}" for p in missing] + [f"~ {p}" for p in changed]
    nearest = min((lines(want) for want in expected), key=len)
    shown = nearest[:20] + ([f"... and {len(nearest) - 20} more"] if len(nearest) > 20 else [])
    return "the directory differs (+ extra, - missing, ~ changed): " + ", ".join(shown)


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, bytes | None]]]:
    """Two specs whose renders differ in nearly every file (another name) and in their file sets (no node-exporter)."""
    root = tmp_path_factory.mktemp("specs")
    other = root / "other.yaml"
    text = MINIMAL.read_text().replace("\nname: minimal\n", "\nname: other\n", 1)
    assert "\n  node-exporter: {}\n" in text
    other.write_text(text.replace("\n  node-exporter: {}\n", "\n  node-exporter: {enabled: false}\n", 1))
    clean: dict[str, tuple[Path, dict[str, bytes | None]]] = {}
    for key, spec in (("a", MINIMAL), ("b", other)):
        out = root / f"clean-{key}"
        done = subprocess.run([sys.executable, "-m", "bbgen", "render", str(spec), "--out", str(out), "-q"], env=_env(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        clean[key] = (spec, _snapshot(out))
    assert clean["a"][1] != clean["b"][1] and set(clean["a"][1]) > set(clean["b"][1])
    return clean


def test_sigkill_at_random_points_never_breaks_the_directory(tmp_path: Path, specs: dict[str, tuple[Path, dict[str, bytes | None]]]) -> None:
    seed = int(os.environ.get("BBGEN_FAULT_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    out = tmp_path / "out"
    started = time.monotonic()
    first = _render(specs["a"][0], out)
    first.communicate(timeout=120)
    took = time.monotonic() - started
    assert first.returncode == 0
    current = "a"
    outcomes = {"before": 0, "mid-rename": 0, "after-renames": 0, "finished": 0}
    deadline = time.monotonic() + 600
    for kill in range(KILLS):
        assert time.monotonic() < deadline, f"seed {seed}: the fault suite overran its time bound"
        target = "b" if current == "a" else "a"
        before = _snapshot(out)
        proc = _render(specs[target][0], out)
        time.sleep(rng.uniform(0.2 * took, 1.1 * took))  # start-up and build first, then staging, journal, renames
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)
        where = f"seed {seed}, kill {kill}"
        assert "Traceback" not in stderr, where
        if proc.returncode == 0:
            outcomes["finished"] += 1
            assert not (bad := _mismatch(_snapshot(out), specs[target][1])), f"{where}: {bad}"
        else:
            assert proc.returncode == -signal.SIGKILL, (where, stderr)
            if (out / ".bbgen.journal").exists():
                outcomes["mid-rename"] += 1
            else:  # killed before its journal, or after its last rename: never anything in between
                state = _snapshot(out, skip_transient=True)
                assert not (bad := _mismatch(state, before, specs[target][1])), f"{where}: {bad}"
                outcomes["before" if state == before else "after-renames"] += 1
            again = _render(specs[target][0], out)
            _, again_err = again.communicate(timeout=120)
            assert again.returncode == 0, (where, again_err)
            assert not (bad := _mismatch(_snapshot(out), specs[target][1])), f"{where}: {bad}"
        current = target
    assert sum(outcomes.values()) == KILLS, outcomes
    print(f"seed {seed}: {outcomes}")


def test_concurrent_renders_take_turns(tmp_path: Path, specs: dict[str, tuple[Path, dict[str, bytes | None]]]) -> None:
    out = tmp_path / "out"
    clean = [specs["a"][1], specs["b"][1]]
    for round_ in range(2):
        procs = [_render(specs["ab"[i % 2]][0], out) for i in range(4)]
        results = [(p.communicate(timeout=180)[1], p)[::-1] for p in procs]
        results = [(p.returncode, stderr) for p, stderr in results]
        for code, stderr in results:
            assert "Traceback" not in stderr, stderr
            assert code == 0 or (code == 2 and "another bbgen render is writing this directory" in stderr), (code, stderr)
        assert any(code == 0 for code, _ in results)
        assert not (bad := _mismatch(_snapshot(out), *clean)), f"round {round_}: not any clean render: {bad}"
    settle = _render(specs["a"][0], out)
    assert settle.wait(timeout=120) == 0
    assert not (bad := _mismatch(_snapshot(out), specs["a"][1])), bad


def _race_child(spec_text: str, out: str, barrier: Any, results: Any) -> None:
    """One of several writers released at the same instant (no build phase to spread them out)."""
    import traceback

    from bbgen.errors import BbgenError
    from bbgen.render.build import build_tree
    from bbgen.render.write import write_tree
    from bbgen.spec.models import Platform

    tree = build_tree(Platform.model_validate(yaml.safe_load(spec_text)))
    barrier.wait(timeout=120)
    try:
        write_tree(tree, Path(out))
        results.put(("ok", ""))
    except BbgenError as exc:
        results.put(("refused", str(exc)))
    except BaseException:  # noqa: BLE001 - what the test is looking for
        results.put(("crash", traceback.format_exc()))


def test_writers_released_together_take_turns(tmp_path: Path, specs: dict[str, tuple[Path, dict[str, bytes | None]]]) -> None:
    """Four processes that reach the write phase at the same instant, five times: one at a time, never a mix."""
    context = multiprocessing.get_context("fork")
    out = tmp_path / "out"
    texts = [specs[k][0].read_text() for k in "ab"]
    clean = [specs["a"][1], specs["b"][1]]
    for round_ in range(5):
        barrier, results = context.Barrier(4), context.Queue()
        children = [context.Process(target=_race_child, args=(texts[(i + round_) % 2], str(out), barrier, results)) for i in range(4)]
        for child in children:
            child.start()
        outcomes = [results.get(timeout=180) for _ in children]
        for child in children:
            child.join(timeout=60)
        crashes = [detail for kind, detail in outcomes if kind == "crash"]
        assert not crashes, crashes[0]
        assert all(kind == "ok" or "another bbgen render is writing this directory" in detail for kind, detail in outcomes), outcomes
        assert not (bad := _mismatch(_snapshot(out), *clean)), f"round {round_}: a mix of renders: {bad}"


def _killed_before_journal(spec_text: str, out: str) -> None:
    """A writer that dies by SIGKILL at the last instant before its journal: every byte staged, nothing renamed."""
    from bbgen.render import outdir
    from bbgen.render.build import build_tree
    from bbgen.render.write import write_tree
    from bbgen.spec.models import Platform

    tree = build_tree(Platform.model_validate(yaml.safe_load(spec_text)))
    outdir.write_journal = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)  # type: ignore[assignment]
    write_tree(tree, Path(out))


def test_a_kill_just_before_the_journal_leaves_no_new_directory(tmp_path: Path, specs: dict[str, tuple[Path, dict[str, bytes | None]]]) -> None:
    """The deterministic form of the random kill that once found new, empty target directories left behind."""
    out = tmp_path / "out"
    assert _render(specs["b"][0], out).wait(timeout=120) == 0
    before = _snapshot(out)
    assert set(specs["a"][1]) - set(before), "spec a must add paths (node-exporter) that b lacks"
    child = multiprocessing.get_context("fork").Process(target=_killed_before_journal, args=(specs["a"][0].read_text(), str(out)))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == -signal.SIGKILL
    assert not (bad := _mismatch(_snapshot(out, skip_transient=True), before)), bad
    again = _render(specs["a"][0], out)
    assert again.wait(timeout=120) == 0
    assert not (bad := _mismatch(_snapshot(out), specs["a"][1])), bad
