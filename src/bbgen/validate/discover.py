"""Find what to build in a rendered tree, without assuming more of its layout than needed.

Every directory holding a kustomization is parsed for the local directories it
pulls in; the ones nobody pulls in are the roots that get built. YAML files
outside any kustomization (the bootstrap Application) are validated as they
are. Environments are read off paths (``overlays/<env>``, ``apps/<env>``...).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbgen.kube import yamlio
from bbgen.kube.kustomize import INCLUDE_KEYS, KUSTOMIZATION_FILES, is_remote
from bbgen.render.paths import ENV_DIRS, OVERLAYS
from bbgen.validate.resources import YamlProblem, is_object, split_documents, sub



@dataclass(frozen=True, kw_only=True)
class Kustomization:
    dir: str
    kind: str
    includes: tuple[str, ...]
    resource_files: tuple[str, ...]


@dataclass(kw_only=True)
class Layout:
    root: Path
    kustomizations: dict[str, Kustomization]
    roots: list[str]
    plain_files: list[str]
    _docs_cache: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def closure(self, directory: str) -> list[str]:
        """The directory and every kustomization it includes, transitively, cycle-safe."""
        seen: list[str] = []
        stack = [directory]
        while stack:
            current = stack.pop()
            if current in seen or current not in self.kustomizations:
                continue
            seen.append(current)
            stack.extend(reversed(self.kustomizations[current].includes))
        return seen

    def locate(self, directory: str, kind: str, name: str) -> str:
        """The one resource file under a build that defines kind/name, else the build dir itself.

        Good enough for a person to jump to; patches and name prefixes make an
        exact answer impossible without kustomize's origin annotations.
        """
        hits: set[str] = set()
        for kdir in self.closure(directory):
            for rel in self.kustomizations[kdir].resource_files:
                for doc in self._file_docs(rel):
                    if doc.get("kind") == kind and sub(doc, "metadata").get("name") == name:
                        hits.add(rel)
        return hits.pop() if len(hits) == 1 else directory

    def _file_docs(self, rel: str) -> list[dict[str, Any]]:
        if rel not in self._docs_cache:
            try:
                text = (self.root / rel).read_text(encoding="utf-8")
                self._docs_cache[rel] = [c.value for c in split_documents(text) if is_object(c.value)]
            except (OSError, UnicodeDecodeError, YamlProblem):
                self._docs_cache[rel] = []
        return self._docs_cache[rel]


def rel_path(root: Path, path: Path) -> str | None:
    """POSIX path relative to root, or None when it escapes the tree."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix() or "."
    except ValueError:
        return None


def kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def env_of(rel_dir: str) -> str | None:
    """`platform/prod`, `apps/prod`, `bootstrap/prod`, `.../overlays/prod` → prod; bases → None."""
    parts = [p for p in rel_dir.split("/") if p and p != "."]
    if len(parts) >= 2 and parts[0] in ENV_DIRS:
        return parts[1]
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == OVERLAYS:
            return parts[i + 1]
    return None


def _walk(root: Path) -> tuple[list[Path], list[Path]]:
    """(directories holding a kustomization, YAML files), skipping hidden directories."""
    kdirs: list[Path] = []
    files: list[Path] = []
    for current, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(current)
        if any(name in filenames for name in KUSTOMIZATION_FILES):
            kdirs.append(here)
        files.extend(here / f for f in sorted(filenames) if f.endswith((".yaml", ".yml")))
    return kdirs, files


def _parse_kustomization(root: Path, directory: Path) -> Kustomization:
    rel_dir = rel_path(root, directory) or directory.as_posix()
    path = kustomization_file(directory)
    body: Any = None
    if path is not None:
        try:
            body = yamlio.load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yamlio.YAMLError):
            body = None  # kustomize build reports it, with a better message than ours
    if not isinstance(body, dict):
        return Kustomization(dir=rel_dir, kind="Kustomization", includes=(), resource_files=())
    includes: list[str] = []
    files: list[str] = []
    for key in INCLUDE_KEYS:
        entries = body.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, str) or is_remote(entry):
                continue
            target = directory / entry
            rel = rel_path(root, target)
            if rel is None:
                continue
            if target.is_dir():
                includes.append(rel)
            elif target.is_file() and key == "resources":
                files.append(rel)
    return Kustomization(
        dir=rel_dir,
        kind=str(body.get("kind") or "Kustomization"),
        includes=tuple(includes),
        resource_files=tuple(files),
    )


def discover(root: Path) -> Layout:
    kdirs, yaml_files = _walk(root)
    kustomizations = {k.dir: k for k in (_parse_kustomization(root, d) for d in kdirs)}
    included = {inc for k in kustomizations.values() for inc in k.includes}
    roots = sorted(d for d, k in kustomizations.items() if d not in included and k.kind != "Component")
    listed = {f for k in kustomizations.values() for f in k.resource_files}
    plain: list[str] = []
    for path in yaml_files:
        rel = rel_path(root, path)
        if rel is None or rel in listed or path.name in KUSTOMIZATION_FILES:
            continue
        parent_parts = rel.split("/")[:-1]
        ancestors = {"/".join(parent_parts[:i]) or "." for i in range(len(parent_parts) + 1)}
        if ancestors & set(kustomizations):
            continue
        plain.append(rel)
    return Layout(root=root, kustomizations=kustomizations, roots=roots, plain_files=sorted(plain))
