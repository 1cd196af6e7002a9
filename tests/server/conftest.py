"""The session-scoped `kube_server` fixture: a real kube-apiserver (over kine) on 127.0.0.1, CRDs installed.

The binaries come from scripts/install-kube.sh's cache (~/.cache/bbgen/kube/bin, or
$BBGEN_KUBE_DIR/bin). Without them the tests that need them skip, unless
BBGEN_REQUIRE_KUBE=1 (CI), which makes the missing binaries a failure. Under xdist each
worker that runs these tests starts its own server (its own tmp dir and random ports).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bbgen.kube.serverpins import KUBE_VERSION, kube_bin_dir

ENV_REQUIRE = "BBGEN_REQUIRE_KUBE"


def _missing_reason() -> str:
    return (
        f"kube-apiserver/kubectl {KUBE_VERSION} and kine not found in {kube_bin_dir()}; "
        f"run scripts/install-kube.sh (set {ENV_REQUIRE}=1 to make this a failure)"
    )


@pytest.fixture(scope="session")
def kube_binaries() -> Path:
    """The bin directory holding the pinned kube-apiserver, kubectl and kine; skips (fails under BBGEN_REQUIRE_KUBE=1) if absent."""
    from bbgen.kube.scratch import binaries_present

    if not binaries_present():
        if os.environ.get(ENV_REQUIRE) == "1":
            pytest.fail(_missing_reason(), pytrace=False)
        pytest.skip(_missing_reason())
    return kube_bin_dir()


@pytest.fixture(scope="session")
def kube_server(kube_binaries: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A running scratch API server with the CRDs generated from bbgen's bundled schemas; `.kubeconfig` is an admin kubeconfig."""
    from bbgen.errors import BbgenError
    from bbgen.kube.apiclient import Cluster
    from bbgen.kube.scratch import ScratchServer
    from bbgen.validate.server import install_bundled_crds

    server = ScratchServer(base=tmp_path_factory.mktemp("kube"), start_timeout=120)
    try:
        server.start()
        with Cluster(kubeconfig=server.kubeconfig, kubectl=kube_binaries / "kubectl") as cluster:
            install_bundled_crds(cluster)
    except BbgenError as exc:
        server.stop()
        pytest.fail(f"could not start the scratch API server: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
