"""The generated repository's README: how to bootstrap it and what it runs.

Written for the person who clones the GitOps repo without ever having seen the
spec, so it states the bootstrap order with exact commands, the DNS records and
every Secret to create. Secrets come from the same inventory as ``bbgen secrets
plan``, so the README and the tool can never disagree; commands that need a
credential show a placeholder, never a value.

The text is templates/_repo/README.md.j2 (text dialect), fed by
:func:`bbgen.render.outputs.readme_context`; the helpers here shape its parts.
"""

from __future__ import annotations

from typing import Any

from bbgen.render import paths
from bbgen.render.inventory import Inventory
from bbgen.render.units import Unit
from bbgen.spec.models import Platform

CNI = "cilium"
ARGOCD = "argocd"
GATEWAY = "gateway"
ARGOCD_VERSION_HINT = "v3.2.0"


def chart_facts(unit: Unit) -> dict[str, Any] | None:
    chart = getattr(unit.component, "chart", None)
    if chart is None:
        return None
    return {"release": chart.release_name or unit.name, "name": chart.name, "repo": chart.repo, "version": unit.chart_version}


def install_step(unit: Unit | None, envs: list[str]) -> dict[str, Any] | None:
    """A unit installed by hand before Argo CD can: its chart (or overlays) per environment."""
    if unit is None:
        return None
    return {
        "name": unit.name,
        "namespace": unit.namespace,
        "chart": chart_facts(unit),
        "envs": [{"name": e, "valuesFile": paths.values_file(unit.name, e), "overlay": paths.overlay_dir(unit.name, e)} for e in envs],
    }


def secret_rows(inventory: Inventory) -> list[dict[str, Any]]:
    rows = []
    for secret in inventory.secrets:
        if secret.copy_of:
            how = f"copy of {secret.copy_of}"
        elif len(secret.keys) == 1:
            how = next(iter(secret.keys.values())).describe()
        else:
            how = "; ".join(f"{k}: {secret.keys[k].describe()}" for k in sorted(secret.keys))
        rows.append({
            "namespace": secret.namespace,
            "name": secret.name,
            "keyNames": sorted(secret.keys),
            "how": how.replace("|", "/"),
            "usedBy": list(secret.used_by),
            "basicAuth": "auth" in secret.keys and secret.keys["auth"].generator == "htpasswd",
        })
    return rows


def dns_target(platform: Platform, units: dict[str, Unit]) -> str:
    if platform.ingress.provider == "gateway":
        ns = units[GATEWAY].namespace if GATEWAY in units else GATEWAY
        return f"the Gateway's address (`kubectl -n {ns} get gateway public -o jsonpath='{{.status.addresses[*].value}}'`)"
    return "the NGINX ingress controller's address (its LoadBalancer Service, or the nodes it runs on)"
