"""Fault injection for push-to-gitea (issue 19), part two: pull requests, races and permissions.

See test_faults.py for what every run is checked for (no token anywhere) and the bounds.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time

import pytest

from faultproxy import FaultProxy
from faults_support import Runs, new_user, pushed_sha, via
from gitea_server import GiteaServer
from test_push import REFERENCE, changed_spec, head, put_file, target, wait_head

pytestmark = pytest.mark.gitea


# --- pull requests ------------------------------------------------------------------------------


def test_pr_is_opened_on_rerun_after_the_pr_call_failed(gitea: GiteaServer, runs: Runs, proxy: FaultProxy) -> None:
    owner = gitea.admin_user
    assert runs("push-to-gitea", str(REFERENCE), *target(gitea, owner, "pr-retry"), "--create").returncode == 0
    spec = changed_spec(runs.scratch)
    proxy.inject("POST", r"/pulls$", "500", times=100)
    failed = runs("push-to-gitea", str(spec), *via(proxy, owner, "pr-retry"), "--pr")
    assert failed.returncode == 2, failed.stderr
    assert gitea.api("GET", f"/repos/{owner}/pr-retry/branches/bbgen%2Fupdate").status == 200
    again = runs("push-to-gitea", str(spec), *target(gitea, owner, "pr-retry"), "--pr")
    assert again.returncode == 0, again.stderr
    assert "pull request opened #" in again.stderr
    pulls = gitea.api("GET", f"/repos/{owner}/pr-retry/pulls?state=open", expect=200).json()
    assert [p["head"]["ref"] for p in pulls] == ["bbgen/update"]
    assert "orchestrator" in pulls[0]["title"]
    assert "Deployment hadith/orchestrator" in pulls[0]["body"]

    number = pulls[0]["number"]
    gitea.api("PATCH", f"/repos/{owner}/pr-retry/pulls/{number}", json={"state": "closed"}, expect=201)
    spec.write_text(spec.read_text().replace("replicas: 3", "replicas: 4"))
    reopened = runs("push-to-gitea", str(spec), *target(gitea, owner, "pr-retry"), "--pr")
    assert reopened.returncode == 0, reopened.stderr
    assert f"pull request re-opened #{number}" in reopened.stderr
    assert [p["number"] for p in gitea.api("GET", f"/repos/{owner}/pr-retry/pulls?state=open", expect=200).json()] == [number]


def test_lost_answer_to_opening_the_pr_finds_it_instead_of_failing(gitea: GiteaServer, runs: Runs, proxy: FaultProxy) -> None:
    owner = gitea.admin_user
    assert runs("push-to-gitea", str(REFERENCE), *target(gitea, owner, "pr-lost"), "--create").returncode == 0
    proxy.inject("POST", r"/pulls$", "lost")
    result = runs("push-to-gitea", str(changed_spec(runs.scratch)), *via(proxy, owner, "pr-lost"), "--pr")
    assert result.returncode == 0, result.stderr
    assert "pull request opened #" in result.stderr
    assert proxy.count("POST", r"/pulls$") == 1
    assert len(gitea.api("GET", f"/repos/{owner}/pr-lost/pulls?state=open", expect=200).json()) == 1


def _merge(gitea: GiteaServer, owner: str, repo: str, number: int, how: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        answer = gitea.api("POST", f"/repos/{owner}/{repo}/pulls/{number}/merge", json={"Do": how})
        if answer.status == 200:
            return
        assert time.monotonic() < deadline, f"merge never accepted: {answer.status} {answer.text[:300]}"
        time.sleep(0.5)


def test_next_pr_after_a_squash_merge_builds_on_the_new_head(gitea: GiteaServer, runs: Runs) -> None:
    owner, repo = gitea.admin_user, "squashed"
    where = target(gitea, owner, repo)
    assert runs("push-to-gitea", str(REFERENCE), *where, "--create").returncode == 0
    spec = changed_spec(runs.scratch)
    first = runs("push-to-gitea", str(spec), *where, "--pr")
    assert first.returncode == 0 and "pull request opened #" in first.stderr, first.stderr
    number = int(re.search(r"opened #(\d+)", first.stderr).group(1))  # type: ignore[union-attr]
    _merge(gitea, owner, repo, number, "squash")
    main_head = head(gitea, owner, repo)["id"]

    spec.write_text(spec.read_text().replace("replicas: 3", "replicas: 4"))
    second = runs("push-to-gitea", str(spec), *where, "--pr")
    assert second.returncode == 0, second.stderr
    assert "pull request opened #" in second.stderr or "re-opened" in second.stderr
    branch = gitea.api("GET", f"/repos/{owner}/{repo}/git/commits/{pushed_sha(second)}", expect=200).json()
    assert [p["sha"] for p in branch["parents"]] == [main_head]
    pulls = gitea.api("GET", f"/repos/{owner}/{repo}/pulls?state=open", expect=200).json()
    assert len(pulls) == 1
    deadline = time.monotonic() + 30
    while pulls[0].get("mergeable") is not True and time.monotonic() < deadline:
        time.sleep(0.5)
        pulls = gitea.api("GET", f"/repos/{owner}/{repo}/pulls?state=open", expect=200).json()
    assert pulls[0]["mergeable"] is True
    files = gitea.api("GET", f"/repos/{owner}/{repo}/pulls/{pulls[0]['number']}/files", expect=200).json()
    assert 0 < len(files) <= 3, [f["filename"] for f in files]  # only this change, not the squashed one again


# --- lost update and races ----------------------------------------------------------------------


def test_expect_refuses_when_the_branch_moved_since_diff(gitea: GiteaServer, runs: Runs) -> None:
    owner, repo = gitea.admin_user, "expect"
    where = target(gitea, owner, repo)
    assert runs("push-to-gitea", str(REFERENCE), *where, "--create").returncode == 0
    spec_a = changed_spec(runs.scratch)
    looked = runs("diff", str(spec_a), "--remote", "--stat", *where)
    assert looked.returncode == 1
    seen = re.search(r"compared with \S+@main at ([0-9a-f]{40})", looked.stderr)
    assert seen, looked.stderr
    json_out = runs("diff", str(spec_a), "--remote", "-o", "json", "--stat", *where)
    assert f'"commit": "{seen.group(1)}"' in json_out.stdout

    spec_b = runs.scratch / "b.yaml"
    spec_b.write_text(REFERENCE.read_text().replace("replicas: 2", "replicas: 5"))
    theirs = runs("push-to-gitea", str(spec_b), *where)
    assert theirs.returncode == 0
    wait_head(gitea, owner, repo, "main", pushed_sha(theirs))

    refused = runs("push-to-gitea", str(spec_a), *where, "--expect", seen.group(1))
    assert refused.returncode == 1
    assert "moved since you compared" in refused.stderr and "nothing was pushed" in refused.stderr
    assert head(gitea, owner, repo)["id"] == pushed_sha(theirs)
    ok = runs("push-to-gitea", str(spec_a), *where, "--expect", pushed_sha(theirs)[:12])
    assert ok.returncode == 0, ok.stderr


def test_concurrent_push_is_a_clear_moved_message(gitea: GiteaServer, runs: Runs, proxy: FaultProxy) -> None:
    """A's receive-pack is held until B has pushed: Gitea refuses A's stale ref update."""
    owner, repo = gitea.admin_user, "race"
    where = target(gitea, owner, repo)
    assert runs("push-to-gitea", str(REFERENCE), *where, "--create").returncode == 0
    proxy.inject("POST", r"/git-receive-pack$", "hold", delay=60)
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    slow = threading.Thread(target=lambda: results.update(a=runs("push-to-gitea", str(changed_spec(runs.scratch)), *via(proxy, owner, repo))))
    slow.start()
    deadline = time.monotonic() + 60
    while proxy.count("POST", r"/git-receive-pack$") == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    live = [p for p in runs.scratch.rglob("config") if p.parent.name == ".git"]
    assert live, "A's temporary clone should exist while its push is held"
    runs.check_nothing_leaked()  # A's clone, its .git/config and objects included, while it is alive
    spec_b = runs.scratch / "b.yaml"
    spec_b.write_text(REFERENCE.read_text().replace("replicas: 2", "replicas: 5"))
    theirs = runs("push-to-gitea", str(spec_b), *where)
    proxy.release()
    slow.join(timeout=120)
    assert theirs.returncode == 0, theirs.stderr
    a = results["a"]
    assert a.returncode == 2
    assert a.stderr.startswith("bbgen: error: the branch moved while pushing"), a.stderr
    wait_head(gitea, owner, repo, "main", pushed_sha(theirs))


# --- permissions and messages --------------------------------------------------------------------


def test_private_repo_of_another_user_is_not_sent_to_create(gitea: GiteaServer, runs: Runs) -> None:
    owner_token = new_user(gitea, "alice")
    other = new_user(gitea, "mallory")
    runs.secrets |= {owner_token, other}
    gitea.api("POST", "/user/repos", json={"name": "private-one", "private": True, "auto_init": True}, token=owner_token, expect=201)
    for command in (["push-to-gitea", str(REFERENCE)], ["diff", str(REFERENCE), "--remote"]):
        result = runs(*command, *target(gitea, "alice", "private-one"), token=other)
        assert result.returncode == 2
        assert "does not exist on" in result.stderr and "or this token cannot see it" in result.stderr
        assert "pass --create" not in result.stderr and "Repository not found" not in result.stderr


def test_diff_remote_before_the_repo_exists(gitea: GiteaServer, runs: Runs) -> None:
    result = runs("diff", str(REFERENCE), "--remote", *target(gitea, gitea.admin_user, "not-yet"))
    assert result.returncode == 2
    assert f"repository {gitea.admin_user}/not-yet does not exist" in result.stderr and "--create" in result.stderr
    assert "Repository not found" not in result.stderr


def test_protected_branch_gets_a_pr_hint(gitea: GiteaServer, runs: Runs) -> None:
    owner, repo = gitea.admin_user, "protected"
    where = target(gitea, owner, repo)
    first = runs("push-to-gitea", str(REFERENCE), *where, "--create")
    assert first.returncode == 0
    wait_head(gitea, owner, repo, "main", pushed_sha(first))
    gitea.api("POST", f"/repos/{owner}/{repo}/branch_protections", json={"rule_name": "main", "enable_push": False}, expect=201)
    result = runs("push-to-gitea", str(changed_spec(runs.scratch)), *where)
    assert result.returncode == 2
    assert result.stderr.startswith(f"bbgen: error: {owner}/{repo}@main is a protected branch"), result.stderr
    assert "--pr" in result.stderr.splitlines()[0]
    assert runs("push-to-gitea", str(changed_spec(runs.scratch)), *where, "--pr").returncode == 0


def test_collision_names_the_repository_not_a_temporary_directory(gitea: GiteaServer, runs: Runs) -> None:
    owner, repo = gitea.admin_user, "collide"
    gitea.api("POST", "/user/repos", json={"name": repo, "private": True}, expect=201)
    put_file(gitea, owner, repo, "README.md", "# someone else's repository\n", "a README bbgen did not write")
    result = runs("push-to-gitea", str(REFERENCE), *target(gitea, owner, repo))
    assert result.returncode == 2
    assert f"{owner}/{repo}@main" in result.stderr and "README.md" in result.stderr
    assert "bbgen-push-" not in result.stderr and str(runs.scratch) not in result.stderr
