"""Write a tree into a directory without ever losing anything.

Phase one stages every changed file as a temporary sibling of its target; any
failure there removes the temporaries and leaves the directory as it was. Phase
two renames them into place (rename does not fail half-way on one filesystem),
removes files bbgen owned that are no longer rendered, and writes the ownership
manifest last. Files bbgen does not own are never touched.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bbgen.errors import OwnershipError
from bbgen.render.paths import MANIFEST_PATH
from bbgen.render.tree import Tree


@dataclass(frozen=True, kw_only=True)
class WriteResult:
    written: list[str]
    unchanged: list[str]
    removed: list[str]


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
    return bool(parts) and not Path(rel).is_absolute() and ".." not in parts


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


def write_tree(tree: Tree, out: Path) -> WriteResult:
    if out.exists() and not out.is_dir():
        raise OwnershipError(path=out, message="exists and is not a directory")
    owned = owned_files(out)
    files = tree.with_manifest()
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
        if target.is_file() and target.read_bytes() == data:
            unchanged.append(rel)
        else:
            changed[rel] = data
    stale = sorted(p for p in owned - set(files) if (out / p).is_file())

    staged = stage({out / rel: changed[rel] for rel in sorted(changed)}, blame=out)
    manifest_stage = [s for s in staged if s[1] == out / MANIFEST_PATH]
    for tmp, target in staged:
        if target != out / MANIFEST_PATH:
            os.replace(tmp, target)
    for rel in stale:
        (out / rel).unlink()
        _prune_empty(out, (out / rel).parent)
    for tmp, target in manifest_stage:
        os.replace(tmp, target)
    written = sorted(p for p in changed if p != MANIFEST_PATH)
    return WriteResult(written=written, unchanged=sorted(p for p in unchanged if p != MANIFEST_PATH), removed=stale)


def _prune_empty(out: Path, directory: Path) -> None:
    root = out.resolve()
    current = directory.resolve()
    while current != root and root in current.parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent
