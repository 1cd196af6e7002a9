"""What a custom app mounts: its `files` (one ConfigMap) and its `volumes` (emptyDirs and persistent claims).

Built per environment from that environment's view of the app, as the rest of the
template contract is (render/context_build.py). A file's text comes inline or from a
file beside the spec, read here the way the `manifests` escape hatch reads its files
(relative to the spec's directory), and every problem reading it is a located spec
error at the entry that names it. The ConfigMap's checksum goes on the pod template
(render/checksums.py, after rendering), so a changed file rolls the pods: a subPath mount never sees a ConfigMap update.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbgen.render import patches
from bbgen.render.context_app import AppFiles
from bbgen.spec.models import AppFile, CustomApp
from bbgen.spec.sources import SpecSource

# Kubernetes refuses a ConfigMap whose keys and values add up to more than 1 MiB.
MAX_FILES_BYTES = 1024 * 1024
# Argo CD's client-side apply keeps the whole object in an annotation, and annotations hold at most 256 KiB in all:
# a ConfigMap bigger than this is applied server-side instead (room left for the rest of the object).
SERVER_SIDE_APPLY_BYTES = 200 * 1024
FILES_VOLUME = "files"
TMP_VOLUME = "tmp"
RESERVED_VOLUMES = (TMP_VOLUME, FILES_VOLUME)
"""Pod volume names bbgen uses itself: an app's own volume may not take them."""


def file_key(path: str) -> str:
    """The ConfigMap key of the file mounted at ``path``: the path without its leading `/`, `/` written `_`."""
    return path.removeprefix("/").replace("/", "_")


def files_config_map(app: str) -> str:
    return f"{app}-files"


def headless_service(app: str) -> str:
    return f"{app}-headless"


def controller(app: CustomApp) -> str:
    """The Kubernetes kind running the app's pods: a persistent volume makes a service or worker a StatefulSet."""
    if app.kind == "job":
        return "Job"
    if app.kind == "cronjob":
        return "CronJob"
    return "StatefulSet" if any(v.type == "persistent" for v in app.volumes) else "Deployment"


@dataclass(frozen=True, kw_only=True)
class Mounts:
    """The storage fields of an app's Workload (render/context.py), built together."""

    controller: str
    files: AppFiles | None
    volumes: list[dict[str, Any]]
    volumeMounts: list[dict[str, Any]]
    claimMounts: list[dict[str, Any]]
    volumeClaimTemplates: list[dict[str, Any]]
    headlessService: str | None


def _text(entry: AppFile, index: int, directory: Path, at: tuple[str | int, ...]) -> str:
    if entry.content is not None:
        return entry.content
    assert entry.source is not None
    where = (*at, index, "source")
    try:
        return (directory / entry.source).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise patches.HatchError(where, f"{entry.source} is not UTF-8 text (files are text; keep binary content in the image)") from None
    except OSError as err:
        raise patches.HatchError(where, f"cannot read {entry.source}: {err.strerror or type(err).__name__} (paths are relative to the spec file)") from None


def _files(name: str, app: CustomApp, directory: Path, at: tuple[str | int, ...]) -> AppFiles | None:
    if not app.files:
        return None
    data: dict[str, str] = {}
    total = 0
    for index, entry in enumerate(app.files):
        key = file_key(entry.path)
        text = _text(entry, index, directory, at)
        total += len(key.encode("utf-8")) + len(text.encode("utf-8"))
        if total > MAX_FILES_BYTES:
            field = "content" if entry.content is not None else "source"
            raise patches.HatchError((*at, index, field), (
                f"the app's files add up to {total} bytes here, over the 1 MiB a ConfigMap holds "
                "(keep large content in the image or on a volume)"
            ))
        data[key] = text
    return AppFiles(configMap=files_config_map(name), data=data, serverSideApply=total > SERVER_SIDE_APPLY_BYTES)


def mounts(name: str, app: CustomApp, storage_class: str, source: SpecSource | None) -> Mounts:
    """An app's files and volumes as Kubernetes volumes, mounts and claim templates (a located SpecError when a file cannot be read)."""
    at: tuple[str | int, ...] = ("apps", name, "files")
    try:
        files = _files(name, app, source.directory if source is not None else Path.cwd(), at)
    except patches.HatchError as err:
        raise patches.located(source, err.path, err.message) from None
    volumes: list[dict[str, Any]] = []
    volume_mounts: list[dict[str, Any]] = []
    claim_mounts: list[dict[str, Any]] = []
    claims: list[dict[str, Any]] = []
    for volume in app.volumes:
        if volume.type == "persistent":
            claim_mounts.append({"name": volume.name, "mountPath": volume.path})
            claims.append({
                "metadata": {"name": volume.name},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": storage_class,
                    "resources": {"requests": {"storage": str(volume.size)}},
                },
            })
            continue
        volume_mounts.append({"name": volume.name, "mountPath": volume.path})
        empty: dict[str, Any] = {}
        if volume.medium is not None:
            empty["medium"] = volume.medium
        if volume.size is not None:
            empty["sizeLimit"] = str(volume.size)
        volumes.append({"name": volume.name, "emptyDir": empty})
    if files is not None:
        items: list[dict[str, Any]] = []
        for entry in app.files:
            key = file_key(entry.path)
            item: dict[str, Any] = {"key": key, "path": key}
            if entry.mode is not None:
                item["mode"] = int(entry.mode, 8)
            items.append(item)
            volume_mounts.append({"name": FILES_VOLUME, "mountPath": entry.path, "subPath": key, "readOnly": True})
        volumes.append({"name": FILES_VOLUME, "configMap": {"name": files.configMap, "items": items}})
    kind = controller(app)
    return Mounts(
        controller=kind,
        files=files,
        volumes=volumes,
        volumeMounts=volume_mounts,
        claimMounts=claim_mounts,
        volumeClaimTemplates=claims,
        headlessService=headless_service(name) if kind == "StatefulSet" else None,
    )
