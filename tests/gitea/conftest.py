"""The session-scoped `gitea` fixture: a real, throw-away Gitea server.

The binary comes from $BBGEN_GITEA_BIN or from scripts/install-gitea.sh's cache
(~/.cache/bbgen/gitea/<version>/gitea, or $BBGEN_GITEA_DIR/gitea). Without it
the tests that use the fixture are skipped, unless BBGEN_REQUIRE_GITEA=1 (CI),
which turns the missing binary into a failure.

The server logic lives in the plain module `gitea_server` (this directory is
put on sys.path below), so another test directory can reuse it by adding
tests/gitea to sys.path and importing `GiteaServer` / `find_gitea_binary`, or
by moving these two fixtures into a shared conftest.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gitea_server import (  # noqa: E402
    ENV_BIN,
    ENV_REQUIRE,
    GITEA_VERSION,
    GiteaError,
    GiteaServer,
    default_install_dir,
    find_gitea_binary,
    gitea_required,
)

if TYPE_CHECKING:
    from faultproxy import FaultProxy
    from faults_support import Runs


def _missing_reason() -> str:
    return (
        f"Gitea {GITEA_VERSION} binary not found (looked at ${ENV_BIN} and "
        f"{default_install_dir() / 'gitea'}); run scripts/install-gitea.sh "
        f"(set {ENV_REQUIRE}=1 to make this a failure)"
    )


@pytest.fixture(scope="session")
def gitea_binary() -> Path:
    """Path of the pinned Gitea binary; skips (or fails under BBGEN_REQUIRE_GITEA=1) if absent."""
    binary = find_gitea_binary()
    if binary is None:
        if gitea_required():
            pytest.fail(_missing_reason(), pytrace=False)
        pytest.skip(_missing_reason())
    return binary


@pytest.fixture(scope="session")
def gitea(gitea_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GiteaServer]:
    """A running Gitea with an admin user and an all-scopes token (`gitea.token`).

    Everything lives in a session temp dir; the server is stopped at session end.
    """
    server = GiteaServer(gitea_binary, base_dir=tmp_path_factory.mktemp("gitea"))
    try:
        server.start()
    except GiteaError as exc:
        pytest.fail(f"could not start Gitea: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def runs(gitea: GiteaServer, tmp_path: Path) -> Iterator["Runs"]:
    """The CLI runner of the fault tests; at teardown nothing it printed or left may hold the token."""
    from faults_support import Runs

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    runner = Runs(gitea, scratch)
    yield runner
    runner.check_nothing_leaked()


@pytest.fixture
def proxy(gitea: GiteaServer) -> Iterator["FaultProxy"]:
    """A fault-injecting proxy on 127.0.0.1 in front of the real Gitea."""
    from faultproxy import FaultProxy

    with FaultProxy(gitea.url) as running:
        yield running
