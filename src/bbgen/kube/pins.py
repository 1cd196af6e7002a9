"""The kustomize and kubeconform releases bbgen validates with.

Pinned once, here, because three places must agree: ``bbgen validate`` (which
finds the binaries), the generated repository's CI (which installs them) and its
README (which names them). ``scripts/install-tools.sh`` installs the same versions.
"""

from __future__ import annotations

KUSTOMIZE_VERSION = "v5.8.1"
KUBECONFORM_VERSION = "v0.8.0"
KUSTOMIZE_PACKAGE = "sigs.k8s.io/kustomize/kustomize/v5"
KUBECONFORM_PACKAGE = "github.com/yannh/kubeconform/cmd/kubeconform"
