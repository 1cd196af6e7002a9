"""The rendered repository, held in memory until it is written or compared."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from bbgen.kube import yamlio
from bbgen.render.paths import MANIFEST_PATH



@dataclass
class Tree:
    """Relative POSIX path → file bytes; plus facts later stages need (Kubernetes version, envs)."""

    files: dict[str, bytes] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    docs: dict[str, Any] = field(default_factory=dict)
    """The object each single-document YAML file was dumped from, so checks need not parse it again."""
    warnings: list[str] = field(default_factory=list)
    """What a person should know about the rendering (hosts served without authentication); never written."""

    def add(self, path: str, text: str) -> None:
        if path in self.files:
            raise ValueError(f"two renderings claim {path}")
        self.files[path] = text.encode("utf-8")

    def add_doc(self, path: str, doc: Any) -> None:
        """Add one canonical YAML document, remembering the object it came from."""
        self.add(path, yamlio.dump(doc))
        self.docs[path] = doc

    def manifest(self) -> bytes:
        """The ownership record: which files bbgen wrote, and their hashes."""
        body = {
            **self.meta,
            "files": {p: hashlib.sha256(self.files[p]).hexdigest() for p in sorted(self.files)},
        }
        return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8")

    def with_manifest(self) -> dict[str, bytes]:
        return {**self.files, MANIFEST_PATH: self.manifest()}
