"""Where each resource goes, and the Argo CD objects that tie the repository to the cluster.

The shape (see README): bootstrap/<env>/root-app.yaml → apps/<env>/ (Applications
+ the shared projects/) → platform/<env>/ and components/<c>/overlays/<env>/ or a
Helm chart with values/<c>/<env>.yaml.
"""

from __future__ import annotations

from typing import Any

from bbgen.catalog import ChartComponent, GitComponent
from bbgen.kube.kustomize import kustomization
from bbgen.kube.objects import standard_labels
from bbgen.render.tree import Tree
from bbgen.render.units import Unit
from bbgen.spec.models import Platform

ARGOCD_NAMESPACE = "argocd"
ARGO_API = "argoproj.io/v1alpha1"
PLATFORM_PROJECT = "platform"
SELF_MANAGED = "argocd"


def repo_url(platform: Platform) -> str:
    return f"{platform.gitops.url.rstrip('/')}/{platform.gitops.owner}/{platform.gitops.repo}.git"


def _meta(platform: Platform, name: str, *, wave: int | None = None, component: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": ARGOCD_NAMESPACE,
        "labels": standard_labels(component or name, part_of=platform.name),
    }
    if wave is not None:
        meta["annotations"] = {"argocd.argoproj.io/sync-wave": str(wave)}
    return meta


def _sync_policy(extra: list[str] | None = None) -> dict[str, Any]:
    return {
        "automated": {"prune": True, "selfHeal": True},
        "syncOptions": ["PruneLast=true", "ApplyOutOfSyncOnly=true", *(extra or [])],
        "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}},
    }


def application(platform: Platform, env: str, unit: Unit) -> dict[str, Any]:
    """One Application per unit and environment; chart units use multi-source with a `$values` ref."""
    target = platform.gitops.branch
    spec: dict[str, Any] = {
        "project": unit.domain,
        "destination": {"server": platform.environments[env].cluster, "namespace": unit.namespace},
        "syncPolicy": _sync_policy(list(unit.component.sync_options) if unit.component is not None else None),
    }
    if unit.delivery == "git":
        assert isinstance(unit.component, GitComponent)
        git = unit.component.git
        spec["source"] = {"repoURL": git.repo, "targetRevision": unit.chart_version, "path": git.path}
    elif unit.delivery == "chart":
        assert isinstance(unit.component, ChartComponent)
        chart = unit.component.chart
        spec["sources"] = [
            {
                "repoURL": chart.repo,
                "chart": chart.name,
                "targetRevision": unit.chart_version,
                "helm": {
                    "releaseName": chart.release_name or unit.name,
                    "valueFiles": [f"$values/values/{unit.name}/{env}.yaml"],
                },
            },
            {"repoURL": repo_url(platform), "targetRevision": target, "ref": "values"},
        ]
        if has_manifests(unit):  # the chart's companions: routes and objects the chart cannot make
            spec["sources"].append({"repoURL": repo_url(platform), "targetRevision": target, "path": overlay_dir(unit.name, env)})
    else:
        spec["source"] = {"repoURL": repo_url(platform), "targetRevision": target, "path": overlay_dir(unit.name, env)}
    meta = _meta(platform, f"{env}-{unit.name}", wave=unit.wave, component=unit.name)
    if unit.name != SELF_MANAGED:  # deleting Argo CD's own Application must not uninstall Argo CD
        meta["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    return {"apiVersion": ARGO_API, "kind": "Application", "metadata": meta, "spec": spec}


def has_manifests(unit: Unit) -> bool:
    """Whether the unit has Kustomize manifests: always for Kustomize units, for charts when they have companions."""
    if unit.delivery == "kustomize":
        return True
    return bool(unit.host_label) or bool(unit.component is not None and unit.component.templates)


def platform_application(platform: Platform, env: str) -> dict[str, Any]:
    meta = _meta(platform, f"{env}-platform", wave=0)
    meta["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    return {
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": PLATFORM_PROJECT,
            "source": {"repoURL": repo_url(platform), "targetRevision": platform.gitops.branch, "path": f"platform/{env}"},
            "destination": {"server": platform.environments[env].cluster},
            "syncPolicy": _sync_policy(),
        },
    }


def root_application(platform: Platform, env: str) -> dict[str, Any]:
    """The one object applied by hand; everything else follows from it."""
    return {
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": _meta(platform, f"{env}-root"),
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url(platform), "targetRevision": platform.gitops.branch, "path": f"apps/{env}"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": ARGOCD_NAMESPACE},
            "syncPolicy": _sync_policy(),
        },
    }


def _servers(platform: Platform) -> list[str]:
    return sorted({e.cluster for e in platform.environments.values()})


def projects(platform: Platform, units: dict[str, Unit]) -> list[dict[str, Any]]:
    """One AppProject per domain, allowing only its namespaces, the GitOps repo and its charts."""
    by_domain: dict[str, list[Unit]] = {}
    for unit in units.values():
        by_domain.setdefault(unit.domain, []).append(unit)
    out = []
    for domain in sorted(by_domain):
        members = by_domain[domain]
        namespaces = sorted({u.namespace for u in members})
        repos = {repo_url(platform)}
        cluster_kinds: set[tuple[str, str]] = set()
        for u in members:
            if u.component is not None:
                cluster_kinds.update((r.group, r.kind) for r in u.component.cluster_resources)
                if isinstance(u.component, ChartComponent):
                    repos.add(u.component.chart.repo)
                elif isinstance(u.component, GitComponent):
                    repos.add(u.component.git.repo)
        spec: dict[str, Any] = {
            "description": f"{domain}: " + ", ".join(sorted(u.name for u in members)),
            "sourceRepos": sorted(repos),
            "destinations": [{"server": s, "namespace": ns} for s in _servers(platform) for ns in namespaces],
            "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in sorted(cluster_kinds)],
        }
        meta = _meta(platform, domain, wave=-1)
        out.append({"apiVersion": ARGO_API, "kind": "AppProject", "metadata": meta, "spec": spec})
    out.append(
        {
            "apiVersion": ARGO_API,
            "kind": "AppProject",
            "metadata": _meta(platform, PLATFORM_PROJECT, wave=-1),
            "spec": {
                "description": "cluster-wide basics: namespaces, storage, network isolation",
                "sourceRepos": [repo_url(platform)],
                "destinations": [{"server": s, "namespace": "*"} for s in _servers(platform)],
                "clusterResourceWhitelist": [
                    {"group": "", "kind": "Namespace"},
                    {"group": "", "kind": "PersistentVolume"},
                    {"group": "storage.k8s.io", "kind": "StorageClass"},
                ],
                "namespaceResourceWhitelist": [
                    {"group": "cilium.io", "kind": "CiliumNetworkPolicy"},
                    {"group": "networking.k8s.io", "kind": "NetworkPolicy"},
                ],
            },
        }
    )
    return out


def overlay_dir(component: str, env: str) -> str:
    return f"components/{component}/overlays/{env}"


def resource_file(doc: dict[str, Any], *, namespaced: bool = False) -> str:
    """`kind-name.yaml`; with ``namespaced``, `kind-namespace-name.yaml` for a directory spanning namespaces."""
    ns = doc["metadata"].get("namespace") if namespaced else None
    return f"{doc['kind'].lower()}-{ns + '-' if ns else ''}{doc['metadata']['name']}.yaml"


def add_docs(tree: Tree, directory: str, docs: list[dict[str, Any]], *, namespaced_names: bool = False, **extra: Any) -> None:
    """One file per resource plus a kustomization listing them in a stable order."""
    names = []
    for doc in docs:
        name = resource_file(doc, namespaced=namespaced_names)
        tree.add_doc(f"{directory}/{name}", doc)
        names.append(name)
    tree.add_doc(f"{directory}/kustomization.yaml", kustomization(sorted(names), **extra))
