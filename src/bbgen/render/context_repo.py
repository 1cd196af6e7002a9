"""The template contract of the generated repository's CI (templates/_repo/validate.yaml.j2, validate.sh.j2).

The workflow and script check the repository the way ``bbgen validate`` does, so
what they read (build roots, plain files, schema locations, pinned tools) is typed
here and listed in docs/templates.md; render/outputs.py builds it from the finished tree.
The README's data is in render/context_readme.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class Actions:
    """The pinned Gitea/GitHub Actions the workflow uses."""

    checkout: str
    """The checkout action (`owner/name@version`)."""
    setupGo: str
    """The Go toolchain action."""
    cache: str
    """The cache action (keeps the built tools between runs)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Ci:
    """How the generated repository validates itself."""

    builds: Sequence[str]
    """Kustomize roots to build (kustomizations no other one includes), sorted."""
    files: Sequence[str]
    """Plain manifest files outside every kustomization, sorted."""
    script: str
    """Path of validate.sh in the repository."""
    kubernetesSchemas: str
    """kubeconform `-schema-location` of the bundled Kubernetes schemas."""
    crdSchemas: str
    """kubeconform `-schema-location` of the bundled CRD schemas."""
    branch: str
    """The GitOps branch the workflow runs on."""
    goVersion: str
    """Go version that builds the tools."""
    actions: Actions
    """The pinned actions."""
    cacheKey: str
    """Cache key of the built tools (changes with any pin)."""
    kustomizeVersion: str
    """Pinned kustomize version."""
    kubeconformVersion: str
    """Pinned kubeconform version."""
    kustomizePackage: str
    """Go package `go install` builds kustomize from."""
    kubeconformPackage: str
    """Go package `go install` builds kubeconform from."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CiVariables:
    """The variables of templates/_repo/validate.yaml.j2 and validate.sh.j2."""

    ci: Ci
    """What the workflow and the script check, and with which tools."""
