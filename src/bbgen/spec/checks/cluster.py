"""Facts about the clusters: where volumes come from, one cluster per environment.

These run on each environment's merged spec (its layer applied), like every check.
"""

from __future__ import annotations

from collections.abc import Iterator

from bbgen.errors import SpecIssue
from bbgen.spec.checks._base import Context, check

NO_PROVISIONER = "kubernetes.io/no-provisioner"


@check()
def storage_volumes(ctx: Context) -> Iterator[SpecIssue]:
    """Static volumes and a provisioner component are two ways to give the class its volumes: one at a time."""
    storage = ctx.platform.storage
    names: dict[str, int] = {}
    for index, volume in enumerate(storage.volumes):
        if volume.name in names:
            yield ctx.at(("storage", "volumes", index, "name"), f"volume {volume.name!r} is already declared at storage.volumes[{names[volume.name]}]")
        names.setdefault(volume.name, index)
    if storage.volumes and storage.provisioner != NO_PROVISIONER:
        yield ctx.at(("storage", "volumes"), (
            f"static volumes need storage.provisioner: {NO_PROVISIONER} (it is {storage.provisioner!r}, "
            "which creates volumes itself)"
        ))
    for name in sorted(ctx.enabled):
        implemented = ctx.catalog[name].storage_provisioner if ctx.enabled_component(name) else None
        if implemented is not None and storage.provisioner != implemented:
            yield ctx.at_key(("components", name), (
                f"{name!r} serves storage.provisioner: {implemented} (it is {storage.provisioner!r})"
            ))


@check()
def one_cluster_per_environment(ctx: Context) -> Iterator[SpecIssue]:
    """No two environments deploy to the same cluster: their namespaces would collide."""
    clusters: dict[str, str] = {}
    environments = ctx.platform.environments
    for env in sorted(environments, key=lambda e: (e != "prod", e)):
        server = environments[env].cluster
        if server in clusters:
            yield ctx.at(("environments", env), (
                f"deploys to the same cluster as {clusters[server]!r} ({server}); their namespaces would collide: "
                f"set environments.{env}.cluster to the API server of its own cluster"
            ))
        else:
            clusters[server] = env
