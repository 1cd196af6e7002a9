"""Hub-and-spoke checks: one owner per Argo CD object, and every Application on its environment's cluster.

Argo CD tracks an object by the Application that applied it; an AppProject or
Application built by two kustomization roots is fought over by two root
Applications (shared-resource warnings, tracking that flips on every sync).
And an Application whose destination is another environment's API server
deploys staging into prod: the render records each environment's destination
in the manifest (`destinations`), and every Application of an environment must
use it. Root Applications (app of apps: they deploy only Argo CD objects) live
beside Argo CD and are exempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bbgen.validate.checks import ARGO, finding
from bbgen.validate.findings import Finding
from bbgen.validate.resources import Resource, sub

OWNED_KINDS = ("Application", "AppProject")


def check_owners(resources: Iterable[Resource], built: set[str]) -> list[Finding]:
    """An Application or AppProject is in the output of at most one kustomization root."""
    origins: dict[tuple[str, str, str, str], dict[str, Resource]] = {}
    for res in resources:
        if res.origin in built and any(res.is_a(kind, ARGO) for kind in OWNED_KINDS):
            origins.setdefault(res.identity, {}).setdefault(res.origin, res)
    out: list[Finding] = []
    for by_origin in origins.values():
        if len(by_origin) > 1:
            roots = sorted(by_origin)
            first = by_origin[roots[0]]
            message = f"{first.kind} is built by {len(roots)} kustomization roots ({', '.join(roots)}); two Applications would own it"
            out.append(finding(first, "argo-owner", message))
    return out


def is_root(app: Resource, deployed: Mapping[tuple[str, str, str, str], list[Resource]]) -> bool:
    """An app of apps: everything it deploys is an Argo CD object (they live beside Argo CD, not on the environment's cluster)."""
    objects = deployed.get(app.identity) or []
    return bool(objects) and all(r.group == ARGO for r in objects)


def check_destinations(
    resources: Iterable[Resource], destinations: Mapping[str, str], deployed: Mapping[tuple[str, str, str, str], list[Resource]]
) -> list[Finding]:
    """Each environment's Applications target that environment's API server (manifest `destinations`)."""
    out: list[Finding] = []
    for app in resources:
        if not app.is_a("Application", ARGO) or app.env is None or app.env not in destinations:
            continue
        server = str(sub(app.spec, "destination").get("server") or "")
        want = destinations[app.env]
        if not server or server == want or is_root(app, deployed):
            continue  # `destination.name` alone cannot be compared with a server URL
        owner = next((env for env, url in sorted(destinations.items()) if url == server), None)
        whose = f" (environment {owner}'s cluster)" if owner else ""
        message = f"Application of environment {app.env} deploys to {server}{whose}, not its environment's cluster {want}"
        out.append(finding(app, "argo-destination", message))
    return out
