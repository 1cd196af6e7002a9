"""Fault injection for push-to-gitea and diff --remote (issue 19): nothing lost, nothing leaked.

Small proxies on 127.0.0.1 (``faultproxy``) stand in front of the real Gitea and
answer 500, a 200 HTML page, slowly, or drop connections; the rest are races and
permissions against the real server and real git. Every run goes through
:class:`Runs`, which at teardown greps every captured stdout/stderr and every file
under the runs' TMPDIR (temporary clones and their .git/config included) and the
server's repositories for the token: none may contain it. Bounded: each CLI run
has a timeout, each fault a count, each delay a few seconds.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from faultproxy import FaultProxy
from gitea_server import GiteaServer
from test_push import REFERENCE, ROOT, changed_spec, head, put_file, target, wait_head

pytestmark = pytest.mark.gitea


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


@pytest.fixture
def runs(gitea: GiteaServer, tmp_path: Path) -> Iterator[Runs]:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    runner = Runs(gitea, scratch)
    yield runner
    runner.check_nothing_leaked()


@pytest.fixture
def proxy(gitea: GiteaServer) -> Iterator[FaultProxy]:
    with FaultProxy(gitea.url) as running:
        yield running


def via(proxy: FaultProxy, owner: str, repo: str) -> list[str]:
    return ["--url", proxy.url, "--owner", owner, "--repo", repo]


def pushed_sha(result: subprocess.CompletedProcess[str]) -> str:
    found = re.search(r"pushed ([0-9a-f]{40}) to", result.stderr)
    assert found, result.stderr
    return found.group(1)


def _user(gitea: GiteaServer, name: str) -> str:
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


# --- proxies: 500, HTML, slow, dropped ------------------------------------------------------


def test_html_page_from_a_proxy_is_a_clear_error(gitea: GiteaServer, runs: Runs, proxy: FaultProxy) -> None:
    proxy.inject("*", r"^/api/v1/", "html", times=50)
    result = runs("push-to-gitea", str(REFERENCE), *via(proxy, gitea.admin_user, "html"), "--create")
    assert result.returncode == 2
    assert result.stderr.startswith("bbgen: error: ") and "HTML page, not Gitea's JSON API" in result.stderr
    assert "JSONDecodeError" not in result.stderr


def test_500s_are_retried_for_reads_and_a_failed_create_is_looked_up(gitea: GiteaServer, runs: Runs, proxy: FaultProxy) -> None:
    """Reads are retried; a POST that failed with 500 after Gitea acted is looked up, not repeated into a 409."""
    proxy.inject("GET", r"^/api/v1/repos/", "500", times=2)
    proxy.inject("POST", r"^/api/v1/orgs/[^/]+/repos$", "late500")
    ok = runs("push-to-gitea", str(REFERENCE), *via(proxy, "flaky-org", "flaky"), "--create")
    assert ok.returncode == 0, ok.stderr
    assert proxy.count("POST", r"^/api/v1/orgs/[^/]+/repos$") == 1
    proxy.inject("GET", r"^/api/v1/repos/", "500", times=50)
    failed = runs("push-to-gitea", str(changed_spec(runs.scratch)), *via(proxy, "flaky-org", "flaky"))
    assert failed.returncode == 2 and failed.stderr.startswith("bbgen: error: Gitea answered 500")


def test_truncated_answer_is_retried_not_a_traceback(gitea: GiteaServer, runs: Runs, proxy: FaultProxy) -> None:
    proxy.inject("GET", r"^/api/v1/user$", "truncate", times=1)
    proxy.inject("GET", r"^/api/v1/user$", "drop", times=1)
    result = runs("push-to-gitea", str(REFERENCE), *via(proxy, gitea.admin_user, "truncated"), "--create")
    assert result.returncode == 0, result.stderr
    proxy.inject("GET", r"^/api/v1/repos/", "truncate", times=50)
    failed = runs("diff", str(REFERENCE), "--remote", *via(proxy, gitea.admin_user, "truncated"))
    assert failed.returncode == 2 and "cannot reach Gitea" in failed.stderr


def test_lost_answer_to_create_does_not_create_twice(gitea: GiteaServer, runs: Runs, proxy: FaultProxy) -> None:
    """Gitea created the repository but the answer never came: bbgen looks before it tries again."""
    proxy.inject("POST", r"^/api/v1/user/repos$", "lost")
    result = runs("push-to-gitea", str(REFERENCE), *via(proxy, gitea.admin_user, "lost-create"), "--create")
    assert result.returncode == 0, result.stderr
    assert "repository created" in result.stderr
    assert proxy.count("POST", r"^/api/v1/user/repos$") == 1
    top = {entry["name"] for entry in gitea.api("GET", f"/repos/{gitea.admin_user}/lost-create/contents/?ref=main", expect=200).json()}
    assert ".bbgen" in top and not {n for n in top if n.startswith(".bbgen") and n != ".bbgen"}, top  # no lock, journal or stage committed


def test_slow_answer_to_create_times_out_and_is_found(gitea: GiteaServer, runs: Runs, proxy: FaultProxy) -> None:
    proxy.inject("POST", r"^/api/v1/orgs/[^/]+/repos$", "late", delay=4)
    result = runs("push-to-gitea", str(REFERENCE), *via(proxy, "slow-org", "slow-create"), "--create", "--timeout", "1.5")
    assert result.returncode == 0, result.stderr
    assert proxy.count("POST", r"^/api/v1/orgs/[^/]+/repos$") == 1
    assert gitea.api("GET", "/repos/slow-org/slow-create", expect=200).json()["private"] is True


def test_slow_server_is_bounded(gitea: GiteaServer, runs: Runs, proxy: FaultProxy) -> None:
    proxy.inject("GET", r"^/api/v1/", "hold", times=10, delay=3)
    started = time.monotonic()
    result = runs("push-to-gitea", str(REFERENCE), *via(proxy, gitea.admin_user, "slow"), "--timeout", "0.5")
    assert result.returncode == 2 and "cannot reach Gitea" in result.stderr and "4 attempts" in result.stderr
    assert time.monotonic() - started < 60


# --- secrets in messages --------------------------------------------------------------------


def test_token_saved_with_crlf_still_works_and_inner_whitespace_is_refused(gitea: GiteaServer, runs: Runs) -> None:
    where = target(gitea, gitea.admin_user, "crlf")
    ok = runs("push-to-gitea", str(REFERENCE), *where, "--create", "-v", token=gitea.token + "\r\n")
    assert ok.returncode == 0, ok.stderr
    broken = gitea.token[:20] + "\r" + gitea.token[20:]
    runs.secrets |= {gitea.token[:20], gitea.token[20:]}
    refused = runs("diff", str(REFERENCE), "--remote", *where, token=broken)
    assert refused.returncode == 2
    assert "whitespace or control characters" in refused.stderr


def test_credentials_in_url_are_refused_without_echo(gitea: GiteaServer, runs: Runs) -> None:
    password = "Sup3r-s3cret-pw"
    runs.secrets.add(password)
    url = gitea.url.replace("http://", f"http://someone:{password}@")
    for command in (["push-to-gitea", str(REFERENCE)], ["diff", str(REFERENCE), "--remote"]):
        result = runs(*command, "--url", url, "--owner", "o", "--repo", "r")
        assert result.returncode == 2 and "must not carry credentials" in result.stderr


def test_unexpected_exception_is_one_redacted_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A bug deep inside must not print a traceback quoting the token."""
    from bbgen import api, cli

    token = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setenv("GITEA_TOKEN", token)
    monkeypatch.delenv("BBGEN_DEBUG", raising=False)

    def broken(*_: Any, **__: Any) -> None:
        raise ValueError(f"Invalid header value b'token {token}\\r'")

    monkeypatch.setattr(api, "push", broken)
    monkeypatch.setattr(sys, "argv", ["bbgen", "push-to-gitea", str(REFERENCE)])
    with pytest.raises(SystemExit) as caught:
        cli.main()
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert err.startswith("bbgen: internal error: ValueError") and "BBGEN_DEBUG" in err
    assert token not in err and "Traceback" not in err
    monkeypatch.setenv("BBGEN_DEBUG", "1")
    with pytest.raises(SystemExit):
        cli.main()
    err = capsys.readouterr().err
    assert "Traceback" in err and token not in err


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
    owner_token = _user(gitea, "alice")
    other = _user(gitea, "mallory")
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
