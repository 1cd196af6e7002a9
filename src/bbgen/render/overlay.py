"""Overlays computed, not hand-written.

Every environment is rendered in full; its overlay is the JSON 6902 difference
between that rendering and the base. So an overlay is correct by construction
(``kustomize build`` of it reproduces the environment's rendering), and the
templates never need to know that Kustomize exists.
"""

from __future__ import annotations

from typing import Any


def _pointer(path: list[str | int]) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def json_patch(base: Any, target: Any, path: list[str | int] | None = None) -> list[dict[str, Any]]:
    """Operations turning ``base`` into ``target``; lists of equal length are patched per item."""
    path = path or []
    if base == target:
        return []
    if isinstance(base, dict) and isinstance(target, dict):
        ops: list[dict[str, Any]] = []
        for key in sorted(set(base) | set(target), key=str):
            if key not in target:
                ops.append({"op": "remove", "path": _pointer(path + [key])})
            elif key not in base:
                ops.append({"op": "add", "path": _pointer(path + [key]), "value": target[key]})
            else:
                ops.extend(json_patch(base[key], target[key], path + [key]))
        return ops
    if isinstance(base, list) and isinstance(target, list) and len(base) == len(target):
        ops = []
        for index, (b, t) in enumerate(zip(base, target)):
            ops.extend(json_patch(b, t, path + [index]))
        return ops
    return [{"op": "replace", "path": _pointer(path), "value": target}]


def patch_target(doc: dict[str, Any]) -> dict[str, str]:
    api = doc["apiVersion"]
    group, _, version = api.rpartition("/")
    target = {"kind": doc["kind"], "name": doc["metadata"]["name"], "version": version}
    if group:
        target["group"] = group
    namespace = doc["metadata"].get("namespace")
    if namespace:
        target["namespace"] = namespace
    return target
