"""Write a tree into a directory without ever losing anything.

Phase one stages every changed file in the directory's staging area, fsync'd; any
failure there (a full disk, Ctrl-C) removes what it made and leaves the directory
as it was. A journal then records phase two: renames into place (rename does not
fail half-way on one filesystem), removal of files bbgen owned that are no longer
rendered, and the ownership manifest last. A render killed in phase two is
finished by the next one from that journal. All of it happens under the
directory's lock (:mod:`bbgen.render.outdir`). Files bbgen does not own are never
touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bbgen.errors import OwnershipError
from bbgen.render import outdir
from bbgen.render.paths import MANIFEST_PATH
from bbgen.render.tree import Tree


STAGE_WORKERS = 8


@dataclass(frozen=True, kw_only=True)
class WriteResult:
    written: list[str]
    unchanged: list[str]
    removed: list[str]
    warnings: list[str] = field(default_factory=list)
    """What a person should know about the rendered tree (public hosts without authentication)."""


def owned_files(out: Path) -> set[str]:
    """Paths recorded in the manifest of a previous render (empty for a fresh dir)."""
    manifest = out / MANIFEST_PATH
    if not manifest.is_file():
        return set()
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        files = data["files"]
        if not isinstance(files, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise OwnershipError(path=manifest, message="is not a bbgen manifest; refusing to guess what is owned") from None
    return {p for p in files if _safe(p)}


def _safe(rel: str) -> bool:
    parts = Path(rel).parts
    return bool(parts) and not Path(rel).is_absolute() and ".." not in parts and parts[0] not in outdir.TRANSIENT


def stage(files: dict[Path, bytes], *, blame: Path | None = None) -> list[tuple[Path, Path]]:
    """Phase one for any writer: each file as a temporary sibling of its target, as (temporary, target).

    Parent directories are created. On failure the temporaries are removed and an
    ``OwnershipError`` names ``blame`` (else the target that failed); the caller
    renames the pairs into place with ``os.replace`` once everything is staged.
    """
    staged: list[tuple[Path, Path]] = []
    made: set[Path] = set()
    target = blame
    try:
        for target, data in files.items():
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            fd, tmp_name = tempfile.mkstemp(prefix=".bbgen-", dir=target.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp_name, 0o644)
            staged.append((Path(tmp_name), target))
    except OSError as exc:
        for leftover, _ in staged:
            leftover.unlink(missing_ok=True)
        raise OwnershipError(path=blame or target or Path("."), message=f"cannot write: {exc.strerror or exc}") from None
    return staged


def write_tree(tree: Tree, out: Path, *, adopt: bool = False) -> WriteResult:
    """Write ``tree`` into ``out`` under the directory's lock; see :mod:`bbgen.render.outdir` for the journal.

    ``out`` must be new, empty (a bare ``.git`` aside) or hold a bbgen manifest;
    ``adopt`` accepts any other directory (files bbgen does not own are still never
    overwritten). On any failure before the rename phase the directory is as it
    was, and a directory this call created is removed again.
    """
    if out.exists() and not out.is_dir():
        raise OwnershipError(path=out, message="exists and is not a directory")
    outdir.refuse_unsafe(out)
    created: list[Path] = []
    try:
        with outdir.locked(out) as created:
            return _write_locked(tree, out, adopt=adopt)
    except BaseException:
        outdir.remove_dirs(created)
        raise


def _write_locked(tree: Tree, out: Path, *, adopt: bool) -> WriteResult:
    outdir.replay(out)  # a render killed while moving files into place is finished first
    owned = owned_files(out)
    if not owned and not adopt and not (out / MANIFEST_PATH).exists():
        foreign = outdir.foreign_entries(out)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise OwnershipError(
                path=out,
                message=f"is not empty and holds no bbgen manifest ({shown}); nothing was written "
                "(render into a new directory, or pass --adopt to render into this one and keep what is there)",
            )
    files = tree.with_manifest()
    outdir.clean_leftovers(out, {(out / p).parent for p in owned | set(files)})
    conflicts = sorted(p for p in files if p != MANIFEST_PATH and p not in owned and (out / p).exists())
    if conflicts:
        shown = ", ".join(conflicts[:5]) + (f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else "")
        raise OwnershipError(path=out, message=f"would overwrite files bbgen does not own: {shown}; move them away or render elsewhere")
    if (out / MANIFEST_PATH).exists() and not owned and (out / MANIFEST_PATH).is_dir():
        raise OwnershipError(path=out / MANIFEST_PATH, message="is a directory")

    changed: dict[str, bytes] = {}
    unchanged: list[str] = []
    for rel, data in files.items():
        target = out / rel
        if target.is_file() and not target.is_symlink() and target.read_bytes() == data:
            unchanged.append(rel)
        else:
            changed[rel] = data
    stale = sorted(p for p in owned - set(files) if (out / p).is_file())
    if changed or stale:
        _stage_and_journal(out, changed, stale)
        with _signals_held():
            try:
                outdir.fsync_dir(out)
                outdir.replay(out)
            except OSError as exc:
                raise OwnershipError(
                    path=out, message=f"stopped while moving files into place: {exc.strerror or exc}; the next bbgen render completes it"
                ) from None
    written = sorted(p for p in changed if p != MANIFEST_PATH)
    return WriteResult(written=written, unchanged=sorted(p for p in unchanged if p != MANIFEST_PATH), removed=stale)


def _stage_and_journal(out: Path, changed: dict[str, bytes], stale: list[str]) -> None:
    """Phase one: every new byte in the staging directory, fsync'd, then the journal; on failure, nothing is left."""
    stage_dir = out / outdir.STAGE_NAME
    order = sorted(p for p in changed if p != MANIFEST_PATH) + ([MANIFEST_PATH] if MANIFEST_PATH in changed else [])
    try:
        stage_dir.mkdir()
        renames = [(f"{outdir.STAGE_NAME}/{number}", rel) for number, rel in enumerate(order)]
        # Target directories are made by the rename phase (replay), not here: a render killed before its
        # journal must leave no new (empty) directory behind, only staging, which the next render removes.
        # fsync one file after another costs seconds on a journaling filesystem; in parallel they share commits
        pool = ThreadPoolExecutor(max_workers=STAGE_WORKERS)
        try:
            for _ in pool.map(lambda pair: outdir.write_durable(out / pair[0], changed[pair[1]]), renames):
                pass
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        outdir.fsync_dir(stage_dir)
        outdir.write_journal(out, renames=renames, removals=stale)
    except BaseException as exc:
        shutil.rmtree(stage_dir, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OwnershipError(path=out, message=f"cannot write: {exc.strerror or exc}; nothing was changed") from None
        raise


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C or a TERM during the (short) rename phase takes effect right after it, not in the middle."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def prune_empty(out: Path, directory: Path) -> None:
    """Remove ``directory`` and its parents below ``out`` while they are empty."""
    root = out.resolve()
    current = directory.resolve()
    while current != root and root in current.parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent
