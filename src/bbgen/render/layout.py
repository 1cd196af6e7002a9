"""The GitOps repository's facts the other stages share: its URL, Argo CD's names, one directory's files.

Where files go is :mod:`bbgen.render.paths`; the Argo CD objects themselves are
templates under templates/_argo/, fed by :mod:`bbgen.render.outputs`.
"""

from __future__ import annotations

import functools
from typing import Any

from bbgen.catalog import load_catalog, role_home, templates_root
from bbgen.errors import CatalogError
from bbgen.kube.kustomize import kustomization
from bbgen.render.paths import KUSTOMIZATION, resource_file
from bbgen.render.tree import Tree
from bbgen.render.units import Unit
from bbgen.spec.models import Platform

PLATFORM_PROJECT = "platform"
IN_CLUSTER = "https://kubernetes.default.svc"
GITOPS = "gitops"


@functools.cache
def argocd_namespace() -> str:
    """Where Argo CD and so its Applications live: the namespace the catalog's `gitops` provider declares.

    Taken from the catalog, enabled or not, because a platform may run an Argo CD it
    installed by hand (the README's bootstrap), and its Applications still go there.
    """
    home = role_home(load_catalog(), GITOPS)
    if home is None:
        raise CatalogError(file=templates_root(), message=f"no component provides the {GITOPS!r} role (Argo CD's namespace)")
    return home


def app_name(env: str, unit: str) -> str:
    """The Argo CD Application of ``unit`` in environment ``env`` (RESTORE.md names it too)."""
    return f"{env}-{unit}"


def root_app_name(env: str) -> str:
    """Environment ``env``'s root Application (app of apps)."""
    return app_name(env, "root")


def destination(platform: Platform, env: str) -> str:
    """The API server Argo CD deploys ``env`` to.

    In hub mode the hub's Argo CD reaches its own cluster as `kubernetes.default.svc`
    and every spoke at `environments.<env>.cluster`; in per-cluster mode each
    environment's own Argo CD manages only its own cluster.
    """
    gitops = platform.gitops
    if gitops.mode == "per-cluster" or env == gitops.hub:
        return IN_CLUSTER
    return platform.environments[env].cluster


def destinations(platform: Platform) -> dict[str, str]:
    """Every environment's API server as Argo CD addresses it (written to the manifest for `bbgen validate`)."""
    return {env: destination(platform, env) for env in sorted(platform.environments)}


def runs_argocd(platform: Platform, env: str) -> bool:
    """Whether ``env``'s cluster runs Argo CD (so gets its Application): the hub only, or every cluster in per-cluster mode."""
    return platform.gitops.runs_controller(env)


def spokes(platform: Platform) -> list[str]:
    """The environments the hub's Argo CD deploys to remotely (each needs a cluster Secret on the hub), sorted."""
    return sorted(e for e in platform.environments if destination(platform, e) != IN_CLUSTER)


def spoke_servers(platform: Platform, env: str) -> dict[str, str]:
    """The clusters ``env``'s Argo CD registers (spoke -> API server): the hub's spokes, nothing for any other environment."""
    if platform.gitops.mode != "hub" or env != platform.gitops.hub:
        return {}
    return {spoke: destination(platform, spoke) for spoke in spokes(platform)}


def self_managed(unit: Unit) -> bool:
    """The GitOps controller deploying itself (component.yaml `selfManaged`): its Application keeps no finalizer."""
    return unit.component is not None and unit.component.self_managed


def repo_url(platform: Platform) -> str:
    return f"{platform.gitops.url.rstrip('/')}/{platform.gitops.owner}/{platform.gitops.repo}.git"


def has_manifests(unit: Unit) -> bool:
    """Whether the unit has Kustomize manifests: always for Kustomize units, for charts when they have companions."""
    if unit.delivery == "kustomize":
        return True
    return bool(unit.host_label) or bool(unit.component is not None and unit.component.templates)


def add_docs(tree: Tree, directory: str, docs: list[dict[str, Any]], *, namespaced_names: bool = False, **extra: Any) -> None:
    """One file per resource plus a kustomization listing them in a stable order."""
    names = []
    for doc in docs:
        name = resource_file(doc, namespaced=namespaced_names)
        tree.add_doc(f"{directory}/{name}", doc)
        names.append(name)
    tree.add_doc(f"{directory}/{KUSTOMIZATION}", kustomization(sorted(names), **extra))
