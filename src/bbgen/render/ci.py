"""The generated repository checks itself: a CI workflow, the script it runs, the schemas it needs.

A push or pull request to the GitOps repository runs ``.bbgen/validate.sh`` in Gitea
Actions (the workflow is plain GitHub Actions syntax, so GitHub runs it too). The
script builds every Kustomize root and schema-checks the result with kubeconform,
offline: the schemas of exactly the kinds the tree uses are written into the repo
under ``.bbgen/schemas/``, for the Kubernetes version of the spec. Everything here is
derived from the tree, so the CI can never miss an overlay or lag behind the spec.

The workflow and the script are text templates (templates/_repo/validate.yaml.j2,
validate.sh.j2) fed by :func:`bbgen.render.outputs.ci_context`. Tool versions come
from :mod:`bbgen.kube.pins`, the pins ``bbgen validate`` uses,
so the repository and bbgen agree on what "valid" means.

Action pins are node24 majors (GitHub retired the Node 20 action runtime in 2026;
act-based runners such as Gitea's act_runner run whatever ``node`` the job image has):

* ``actions/checkout@v5``: v6 and later keep the token in a file pulled in through
  ``includeIf "gitdir:..."`` paths that match GitHub's own runner layout, which breaks
  authentication on Gitea and Forgejo runners (actions/checkout#2321); v5 still sends
  an ``http.extraheader``, and the job needs no credentials after the checkout.
* ``actions/setup-go@v6``, ``actions/cache@v5``: the last CommonJS cache major;
  ``actions/cache@v6`` moved to ES modules, whose entry-point check some act-based
  runners trip over (they start actions through a symlinked path). A cache miss or a
  cache service the runner lacks only costs the ``go install`` time, never the run.
"""

from __future__ import annotations

import posixpath
from typing import Any

from bbgen.kube import schemas, yamlio
from bbgen.kube.kustomize import INCLUDE_KEYS, KUSTOMIZATION_FILES, is_remote
from bbgen.render import paths
from bbgen.render.tree import Tree
from bbgen.spec.models import Platform

GO_VERSION = "1.26.8"  # kubeconform v0.8.0 needs Go 1.26
CHECKOUT_ACTION = "actions/checkout@v5"
SETUP_GO_ACTION = "actions/setup-go@v6"
CACHE_ACTION = "actions/cache@v5"

_GENERATED = {"configMapGenerator": ("v1", "ConfigMap"), "secretGenerator": ("v1", "Secret")}


def kubernetes_schema_dir(platform: Platform) -> str:
    """Where the built-in kinds' schemas go: named for the bundled version the spec's version maps to."""
    return paths.kubernetes_schema_dir(schemas.choose(platform.kubernetes_version).used)


def _hidden(path: str) -> bool:
    return any(part.startswith(".") for part in path.split("/"))


def _yaml_files(tree: Tree) -> list[str]:
    return sorted(p for p in tree.files if p.endswith((".yaml", ".yml")) and not _hidden(p))


def _docs(tree: Tree, path: str) -> list[Any]:
    if path in tree.docs:
        return [tree.docs[path]]
    return list(yamlio.load_all(tree.files[path].decode("utf-8")))


def _kustomizations(tree: Tree) -> dict[str, dict[str, Any]]:
    """Directory → parsed kustomization, for every kustomization file outside hidden directories."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(tree.files):
        directory, name = posixpath.split(path)
        if name in KUSTOMIZATION_FILES and not _hidden(path):
            docs = _docs(tree, path)
            out[directory or "."] = docs[0] if docs and isinstance(docs[0], dict) else {}
    return out


def _includes(directory: str, body: dict[str, Any]) -> list[str]:
    """Local paths a kustomization pulls in (directories and files), relative to the tree root."""
    out = []
    for key in INCLUDE_KEYS:
        for entry in body.get(key) or []:
            if isinstance(entry, str) and not is_remote(entry):
                out.append(posixpath.normpath(posixpath.join(directory, entry)))
    return out


def targets(tree: Tree) -> tuple[list[str], list[str]]:
    """(Kustomize roots to build, plain manifest files to check), as ``bbgen validate`` discovers them.

    A root is a kustomization no other one includes; a plain file is YAML outside every
    kustomization. Helm values are neither: Argo CD hands them to a chart, not to the API.
    """
    kustomizations = _kustomizations(tree)
    included: set[str] = set()
    for directory, body in kustomizations.items():
        included.update(_includes(directory, body))
    roots = sorted(d for d, body in kustomizations.items() if d not in included and body.get("kind") != "Component")
    plain = []
    for path in _yaml_files(tree):
        parents = path.split("/")[:-1]
        inside = any(("/".join(parents[:i]) or ".") in kustomizations for i in range(len(parents) + 1))
        if not inside and path not in included and not paths.is_values_file(path):
            plain.append(path)
    return roots, plain


def used_kinds(tree: Tree) -> set[tuple[str, str]]:
    """Every (apiVersion, kind) a build or plain file can produce: the manifests plus generator output."""
    kinds: set[tuple[str, str]] = set()
    for path in _yaml_files(tree):
        if paths.is_values_file(path):
            continue
        for doc in _docs(tree, path):
            if not isinstance(doc, dict):
                continue
            if posixpath.basename(path) in KUSTOMIZATION_FILES:
                kinds.update(made for key, made in _GENERATED.items() if doc.get(key))
                continue
            api_version, kind = doc.get("apiVersion"), doc.get("kind")
            if isinstance(api_version, str) and isinstance(kind, str):
                kinds.add((api_version, kind))
    return kinds


def add_schemas(tree: Tree, platform: Platform) -> None:
    """Add the schema subset CI validates against; call once the manifests are all in."""
    version = schemas.choose(platform.kubernetes_version).used
    k8s_dir = kubernetes_schema_dir(platform)
    subset = schemas.schema_subset(version, used_kinds(tree))
    for name, text in sorted(subset.kubernetes.items()):
        tree.add(f"{k8s_dir}/{name}", text)
    for name, text in sorted(subset.crds.items()):
        tree.add(f"{paths.CRD_SCHEMA_DIR}/{name}", text)
