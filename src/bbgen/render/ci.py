"""The generated repository checks itself: a CI workflow, the script it runs, the schemas it needs.

A push or pull request to the GitOps repository runs ``.bbgen/validate.sh`` in Gitea
Actions (the workflow is plain GitHub Actions syntax, so GitHub runs it too). The
script builds every Kustomize root and schema-checks the result with kubeconform,
offline: the schemas of exactly the kinds the tree uses are written into the repo
under ``.bbgen/schemas/``, for the Kubernetes version of the spec. Everything here is
derived from the tree, so the CI can never miss an overlay or lag behind the spec.

Tool versions come from :mod:`bbgen.kube.pins`, the pins ``bbgen validate`` uses,
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
import shlex
from typing import Any

from bbgen.kube import pins, schemas, yamlio
from bbgen.kube.kustomize import INCLUDE_KEYS, KUSTOMIZATION_FILES, is_remote
from bbgen.kube.pins import KUBECONFORM_PACKAGE, KUSTOMIZE_PACKAGE
from bbgen.render.tree import Tree
from bbgen.spec.models import Platform

WORKFLOW_PATH = ".gitea/workflows/validate.yaml"
SCRIPT_PATH = ".bbgen/validate.sh"
SCHEMA_ROOT = ".bbgen/schemas"
CRD_SCHEMA_DIR = f"{SCHEMA_ROOT}/crds"

GO_VERSION = "1.26.8"  # kubeconform v0.8.0 needs Go 1.26
CHECKOUT_ACTION = "actions/checkout@v5"
SETUP_GO_ACTION = "actions/setup-go@v6"
CACHE_ACTION = "actions/cache@v5"

_GENERATED = {"configMapGenerator": ("v1", "ConfigMap"), "secretGenerator": ("v1", "Secret")}
HELM_VALUES = "values/"


def kubernetes_schema_dir(platform: Platform) -> str:
    """Where the built-in kinds' schemas go: named for the bundled version the spec's version maps to."""
    return f"{SCHEMA_ROOT}/kubernetes-v{schemas.choose(platform.kubernetes_version).used}"


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
        if not inside and path not in included and not path.startswith(HELM_VALUES):
            plain.append(path)
    return roots, plain


def used_kinds(tree: Tree) -> set[tuple[str, str]]:
    """Every (apiVersion, kind) a build or plain file can produce: the manifests plus generator output."""
    kinds: set[tuple[str, str]] = set()
    for path in _yaml_files(tree):
        if path.startswith(HELM_VALUES):
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


def _bash_list(name: str, items: list[str]) -> list[str]:
    return [f"{name}=(", *[f"  {shlex.quote(item)}" for item in items], ")"]


def validate_script(roots: list[str], plain: list[str], k8s_dir: str) -> str:
    """The check CI runs and people can run by hand; its lists are the tree's, written out."""
    k8s_location = f"{k8s_dir}/{schemas.K8S_TEMPLATE}"
    crd_location = f"{CRD_SCHEMA_DIR}/{schemas.CRD_TEMPLATE}"
    lines = [
        "#!/usr/bin/env bash",
        "# Generated by bbgen; change the platform spec and render again instead of editing.",
        "#",
        "# Builds every Kustomize root of this repository and checks the objects, and the plain",
        "# manifests, with kubeconform against the schemas under .bbgen/schemas/ only: no network.",
        f"# CI pins kustomize {pins.KUSTOMIZE_VERSION} and kubeconform {pins.KUBECONFORM_VERSION}; run it locally with",
        "#   bash .bbgen/validate.sh",
        "# Exit 0: all valid; 1: something failed (listed at the end); 2: a tool is missing.",
        "set -euo pipefail",
        'cd "$(dirname "${BASH_SOURCE[0]}")/.."',
        'root="$(pwd -P)"',
        "",
        "for tool in kustomize kubeconform; do",
        '  if ! command -v "$tool" >/dev/null 2>&1; then',
        f'    echo "validate.sh: $tool is not on PATH (go install {KUSTOMIZE_PACKAGE}@{pins.KUSTOMIZE_VERSION}'
        f' {KUBECONFORM_PACKAGE}@{pins.KUBECONFORM_VERSION})" >&2',
        "    exit 2",
        "  fi",
        "done",
        'echo "kustomize $(kustomize version 2>/dev/null || echo unknown), kubeconform $(kubeconform -v 2>/dev/null || echo unknown)"',
        "",
        "conform() {",
        "  kubeconform -strict -summary \\",
        f'    -schema-location "$root/{k8s_location}" \\',
        f'    -schema-location "$root/{crd_location}" \\',
        '    "$@"',
        "}",
        "",
        *_bash_list("builds", roots),
        *_bash_list("files", plain),
        "",
        "failed=()",
        'for dir in ${builds[@]+"${builds[@]}"}; do',
        '  echo "--- kustomize build $dir"',
        '  if ! kustomize build "$dir" | conform -; then',
        '    failed+=("$dir")',
        "  fi",
        "done",
        'for file in ${files[@]+"${files[@]}"}; do',
        '  echo "--- $file"',
        '  if ! conform "$file"; then',
        '    failed+=("$file")',
        "  fi",
        "done",
        "",
        f"total={len(roots) + len(plain)}",
        "if [ ${#failed[@]} -gt 0 ]; then",
        '  echo "validate.sh: ${#failed[@]} of $total failed:" >&2',
        '  printf \'  %s\\n\' "${failed[@]}" >&2',
        "  exit 1",
        "fi",
        'echo "validate.sh: all $total valid"',
    ]
    return "\n".join(lines) + "\n"


def workflow(platform: Platform) -> str:
    """The Gitea Actions workflow; GitHub-compatible, and free of kubeconform's Go templates."""
    key = f"bbgen-tools-${{{{ runner.os }}}}-go{GO_VERSION}-kustomize-{pins.KUSTOMIZE_VERSION}-kubeconform-{pins.KUBECONFORM_VERSION}"
    lines = [
        "# Generated by bbgen; change the platform spec and render again instead of editing.",
        "# Validates every overlay offline (.bbgen/validate.sh) with the tool versions bbgen pins.",
        "# Runs on Gitea Actions once the repository has Actions enabled and a runner serves ubuntu-latest.",
        "name: validate",
        "on:",
        "  push:",
        f"    branches: [{yamlio.quote(platform.gitops.branch)}]",
        "  pull_request:",
        "jobs:",
        "  validate:",
        "    runs-on: ubuntu-latest",
        "    env:",
        '      GOTOOLCHAIN: "local"',
        '      CGO_ENABLED: "0"',
        "    steps:",
        "      - name: Check out",
        f"        uses: {CHECKOUT_ACTION}",
        "        with:",
        "          persist-credentials: false",
        "      - name: Set up Go",
        f"        uses: {SETUP_GO_ACTION}",
        "        with:",
        f'          go-version: "{GO_VERSION}"',
        "          cache: false",
        "      - name: Cache kustomize and kubeconform",
        "        id: tools",
        f"        uses: {CACHE_ACTION}",
        "        with:",
        "          path: ~/go/bin",
        f"          key: {key}",
        "      - name: Install kustomize and kubeconform",
        "        if: steps.tools.outputs.cache-hit != 'true'",
        "        run: |",
        f"          go install {KUSTOMIZE_PACKAGE}@{pins.KUSTOMIZE_VERSION}",
        f"          go install {KUBECONFORM_PACKAGE}@{pins.KUBECONFORM_VERSION}",
        "      - name: Put the tools on PATH",
        '        run: echo "$(go env GOPATH)/bin" >> "$GITHUB_PATH"',
        "      - name: Validate every overlay",
        "        run: bash .bbgen/validate.sh",
    ]
    return "\n".join(lines) + "\n"


def add_ci(tree: Tree, platform: Platform) -> None:
    """Add the workflow, the script and the schema subset; call once the manifests are all in."""
    version = schemas.choose(platform.kubernetes_version).used
    k8s_dir = kubernetes_schema_dir(platform)
    subset = schemas.schema_subset(version, used_kinds(tree))
    for name, text in sorted(subset.kubernetes.items()):
        tree.add(f"{k8s_dir}/{name}", text)
    for name, text in sorted(subset.crds.items()):
        tree.add(f"{CRD_SCHEMA_DIR}/{name}", text)
    roots, plain = targets(tree)
    tree.add(SCRIPT_PATH, validate_script(roots, plain, k8s_dir))
    tree.add(WORKFLOW_PATH, workflow(platform))
