"""What a render would change, per resource and per file.

Only files bbgen owns take part: on the old side, those listed in the target's
ownership manifest (or, with no manifest, the paths the new render would write),
so hand-written files next to the generated ones never show up as drift.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbgen import __version__
from bbgen.kube import yamlio
from bbgen.redact import redact
from bbgen.render.paths import MANIFEST_PATH, is_values_file

Ident = tuple[str, str, str]  # kind, namespace, name


@dataclass(frozen=True, kw_only=True)
class ResourceChange:
    action: str  # "added" | "changed" | "removed"
    kind: str
    namespace: str
    name: str
    file: str

    @property
    def label(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclass(kw_only=True)
class DiffResult:
    resources: list[ResourceChange] = field(default_factory=list)
    added_files: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)
    patches: dict[str, list[str]] = field(default_factory=dict)  # file -> unified diff lines
    # diff --remote: what was compared with ({"repository", "branch", "commit"}; commit None when the branch is absent),
    # so the caller can push with --expect COMMIT and never replace a render it has not seen
    remote: dict[str, str | None] | None = None
    # changes Argo CD cannot sync in place (bbgen.diff.unsafe), per environment; None when not checked (no kustomize)
    unsafe: list[dict[str, str]] | None = None
    unsafe_unbuilt: list[str] = field(default_factory=list)  # roots left out of that check: kustomize could not build them

    @property
    def identical(self) -> bool:
        return not (self.added_files or self.changed_files or self.removed_files)

    def as_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"remote": self.remote} if self.remote is not None else {}
        extra["unsafe"] = self.unsafe
        return extra | {
            "identical": self.identical,
            "files": {"added": self.added_files, "changed": self.changed_files, "removed": self.removed_files},
            "resources": [
                {"action": r.action, "kind": r.kind, "namespace": r.namespace, "name": r.name, "file": r.file}
                for r in self.resources
            ],
        }


def read_owned(directory: Path, candidates: set[str]) -> dict[str, bytes]:
    """The files of ``directory`` that bbgen owns (manifest), else those at the candidate paths."""
    manifest = directory / MANIFEST_PATH
    paths: set[str] = set(candidates)
    if manifest.is_file():
        try:
            paths = set(json.loads(manifest.read_text(encoding="utf-8")).get("files", {})) | {MANIFEST_PATH}
        except ValueError:
            paths = set(candidates)
    out: dict[str, bytes] = {}
    for rel in sorted(paths):
        target = directory / rel
        if target.is_file() and ".." not in Path(rel).parts:
            out[rel] = target.read_bytes()
    return out


def _resources(path: str, data: bytes) -> dict[Ident, Any]:
    if not path.endswith(".yaml") or is_values_file(path):
        return {}
    try:
        docs = yamlio.load_all(data.decode("utf-8"))
    except (yamlio.YAMLError, UnicodeDecodeError):
        return {}
    found: dict[Ident, Any] = {}
    for doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("metadata"), dict) and doc.get("kind"):
            if doc["kind"] == "Kustomization":
                continue
            meta = doc["metadata"]
            found[(str(doc["kind"]), str(meta.get("namespace") or ""), str(meta.get("name") or ""))] = doc
    return found


def diff_files(new: dict[str, bytes], old: dict[str, bytes]) -> DiffResult:
    """Compare two file maps: per-resource summary plus a unified diff of each changed file."""
    result = DiffResult()
    new_res: dict[Ident, tuple[str, Any]] = {}
    old_res: dict[Ident, tuple[str, Any]] = {}
    for path, data in new.items():
        for ident, doc in _resources(path, data).items():
            new_res[ident] = (path, doc)
    for path, data in old.items():
        for ident, doc in _resources(path, data).items():
            old_res[ident] = (path, doc)
    for ident in sorted(set(new_res) | set(old_res)):
        if ident not in old_res:
            action, file = "added", new_res[ident][0]
        elif ident not in new_res:
            action, file = "removed", old_res[ident][0]
        elif new_res[ident][1] != old_res[ident][1]:
            action, file = "changed", new_res[ident][0]
        else:
            continue
        result.resources.append(ResourceChange(action=action, kind=ident[0], namespace=ident[1], name=ident[2], file=file))
    for path in sorted(set(new) | set(old)):
        if path == MANIFEST_PATH:
            continue
        if path not in old:
            result.added_files.append(path)
        elif path not in new:
            result.removed_files.append(path)
        elif new[path] != old[path]:
            result.changed_files.append(path)
        else:
            continue
        before = old.get(path, b"").decode("utf-8", "replace").splitlines()
        after = new.get(path, b"").decode("utf-8", "replace").splitlines()
        result.patches[path] = list(
            difflib.unified_diff(before, after, f"a/{path}" if path in old else "/dev/null", f"b/{path}" if path in new else "/dev/null", lineterm="")
        )
    return result


def summary(changes: DiffResult) -> tuple[list[str], list[str]]:
    """(changed components, per-resource lines) for a pull request title and body."""
    names: list[str] = []
    for path in changes.added_files + changes.changed_files + changes.removed_files:
        parts = path.split("/")
        if parts[0] in ("components", "values") and len(parts) > 2:
            name = parts[1]
        elif parts[0] == "apps" and len(parts) == 3 and parts[2].endswith(".yaml") and parts[2] != "kustomization.yaml":
            name = parts[2][: -len(".yaml")]
        else:
            name = "platform"
        if name not in names:
            names.append(name)
    sign = {"added": "+", "changed": "~", "removed": "-"}
    lines = [f"- `{sign[r.action]}` {r.label} (`{r.file}`)" for r in changes.resources]
    return sorted(names), lines


def pull_text(platform_name: str, spec_digest: str, changes: DiffResult) -> tuple[str, str]:
    """A pull request's title (the changed components) and body (the per-resource summary)."""
    names, lines = summary(changes)
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    title = f"bbgen: render {platform_name}: {shown}" if shown else f"bbgen: render {platform_name}"
    counts = f"{len(changes.added_files)} added, {len(changes.changed_files)} changed, {len(changes.removed_files)} removed"
    body = [f"Rendered by bbgen {__version__} from spec `{spec_digest}`.", "", f"Files: {counts}.", ""]
    if changes.unsafe:
        body += [f"Cannot be applied in place ({len(changes.unsafe)}): Argo CD's sync fails on these until the remedy is done.", ""]
        for u in changes.unsafe[:50]:
            where = f"{u['namespace']}/{u['name']}" if u["namespace"] else u["name"]
            body.append(f"- `!` {u['environment']}: {u['kind']} {where} `{u['field']}`: `{u['old']}` -> `{u['new']}`: {u['why']}. Do: {u['remedy']}")
        body.append("")
    if lines:
        body += ["Resources:", *lines[:200]]
        if len(lines) > 200:
            body.append(f"- ... and {len(lines) - 200} more")
    return title, redact("\n".join(body) + "\n")
