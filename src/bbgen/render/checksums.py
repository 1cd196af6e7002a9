"""Roll pods when a ConfigMap they read changes: a post-render pass, so templates stay data.

Kubernetes restarts nothing when a mounted or referenced ConfigMap changes; a pod
template whose annotation changes is a new revision, so its pods roll. After a
unit's templates render (and the environment's patches apply), every pod template
that mounts (``configMap`` or ``projected`` volume) or reads (``envFrom``,
``configMapKeyRef``) a ConfigMap rendered in the same unit and namespace gets one
annotation, ``checksum/config``: the SHA-256 of those ConfigMaps' canonical content.

One key, not one per ConfigMap, because an annotation's name part holds 63
characters and a ConfigMap's name up to 253; and one key is one overlay patch.
The pass runs on each environment's full rendering, so an environment whose layer
changes a ConfigMap gets its own checksum, and the computed overlay carries it.

ConfigMaps a Helm chart renders are the chart's business (charts add their own
checksum annotations); bbgen only sees, and so only annotates, its own manifests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from bbgen.kube import objects

ANNOTATION = "checksum/config"


def content_digest(config_map: dict[str, Any]) -> str:
    """SHA-256 of a ConfigMap's data and binaryData as sorted compact JSON: what its readers see."""
    content = {"data": config_map.get("data") or {}, "binaryData": config_map.get("binaryData") or {}}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()


def _names(value: Any) -> Iterator[str]:
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        yield value["name"]


def referenced(pod_spec: dict[str, Any]) -> set[str]:
    """Names of the ConfigMaps a pod spec mounts or reads, init and ephemeral containers included."""
    found: set[str] = set()
    for volume in pod_spec.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        found.update(_names(volume.get("configMap")))
        projected = volume.get("projected")
        for source in (projected.get("sources") or []) if isinstance(projected, dict) else []:
            if isinstance(source, dict):
                found.update(_names(source.get("configMap")))
    for _, _, container in objects.containers(pod_spec):
        for source in container.get("envFrom") or []:
            if isinstance(source, dict):
                found.update(_names(source.get("configMapRef")))
        for var in container.get("env") or []:
            value_from = var.get("valueFrom") if isinstance(var, dict) else None
            if isinstance(value_from, dict):
                found.update(_names(value_from.get("configMapKeyRef")))
    return found


def _template(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template mapping (its metadata and spec) of a workload other than a bare Pod."""
    path = objects.POD_SPEC_PATHS.get(str(doc.get("kind")))
    if path is None or len(path) < 2:
        return None
    holder: Any = doc
    for key in path[:-1]:
        holder = holder.get(key) if isinstance(holder, dict) else None
    return holder if isinstance(holder, dict) else None


def annotate(docs: list[dict[str, Any]]) -> None:
    """Add ``checksum/config`` to each pod template of ``docs`` that uses a ConfigMap among ``docs`` (in place)."""
    digests = {
        (str(d.get("metadata", {}).get("namespace", "")), str(d["metadata"]["name"])): content_digest(d)
        for d in docs
        if d.get("kind") == "ConfigMap" and isinstance(d.get("metadata"), dict) and d["metadata"].get("name")
    }
    if not digests:
        return
    for doc in docs:
        template = _template(doc)
        spec = template.get("spec") if template is not None else None
        if template is None or not isinstance(spec, dict):
            continue
        namespace = str(doc.get("metadata", {}).get("namespace", ""))
        used = {name: digests[(namespace, name)] for name in sorted(referenced(spec)) if (namespace, name) in digests}
        if not used:
            continue
        value = hashlib.sha256(json.dumps(used, sort_keys=True).encode("utf-8")).hexdigest()
        meta = template.setdefault("metadata", {})
        meta.setdefault("annotations", {})[ANNOTATION] = value
