"""Kubernetes objects as plain dicts: who an object is, how bbgen labels it, where its pods are.

One walker finds the pod template of every workload kind, so the leak guard and
the validate checks can never disagree about which objects run containers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MANAGED_BY = "bbgen"
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"

# Where each workload kind keeps the spec of the pods it makes.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
WORKLOAD_KINDS = frozenset(POD_SPEC_PATHS)
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def identity(doc: dict[str, Any]) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace or "", name): what makes two rendered objects the same one."""
    meta = doc.get("metadata", {})
    return (doc["apiVersion"], doc["kind"], str(meta.get("namespace", "")), meta["name"])


def standard_labels(name: str, *, part_of: str, managed_by: str = MANAGED_BY) -> dict[str, str]:
    """The recommended app.kubernetes.io labels every object bbgen writes carries."""
    return {NAME_LABEL: name, INSTANCE_LABEL: name, PART_OF_LABEL: part_of, MANAGED_BY_LABEL: managed_by}


@dataclass(frozen=True, kw_only=True)
class PodTemplate:
    """A workload's pods: the path to their spec, their labels and the spec itself."""

    path: tuple[str, ...]
    labels: dict[str, str]
    spec: dict[str, Any]


def pod_template(doc: Any) -> PodTemplate | None:
    """The pod template of a workload of any kind, or None (not a workload, or malformed)."""
    path = POD_SPEC_PATHS.get(str(doc.get("kind"))) if isinstance(doc, dict) else None
    if path is None:
        return None
    holder: Any = doc
    for key in path[:-1]:
        holder = holder.get(key) if isinstance(holder, dict) else None
    if not isinstance(holder, dict):
        return None
    meta = holder.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    spec = holder.get(path[-1])
    return PodTemplate(
        path=path,
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        spec=spec if isinstance(spec, dict) else {},
    )


def containers(pod_spec: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Every container of a pod spec as (list name, index, container), init and ephemeral ones included."""
    for key in CONTAINER_LISTS:
        items = pod_spec.get(key)
        if isinstance(items, list):
            yield from ((key, index, c) for index, c in enumerate(items) if isinstance(c, dict))
