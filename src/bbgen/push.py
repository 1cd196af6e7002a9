"""Commit the rendered tree to the Gitea branch, without ever losing anything on either side.

git gets the token through ``GIT_CONFIG_*`` environment variables (an
``http.extraHeader``), never through a URL or ``.git/config``; remote URLs are
passed per command and never stored. The work tree is a fresh temporary clone,
so nothing the user has locally is touched. Pushes are never forced.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bbgen import __version__
from bbgen.errors import GiteaError
from bbgen.gitea import GiteaClient, Target
from bbgen.progress import Progress, nothing
from bbgen.render.paths import MANIFEST_PATH
from bbgen.render.tree import Tree
from bbgen.render.write import write_tree

Log = Callable[[str], None]


@dataclass(kw_only=True)
class PushResult:
    status: str  # "up-to-date" | "pushed" | "dry-run"
    branch: str
    commit: str | None = None
    files: list[str] = field(default_factory=list)
    created_repo: bool = False
    pull: str | None = None  # "opened #3 <url>" / "updated #3 <url>"


class Git:
    """Runs git with credentials in the environment only."""

    def __init__(self, *, token: str, ca_bundle: str | None = None, log: Log | None = None) -> None:
        self._token = token
        self._log = log
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        pairs = [("http.extraHeader", f"Authorization: token {token}")]
        if ca_bundle:
            pairs.append(("http.sslCAInfo", ca_bundle))
        self._env["GIT_CONFIG_COUNT"] = str(len(pairs))
        for index, (key, value) in enumerate(pairs):
            self._env[f"GIT_CONFIG_KEY_{index}"] = key
            self._env[f"GIT_CONFIG_VALUE_{index}"] = value
        self._env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})

    def run(self, *args: str, cwd: Path, check: bool = True, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        if self._log:
            self._log("git " + " ".join(args))
        if shutil.which("git") is None:
            raise GiteaError(message="git not found on PATH")
        try:
            done = subprocess.run(
                ["git", *args], cwd=cwd, env={**self._env, **(extra_env or {})},
                capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise GiteaError(message=f"git {args[0]} timed out after 300 s") from None
        if check and done.returncode != 0:
            raise GiteaError(message=f"git {args[0]} failed: {self.redact(done.stderr.strip() or done.stdout.strip())}")
        return done

    def redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def fetch_branch(git: Git, target: Target, branch: str, work: Path) -> bool:
    """Initialise ``work`` and check out ``branch`` from the remote; False when the branch does not exist."""
    git.run("init", "-q", "-b", branch, str(work), cwd=work.parent)
    probe = git.run("ls-remote", "--heads", target.clone_url, f"refs/heads/{branch}", cwd=work, check=False)
    if probe.returncode != 0:
        raise GiteaError(message=f"cannot read {target.owner}/{target.repo} with git: {git.redact(probe.stderr.strip())}")
    if not probe.stdout.strip():
        return False
    git.run("fetch", "-q", "--no-tags", "--depth", "50", target.clone_url, f"refs/heads/{branch}", cwd=work)
    git.run("checkout", "-q", "-B", branch, "FETCH_HEAD", cwd=work)
    return True


def edited_owned_files(work: Path) -> list[str]:
    """Owned files whose bytes differ from what bbgen last wrote: someone edited generated output."""
    manifest = work / MANIFEST_PATH
    if not manifest.is_file():
        return []
    try:
        files = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
    except ValueError:
        return [MANIFEST_PATH]
    edited = []
    for rel, digest in sorted(files.items()):
        path = work / rel
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            edited.append(rel)
    return edited


def commit_message(platform_name: str, spec_digest: str) -> str:
    return (
        f"bbgen: render {platform_name} (spec {spec_digest[:19]})\n\n"
        f"Spec-Digest: {spec_digest}\nBbgen-Version: {__version__}\n"
    )


def push_tree(
    tree: Tree,
    *,
    platform_name: str,
    spec_digest: str,
    target: Target,
    token: str,
    create: bool = False,
    pr_branch: str | None = None,
    dry_run: bool = False,
    author: tuple[str, str] = ("bbgen", "bbgen@localhost"),
    ca_bundle: str | None = None,
    log: Log | None = None,
    progress: Progress = nothing,
) -> PushResult:
    client = GiteaClient(target.url, token, ca_bundle=ca_bundle)
    created = False
    if client.repo(target) is None:
        if not create:
            raise GiteaError(status=404, message=f"repository {target.owner}/{target.repo} does not exist on {client.host}; pass --create to create it")
        if dry_run:
            return PushResult(status="dry-run", branch=pr_branch or target.branch, files=sorted(tree.with_manifest()), created_repo=True)
        client.create_repo(target)
        created = True
    git = Git(token=token, ca_bundle=ca_bundle, log=log)
    push_branch = pr_branch or target.branch
    with tempfile.TemporaryDirectory(prefix="bbgen-push-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        step, steps = f"push to {target.owner}/{target.repo}@{push_branch} (fetch, commit, push)", 3
        progress(step, 0, steps)
        has_branch = fetch_branch(git, target, push_branch, work)
        if not has_branch and pr_branch:
            if fetch_branch(git, target, target.branch, work):
                git.run("checkout", "-q", "-B", push_branch, cwd=work)
        base = git.run("rev-parse", "--verify", "-q", "HEAD", cwd=work, check=False).stdout.strip() or None
        edited = edited_owned_files(work)
        if edited:
            shown = ", ".join(edited[:5]) + (f" and {len(edited) - 5} more" if len(edited) > 5 else "")
            raise GiteaError(
                message=f"{target.owner}/{target.repo}@{push_branch} has hand edits to files bbgen owns ({shown}); "
                "nothing was pushed: move those changes into the spec (or revert them on the branch) and run again"
            )
        progress(step, 1, steps)
        write_tree(tree, work, adopt=True)  # a clone of the branch: files bbgen does not own are kept, never overwritten
        git.run("add", "-A", cwd=work)
        status = git.run("status", "--porcelain", "--no-renames", cwd=work).stdout.splitlines()
        files = sorted(line[3:] for line in status)
        if not files:
            return PushResult(status="up-to-date", branch=push_branch, commit=base, created_repo=created)
        if dry_run:
            return PushResult(status="dry-run", branch=push_branch, files=files, created_repo=created)
        name, email = author
        ident = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
        git.run("commit", "-q", "--no-verify", "-m", commit_message(platform_name, spec_digest), cwd=work, extra_env=ident)
        commit = git.run("rev-parse", "HEAD", cwd=work).stdout.strip()
        progress(step, 2, steps)
        pushed = git.run("push", "--porcelain", target.clone_url, f"HEAD:refs/heads/{push_branch}", cwd=work, check=False)
        if pushed.returncode != 0:
            detail = git.redact(pushed.stderr.strip() or pushed.stdout.strip())
            if "rejected" in detail or "non-fast-forward" in detail or "fetch first" in detail:
                raise GiteaError(message=f"{target.owner}/{target.repo}@{push_branch} moved while bbgen was pushing; nothing was overwritten; run again")
            raise GiteaError(message=f"git push failed: {detail}")
    progress(step, steps, steps)
    result = PushResult(status="pushed", branch=push_branch, commit=commit, files=files, created_repo=created)
    if pr_branch:
        title = f"bbgen: render {platform_name}"
        body = f"Rendered by bbgen {__version__} from spec {spec_digest}.\n\nFiles changed: {len(files)}."
        action, pull = client.create_or_update_pull(target, pr_branch, title, body)
        result.pull = f"{action} #{pull.get('number')} {pull.get('html_url', '')}".strip()
    return result
