"""The output directory under hostile conditions: wrong targets, a held lock, leftovers, a kill mid-rename, a full disk.

Each case runs the real `bbgen render` (a subprocess) or the real writer in a child
process that is killed with SIGKILL; the full-disk cases use a small tmpfs (skipped
where mounting is not permitted).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import ROOT

MINIMAL = ROOT / "profiles" / "minimal.yaml"
REFERENCE = ROOT / "profiles" / "betelgeuse.yaml"


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bbgen", *args], capture_output=True, text=True, env=full, timeout=timeout, stdin=subprocess.DEVNULL)


def snapshot(directory: Path) -> dict[str, bytes | None]:
    """Every entry under ``directory``: file bytes, or None for a directory."""
    out: dict[str, bytes | None] = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        out[rel] = None if path.is_dir() else path.read_bytes()
    return out


@pytest.fixture(scope="module")
def clean_minimal(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes | None]:
    out = tmp_path_factory.mktemp("clean") / "out"
    done = run("render", str(MINIMAL), "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    return snapshot(out)


def test_the_filesystem_root_is_refused() -> None:
    """Checked on the function render calls first: a regression must not get to write into `/` from a test."""
    from bbgen.errors import OwnershipError
    from bbgen.render.outdir import refuse_unsafe

    for target in ("/", "/.", "//", "/tmp/.."):
        with pytest.raises(OwnershipError, match="is the filesystem root; refusing to render into it"):
            refuse_unsafe(Path(target))


def test_the_home_directory_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "link").symlink_to(home)
    for target in (str(home), str(home) + "/.", str(tmp_path / "link")):
        done = run("render", str(MINIMAL), "--out", target, env={"HOME": str(home)})
        assert done.returncode == 2, (target, done.stderr)
        assert "refusing to render into it" in done.stderr and "Traceback" not in done.stderr
    assert [p.name for p in home.iterdir() if p.name != ".cache"] == []  # bbgen's caches live under ~/.cache


def test_a_foreign_directory_needs_adopt(tmp_path: Path, clean_minimal: dict[str, bytes | None]) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    refused = run("render", str(MINIMAL), "--out", str(out))
    assert refused.returncode == 2
    assert f"{out}: is not empty and holds no bbgen manifest (notes.txt)" in refused.stderr and "--adopt" in refused.stderr
    assert snapshot(out) == {"notes.txt": b"mine\n"}

    adopted = run("render", str(MINIMAL), "--out", str(out), "--adopt", "-q")
    assert adopted.returncode == 0, adopted.stderr
    assert snapshot(out) == {**clean_minimal, "notes.txt": b"mine\n"}
    again = run("render", str(MINIMAL), "--out", str(out))  # now it holds a manifest: no --adopt needed
    assert again.returncode == 0 and again.stderr.startswith("written 0,")


@pytest.mark.integration  # git
def test_a_fresh_git_clone_is_not_foreign(tmp_path: Path, clean_minimal: dict[str, bytes | None]) -> None:
    out = tmp_path / "clone"
    subprocess.run(["git", "init", "-q", str(out)], check=True)
    done = run("render", str(MINIMAL), "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    assert {k: v for k, v in snapshot(out).items() if not k.startswith(".git/") and k != ".git"} == clean_minimal


def _hold_lock(out: Path) -> int:
    """Take the render lock the way another bbgen would."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / ".bbgen.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_a_held_lock_makes_a_render_wait_then_refuse(tmp_path: Path, clean_minimal: dict[str, bytes | None]) -> None:
    out = tmp_path / "out"
    assert run("render", str(MINIMAL), "--out", str(out), "-q").returncode == 0
    before = snapshot(out)
    fd = _hold_lock(out)
    try:
        started = time.monotonic()
        refused = run("render", str(REFERENCE), "--out", str(out), env={"BBGEN_LOCK_WAIT": "1"})
        waited = time.monotonic() - started
    finally:
        os.close(fd)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip() == f"bbgen: error: {out}: another bbgen render is writing this directory; nothing was written (wait for it to finish and run again)"
    assert waited >= 1.0
    assert {k: v for k, v in snapshot(out).items() if k != ".bbgen.lock"} == before

    # a holder that finishes within the wait: the render goes ahead, and leaves no lock file behind
    fd = _hold_lock(out)
    releaser = threading.Timer(1.5, lambda: (os.unlink(out / ".bbgen.lock"), os.close(fd)))
    releaser.start()
    try:
        done = run("render", str(REFERENCE), "--out", str(out), "-q", env={"BBGEN_LOCK_WAIT": "30"})
    finally:
        releaser.join()
    assert done.returncode == 0, done.stderr
    assert not (out / ".bbgen.lock").exists()
    assert run("render", str(MINIMAL), "--out", str(out), "-q").returncode == 0
    assert snapshot(out) == clean_minimal


def test_leftovers_of_a_killed_render_are_removed_and_only_those(tmp_path: Path, clean_minimal: dict[str, bytes | None]) -> None:
    out = tmp_path / "out"
    assert run("render", str(MINIMAL), "--out", str(out), "-q").returncode == 0
    owned_dir = next(p.parent for p in out.rglob("*.yaml") if p.parent != out)
    leftovers = [out / ".bbgen-k3x_9zq0", owned_dir / ".bbgen-abcd1234", out / ".bbgen-stage" / "17", out / ".bbgen.lock"]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a file")
    mine = [out / ".bbgen-notes.md", out / "NOTES.md", owned_dir / "my.yaml.bak"]
    for path in mine:
        path.write_text("mine\n")
    done = run("render", str(MINIMAL), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("written 0,")
    assert snapshot(out) == {**clean_minimal, **{p.relative_to(out).as_posix(): b"mine\n" for p in mine}}


KILL_MID_RENAME = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path
    from bbgen.render.build import build_tree
    from bbgen.render.write import write_tree
    from bbgen.spec import load_platform

    tree = build_tree(load_platform(Path(sys.argv[1])))
    left = int(sys.argv[3])
    real = os.replace

    def replace(src, dst):
        global left
        if ".bbgen-stage" in str(src) and not str(src).endswith("journal"):
            if left < 0:  # just before the manifest, the last rename
                left = len(json.loads((Path(sys.argv[2]) / ".bbgen.journal").read_text())["renames"]) - 1
            if left == 0:
                os.kill(os.getpid(), signal.SIGKILL)
            left -= 1
        real(src, dst)

    os.replace = replace
    write_tree(tree, Path(sys.argv[2]))
    """
)


@pytest.mark.parametrize("renamed_before_kill", [0, 40, -1])
def test_a_kill_in_the_rename_phase_is_completed_by_the_next_render(
    tmp_path: Path, clean_minimal: dict[str, bytes | None], renamed_before_kill: int
) -> None:
    out = tmp_path / "out"
    assert run("render", str(REFERENCE), "--out", str(out), "-q").returncode == 0
    child = subprocess.run(
        [sys.executable, "-c", KILL_MID_RENAME, str(MINIMAL), str(out), str(renamed_before_kill)],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, capture_output=True, text=True, timeout=120,
    )
    assert child.returncode == -9, child.stderr
    journal = json.loads((out / ".bbgen.journal").read_text())
    assert journal["renames"][-1][1] == ".bbgen/manifest.json"  # the manifest moves last
    assert len(journal["renames"]) > renamed_before_kill

    validate = run("validate", str(out))  # a half-moved directory is not validated as if it were a render
    assert validate.returncode == 2 and "a bbgen render was stopped while moving files into place" in validate.stderr
    done = run("render", str(MINIMAL), "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    assert snapshot(out) == clean_minimal


def test_a_journal_naming_outside_paths_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("render", str(MINIMAL), "--out", str(out), "-q").returncode == 0
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (out / ".bbgen.journal").write_text(json.dumps({"format": 1, "renames": [], "remove": ["../victim"]}))
    done = run("render", str(MINIMAL), "--out", str(out))
    assert done.returncode == 2 and "refusing to replay it" in done.stderr and "Traceback" not in done.stderr
    assert victim.read_text() == "keep\n"


# --- a full disk ------------------------------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs of our own (root only); skipped where mounting is not permitted."""
    mount = tmp_path / "fs"
    mount.mkdir()
    if not shutil.which("mount") or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(fs: Path, *, leave: int) -> None:
    """Fill ``fs`` up to ``leave`` free bytes with a file nobody renders."""
    free = shutil.disk_usage(fs).free
    with open(fs / "filler", "wb") as handle:
        handle.write(b"\0" * max(0, free - leave))


@pytest.mark.integration  # mount
def test_a_full_disk_leaves_the_previous_render_intact(small_fs: Path, clean_minimal: dict[str, bytes | None]) -> None:
    out = small_fs / "out"
    assert run("render", str(MINIMAL), "--out", str(out), "-q").returncode == 0
    before = snapshot(out)
    _fill(small_fs, leave=64 * 1024)
    done = run("render", str(REFERENCE), "--out", str(out))
    assert done.returncode == 2, done.stderr
    assert "No space left on device" in done.stderr and "nothing was changed" in done.stderr and "Traceback" not in done.stderr
    assert snapshot(out) == before == clean_minimal
    (small_fs / "filler").unlink()
    assert run("render", str(MINIMAL), "--out", str(out), "-q").returncode == 0


@pytest.mark.integration  # mount
def test_a_full_disk_leaves_no_new_directory(small_fs: Path) -> None:
    _fill(small_fs, leave=64 * 1024)
    out = small_fs / "new" / "gitops"
    done = run("render", str(MINIMAL), "--out", str(out))
    assert done.returncode == 2, done.stderr
    assert "No space left on device" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in small_fs.iterdir()) == ["filler"]


INTERRUPT = textwrap.dedent(
    """
    import os, signal, sys
    from bbgen import cli
    from bbgen.render import outdir, write

    phase, after = sys.argv[1], int(sys.argv[2])
    calls = 0

    def interrupt_at(real):
        def wrapped(*args, **kwargs):
            global calls
            calls += 1
            if calls == after:
                os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends
            return real(*args, **kwargs)
        return wrapped

    if phase == "staging":
        outdir.write_durable = interrupt_at(outdir.write_durable)
    else:
        os.replace = interrupt_at(os.replace)
    sys.argv = ["bbgen", *sys.argv[3:]]
    cli.main()
    """
)


@pytest.mark.parametrize(("phase", "after"), [("staging", 1), ("staging", 60), ("rename", 5)])
def test_ctrl_c_leaves_nothing_behind(tmp_path: Path, clean_minimal: dict[str, bytes | None], phase: str, after: int) -> None:
    """Ctrl-C while staging undoes the staging; during the rename phase it waits for the renames to finish."""
    out = tmp_path / "out"
    assert run("render", str(REFERENCE), "--out", str(out), "-q").returncode == 0
    before = snapshot(out)
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPT, phase, str(after), "render", str(MINIMAL), "--out", str(out)],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(out) == (before if phase == "staging" else clean_minimal)  # no temporaries, no lock, no journal
