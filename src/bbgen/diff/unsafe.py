"""Changes Argo CD cannot sync in place, found on what it would apply per environment.

``bbgen diff`` compares files; the objects Argo CD applies are what ``kustomize build``
makes of each environment's overlay (a base change reaches every environment, a patch
one), so both sides are written to scratch directories and every Kustomize root a
changed file feeds is built with the real kustomize. Objects are paired per
environment by kind, namespace and name, and each pair goes through the rules in
:mod:`bbgen.diff.unsafe_rules`. Roots no changed file reaches are not built: their
objects are the same on both sides. Chart-delivered components (Helm values) are
rendered by Argo CD from upstream charts and are not covered.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbgen.errors import ToolFailedError
from bbgen.diff.unsafe_rules import RULES, Context, get, group_kind, recreated_by_argo, show
from bbgen.validate.discover import Layout, discover, env_of
from bbgen.validate.resources import YamlProblem, is_object, split_documents
from bbgen.validate.tools import BUILD_TIMEOUT, Log, require_tool, run, trim_stderr

Key = tuple[str, str, str, str]  # environment, kind, namespace, name


@dataclass(frozen=True, kw_only=True)
class Unsafe:
    """One change the API server refuses (or ignores) on the live object, and what to do instead."""

    environment: str
    kind: str
    namespace: str
    name: str
    file: str
    field: str
    old: str
    new: str
    why: str
    remedy: str

    @property
    def label(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.environment}: {self.kind} {where}"

    def as_dict(self) -> dict[str, str]:
        return {
            "environment": self.environment, "kind": self.kind, "namespace": self.namespace, "name": self.name, "file": self.file,
            "field": self.field, "old": self.old, "new": self.new, "why": self.why, "remedy": self.remedy,
        }


@dataclass(kw_only=True)
class UnsafeReport:
    findings: list[Unsafe] = field(default_factory=list)
    built: list[str] = field(default_factory=list)  # the Kustomize roots built (on both sides)
    unbuilt: list[str] = field(default_factory=list)  # "old|new ROOT: why" for roots kustomize could not build: not checked


def _write(files: dict[str, bytes], root: Path) -> None:
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _affected(layout: Layout, changed: set[str]) -> list[str]:
    """The roots whose build reads one of the changed files (a file in one of their kustomization directories)."""
    out = []
    for root in layout.roots:
        dirs = layout.closure(root)
        files = {f for d in dirs for f in layout.kustomizations[d].resource_files}
        if changed & files or any(path.startswith(f"{d}/") for d in dirs for path in changed):
            out.append(root)
    return out


def _build(root: Path, rel: str, binary: Path, log: Log | None) -> list[dict[str, Any]]:
    done = run([binary, "build", root / rel], timeout=BUILD_TIMEOUT, log=log)
    if done.returncode != 0 or done.timed_out:
        raise ToolFailedError(tool="kustomize", message=f"build {rel}: {trim_stderr(done.stderr) or 'timed out'} (run `bbgen validate` on the tree)")
    try:
        return [c.value for c in split_documents(done.stdout) if is_object(c.value)]
    except YamlProblem as exc:
        raise ToolFailedError(tool="kustomize", message=f"build {rel}: output does not parse: {exc}") from None


def _objects(
    root: Path, layout: Layout, roots: list[str], binary: Path, log: Log | None, failed: dict[str, str],
) -> dict[Key, tuple[str, dict[str, Any]]]:
    out: dict[Key, tuple[str, dict[str, Any]]] = {}
    for rel in roots:
        if rel not in layout.kustomizations:
            continue  # the root is only on the other side: its objects are all added or all removed
        env = env_of(rel) or ""
        try:
            docs = _build(root, rel, binary, log)
        except ToolFailedError as exc:  # a tree that does not build (an old render, a hand edit): `validate` says why
            failed[rel] = exc.message
            continue
        for doc in docs:
            meta = doc.get("metadata") or {}
            key = (env, str(doc.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name") or ""))
            out[key] = (layout.locate(rel, key[1], key[3]), doc)
    return out


def _storage_classes(layout: Layout) -> dict[str, dict[str, Any]]:
    """StorageClasses the render defines, by name (read from the files: they are not patched per environment)."""
    found: dict[str, dict[str, Any]] = {}
    for k in layout.kustomizations.values():
        for rel in k.resource_files:
            try:
                docs = split_documents((layout.root / rel).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, YamlProblem):
                continue
            for c in docs:
                if is_object(c.value) and c.value.get("kind") == "StorageClass":
                    found[str(get(c.value, "metadata.name"))] = c.value
    return found


def check(new: dict[str, bytes], old: dict[str, bytes], *, log: Log | None = None, strict: bool = False) -> UnsafeReport:
    """Build both sides of each Kustomize root a changed file reaches and apply the rules to every changed object.

    A root that does not build on one side is left out and listed in ``unbuilt``; ``strict``
    (``--fail-on-unsafe``: the caller relies on the answer) makes that an error instead.
    """
    changed = {p for p in set(new) | set(old) if new.get(p) != old.get(p)}
    report = UnsafeReport()
    if not changed:
        return report
    binary = require_tool("kustomize")
    with tempfile.TemporaryDirectory(prefix="bbgen-unsafe-") as tmp:
        roots = {}
        for side, files in (("new", new), ("old", old)):
            _write(files, Path(tmp) / side)
            roots[side] = discover(Path(tmp) / side)
        new_layout, old_layout = roots["new"], roots["old"]
        todo = sorted(set(_affected(new_layout, changed)) & set(old_layout.roots))
        report.built = todo
        failed_new: dict[str, str] = {}
        failed_old: dict[str, str] = {}
        after = _objects(new_layout.root, new_layout, todo, binary, log, failed_new)
        before = _objects(old_layout.root, old_layout, todo, binary, log, failed_old)
        report.unbuilt = [f"new {rel}: {why}" for rel, why in sorted(failed_new.items())] + [
            f"old {rel}: {why}" for rel, why in sorted(failed_old.items())
        ]
        if strict and report.unbuilt:
            raise ToolFailedError(tool="kustomize", message="; ".join(report.unbuilt))
        ctx = Context(storage_classes=_storage_classes(new_layout))
    for key in sorted(set(after) & set(before)):
        (file, now), (_, was) = after[key], before[key]
        if now == was or group_kind(now) != group_kind(was) or recreated_by_argo(now):
            continue
        gk = group_kind(now)
        for rule in RULES:
            if gk not in rule.kinds:
                continue
            for change in rule.detect(was, now, ctx):
                env, kind, namespace, name = key
                remedy = rule.remedy.format(ns=f"-n {namespace} " if namespace else "", namespace=namespace, name=name, resource=kind.lower())
                report.findings.append(
                    Unsafe(
                        environment=env, kind=kind, namespace=namespace, name=name, file=file, field=change.field,
                        old=show(change.old), new=show(change.new), why=rule.why, remedy=remedy,
                    )
                )
    return report
