"""The leak guard: no secret value may enter the GitOps repository.

``render`` and ``push-to-gitea`` call :func:`check` on the in-memory tree before
anything is written or committed; ``validate`` turns :func:`scan_directory`
results into findings. Each leak names the file, the object and the field path,
never the value, so the refusal itself cannot leak.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bbgen.errors import LeakError
from bbgen.kube import yamlio
from bbgen.kube.objects import containers, pod_template
from bbgen.render.paths import is_values_file
from bbgen.secrets.detect import reasons
from bbgen.validate.findings import Finding

if TYPE_CHECKING:
    from bbgen.render.tree import Tree

SKIP_DIRS = {".git", ".bbgen"}
MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, kw_only=True, order=True)
class Leak:
    """One field that looks like it holds a secret value."""

    file: str
    resource: str
    field: str
    reason: str

    def __str__(self) -> str:
        return ": ".join(p for p in (self.file, self.resource, self.field, self.reason) if p)


def _seg(key: Any) -> str:
    text = str(key)
    if text.replace("_", "a").replace("-", "a").isalnum() and not text[:1].isdigit():
        return f".{text}"
    return "[" + json.dumps(text, ensure_ascii=False) + "]"


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    seg = _seg(key)
    return seg[1:] if not path and seg.startswith(".") else path + seg


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, Any, str]]:
    """Every string leaf as (field path, name of the mapping key holding it, text)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                yield _join(path, key), key, value
            else:
                yield from _strings(value, _join(path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, str):
                yield _join(path, index), None, value
            else:
                yield from _strings(value, _join(path, index))


def _deep_fields(doc: dict[str, Any]) -> Iterator[tuple[str, str | None, str]]:
    """The fields meant to carry configuration values, where heuristics apply."""
    kind = doc.get("kind")
    if kind == "ConfigMap":
        for section in ("data", "binaryData"):
            data = doc.get(section)
            if isinstance(data, dict):
                for key, value in data.items():
                    if isinstance(value, str):
                        yield _join(section, key), str(key), _decoded(value) if section == "binaryData" else value
    pod = pod_template(doc)
    if pod is None:
        return
    base = ".".join(pod.path)
    for list_name, ci, container in containers(pod.spec):
        where = f"{base}.{list_name}[{ci}]"
        env = container.get("env")
        for ei, var in enumerate(env if isinstance(env, list) else []):
            if isinstance(var, dict) and isinstance(var.get("value"), str):
                yield f"{where}.env[{ei}].value", str(var.get("name") or ""), var["value"]
        for field in ("command", "args"):
            items = container.get(field)
            for ai, arg in enumerate(items if isinstance(items, list) else []):
                if isinstance(arg, str):
                    yield f"{where}.{field}[{ai}]", None, arg


def _decoded(value: str) -> str:
    import base64
    import binascii

    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return value


def _resource(doc: dict[str, Any]) -> str:
    meta: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    parts = [str(doc.get("kind") or "?"), str(meta.get("namespace") or ""), str(meta.get("name") or "")]
    return "/".join(p for p in parts if p)


def _structural(doc: dict[str, Any], path: str) -> list[tuple[str, str]]:
    """Objects that put values into git by construction: Secrets with data, secretGenerators."""
    out: list[tuple[str, str]] = []
    if doc.get("kind") == "Secret" and str(doc.get("apiVersion", "v1")) == "v1":
        for section in ("data", "stringData"):
            if doc.get(section):
                out.append((section, "Secret carries values; create it out of band (bbgen secrets generate)"))
    if doc.get("kind") == "Kustomization" or path.rsplit("/", 1)[-1] in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        generators = doc.get("secretGenerator")
        for gi, gen in enumerate(generators if isinstance(generators, list) else []):
            if isinstance(gen, dict) and any(gen.get(k) for k in ("literals", "files", "envs")):
                out.append((f"secretGenerator[{gi}]", "secretGenerator builds a Secret from values kept in git"))
    return out


def _scan_doc(path: str, doc: Any, *, values_file: bool) -> list[Leak]:
    leaks: list[Leak] = []
    resource = "" if values_file or not isinstance(doc, dict) else _resource(doc)
    deep: list[tuple[str, str | None, str]] = []
    if values_file:
        deep = [(f, None if k is None else str(k), t) for f, k, t in _strings(doc)]
    elif isinstance(doc, dict):
        deep = list(_deep_fields(doc))
        leaks += [Leak(file=path, resource=resource, field=f, reason=r) for f, r in _structural(doc, path)]
    deep_paths = {f for f, _, _ in deep}
    for field, name, text in deep:
        leaks += [Leak(file=path, resource=resource, field=field, reason=r) for r in reasons(text, name=name)]
    for field, _, text in _strings(doc):
        if field not in deep_paths:
            leaks += [Leak(file=path, resource=resource, field=field, reason=r) for r in _shallow(text)]
    return leaks


@functools.lru_cache(maxsize=1 << 16)
def _shallow(text: str) -> tuple[str, ...]:
    """Token shapes in any string; labels, names and images repeat across thousands of files."""
    return tuple(reasons(text, deep=False))


def scan_file(path: str, data: bytes) -> list[Leak]:
    """Leaks in one file of the tree (``path`` relative to the tree root, POSIX)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return []
    if path.endswith((".yaml", ".yml")):
        try:
            docs = yamlio.load_all(text)
        except yamlio.YAMLError:
            docs = None  # validate reports the syntax error; still look for precise shapes line by line
        if docs is not None:
            values_file = is_values_file(path)
            return [leak for doc in docs for leak in _scan_doc(path, doc, values_file=values_file)]
    leaks: list[Leak] = []
    for number, line in enumerate(text.splitlines(), start=1):
        leaks += [Leak(file=path, resource="", field=f"line {number}", reason=r) for r in reasons(line, deep=False)]
    if "PRIVATE KEY" in text and not leaks:
        leaks += [Leak(file=path, resource="", field="", reason=r) for r in reasons(text, deep=False)]
    return leaks


def scan_files(files: Mapping[str, bytes], docs: Mapping[str, Any] | None = None) -> list[Leak]:
    """Leaks in a whole tree given as relative path -> bytes; sorted, without duplicates.

    ``docs`` holds the objects some files were dumped from; those are scanned as
    they are instead of being parsed again.
    """
    leaks: set[Leak] = set()
    for path in sorted(files):
        if path.split("/", 1)[0] in SKIP_DIRS:
            continue
        if docs is not None and path in docs:
            leaks.update(_scan_doc(path, docs[path], values_file=is_values_file(path)))
        else:
            leaks.update(scan_file(path, files[path]))
    return sorted(leaks)


def scan_rendered(path: str, docs: list[Any]) -> list[Leak]:
    """Objects rendered outside the repository (a chart's output, located at ``path``): structural rules and token shapes.

    The value heuristics (entropy, password-like names) are for what bbgen writes into
    git; upstream defaults such as SSH known-hosts lists would trip them, and the values
    files feeding a chart are scanned in full as files of the tree already.
    """
    leaks: set[Leak] = set()
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        resource = _resource(doc)
        leaks.update(Leak(file=path, resource=resource, field=f, reason=r) for f, r in _structural(doc, path))
        for field, _, text in _strings(doc):
            leaks.update(Leak(file=path, resource=resource, field=field, reason=r) for r in _shallow(text))
    return sorted(leaks)


def scan_tree(tree: Tree) -> list[Leak]:
    return scan_files(tree.files, tree.docs)


def scan_directory(root: Path) -> list[Leak]:
    """Leaks in every text file under ``root`` (``.git`` and ``.bbgen`` aside)."""
    files: dict[str, bytes] = {}
    for current, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in names:
            full = Path(current) / name
            try:
                if full.is_file() and full.stat().st_size <= MAX_FILE_BYTES:
                    files[full.relative_to(root).as_posix()] = full.read_bytes()
            except OSError:
                continue
    return scan_files(files)


def check(tree: Tree, *, action: str) -> None:
    """Raise :class:`LeakError` (exit 1) when the tree would carry a secret value into git."""
    leaks = scan_tree(tree)
    if leaks:
        raise LeakError(action=action, leaks=[str(leak) for leak in leaks])


def findings(leaks: list[Leak]) -> list[Finding]:
    """Leaks as validate findings (check ``leak-guard``, severity error)."""

    return [
        Finding(check="leak-guard", file=leak.file, resource=leak.resource, message=": ".join(p for p in (leak.field, leak.reason) if p))
        for leak in leaks
    ]
