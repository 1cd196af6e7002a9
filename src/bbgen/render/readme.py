"""The generated repository's README: how to bootstrap it and what it runs.

Written for the person who clones the GitOps repo without ever having seen the
spec, so it states the bootstrap order with exact commands, the DNS records and
every Secret to create. Secrets come from the same inventory as ``bbgen secrets
plan``, so the README and the tool can never disagree; commands that need a
credential show a placeholder, never a value.

The text is templates/_repo/README.md.j2 (text dialect); :func:`readme_context`
gathers what it reads, as plain data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bbgen.catalog import templates_root
from bbgen.kube import pins, schemas
from bbgen.kube.names import fqdn
from bbgen.render import engine, paths
from bbgen.render.graph import mermaid
from bbgen.render.inventory import Inventory, build_inventory
from bbgen.render.layout import ARGOCD_NAMESPACE, IN_CLUSTER, repo_url
from bbgen.render.units import Unit
from bbgen.spec.models import Platform

CNI = "cilium"
ARGOCD = "argocd"
GATEWAY = "gateway"
ARGOCD_VERSION_HINT = "v3.2.0"
TEMPLATE = "_repo/README.md.j2"


def _chart(unit: Unit) -> dict[str, Any] | None:
    chart = getattr(unit.component, "chart", None)
    if chart is None:
        return None
    return {"release": chart.release_name or unit.name, "name": chart.name, "repo": chart.repo, "version": unit.chart_version}


def _install(unit: Unit | None, envs: list[str]) -> dict[str, Any] | None:
    """A unit installed by hand before Argo CD can: its chart (or overlays) per environment."""
    if unit is None:
        return None
    return {
        "name": unit.name,
        "namespace": unit.namespace,
        "chart": _chart(unit),
        "envs": [{"name": e, "valuesFile": paths.values_file(unit.name, e), "overlay": paths.overlay_dir(unit.name, e)} for e in envs],
    }


def _secret_rows(inventory: Inventory) -> list[dict[str, Any]]:
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


def _dns_target(platform: Platform, units: dict[str, Unit]) -> str:
    if platform.ingress.provider == "gateway":
        ns = units[GATEWAY].namespace if GATEWAY in units else GATEWAY
        return f"the Gateway's address (`kubectl -n {ns} get gateway public -o jsonpath='{{.status.addresses[*].value}}'`)"
    return "the NGINX ingress controller's address (its LoadBalancer Service, or the nodes it runs on)"


def readme_context(platform: Platform, units: dict[str, Unit]) -> dict[str, Any]:
    """Everything README.md.j2 reads: the platform, its bootstrap steps, hosts, Secrets and CI facts."""
    envs = sorted(platform.environments)
    inventory = build_inventory(platform, units)
    ordered = sorted(units.values(), key=lambda u: u.name)
    supplied = [(s, k) for s in inventory.secrets for k in sorted(s.keys) if s.keys[k].source == "supply"]
    argocd = units.get(ARGOCD)
    return {
        "platform": {"name": platform.name, "branch": platform.gitops.branch, "repoURL": repo_url(platform)},
        "graph": mermaid(platform, units).rstrip("\n"),
        "envs": [
            {
                "name": e,
                "platformDir": paths.platform_dir(e),
                "rootApp": paths.root_app_file(e),
                "cluster": platform.environments[e].cluster,
                "remote": platform.environments[e].cluster != IN_CLUSTER,
            }
            for e in envs
        ],
        "cni": _install(units.get(CNI), envs),
        "argocd": _install(argocd, [("prod" if "prod" in platform.environments else envs[0])]) if argocd is not None and _chart(argocd) else None,
        "argocdNamespace": ARGOCD_NAMESPACE,
        "argocdVersionHint": ARGOCD_VERSION_HINT,
        "repoSecret": f"repo-{platform.gitops.repo}".lower().replace("_", "-").replace(".", "-"),
        "secretsDir": f"~/secrets/{platform.name}",
        "supplied": [{"env": s.keys[k].env, "what": s.keys[k].supply, "optional": s.keys[k].optional} for s, k in supplied],
        "secrets": _secret_rows(inventory),
        "components": [
            {"name": u.name, "namespace": u.namespace, "delivery": u.delivery, "wave": u.wave, "dependsOn": list(u.depends_on)}
            for u in sorted(units.values(), key=lambda u: (u.wave, u.name))
        ],
        "dns": {
            "target": _dns_target(platform, units),
            "hosts": [{"env": e, "host": fqdn(u.host_label, platform.env_domain(e)), "unit": u.name} for e in envs for u in ordered if u.host_label],
            "tcp": [{"port": t.port, "unit": t.component} for t in sorted(platform.ingress.tcp, key=lambda t: t.port)],
        },
        "ci": {
            "workflow": paths.WORKFLOW_PATH,
            "script": paths.SCRIPT_PATH,
            "schemaRoot": paths.SCHEMA_ROOT,
            "kubernetesVersion": schemas.choose(platform.kubernetes_version).used,
            "kustomizeVersion": pins.KUSTOMIZE_VERSION,
            "kubeconformVersion": pins.KUBECONFORM_VERSION,
        },
        "manifest": paths.MANIFEST_PATH,
    }


def readme(platform: Platform, units: dict[str, Unit], *, root: Path | None = None) -> str:
    """The README's text, from the catalog root's templates/_repo/README.md.j2."""
    root = root or templates_root()
    return engine.render_text(root, root / TEMPLATE, readme_context(platform, units), text=True)
