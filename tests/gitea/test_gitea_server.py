"""The Gitea test server itself: version, token auth, repo creation, git over HTTP."""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from pathlib import Path

import pytest
from gitea_server import GITEA_VERSION, INSTALL_SCRIPT, GiteaServer, clean_env


def test_pinned_version_matches_install_script() -> None:
    """The fixture and scripts/install-gitea.sh must pin the same release."""
    text = INSTALL_SCRIPT.read_text(encoding="utf-8")
    match = re.search(r'^GITEA_VERSION="([^"]+)"$', text, flags=re.MULTILINE)
    assert match, "GITEA_VERSION=... not found in scripts/install-gitea.sh"
    assert match.group(1) == GITEA_VERSION


def test_config_keeps_everything_in_the_temp_dir(tmp_path: Path) -> None:
    """app.ini points every path below the server's own directory (no binary needed)."""
    server = GiteaServer(tmp_path / "no-such-gitea", base_dir=tmp_path / "srv")
    server.base_dir = tmp_path / "srv"
    server.port = 3999
    server._write_config()
    ini = server.config_path.read_text(encoding="utf-8")
    top = ini.split("\n[", 1)[0]
    assert "I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true" in top
    for key in ("WORK_PATH", "APP_DATA_PATH", "PATH", "ROOT", "ROOT_PATH"):
        for value in re.findall(rf"^{key} = (.*)$", ini, flags=re.MULTILINE):
            assert value.startswith(str(tmp_path / "srv")), (key, value)
    assert "HTTP_ADDR = 127.0.0.1" in ini
    assert "ROOT_URL = http://127.0.0.1:3999/" in ini
    assert "INSTALL_LOCK = true" in ini
    assert "DB_TYPE = sqlite3" in ini


@pytest.mark.gitea
def test_version_endpoint_reports_pinned_version(gitea: GiteaServer) -> None:
    resp = gitea.api("GET", "/version", token=None, expect=200)
    assert resp.json()["version"] == GITEA_VERSION
    assert gitea.version == GITEA_VERSION
    assert gitea.url.startswith("http://127.0.0.1:")


@pytest.mark.gitea
def test_token_authenticates_as_admin(gitea: GiteaServer) -> None:
    user = gitea.api("GET", "/user", expect=200).json()
    assert user["login"] == gitea.admin_user
    assert user["is_admin"] is True


@pytest.mark.gitea
def test_bad_token_is_rejected(gitea: GiteaServer) -> None:
    resp = gitea.api("GET", "/user", token="0" * 40)
    assert resp.status == 401


@pytest.mark.gitea
def test_anonymous_user_endpoint_needs_auth(gitea: GiteaServer) -> None:
    assert gitea.api("GET", "/user", token=None).status == 401


@pytest.mark.gitea
def test_token_is_not_in_repr(gitea: GiteaServer) -> None:
    assert gitea.token not in repr(gitea)
    assert gitea.admin_password not in repr(gitea)


def _git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=env or clean_env(GIT_TERMINAL_PROMPT="0"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.gitea
def test_create_repo_and_clone_with_token_header(gitea: GiteaServer, tmp_path: Path) -> None:
    name = f"clone-{secrets.token_hex(4)}"
    created = gitea.api(
        "POST",
        "/user/repos",
        json={"name": name, "auto_init": True, "private": True, "default_branch": "main"},
        expect=201,
    ).json()
    assert created["full_name"] == f"{gitea.admin_user}/{name}"
    assert created["private"] is True

    clone_url = created["clone_url"]
    assert clone_url == gitea.repo_clone_url(gitea.admin_user, name)
    assert gitea.token not in clone_url

    # A private repo: without the header git is refused.
    anon = _git("clone", "--quiet", clone_url, str(tmp_path / "anon"))
    assert anon.returncode != 0

    dest = tmp_path / "clone"
    result = _git(*gitea.git_auth_args(), "clone", "--quiet", clone_url, str(dest))
    assert result.returncode == 0, result.stderr.replace(gitea.token, "<redacted>")
    assert (dest / "README.md").is_file()
    branch = _git("rev-parse", "--abbrev-ref", "HEAD", cwd=dest)
    assert branch.stdout.strip() == "main"

    # The token went over the wire as a header only: nothing in the clone.
    git_config = (dest / ".git" / "config").read_text(encoding="utf-8")
    assert gitea.token not in git_config
    assert "extraHeader" not in git_config
    for path in (dest / ".git").rglob("*"):
        if path.is_file() and path.stat().st_size < 1_000_000:
            assert gitea.token.encode() not in path.read_bytes(), path


@pytest.mark.gitea
def test_push_with_token_env(gitea: GiteaServer, tmp_path: Path) -> None:
    """The GIT_CONFIG_* variant (token kept out of argv) can push."""
    name = f"push-{secrets.token_hex(4)}"
    gitea.api("POST", "/user/repos", json={"name": name, "auto_init": False}, expect=201)
    work = tmp_path / "work"
    work.mkdir()
    env = gitea.git_auth_env()
    assert _git("init", "--quiet", "--initial-branch=main", cwd=work, env=env).returncode == 0
    (work / "hello.txt").write_text("hi\n", encoding="utf-8")
    assert _git("add", "hello.txt", cwd=work, env=env).returncode == 0
    commit = _git(
        "-c", "user.name=bbgen test", "-c", "user.email=test@example.invalid",
        "commit", "--quiet", "-m", "first", cwd=work, env=env,
    )
    assert commit.returncode == 0, commit.stderr
    push = _git("push", "--quiet", gitea.repo_clone_url(gitea.admin_user, name), "main", cwd=work, env=env)
    assert push.returncode == 0, push.stderr.replace(gitea.token, "<redacted>")

    # Gitea processes pushes asynchronously: the repo stays "empty" for a moment
    # (and 1.26.0's contents API panics on such a repo), so wait for it.
    deadline = time.monotonic() + 30
    while gitea.api("GET", f"/repos/{gitea.admin_user}/{name}", expect=200).json()["empty"]:
        assert time.monotonic() < deadline, "pushed repo still reported empty after 30s"
        time.sleep(0.2)
    contents = gitea.api("GET", f"/repos/{gitea.admin_user}/{name}/contents/hello.txt", expect=200).json()
    assert contents["name"] == "hello.txt"
