"""Escape hatches: the spec's `patches`, `manifests` and `helmValues`, applied to what bbgen renders.

A platform team always meets the one setting the catalog does not expose. These
apply in memory, per environment, to a unit's rendered objects *before* the
base/overlay split, so the result is just part of the rendered objects: the
overlay diff, the canonical dump, the leak guard, kubeconform and the
cross-checks all see it.

Supported, deliberately small:

* JSON 6902 (`ops`): `add`, `remove`, `replace`, `move`, `copy`, `test`, with
  RFC 6901 pointers (`~0` / `~1` escapes, `-` appends to a list).
* Strategic merge (`patch`), a subset of Kubernetes': mappings merge deeply; a
  list whose items are all mappings with a `name` key (containers, env, ports,
  volumes, ...) merges item by item by name (new names are appended), any other
  list replaces; `null` deletes a key; an item `{name: x, $patch: delete}`
  removes the item named x. No `$setElementOrder`, `$retainKeys` or merge keys
  other than `name`.

Every mistake (a target that matches nothing, a pointer that does not resolve, a
failed `test`, an unreadable manifest file) is a located SpecError at the spec
line that wrote it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from bbgen.errors import SpecError, SpecIssue
from bbgen.spec._positions import Path_
from bbgen.spec.models import JsonPatchOp, Patch
from bbgen.spec.sources import SpecSource, source_of

__all__ = ["HatchError", "SpecSource", "apply_ops", "apply_patches", "deep_merge", "located", "read_manifests", "source_of", "strategic_merge"]


class HatchError(Exception):
    """A problem at a path inside one unit's spec entry; turned into a located SpecIssue by :func:`located`."""

    def __init__(self, path: Path_, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def located(source: SpecSource | None, path: Path_, message: str) -> SpecError:
    from bbgen.spec.loader import format_path, issue  # lazy

    if source is None:  # a Platform built in code: no file to point at
        return SpecError(issues=[SpecIssue(file="<spec>", line=1, column=1, path=format_path(path), message=message)])
    return SpecError(issues=[issue(source.loaded, path, message)])


# --- JSON 6902 -------------------------------------------------------------------------------------------


def _pointer(text: str) -> list[str]:
    if text == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _index(container: list[Any], token: str, *, adding: bool) -> int:
    if token == "-" and adding:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise ValueError(f"`{token}` is not a list index")
    index = int(token)
    if index > len(container) or (index == len(container) and not adding):
        raise ValueError(f"index {index} is out of range (the list has {len(container)} items)")
    return index


def _parent(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise ValueError(f"`{token}` does not exist")
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, adding=False)]
        else:
            raise ValueError(f"`{token}` is below a scalar")
    return node


def _get(doc: Any, text: str) -> Any:
    tokens = _pointer(text)
    if not tokens:
        return doc
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise ValueError(f"`{last}` does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, adding=False)]
    raise ValueError(f"`{last}` is below a scalar")


def _remove(doc: Any, text: str) -> Any:
    tokens = _pointer(text)
    if not tokens:
        raise ValueError("cannot remove the whole object")
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise ValueError(f"`{last}` does not exist")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, adding=False))
    raise ValueError(f"`{last}` is below a scalar")


def _add(doc: Any, text: str, value: Any) -> Any:
    tokens = _pointer(text)
    if not tokens:
        return value
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, adding=True), value)
    else:
        raise ValueError(f"`{last}` is below a scalar")
    return doc


def apply_ops(doc: Any, ops: list[JsonPatchOp]) -> tuple[Any, int | None, str]:
    """``doc`` with ``ops`` applied (a copy); on failure the index of the failing op and why (else None, "")."""
    out = copy.deepcopy(doc)
    for i, op in enumerate(ops):
        try:
            if op.op == "add":
                out = _add(out, op.path, copy.deepcopy(op.value))
            elif op.op == "remove":
                _remove(out, op.path)
            elif op.op == "replace":
                _get(out, op.path)
                out = _add(_remove_keep_root(out, op.path), op.path, copy.deepcopy(op.value))
            elif op.op == "move":
                assert op.from_ is not None
                if op.path != op.from_ and op.path.startswith(op.from_ + "/"):
                    raise ValueError("cannot move a value into itself")
                moved = _remove(out, op.from_)
                out = _add(out, op.path, moved)
            elif op.op == "copy":
                assert op.from_ is not None
                out = _add(out, op.path, copy.deepcopy(_get(out, op.from_)))
            elif _get(out, op.path) != op.value:  # test
                return out, i, "test failed: the value there differs"
        except ValueError as err:
            return out, i, str(err)
    return out, None, ""


def _remove_keep_root(doc: Any, text: str) -> Any:
    if _pointer(text):
        _remove(doc, text)
    return doc


# --- strategic merge (subset) ----------------------------------------------------------------------------


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and "name" in v for v in value)


def strategic_merge(base: Any, patch: Any) -> Any:
    """``patch`` merged over ``base`` by the subset the module docstring lists (a new value; inputs untouched)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = strategic_merge(out[key], value)
            else:
                out[key] = _strip(value)
        return out
    if _named_list(base) and _named_list(patch):
        items = [dict(v) for v in base]
        for item in patch:
            at = next((i for i, v in enumerate(items) if v["name"] == item["name"]), None)
            if item.get("$patch") == "delete":
                if at is not None:
                    items.pop(at)
            elif at is None:
                items.append(_strip(item))
            else:
                items[at] = strategic_merge(items[at], item)
        return items
    return _strip(patch)


def _strip(value: Any) -> Any:
    """A patch value added as is, without nulls (they mean "absent") and deep-copied."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if v is not None and k != "$patch"}
    if isinstance(value, list):
        return [_strip(v) for v in value if not (isinstance(v, dict) and v.get("$patch") == "delete")]
    return copy.deepcopy(value)


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Helm-style values merge: mappings merge deeply, anything else (lists too) replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# --- applying a unit's patches ---------------------------------------------------------------------------


def _matches(doc: dict[str, Any], patch: Patch) -> bool:
    meta = doc.get("metadata") or {}
    target = patch.target
    return doc.get("kind") == target.kind and meta.get("name") == target.name and (target.namespace is None or meta.get("namespace") == target.namespace)


def apply_patches(docs: list[dict[str, Any]], patches: list[Patch], at: Path_) -> list[dict[str, Any]]:
    """``docs`` with every patch applied, in order; ``at`` is the spec path of the unit's `patches` list."""
    out = list(docs)
    for n, patch in enumerate(patches):
        hits = [i for i, d in enumerate(out) if _matches(d, patch)]
        if not hits:
            rendered = ", ".join(sorted(f"{d.get('kind')}/{(d.get('metadata') or {}).get('name')}" for d in out)) or "nothing"
            target = f"{patch.target.kind}/{patch.target.name}" + (f" in namespace {patch.target.namespace}" if patch.target.namespace else "")
            raise HatchError((*at, n, "target"), f"no rendered object matches {target} (hint: the unit renders {rendered})")
        for i in hits:
            if patch.ops is not None:
                result, failed, why = apply_ops(out[i], patch.ops)
                if failed is not None:
                    raise HatchError((*at, n, "ops", failed, "path"), f"cannot apply `{patch.ops[failed].op}` at `{patch.ops[failed].path}`: {why}")
            else:
                result = strategic_merge(out[i], patch.patch)
            if not isinstance(result, dict) or result.get("kind") != out[i].get("kind") or not isinstance(result.get("metadata"), dict):
                raise HatchError((*at, n), "a patch may not remove or change an object's kind or metadata")
            if result.get("kind") == "Secret" and (result.get("data") or result.get("stringData")):
                raise HatchError((*at, n), "the patch gives a Secret data; secrets never enter git (hint: create it out of band and reference it)")
            out[i] = result
    idents = [(d.get("kind"), (d.get("metadata") or {}).get("namespace"), (d.get("metadata") or {}).get("name")) for d in out]
    if len(set(idents)) != len(idents):
        raise HatchError(at, "after patching, two objects share a kind, namespace and name (hint: a patch may not rename onto another object)")
    return out


def read_manifests(directory: Path, files: list[str], at: Path_) -> list[dict[str, Any]]:
    """The objects in ``files`` (relative to ``directory``), checked to be Kubernetes objects with no secret data."""
    import yaml  # lazy

    from bbgen.kube import yamlio  # lazy

    out: list[dict[str, Any]] = []
    for n, name in enumerate(files):
        path = directory / name
        try:
            text = path.read_text(encoding="utf-8")
            docs = [d for d in yamlio.load_all(text) if d is not None]
        except (OSError, UnicodeDecodeError) as err:
            raise HatchError((*at, n), f"cannot read {name}: {err.strerror if isinstance(err, OSError) else 'not UTF-8'}") from None
        except (yaml.YAMLError, ValueError) as err:
            raise HatchError((*at, n), f"{name} is not valid YAML: {str(err).splitlines()[0] if str(err) else type(err).__name__}") from None
        for doc in docs:
            meta = doc.get("metadata") if isinstance(doc, dict) else None
            if not (isinstance(doc, dict) and doc.get("apiVersion") and doc.get("kind") and isinstance(meta, dict) and meta.get("name")):
                raise HatchError((*at, n), f"{name} holds something that is not a Kubernetes object (apiVersion, kind and metadata.name are required)")
            if doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
                raise HatchError((*at, n), f"{name} holds a Secret with data; secrets never enter git (hint: create it out of band and reference it)")
            out.append(doc)
    return out
