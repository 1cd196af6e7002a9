"""The shipped pre-commit hooks, read by pre-commit's own parser and run by pre-commit itself.

pre-commit installs bbgen from a git repository into its own virtualenv (from PyPI),
exactly as for a user. The hook repository is a snapshot of this working tree (what
the wheel is built from, uncommitted changes included) committed into a scratch repo:
`pre-commit try-repo` would reinstall into a fresh store on every call, and a fixed
`rev` in one PRE_COMMIT_HOME per session makes the install happen once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pre_commit.clientlib import load_manifest

from bbgen import api
from support import ROOT

MANIFEST = ROOT / ".pre-commit-hooks.yaml"
PACKAGE_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "src/", "templates/", "profiles/")

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def _git_env(home: Path) -> dict[str, str]:
    """No user or system git config (signing, hooks, templates) may change what the test sees."""
    (home / "gitconfig").touch()
    return {
        **os.environ,
        "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "bbgen tests", "GIT_AUTHOR_EMAIL": "tests@bbgen.invalid",
        "GIT_COMMITTER_NAME": "bbgen tests", "GIT_COMMITTER_EMAIL": "tests@bbgen.invalid",
    }


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _commit_all(repo: Path, env: dict[str, str]) -> str:
    for args in (["git", "add", "-A"], ["git", "commit", "-q", "-m", "snapshot"]):
        done = _run(args, repo, env)
        assert done.returncode == 0, done.stderr
    return _run(["git", "rev-parse", "HEAD"], repo, env).stdout.strip()


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("precommit")


@pytest.fixture(scope="session")
def hook_repo(scratch: Path) -> tuple[Path, str]:
    """This working tree's package files (tracked or new, never ignored) committed into a scratch repo."""
    env = _git_env(scratch)
    listed = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], ROOT, env)
    assert listed.returncode == 0, listed.stderr
    repo = scratch / "hooks"
    for rel in filter(None, listed.stdout.split("\0")):
        if rel.startswith(PACKAGE_FILES) and (ROOT / rel).is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, repo / rel)
    assert _run(["git", "init", "-q", "-b", "main"], repo, env).returncode == 0
    return repo, _commit_all(repo, env)


def _user_repo(tmp_path: Path, scratch: Path, hook_repo: tuple[Path, str], hook: str) -> tuple[Path, dict[str, str]]:
    """A user's repository: the minimal profile as platform.yaml, its render in gitops/, the hook configured."""
    repo = tmp_path / "user"
    repo.mkdir()
    env = {**_git_env(tmp_path), "PRE_COMMIT_HOME": str(scratch / "pre-commit-home"), "PRE_COMMIT_COLOR": "never"}
    shutil.copy(ROOT / "profiles" / "minimal.yaml", repo / "platform.yaml")
    api.render(repo / "platform.yaml", repo / "gitops")
    path, rev = hook_repo
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {path}\n    rev: {rev}\n    hooks:\n      - id: {hook}\n", encoding="utf-8"
    )
    assert _run(["git", "init", "-q", "-b", "main"], repo, env).returncode == 0
    _commit_all(repo, env)
    return repo, env


def _pre_commit(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`pre-commit run --all-files`; the first call in a session installs bbgen (PyPI), hence the timeout."""
    return _run([sys.executable, "-m", "pre_commit", "run", "--all-files"], repo, env, timeout=600)


def test_manifest_parses_with_pre_commits_loader() -> None:
    hooks = {hook["id"]: hook for hook in load_manifest(str(MANIFEST))}
    assert sorted(hooks) == ["bbgen-drift", "bbgen-unsafe", "bbgen-validate"]
    drift, unsafe, validate = hooks["bbgen-drift"], hooks["bbgen-unsafe"], hooks["bbgen-validate"]
    assert (drift["entry"], drift["args"]) == ("bbgen diff --stat", ["platform.yaml", "--against", "gitops/"])
    assert (unsafe["entry"], unsafe["args"]) == ("bbgen diff --stat --only-unsafe", ["platform.yaml", "--against", "gitops/", "--at", "HEAD"])
    assert (validate["entry"], validate["args"]) == ("bbgen validate", ["gitops/"])
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert hook["name"] and hook["description"]
        assert re.search(hook["files"], "platform.yaml") and re.search(hook["files"], "gitops/apps/prod/grafana.yaml")
        assert not re.search(hook["files"], "src/app/main.py")
    assert re.search(drift["files"], "gitops/README.md"), "the generated README is rendered too"


def test_drift_hook_passes_in_sync_and_names_what_drifted(
    tmp_path: Path, scratch: Path, hook_repo: tuple[Path, str]
) -> None:
    repo, env = _user_repo(tmp_path, scratch, hook_repo, "bbgen-drift")
    clean = _pre_commit(repo, env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert re.search(r"^bbgen drift .*Passed$", clean.stdout, re.M), clean.stdout

    spec = repo / "platform.yaml"
    text = spec.read_text(encoding="utf-8")
    edited = text.replace("  postgres:\n    storage: 20Gi\n", "  postgres:\n    storage: 30Gi\n")
    assert edited != text
    spec.write_text(edited, encoding="utf-8")
    drifted = _pre_commit(repo, env)
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert re.search(r"^bbgen drift .*Failed$", drifted.stdout, re.M), drifted.stdout
    assert "~ StatefulSet db/postgres  (components/postgres/base/statefulset-postgres.yaml)" in drifted.stdout
    assert "loki" not in drifted.stdout

    spec.write_text(text, encoding="utf-8")
    hand_edited = repo / "gitops" / "components" / "postgres" / "base" / "statefulset-postgres.yaml"
    hand_edited.write_text(hand_edited.read_text(encoding="utf-8").replace("20Gi", "25Gi"), encoding="utf-8")
    by_hand = _pre_commit(repo, env)
    assert by_hand.returncode == 1, by_hand.stdout + by_hand.stderr
    assert "~ StatefulSet db/postgres" in by_hand.stdout


@pytest.mark.tools
def test_validate_hook_passes_clean_and_fails_on_a_broken_render(
    tmp_path: Path, scratch: Path, hook_repo: tuple[Path, str], tools: dict[str, str]
) -> None:
    repo, env = _user_repo(tmp_path, scratch, hook_repo, "bbgen-validate")
    tool_dirs = os.pathsep.join(sorted({str(Path(p).parent) for p in tools.values()}))
    env["PATH"] = tool_dirs + os.pathsep + env.get("PATH", "")
    clean = _pre_commit(repo, env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert re.search(r"^bbgen validate .*Passed$", clean.stdout, re.M), clean.stdout

    service = next((repo / "gitops" / "components" / "grafana" / "base").glob("service-*.yaml"))
    service.write_text(service.read_text(encoding="utf-8").replace("kind: Service", "kind: Servic"), encoding="utf-8")
    broken = _pre_commit(repo, env)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert re.search(r"^bbgen validate .*Failed$", broken.stdout, re.M), broken.stdout
    assert "Servic/observability/grafana" in broken.stdout


@pytest.mark.tools
def test_unsafe_hook_passes_safe_changes_and_refuses_what_cannot_sync_in_place(
    tmp_path: Path, scratch: Path, hook_repo: tuple[Path, str], tools: dict[str, str]
) -> None:
    """The spec and its render change together (no drift); the hook compares them with the last commit."""
    repo, env = _user_repo(tmp_path, scratch, hook_repo, "bbgen-unsafe")
    env["PATH"] = os.pathsep.join(sorted({str(Path(p).parent) for p in tools.values()})) + os.pathsep + env.get("PATH", "")
    spec = repo / "platform.yaml"
    text = spec.read_text(encoding="utf-8")

    def render_with(edited: str) -> subprocess.CompletedProcess[str]:
        assert edited != text
        spec.write_text(edited, encoding="utf-8")
        api.render(spec, repo / "gitops")
        assert _run(["git", "add", "-A"], repo, env).returncode == 0
        return _pre_commit(repo, env)

    safe = render_with(text.replace("  grafana: {}\n", "  grafana:\n    replicas: 2\n"))
    assert safe.returncode == 0, safe.stdout + safe.stderr
    assert re.search(r"^bbgen unsafe .*Passed$", safe.stdout, re.M), safe.stdout

    refused = render_with(text.replace("  postgres:\n    storage: 20Gi\n", "  postgres:\n    storage: 30Gi\n"))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert re.search(r"^bbgen unsafe .*Failed$", refused.stdout, re.M), refused.stdout
    assert "- exit code: 3" in refused.stdout
    assert "StatefulSet db/postgres" in refused.stdout and "volumeClaimTemplates" in refused.stdout
