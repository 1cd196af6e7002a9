"""Where Argo CD runs: `gitops.hub` names an environment, and in hub mode every spoke names its own cluster."""

from __future__ import annotations

from collections.abc import Iterator

from bbgen.errors import SpecIssue
from bbgen.spec.checks._base import Context, check, hint

IN_CLUSTER = "https://kubernetes.default.svc"


@check()
def gitops_hub(ctx: Context) -> Iterator[SpecIssue]:
    """The hub is an environment; a spoke left at `kubernetes.default.svc` would be deployed into the hub's own cluster."""
    gitops = ctx.platform.gitops
    envs = ctx.platform.environments
    if gitops.hub not in envs:
        yield ctx.at(("gitops", "hub"), f"{gitops.hub!r} is not an environment{hint(gitops.hub, sorted(envs))}; the hub runs Argo CD for every environment")
        return
    if gitops.mode != "hub" or envs[gitops.hub].cluster == IN_CLUSTER:
        return  # both left at the default: one_cluster_per_environment already reports the collision
    for env in sorted(envs):
        if env != gitops.hub and envs[env].cluster == IN_CLUSTER:
            yield ctx.at(("environments", env), (
                f"is deployed by the hub Argo CD (gitops.hub: {gitops.hub}) but names no cluster of its own: "
                f"set environments.{env}.cluster to its API server, or gitops.mode: per-cluster"
            ))
