"""What the fault tests share: the CLI runner that greps for the token, and small helpers.

The fixtures `runs` and `proxy` are in conftest.py; the tests are split over
test_faults.py (proxies, credentials) and test_faults_flow.py (pull requests,
races, permissions) so pytest-xdist (`--dist loadfile`) runs them side by side.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from faultproxy import FaultProxy
from gitea_server import GiteaServer
from test_push import ROOT, wait_head


class Runs:
    """Runs the CLI with a scratch TMPDIR and remembers everything it printed, for the token grep."""

    def __init__(self, gitea: GiteaServer, scratch: Path) -> None:
        self.gitea = gitea
        self.scratch = scratch
        self.outputs: list[str] = []
        self.secrets: set[str] = {gitea.token}

    def __call__(self, *args: str, token: str | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT")}
        env.update(PYTHONPATH=str(ROOT / "src"), TMPDIR=str(self.scratch), GITEA_TOKEN=self.gitea.token if token is None else token)
        env.pop("BBGEN_DEBUG", None)
        done = subprocess.run([sys.executable, "-m", "bbgen", *args], capture_output=True, text=True, env=env, timeout=timeout)
        self.outputs += [done.stdout, done.stderr]
        assert "Traceback" not in done.stderr, done.stderr
        pushed = re.search(r"pushed ([0-9a-f]{40}) to (\S+)", done.stderr)
        if pushed and "--owner" in args:  # Gitea indexes pushes asynchronously: wait until it shows this one
            owner, repo = (args[args.index(flag) + 1] for flag in ("--owner", "--repo"))
            wait_head(self.gitea, owner, repo, pushed.group(2), pushed.group(1))
        return done

    def check_nothing_leaked(self) -> None:
        for secret in self.secrets:
            for text in self.outputs:
                assert secret not in text, "a token reached the output"
            for path in self.scratch.rglob("*"):
                if path.is_file():
                    assert secret.encode() not in path.read_bytes(), path
            for path in self.gitea.repo_root.rglob("config"):
                assert secret.encode() not in path.read_bytes(), path


def via(proxy: FaultProxy, owner: str, repo: str) -> list[str]:
    return ["--url", proxy.url, "--owner", owner, "--repo", repo]


def pushed_sha(result: subprocess.CompletedProcess[str]) -> str:
    found = re.search(r"pushed ([0-9a-f]{40}) to", result.stderr)
    assert found, result.stderr
    return found.group(1)


def new_user(gitea: GiteaServer, name: str) -> str:
    """A second, non-admin user with its own write token (its token is returned)."""
    password = "Pw-" + name + "-x9Z!q"
    gitea.api(
        "POST", "/admin/users",
        json={"username": name, "email": f"{name}@example.invalid", "password": password, "must_change_password": False},
        expect=(201, 422),
    )
    basic = base64.b64encode(f"{name}:{password}".encode()).decode()
    made = gitea.api(
        "POST", f"/users/{name}/tokens", json={"name": f"t-{time.monotonic_ns()}", "scopes": ["write:repository", "write:user", "write:organization"]},
        token=None, headers={"Authorization": f"Basic {basic}"}, expect=201,
    )
    return str(made.json()["sha1"])
