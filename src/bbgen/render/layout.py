"""The GitOps repository's facts the other stages share: its URL, Argo CD's names, one directory's files.

Where files go is :mod:`bbgen.render.paths`; the Argo CD objects themselves are
templates under templates/_argo/, fed by :mod:`bbgen.render.outputs`.
"""

from __future__ import annotations

from typing import Any

from bbgen.kube.kustomize import kustomization
from bbgen.render.paths import KUSTOMIZATION, resource_file
from bbgen.render.tree import Tree
from bbgen.render.units import Unit
from bbgen.spec.models import Platform

ARGOCD_NAMESPACE = "argocd"
PLATFORM_PROJECT = "platform"
SELF_MANAGED = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"


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
