"""The output directory's lock, journal and leftovers: what makes a render safe against races and kills.

A render holds an advisory ``flock`` on ``DIR/.bbgen.lock`` while it writes, so two
renders into one directory take turns (the second waits a few seconds, then refuses
clearly) instead of interleaving their renames and manifests. Files are staged in
``DIR/.bbgen-stage/``; once every byte is there and fsync'd, ``DIR/.bbgen.journal``
lists the renames and removals still to do and the rename phase replays it. A
render killed before the journal exists left only staging behind, which the next
render deletes; one killed after it is completed by the next render, which replays
the same journal. The lock file and the journal exist only while a render runs (or
after a kill, until the next render), so they never become part of the repository;
``git add -A`` of a finished render, a diff and a push never see them.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bbgen.errors import OutputBusyError, OwnershipError

LOCK_NAME = ".bbgen.lock"
JOURNAL_NAME = ".bbgen.journal"
STAGE_NAME = ".bbgen-stage"
TRANSIENT = frozenset({LOCK_NAME, JOURNAL_NAME, STAGE_NAME})
"""Top-level names bbgen uses only while a render runs."""
TEMP_NAME = re.compile(r"\.bbgen-[a-z0-9_]{8}")
"""A temporary sibling from :func:`bbgen.render.write.stage` (``tempfile.mkstemp(prefix='.bbgen-')``)."""
LOCK_WAIT = 5.0
"""Seconds a render waits for another one to finish; ``BBGEN_LOCK_WAIT`` overrides it."""
JOURNAL_FORMAT = 1


def lock_wait() -> float:
    try:
        return max(0.0, float(os.environ.get("BBGEN_LOCK_WAIT", LOCK_WAIT)))
    except ValueError:
        return LOCK_WAIT


def missing_dirs(path: Path) -> list[Path]:
    """The directories ``mkdir(parents=True)`` would create for ``path``, outermost first."""
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    return list(reversed(missing))


def remove_dirs(created: Iterable[Path]) -> None:
    """Remove directories this run created, innermost first, and only while they are empty."""
    for directory in sorted(created, key=lambda p: len(p.parts), reverse=True):
        try:
            directory.rmdir()
        except OSError:
            continue


@contextmanager
def locked(out: Path, *, wait: float | None = None) -> Iterator[list[Path]]:
    """Hold the directory's lock; yields the directories created to hold it (for removal on failure).

    The lock file is unlinked by its holder on release. A waiter therefore checks,
    once it holds the lock, that the path still names the file it locked, and
    starts over if not (the directory may even have been removed by a render
    that created it and then failed).
    """
    deadline = time.monotonic() + (lock_wait() if wait is None else wait)
    created: list[Path] = []
    lock_path = out / LOCK_NAME
    while True:
        missing = missing_dirs(out)
        out.mkdir(parents=True, exist_ok=True)
        created.extend(d for d in missing if d not in created)
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except FileNotFoundError:  # a failed render that had created the directory removed it again
            if time.monotonic() >= deadline:
                raise OutputBusyError(path=out) from None
            continue
        except OSError as exc:
            remove_dirs(created)
            raise OwnershipError(path=out, message=f"cannot lock the output directory: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise OutputBusyError(path=out) from None
            time.sleep(0.05)
            continue
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock_path, follow_symlinks=False))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield created
    finally:
        try:
            lock_path.unlink(missing_ok=True)
        finally:
            os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Make a directory's entries (a rename, an unlink) durable."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EROFS):
            raise
    finally:
        os.close(fd)


def write_durable(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Create ``path`` (which must not exist) holding ``data``, flushed to disk before it returns."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, mode)  # the umask must not decide what git sees


def write_journal(out: Path, *, renames: list[tuple[str, str]], removals: list[str]) -> None:
    """Record the rename phase before it starts; from here on the next render can finish it."""
    body = {"format": JOURNAL_FORMAT, "renames": [list(pair) for pair in renames], "remove": removals}
    pending = out / STAGE_NAME / "journal"
    write_durable(pending, (json.dumps(body, indent=1) + "\n").encode("utf-8"))
    fsync_dir(out / STAGE_NAME)
    os.replace(pending, out / JOURNAL_NAME)
    fsync_dir(out)


def _safe(rel: object) -> bool:
    if not isinstance(rel, str) or not rel:
        return False
    path = Path(rel)
    return not path.is_absolute() and ".." not in path.parts and path.parts[0] not in TRANSIENT


def replay(out: Path) -> bool:
    """Finish the rename phase a journal records (idempotent); False when there is no journal.

    Renames whose staged file is gone already happened; removals of missing files
    too. The manifest is the journal's last rename, so it changes only once every
    file it lists is in place.
    """
    from bbgen.render.write import prune_empty

    journal = out / JOURNAL_NAME
    if not journal.is_file():
        return False
    try:
        body = json.loads(journal.read_text(encoding="utf-8"))
        renames = [(str(a), str(b)) for a, b in body["renames"]]
        removals = [str(r) for r in body["remove"]]
        if body.get("format") != JOURNAL_FORMAT:
            raise ValueError
    except (OSError, ValueError, KeyError, TypeError):
        raise OwnershipError(path=journal, message="is not a journal this bbgen wrote; remove it (and .bbgen-stage/) and render again") from None
    if not all(a.startswith(STAGE_NAME + "/") and ".." not in Path(a).parts and _safe(b) for a, b in renames) or not all(map(_safe, removals)):
        raise OwnershipError(path=journal, message="names paths outside the output directory; refusing to replay it")
    touched: set[Path] = set()
    for staged, rel in renames:
        source, target = out / staged, out / rel
        if source.exists():
            for made in missing_dirs(target.parent):
                made.mkdir(exist_ok=True)
                touched.add(made.parent)  # the new entry must be durable too
            os.replace(source, target)
            touched.add(target.parent)
    for rel in removals:
        target = out / rel
        if target.is_file() or target.is_symlink():
            target.unlink()
            touched.add(target.parent)
        prune_empty(out, target.parent)
    for directory in sorted(touched):
        if directory.is_dir():
            fsync_dir(directory)
    journal.unlink()
    shutil.rmtree(out / STAGE_NAME, ignore_errors=True)
    fsync_dir(out)
    return True


def clean_leftovers(out: Path, dirs: Iterable[Path]) -> None:
    """Delete what an interrupted run left: the staging directory and bbgen's temporary siblings in ``dirs``."""
    stage_dir = out / STAGE_NAME
    if stage_dir.is_dir() and not stage_dir.is_symlink():
        shutil.rmtree(stage_dir)
    elif stage_dir.is_symlink() or stage_dir.exists():
        stage_dir.unlink()
    for directory in {out, *dirs}:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if TEMP_NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)


def refuse_unsafe(out: Path) -> None:
    """`/` and the home directory are never an output directory, whatever else is said."""
    resolved = out.resolve()
    if resolved == Path(resolved.anchor):
        raise OwnershipError(path=out, message="is the filesystem root; refusing to render into it (name a new directory, e.g. --out gitops/)")
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError):
        return
    if resolved == home:
        raise OwnershipError(path=out, message="is your home directory; refusing to render into it (name a new directory, e.g. --out ~/gitops)")


def foreign_entries(out: Path) -> list[str]:
    """What makes ``out`` someone else's directory: entries other than ``.git`` and bbgen's own transient names."""
    try:
        names = os.listdir(out)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n != ".git" and n not in TRANSIENT and not TEMP_NAME.fullmatch(n))
