"""The Kubernetes API server bbgen dry-runs against in CI and for ``validate --previous``, pinned once, here.

``scripts/install-kube.sh`` reads these three assignments (with sed: keep each one a
plain ``NAME = "value"`` line) and builds the binaries into the cache directory
below; ``bbgen validate --previous`` and the test fixture find them there. Bumping a
pin makes the script rebuild, because it checks what each cached binary reports.
"""

from __future__ import annotations

import os
from pathlib import Path

KUBE_VERSION = "v1.37.2"
"""kube-apiserver and kubectl, built from the k8s.io/kubernetes module at this tag."""
KUBE_STAGING_VERSION = "v0.37.2"
"""The k8s.io/<staging> modules (api, apimachinery, client-go, ...) released with KUBE_VERSION."""
KINE_VERSION = "v0.17.5"
"""kine (github.com/k3s-io/kine): the etcd API over SQLite, so the API server needs no etcd."""

ENV_DIR = "BBGEN_KUBE_DIR"
"""Overrides the cache directory (holding ``bin/``)."""

BINARIES = ("kube-apiserver", "kubectl", "kine")


def kube_dir() -> Path:
    """Where scripts/install-kube.sh caches the binaries: $BBGEN_KUBE_DIR or ~/.cache/bbgen/kube."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    return Path.home() / ".cache" / "bbgen" / "kube"


def kube_bin_dir() -> Path:
    """The ``bin/`` directory holding kube-apiserver, kubectl and kine."""
    return kube_dir() / "bin"
