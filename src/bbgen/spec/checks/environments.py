"""What must differ between environments: each runs on its own cluster, reached by its own names.

These checks run after every environment's merged spec passed its own checks, and
compare each environment with the ones checked before it (prod first), so a clash
is reported once, at the later environment, where its layer would change.
"""

from __future__ import annotations

from collections.abc import Iterator

from bbgen.errors import SpecIssue
from bbgen.spec.checks._base import Context, check


@check("environments")
def hosts_across_environments(ctx: Context) -> Iterator[SpecIssue]:
    """No public host in two environments: a DNS name leads to one cluster's edge, and one certificate."""
    mine = ctx.public_hosts()
    domain = ctx.platform.env_domain(ctx.env)
    for other, peer in ctx.earlier.items():
        theirs = peer.public_hosts()
        shared = sorted(set(mine) & set(theirs))
        if not shared:
            continue
        if peer.platform.env_domain(other) == domain:
            yield ctx.at(("environments", ctx.env, "domain"), (
                f"environment {ctx.env} has environment {other}'s domain {domain}, so every host collides with "
                f"{other}'s ({len(shared)}: {', '.join(shared[:3])}{', ...' if len(shared) > 3 else ''}); "
                f"give {ctx.env} a domain of its own (the default is {ctx.env}.{ctx.platform.domain})"
            ))
            continue
        for host in shared:
            yield ctx.host_site(mine[host], (
                f"host {host} is also environment {other}'s (claimed by {theirs[host]!r} there); "
                f"one name cannot lead to two clusters (give it a host of its own in environment {ctx.env})"
            ))
