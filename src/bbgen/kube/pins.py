"""The external tool releases bbgen validates with, pinned once, here.

Several places must agree: ``bbgen validate`` (which finds the binaries), ``bbgen
tools install`` (which builds them with ``go install``; ``scripts/install-tools.sh``
calls it), ``bbgen version``, and the generated repository's CI (which installs them)
and README (which names them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Pinned:
    """One external tool bbgen runs: the Go package ``go install`` builds and the version it must report."""

    name: str
    package: str
    module: str
    version: str
    version_args: tuple[str, ...]
    """How the binary prints its version (the module version Go records in it is the fallback)."""


PINNED: tuple[Pinned, ...] = (
    Pinned(name="kustomize", package="sigs.k8s.io/kustomize/kustomize/v5", module="sigs.k8s.io/kustomize/kustomize/v5", version="v5.8.1", version_args=("version",)),
    Pinned(name="kubeconform", package="github.com/yannh/kubeconform/cmd/kubeconform", module="github.com/yannh/kubeconform", version="v0.8.0", version_args=("-v",)),
    # A `go install`ed helm prints only "v3.22" (its patch comes from release ldflags): the version Go recorded decides.
    Pinned(name="helm", package="helm.sh/helm/v3/cmd/helm", module="helm.sh/helm/v3", version="v3.22.0", version_args=("version", "--template", "{{.Version}}")),
    # Prometheus' Go module is tagged v0.3xx.y for release 3.xx.y; a `go install`ed promtool prints an empty
    # version, so the module version Go recorded decides.
    Pinned(name="promtool", package="github.com/prometheus/prometheus/cmd/promtool", module="github.com/prometheus/prometheus", version="v0.316.0", version_args=("--version",)),
)
"""helm renders the chart-delivered components in ``bbgen validate``; the generated repository's CI does not
need it (its ``validate.sh`` checks the tree offline, and charts are pulled from their repositories). promtool
checks the alert rule files bbgen generates (tests/test_alerts.py runs the real parser on them)."""
PINS = {tool.name: tool for tool in PINNED}

KUSTOMIZE_VERSION = PINS["kustomize"].version
KUBECONFORM_VERSION = PINS["kubeconform"].version
KUSTOMIZE_PACKAGE = PINS["kustomize"].package
KUBECONFORM_PACKAGE = PINS["kubeconform"].package
HELM_VERSION = PINS["helm"].version
PROMTOOL_VERSION = PINS["promtool"].version
