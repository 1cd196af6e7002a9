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

import sys
import time
from typing import Any

import pytest

from faultproxy import FaultProxy
from faults_support import Runs, via
from gitea_server import GiteaServer
from test_push import REFERENCE, changed_spec, target

pytestmark = pytest.mark.gitea


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
