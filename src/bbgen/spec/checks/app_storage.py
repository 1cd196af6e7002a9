"""Custom apps' `files` and `volumes`: what Kubernetes would refuse, or quietly do otherwise, caught at the entry.

The API server refuses two mounts at one path and a volume named twice; a
persistent claim on a Job outlives every run and binds the next one to the same
node; a memory-backed emptyDir larger than the memory limit is an OOM kill waiting
for the disk to fill. Each is reported where the spec wrote it. Reading a file's
`source` and the ConfigMap's size limit are render's (render/app_storage.py): the
file is read there.
"""

from __future__ import annotations

from collections.abc import Iterator

from bbgen.errors import SpecIssue
from bbgen.spec.checks._base import Context, check
from bbgen.spec.checks.capacity import amount
from bbgen.spec.references import quantity_value

# Pod volume names and the mount path bbgen uses itself (render/app_storage.py, templates/_app/pod.j2).
RESERVED_VOLUMES = ("tmp", "files")
TMP_PATH = "/tmp"
MAX_KEY = 253  # a ConfigMap key's length limit


def _key(path: str) -> str:
    return path.removeprefix("/").replace("/", "_")  # as render/app_storage.file_key (no import: spec does not import render)


@check()
def app_volumes(ctx: Context) -> Iterator[SpecIssue]:
    """Volumes have unique names none of bbgen's (`tmp`, `files`); a persistent volume has a size and an app kind that
    keeps pods (service, worker); `medium` is for an emptyDir; a memory-backed emptyDir fits the memory limit."""
    for name, app in sorted(ctx.platform.apps.items()):
        seen: dict[str, int] = {}
        for index, volume in enumerate(app.volumes):
            at = ("apps", name, "volumes", index)
            if volume.name in RESERVED_VOLUMES:
                yield ctx.at((*at, "name"), f"{volume.name!r} is the name of a volume bbgen mounts itself (choose another)")
            elif volume.name in seen:
                yield ctx.at((*at, "name"), f"volume {volume.name!r} is already declared at volumes[{seen[volume.name]}]")
            seen.setdefault(volume.name, index)
            if volume.type == "persistent":
                if app.kind in ("job", "cronjob"):
                    yield ctx.at((*at, "type"), (
                        f"a {app.kind} keeps no pods, so a persistent volume would outlive every run (use an emptyDir, "
                        "or a service/worker for data that stays)"
                    ))
                if volume.size is None:
                    yield ctx.at((*at, "type"), "a persistent volume needs a size (e.g. size: 10Gi)")
                if volume.medium is not None:
                    yield ctx.at((*at, "medium"), "medium is for an emptyDir (a persistent volume lives on the storage class)")
            elif volume.medium == "Memory" and volume.size is not None:
                yield from _memory_fits(ctx, name, (*at, "size"), str(volume.size))


def _memory_fits(ctx: Context, app: str, at: tuple[str | int, ...], size: str) -> Iterator[SpecIssue]:
    """A tmpfs emptyDir counts against the container's memory limit: one larger than the limit kills the pod when it fills."""
    if app not in ctx.enabled:
        return
    limit = amount(ctx, app, ctx.env, "limits", "memory")
    asked = quantity_value(size)
    ceiling = quantity_value(limit.text) if limit is not None else None
    if limit is not None and asked is not None and ceiling is not None and asked > ceiling:
        yield ctx.at(at, (
            f"a memory-backed emptyDir of {size} is above the memory limit {limit.text}: it is memory counted against "
            "the limit, so filling it kills the pod (lower the size or raise resources.limits.memory)"
        ))


@check()
def app_mounts(ctx: Context) -> Iterator[SpecIssue]:
    """Every file and volume of an app mounts at its own path (not bbgen's /tmp), nothing mounts inside a file, and
    each file's path makes a distinct ConfigMap key of at most 253 characters."""
    for name, app in sorted(ctx.platform.apps.items()):
        taken: dict[str, str] = {TMP_PATH: "bbgen's writable /tmp"}
        keys: dict[str, str] = {}
        mounts = [(("apps", name, "volumes", i, "path"), v.path, f"volumes[{i}]") for i, v in enumerate(app.volumes)]
        mounts += [(("apps", name, "files", i, "path"), f.path, f"files[{i}]") for i, f in enumerate(app.files)]
        for at, path, where in mounts:
            if path in taken:
                yield ctx.at(at, f"{path} is already mounted by {taken[path]} (each mount at its own path)")
                continue
            taken[path] = where
            if where.startswith("files"):
                key = _key(path)
                if len(key) > MAX_KEY:
                    yield ctx.at(at, f"the path is {len(key) + 1} characters: a file's path makes its ConfigMap key, at most {MAX_KEY + 1} with the leading /")
                elif key in keys:
                    yield ctx.at(at, f"{path} and {keys[key]} make the same ConfigMap key {key!r} ('/' is written '_'): rename one")
                keys.setdefault(key, path)
        files = {f.path for f in app.files}
        for at, path, where in mounts:
            inside = next((f for f in sorted(files) if path.startswith(f + "/")), None)
            if inside is not None:
                yield ctx.at(at, f"{path} is inside {inside}, which is a mounted file, not a directory")
