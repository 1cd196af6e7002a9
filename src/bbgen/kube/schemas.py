"""JSON Schemas for kubeconform, fully offline.

Kubernetes schemas come from the ``kubernetes-validate`` wheel. As shipped,
their ``$ref``s are absolute (``/api/_definitions.json#...``) and every file
carries an ``https://`` ``$id``; kubeconform would resolve those against the
``$id`` (a URL, so a download) instead of next to the file. They are rewritten
once per Kubernetes minor into a cache directory: relative ``$ref``s, no
``$id``. The rewrite goes to a temporary sibling that is renamed into place, so
concurrent runs never see half a directory.

CRD schemas for the custom kinds bbgen emits live in this package under
``crds/<group>/<kind>_<version>.json``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bbgen.errors import SchemaCacheError

FORMAT_VERSION = 1
MARKER = ".bbgen-schemas.json"
K8S_TEMPLATE = "{{ .ResourceKind }}{{ .KindSuffix }}.json"
CRD_TEMPLATE = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
_REF_PREFIX = "/api/_definitions.json#"
_SOURCE_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local-strict$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


@dataclass(frozen=True, kw_only=True)
class SchemaChoice:
    """Which bundled schema set serves a requested Kubernetes version, and why if not exact."""

    requested: str
    used: str  # e.g. "1.34.0"
    note: str | None


def parse_version(text: str) -> tuple[int, int] | None:
    match = _VERSION.match(text.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def _bundle_root() -> Path:
    return Path(str(resources.files("kubernetes_validate") / "kubernetes-json-schema"))


def available_versions() -> dict[tuple[int, int], str]:
    """(major, minor) → source directory name, for every strict schema set in the wheel."""
    out: dict[tuple[int, int], str] = {}
    root = _bundle_root()
    if root.is_dir():
        for entry in root.iterdir():
            match = _SOURCE_DIR.match(entry.name)
            if match and entry.is_dir():
                out[(int(match.group(1)), int(match.group(2)))] = entry.name
    return out


def choose(requested: str) -> SchemaChoice:
    """The exact minor if bundled, else the nearest older one (newer APIs are a superset risk)."""
    wanted = parse_version(requested)
    versions = available_versions()
    if not versions:
        raise FileNotFoundError("kubernetes-validate ships no schemas; reinstall it")
    if wanted is None:
        raise ValueError(f"{requested!r} is not a Kubernetes version like 1.34.0")
    if wanted in versions:
        return SchemaChoice(requested=requested, used=_used(versions[wanted]), note=None)
    older = [v for v in versions if v < wanted]
    pick = max(older) if older else min(versions)
    note = (
        f"no schemas bundled for Kubernetes {wanted[0]}.{wanted[1]}; "
        f"validating against {pick[0]}.{pick[1]} (kubernetes-validate covers "
        f"{min(versions)[0]}.{min(versions)[1]} to {max(versions)[0]}.{max(versions)[1]})"
    )
    return SchemaChoice(requested=requested, used=_used(versions[pick]), note=note)


def supported_versions() -> list[str]:
    """The Kubernetes minors bbgen bundles schemas for, oldest first (e.g. ``1.25`` … ``1.37``)."""
    return [f"{major}.{minor}" for major, minor in sorted(available_versions())]


def require_bundled(requested: str) -> SchemaChoice:
    """Like :func:`choose`, for a version a person asked for explicitly: no silent fallback to another minor.

    Raises ``ValueError`` naming the supported versions when ``requested`` is not
    a version or not one bbgen has schemas for.
    """
    wanted = parse_version(requested)
    known = supported_versions()
    listed = f"bbgen bundles schemas for Kubernetes {', '.join(known)}"
    if wanted is None:
        raise ValueError(f"{requested!r} is not a Kubernetes version like 1.34.0; {listed}")
    if wanted not in available_versions():
        raise ValueError(f"no schemas bundled for Kubernetes {wanted[0]}.{wanted[1]}; {listed}")
    return choose(requested)


def _used(source_name: str) -> str:
    match = _SOURCE_DIR.match(source_name)
    assert match is not None
    return ".".join(match.groups())


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bbgen" / "schemas"


def crd_dir() -> Path:
    return Path(__file__).resolve().parent / "crds"


def _marker_body(source_name: str) -> dict[str, Any]:
    from kubernetes_validate import __version__ as kv_version  # type: ignore[import-untyped]

    return {"format": FORMAT_VERSION, "source": f"kubernetes-validate {kv_version} {source_name}"}


def _is_current(target: Path, expected: dict[str, Any]) -> bool:
    try:
        return bool(json.loads((target / MARKER).read_text(encoding="utf-8")) == expected)
    except (OSError, ValueError):
        return False


def rewrite(node: Any) -> Any:
    """Drop every ``$id``; turn absolute definition refs into file-relative ones."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$id":
                continue
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF_PREFIX):
                value = "_definitions.json#" + value[len(_REF_PREFIX):]
            out[key] = rewrite(value)
        return out
    if isinstance(node, list):
        return [rewrite(v) for v in node]
    return node


def kubernetes_schema_dir(version: str) -> Path:
    """Converted schemas for ``version`` (as returned by ``choose().used``), built on first use."""
    major, minor, patch = version.split(".")
    source_name = f"v{major}.{minor}.{patch}-local-strict"
    source = _bundle_root() / source_name
    target = cache_root() / f"v{major}.{minor}.{patch}-strict"
    expected = _marker_body(source_name)
    if _is_current(target, expected):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise SchemaCacheError(path=target.parent, reason=exc.strerror or str(exc)) from None
    try:
        for path in sorted(source.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            (staging / path.name).write_text(json.dumps(rewrite(data), separators=(",", ":")), encoding="utf-8")
        (staging / MARKER).write_text(json.dumps(expected) + "\n", encoding="utf-8")
        _install(staging, target, expected)
    except OSError as exc:
        raise SchemaCacheError(path=target, reason=exc.strerror or str(exc)) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _install(staging: Path, target: Path, expected: dict[str, Any]) -> None:
    """Rename into place; if another run won the race with a good copy, keep theirs."""
    try:
        os.rename(staging, target)
        return
    except OSError:
        if _is_current(target, expected):
            return
    # A stale or broken copy: move it aside (atomic), then retry once.
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    try:
        os.rename(target, aside / "old")
    except OSError:
        pass
    try:
        os.rename(staging, target)
    except OSError:
        if not _is_current(target, expected):
            raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def schema_locations(version: str) -> list[str]:
    """kubeconform ``-schema-location`` values: built-in kinds first, then bbgen's CRDs."""
    return [
        f"{kubernetes_schema_dir(version).as_posix()}/{K8S_TEMPLATE}",
        f"{crd_dir().as_posix()}/{CRD_TEMPLATE}",
    ]


# --- Schemas a rendered repository carries for its own CI -------------------------------------
#
# The generated repository validates itself offline (bbgen.render.ci), so it needs the schemas
# kubeconform would look up for its objects. Shipping all ~860 files of a version would make every
# repository several megabytes heavier; only the kinds the tree uses are written, with the shared
# definitions file pruned to what those kinds reach.

_DEFS_REFS = ("_definitions.json#/$defs/", "#/$defs/")  # from a kind's file; inside _definitions.json


def kubeconform_names(api_version: str, kind: str) -> tuple[str, str]:
    """The file names kubeconform's :data:`K8S_TEMPLATE` and :data:`CRD_TEMPLATE` give one object.

    Mirrors kubeconform's own expansion (``ResourceKind`` lower-cased, ``KindSuffix`` from the
    group's first label) so the subset written is exactly what it will open.
    """
    group, _, version = api_version.rpartition("/")
    suffix = f"-{(group.split('.')[0] or version).lower()}" + (f"-{version.lower()}" if group else "")
    builtin = f"{kind.lower()}{suffix}.json"
    crd = f"{group or version}/{kind.lower()}_{version}.json"
    return builtin, crd


@dataclass(frozen=True, kw_only=True)
class SchemaSubset:
    """Canonical JSON text by relative path, in kubeconform's two layouts, plus what has no schema."""

    kubernetes: dict[str, str]  # <builtin name> → schema; includes the pruned _definitions.json
    crds: dict[str, str]  # <group>/<kind>_<version>.json → schema
    missing: list[tuple[str, str]]  # (apiVersion, kind) kubeconform will report as schema-less


def canonical_json(data: Any) -> str:
    """One byte-stable JSON text: sorted keys, fixed indent, ASCII only, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


@functools.lru_cache(maxsize=4)
def _definitions(version: str) -> dict[str, Any]:
    """The version's rewritten ``_definitions.json``, read from the wheel (no cache dir: rendering writes nothing)."""
    data = json.loads((_source_dir(version) / "_definitions.json").read_text(encoding="utf-8"))
    result: dict[str, Any] = rewrite(data)
    return result


def _source_dir(version: str) -> Path:
    major, minor, patch = version.split(".")
    return _bundle_root() / f"v{major}.{minor}.{patch}-local-strict"


def _refs(node: Any, out: set[str]) -> None:
    """Names of the shared definitions a (rewritten) schema, or a definition, refers to."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_DEFS_REFS):
                out.add(value.split("#/$defs/", 1)[1])
            else:
                _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)


def _pruned_definitions(version: str, roots: set[str]) -> dict[str, Any]:
    """``_definitions.json`` holding only the definitions reachable from ``roots``."""
    full = _definitions(version)
    defs = full.get("$defs") or {}
    keep: set[str] = set()
    todo = sorted(roots)
    while todo:
        name = todo.pop()
        if name in keep or name not in defs:
            continue
        keep.add(name)
        found: set[str] = set()
        _refs(defs[name], found)
        todo.extend(sorted(found - keep))
    return {**{k: v for k, v in full.items() if k != "$defs"}, "$defs": {k: defs[k] for k in sorted(keep)}}


def schema_subset(version: str, kinds: Iterable[tuple[str, str]]) -> SchemaSubset:
    """The schemas kubeconform opens for ``kinds`` (apiVersion, kind) under ``version`` (``choose().used``).

    Built-in first, as kubeconform tries the locations in that order; a kind found in
    neither place is listed in ``missing`` (validate reports it, so render does not).
    """
    source = _source_dir(version)
    kubernetes: dict[str, str] = {}
    crds: dict[str, str] = {}
    missing: list[tuple[str, str]] = []
    roots: set[str] = set()
    for api_version, kind in sorted(set(kinds)):
        builtin, crd = kubeconform_names(api_version, kind)
        if (source / builtin).is_file():
            data = rewrite(json.loads((source / builtin).read_text(encoding="utf-8")))
            _refs(data, roots)
            kubernetes[builtin] = canonical_json(data)
        elif (crd_dir() / crd).is_file():
            crds[crd] = canonical_json(json.loads((crd_dir() / crd).read_text(encoding="utf-8")))
        else:
            missing.append((api_version, kind))
    if kubernetes:
        kubernetes["_definitions.json"] = canonical_json(_pruned_definitions(version, roots))
    return SchemaSubset(kubernetes=kubernetes, crds=crds, missing=missing)
