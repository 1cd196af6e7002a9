"""push-to-gitea and diff --remote against a real Gitea server and real git."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gitea_server import GiteaServer, free_port

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "profiles" / "betelgeuse.yaml"

pytestmark = pytest.mark.gitea


def run(gitea: GiteaServer, *args: str, token: str | None = None, tmp: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI; after a push, wait until Gitea has processed it (it indexes pushes asynchronously)."""
    result = _run(gitea, *args, token=token, tmp=tmp)
    pushed = re.search(r"pushed ([0-9a-f]{40}) to (\S+)", result.stderr)
    if pushed and "--url" in args:
        url, owner, repo = (args[args.index(flag) + 1] for flag in ("--url", "--owner", "--repo"))
        if url.rstrip("/") == gitea.url.rstrip("/"):
            wait_head(gitea, owner, repo, pushed.group(2), pushed.group(1))
    return result


def wait_head(gitea: GiteaServer, owner: str, repo: str, branch: str, sha: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = gitea.api("GET", f"/repos/{owner}/{repo}/branches/{branch}")
        if answer.status == 200 and answer.json()["commit"]["id"] == sha:
            repo_state = gitea.api("GET", f"/repos/{owner}/{repo}")
            if repo_state.status == 200 and not repo_state.json().get("empty"):
                return
        time.sleep(0.2)
    raise AssertionError(f"Gitea never showed {sha} on {owner}/{repo}@{branch}")


def _run(gitea: GiteaServer, *args: str, token: str | None = None, tmp: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT")}
    env["PYTHONPATH"] = str(ROOT / "src")
    env["GITEA_TOKEN"] = gitea.token if token is None else token
    if tmp is not None:
        env["TMPDIR"] = str(tmp)
    return subprocess.run([sys.executable, "-m", "bbgen", *args], capture_output=True, text=True, env=env, timeout=300)


def target(gitea: GiteaServer, owner: str, repo: str) -> list[str]:
    return ["--url", gitea.url.rstrip("/"), "--owner", owner, "--repo", repo]


def head(gitea: GiteaServer, owner: str, repo: str, branch: str = "main") -> dict[str, Any]:
    return gitea.api("GET", f"/repos/{owner}/{repo}/branches/{branch}", expect=200).json()["commit"]


def commits(gitea: GiteaServer, owner: str, repo: str, branch: str = "main") -> list[dict[str, Any]]:
    return gitea.api("GET", f"/repos/{owner}/{repo}/commits?sha={branch}&limit=50", expect=200).json()


def put_file(gitea: GiteaServer, owner: str, repo: str, path: str, text: str, message: str) -> None:
    existing = gitea.api("GET", f"/repos/{owner}/{repo}/contents/{path}?ref=main")
    body: dict[str, Any] = {"content": base64.b64encode(text.encode()).decode(), "message": message, "branch": "main"}
    if existing.status == 200:
        body["sha"] = existing.json()["sha"]
        gitea.api("PUT", f"/repos/{owner}/{repo}/contents/{path}", json=body, expect=200)
    else:
        gitea.api("POST", f"/repos/{owner}/{repo}/contents/{path}", json=body, expect=201)


def changed_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "changed.yaml"
    spec.write_text(REFERENCE.read_text().replace("replicas: 2", "replicas: 3"))
    return spec


def test_create_push_repush_change_and_diff(gitea: GiteaServer, tmp_path: Path) -> None:
    owner = gitea.admin_user
    where = target(gitea, owner, "flow")
    missing = run(gitea, "push-to-gitea", str(REFERENCE), *where)
    assert missing.returncode == 2 and "--create" in missing.stderr

    first = run(gitea, "push-to-gitea", str(REFERENCE), *where, "--create")
    assert first.returncode == 0, first.stderr
    repo = gitea.api("GET", f"/repos/{owner}/flow", expect=200).json()
    assert repo["private"] is True
    readme = gitea.api("GET", f"/repos/{owner}/flow/contents/README.md?ref=main", expect=200).json()
    assert base64.b64decode(readme["content"]).decode().startswith("# betelgeuse")
    after_first = head(gitea, owner, "flow")["id"]

    again = run(gitea, "push-to-gitea", str(REFERENCE), *where)
    assert again.returncode == 0 and "up to date" in again.stderr
    assert head(gitea, owner, "flow")["id"] == after_first

    same = run(gitea, "diff", str(REFERENCE), "--remote", *where)
    assert same.returncode == 0, same.stdout + same.stderr
    assert same.stdout == ""

    spec = changed_spec(tmp_path)
    drift = run(gitea, "diff", str(spec), "--remote", *where)
    assert drift.returncode == 1
    assert "~ Deployment hadith/orchestrator" in drift.stdout
    assert "+  replicas: 3" in drift.stdout

    changed = run(gitea, "push-to-gitea", str(spec), *where)
    assert changed.returncode == 0, changed.stderr
    history = commits(gitea, owner, "flow")
    assert len(history) == 2
    import hashlib

    digest = hashlib.sha256(spec.read_bytes()).hexdigest()
    assert f"sha256:{digest}" in history[0]["commit"]["message"]
    assert run(gitea, "diff", str(spec), "--remote", *where).returncode == 0


def test_foreign_commit_to_unowned_file_is_preserved(gitea: GiteaServer, tmp_path: Path) -> None:
    owner = gitea.admin_user
    where = target(gitea, owner, "foreign")
    assert run(gitea, "push-to-gitea", str(REFERENCE), *where, "--create").returncode == 0
    put_file(gitea, owner, "foreign", "NOTES.md", "ops notes\n", "someone else's notes")
    theirs = head(gitea, owner, "foreign")["id"]
    result = run(gitea, "push-to-gitea", str(changed_spec(tmp_path)), *where)
    assert result.returncode == 0, result.stderr
    notes = gitea.api("GET", f"/repos/{owner}/foreign/contents/NOTES.md?ref=main", expect=200).json()
    assert base64.b64decode(notes["content"]).decode() == "ops notes\n"
    history = [c["sha"] for c in commits(gitea, owner, "foreign")]
    assert theirs in history and history[0] != theirs


def test_hand_edit_of_owned_file_is_refused_and_nothing_lost(gitea: GiteaServer, tmp_path: Path) -> None:
    owner = gitea.admin_user
    where = target(gitea, owner, "conflict")
    assert run(gitea, "push-to-gitea", str(REFERENCE), *where, "--create").returncode == 0
    put_file(gitea, owner, "conflict", "components/redis/base/service-redis.yaml", "hand: edit\n", "hotfix on the branch")
    before = head(gitea, owner, "conflict")["id"]
    result = run(gitea, "push-to-gitea", str(changed_spec(tmp_path)), *where)
    assert result.returncode == 2
    assert "hand edits to files bbgen owns" in result.stderr and "service-redis.yaml" in result.stderr
    assert head(gitea, owner, "conflict")["id"] == before


def test_pull_request_flow_under_a_new_org(gitea: GiteaServer, tmp_path: Path) -> None:
    where = target(gitea, "platform-team", "reviewed")
    assert run(gitea, "push-to-gitea", str(REFERENCE), *where, "--create").returncode == 0
    assert gitea.api("GET", "/orgs/platform-team", expect=200).json()["username"] == "platform-team"
    spec = changed_spec(tmp_path)
    opened = run(gitea, "push-to-gitea", str(spec), *where, "--pr", "--pr-branch", "bbgen/update")
    assert opened.returncode == 0, opened.stderr
    assert "pull request opened #" in opened.stderr
    pulls = gitea.api("GET", "/repos/platform-team/reviewed/pulls?state=open", expect=200).json()
    assert [(p["head"]["ref"], p["base"]["ref"]) for p in pulls] == [("bbgen/update", "main")]
    spec.write_text(spec.read_text().replace("replicas: 3", "replicas: 4"))
    updated = run(gitea, "push-to-gitea", str(spec), *where, "--pr", "--pr-branch", "bbgen/update")
    assert updated.returncode == 0, updated.stderr
    assert "pull request updated #" in updated.stderr
    assert len(gitea.api("GET", "/repos/platform-team/reviewed/pulls?state=open", expect=200).json()) == 1


def test_dry_run_pushes_nothing(gitea: GiteaServer) -> None:
    owner = gitea.admin_user
    where = target(gitea, owner, "dry")
    result = run(gitea, "push-to-gitea", str(REFERENCE), *where, "--create", "--dry-run")
    assert result.returncode == 0 and "would" in result.stderr
    assert gitea.api("GET", f"/repos/{owner}/dry").status == 404


def test_push_result_as_json(gitea: GiteaServer) -> None:
    """`-o json`: the result on stdout for scripts (the commit to pass to --expect), stdout holds nothing else."""
    import json

    where = target(gitea, gitea.admin_user, "as-json")
    dry = run(gitea, "push-to-gitea", str(REFERENCE), *where, "--create", "--dry-run", "-o", "json")
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["status"] == "dry-run" and planned["commit"] is None and "README.md" in planned["files"]
    pushed = run(gitea, "push-to-gitea", str(REFERENCE), *where, "--create", "-o", "json")
    assert pushed.returncode == 0, pushed.stderr
    result = json.loads(pushed.stdout)
    assert result["status"] == "pushed" and result["createdRepo"] is True and result["branch"] == "main"
    wait_head(gitea, gitea.admin_user, "as-json", "main", result["commit"])
    assert head(gitea, gitea.admin_user, "as-json")["id"] == result["commit"]
    assert sorted(result["files"]) == sorted(planned["files"])
    again = json.loads(run(gitea, "push-to-gitea", str(REFERENCE), *where, "-o", "json").stdout)
    assert again == {"status": "up-to-date", "branch": "main", "commit": again["commit"], "files": [], "createdRepo": False, "pullRequest": None}


def test_bad_token(gitea: GiteaServer) -> None:
    result = run(gitea, "push-to-gitea", str(REFERENCE), *target(gitea, gitea.admin_user, "x"), token="not-a-token")
    assert result.returncode == 2
    assert "rejected the token (401)" in result.stderr and "not-a-token" not in result.stderr


def test_unreachable_server_fails_clearly_after_retries(gitea: GiteaServer) -> None:
    dead = ["--url", f"http://127.0.0.1:{free_port()}", "--owner", "o", "--repo", "r"]
    result = run(gitea, "push-to-gitea", str(REFERENCE), *dead)
    assert result.returncode == 2
    assert "cannot reach Gitea" in result.stderr and "4 attempts" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_never_leaks(gitea: GiteaServer, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    where = target(gitea, gitea.admin_user, "hygiene")
    outputs = [
        run(gitea, "push-to-gitea", str(REFERENCE), *where, "--create", "-v", tmp=scratch),
        run(gitea, "push-to-gitea", str(changed_spec(tmp_path)), *where, "-v", "--pr", "--pr-branch", "bbgen/x", tmp=scratch),
        run(gitea, "diff", str(REFERENCE), "--remote", *where, "-v", tmp=scratch),
    ]
    for result in outputs:
        assert gitea.token not in result.stdout + result.stderr
    assert outputs[0].returncode == 0 and "git push" in outputs[0].stderr
    for path in scratch.rglob("*"):
        if path.is_file():
            assert gitea.token.encode() not in path.read_bytes(), path
    for path in gitea.repo_root.rglob("config"):
        assert gitea.token.encode() not in path.read_bytes()


def test_progress_on_a_terminal_for_fetch_and_push(gitea: GiteaServer, tmp_path: Path) -> None:
    """Clone and push show a progress line on a terminal; --quiet silences it; a pipe never sees it."""
    from support import on_terminal

    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT")}
    env["GITEA_TOKEN"] = gitea.token
    where = target(gitea, gitea.admin_user, "progress")
    code, _, shown = on_terminal("push-to-gitea", str(REFERENCE), *where, "--create", env=env)
    assert code == 0, shown
    assert f"push to {gitea.admin_user}/progress@main" in shown and "pushed " in shown
    pushed = re.search(r"pushed ([0-9a-f]{40}) to main", shown)
    assert pushed
    wait_head(gitea, gitea.admin_user, "progress", "main", pushed.group(1))

    code, _, shown = on_terminal("push-to-gitea", str(changed_spec(tmp_path)), *where, "--quiet", env=env)
    assert code == 0 and shown.strip() == ""

    code, stdout, shown = on_terminal("diff", str(REFERENCE), "--remote", *where, "--stat", env=env)
    assert code == 1 and f"fetch {gitea.admin_user}/progress@main" in shown
    assert "fetch " not in stdout and gitea.token not in shown + stdout
    piped = run(gitea, "diff", str(REFERENCE), "--remote", *where, "--stat")
    assert piped.returncode == 1 and "fetch " not in piped.stderr
