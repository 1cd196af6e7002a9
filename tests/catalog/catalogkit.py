"""Readers the catalog tests share: a rendered tree in memory or on disk, and a real overlay build.

Imported by the test modules beside it under their local names (`_base`, `_one`, ...), so each
test reads as before; the helpers live once.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from bbgen.render.tree import Tree

Doc = dict[str, Any]


def tree_doc(tree: Tree, path: str) -> Doc:
    """One rendered file of an in-memory tree, parsed."""
    return yaml.safe_load(tree.files[path])


def tree_base(tree: Tree, component: str) -> dict[tuple[str, str], Doc]:
    """The component's base objects of an in-memory tree, by (kind, name)."""
    prefix = f"components/{component}/base/"
    out = {}
    for path, data in tree.files.items():
        if path.startswith(prefix) and not path.endswith("kustomization.yaml"):
            doc = yaml.safe_load(data)
            out[(doc["kind"], doc["metadata"]["name"])] = doc
    return out


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dir_base(out: Path, component: str) -> list[Doc]:
    """The component's base objects of a written tree, in file order."""
    folder = out / "components" / component / "base"
    return [load(p) for p in sorted(folder.glob("*.yaml")) if p.name != "kustomization.yaml"]


def one(docs: list[Doc], kind: str, name: str | None = None) -> Doc:
    """The single object of ``kind`` (and ``name``); fails when there are none or several."""
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def kustomize_build(tools: dict[str, str], out: Path, component: str, env: str) -> list[Doc]:
    """The component's overlay for ``env`` built by the real kustomize."""
    built = subprocess.run(
        [tools["kustomize"], "build", str(out / "components" / component / "overlays" / env)],
        capture_output=True, text=True, check=True, timeout=120,
    )
    return [d for d in yaml.safe_load_all(built.stdout) if d]
