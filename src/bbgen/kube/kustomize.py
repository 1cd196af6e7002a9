"""What a kustomization is: its file names, the keys that pull in other paths, its shape.

Shared by the renderer (which writes kustomizations and lists the roots its CI
builds) and ``bbgen validate`` (which discovers them in a directory), so both
read a tree the same way.
"""

from __future__ import annotations

from typing import Any

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
INCLUDE_KEYS = ("resources", "components", "bases")
API_VERSION = "kustomize.config.k8s.io/v1beta1"


def is_remote(entry: str) -> bool:
    """A kustomization entry kustomize would fetch (URL or git remote): nothing local to follow."""
    return "://" in entry or entry.startswith("git@")


def kustomization(resources: list[str], **extra: Any) -> dict[str, Any]:
    """A Kustomization listing ``resources``, plus any other top-level fields."""
    body: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "Kustomization", "resources": resources}
    body.update(extra)
    return body
