"""Commit the rendered tree to the Gitea branch, without ever losing anything on either side.

git gets the token through ``GIT_CONFIG_*`` environment variables (an
``http.extraHeader``), never through a URL or ``.git/config``; remote URLs are
passed per command and never stored. The work tree is a fresh temporary clone,
so nothing the user has locally is touched. The target branch is never forced;
``--expect`` refuses when it moved since the caller looked.

With ``--pr`` the PR branch is bbgen's own: it is rebuilt from the current head
of the target branch each time (so a squash or rebase merge never leaves it
building on history the target no longer has) and updated with a lease, and the
pull request is opened, updated or re-opened even when the branch was already
current (a previous run pushed it and then lost the API call).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bbgen import __version__
from bbgen.errors import GiteaError, OwnershipError, StaleBranchError, UsageError
from bbgen.gitea import GiteaClient, Target
from bbgen.progress import Progress, nothing
from bbgen.redact import redact, register
from bbgen.render.paths import MANIFEST_PATH
from bbgen.render.tree import Tree
from bbgen.render.write import write_tree

Log = Callable[[str], None]
Describe = Callable[[Path], tuple[str, str]]  # the clone before the render is written -> pull request (title, body)


@dataclass(kw_only=True)
class PushResult:
    status: str  # "up-to-date" | "pushed" | "dry-run"
    branch: str
    commit: str | None = None
    files: list[str] = field(default_factory=list)
    created_repo: bool = False
    pull: str | None = None  # "opened #3 <url>" / "updated #3 <url>" / "re-opened #3 <url>"


class Git:
    """Runs git with credentials in the environment only; every message it makes is redacted."""

    def __init__(self, *, token: str, ca_bundle: str | None = None, log: Log | None = None) -> None:
        register(token)
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
            self._log(redact("git " + " ".join(args)))
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
            raise GiteaError(message=f"git {args[0]} failed (exit {done.returncode}){said(done)}")
        return done

    @staticmethod
    def redact(text: str) -> str:
        return redact(text)


def said(done: subprocess.CompletedProcess[str], *, limit: int = 12) -> str:
    """git's own words, after bbgen's reason: indented, redacted, bounded."""
    lines = [line for line in (done.stderr + "\n" + done.stdout).splitlines() if line.strip()]
    if not lines:
        return ""
    shown = lines[:limit] + ([f"... {len(lines) - limit} more lines"] if len(lines) > limit else [])
    return "\n" + "\n".join("  git: " + redact(line) for line in shown)


def remote_head(git: Git, target: Target, branch: str, work: Path) -> str | None:
    """The commit ``branch`` points at on the remote, or None when it does not exist."""
    probe = git.run("ls-remote", "--heads", target.clone_url, f"refs/heads/{branch}", cwd=work, check=False)
    if probe.returncode != 0:
        text = (probe.stderr + probe.stdout).lower()
        name = f"{target.owner}/{target.repo}"
        if "not found" in text or "404" in text:
            reason = f"repository {name} not found by git (it does not exist, or the token cannot see it)"
        elif "authentication" in text or "401" in text or "403" in text:
            reason = f"git may not read {name}: the token was rejected or lacks read:repository"
        else:
            reason = f"cannot read {name} with git"
        raise GiteaError(message=reason + said(probe))
    for line in probe.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.strip() == f"refs/heads/{branch}":
            return sha.strip()
    return None


def fetch_branch(git: Git, target: Target, branch: str, work: Path) -> str | None:
    """Initialise ``work`` and check out ``branch`` from the remote; its commit, or None when it does not exist."""
    if not (work / ".git").exists():
        git.run("init", "-q", "-b", branch, str(work), cwd=work.parent)
    sha = remote_head(git, target, branch, work)
    if sha is None:
        return None
    git.run("fetch", "-q", "--no-tags", "--depth", "50", target.clone_url, f"refs/heads/{branch}", cwd=work)
    git.run("checkout", "-q", "-B", branch, "FETCH_HEAD", cwd=work)
    return git.run("rev-parse", "HEAD", cwd=work).stdout.strip()


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


def check_expect(expect: str | None, actual: str | None, where: str) -> None:
    """``--expect COMMIT``: refuse (exit 1) unless the branch is still where the caller saw it."""
    if expect is None:
        return
    wanted = expect.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{7,64}", wanted):
        raise UsageError(message=f"--expect {expect!r} is not a commit id", hint="pass the commit `bbgen diff --remote` printed")
    if actual is None or not actual.lower().startswith(wanted):
        raise StaleBranchError(where=where, expected=wanted, actual=actual)


def _push_failure(target: Target, branch: str, done: subprocess.CompletedProcess[str]) -> GiteaError:
    """bbgen's reason first, git's words after."""
    text = (done.stderr + "\n" + done.stdout).lower()
    where = f"{target.owner}/{target.repo}@{branch}"
    if "protected branch" in text or "not allowed to push" in text:
        reason = f"{where} is a protected branch: bbgen may not push to it; pass --pr to propose the render as a pull request instead"
    elif any(s in text for s in ("cannot lock ref", "non-fast-forward", "fetch first", "stale info", "[rejected]", "remote rejected")):
        reason = f"the branch moved while pushing: {where} changed under bbgen (another push landed first); nothing was overwritten: re-run"
    elif "403" in text or "permission" in text or "denied" in text:
        reason = f"the token may not push to {where} (it needs write access to the repository)"
    else:
        reason = f"git push to {where} failed"
    return GiteaError(message=reason + said(done))


def _stage(tree: Tree, work: Path, where: str) -> None:
    """Write the render into the clone; a refusal names the repository and branch, not a temporary directory."""
    try:
        write_tree(tree, work, adopt=True)  # a clone of the branch: files bbgen does not own are kept, never overwritten
    except OwnershipError as exc:
        detail = exc.message
        prefix = f"{exc.path}: "
        detail = detail[len(prefix):] if detail.startswith(prefix) else detail
        detail = detail.replace(str(work) + os.sep, "").replace(str(work), where)
        raise GiteaError(message=f"{where}: {detail}; nothing was pushed") from None


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
    expect: str | None = None,
    author: tuple[str, str] = ("bbgen", "bbgen@localhost"),
    ca_bundle: str | None = None,
    timeout: float = 20.0,
    describe: Describe | None = None,
    log: Log | None = None,
    progress: Progress = nothing,
) -> PushResult:
    """``describe`` makes the pull request's title and body from the clone as it was before the render."""
    if pr_branch is not None and pr_branch == target.branch:
        raise UsageError(message=f"--pr-branch {pr_branch!r} is the target branch", hint="name a branch of bbgen's own, e.g. bbgen/update")
    client = GiteaClient(target.url, token, ca_bundle=ca_bundle, timeout=timeout)
    created = False
    if client.repo(target) is None:
        if not create:
            raise client.missing_repo(target, action="push")
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
        base = fetch_branch(git, target, target.branch, work)
        check_expect(expect, base, target.where)
        if pr_branch and base is None:
            raise GiteaError(message=f"{target.where} does not exist yet, so there is nothing to open a pull request into: push once without --pr")
        edited = edited_owned_files(work)
        if edited:
            shown = ", ".join(edited[:5]) + (f" and {len(edited) - 5} more" if len(edited) > 5 else "")
            raise GiteaError(
                message=f"{target.where} has hand edits to files bbgen owns ({shown}); "
                "nothing was pushed: move those changes into the spec (or revert them on the branch) and run again"
            )
        title, body = describe(work) if describe and pr_branch else (f"bbgen: render {platform_name}", f"Rendered by bbgen {__version__} from spec `{spec_digest}`.\n")
        progress(step, 1, steps)
        _stage(tree, work, target.where)
        git.run("add", "-A", cwd=work)
        status = git.run("status", "--porcelain", "--no-renames", cwd=work).stdout.splitlines()
        files = sorted(line[3:] for line in status)
        if not files:
            return PushResult(status="up-to-date", branch=target.branch, commit=base, created_repo=created)
        if dry_run:
            return PushResult(status="dry-run", branch=push_branch, files=files, created_repo=created)
        name, email = author
        ident = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
        git.run("commit", "-q", "--no-verify", "-m", commit_message(platform_name, spec_digest), cwd=work, extra_env=ident)
        commit = git.run("rev-parse", "HEAD", cwd=work).stdout.strip()
        progress(step, 2, steps)
        state = "pushed"
        if pr_branch:
            theirs = remote_head(git, target, pr_branch, work)
            if theirs is not None and _holds_render(git, target, pr_branch, work, base):
                state, commit = "up-to-date", theirs
            else:
                lease = theirs or ""  # update bbgen's own branch only from what was just seen there
                pushed = git.run(
                    "push", "--porcelain", f"--force-with-lease=refs/heads/{pr_branch}:{lease}",
                    target.clone_url, f"HEAD:refs/heads/{pr_branch}", cwd=work, check=False,
                )
                if pushed.returncode != 0:
                    raise _push_failure(target, pr_branch, pushed)
        else:
            pushed = git.run("push", "--porcelain", target.clone_url, f"HEAD:refs/heads/{push_branch}", cwd=work, check=False)
            if pushed.returncode != 0:
                raise _push_failure(target, push_branch, pushed)
    progress(step, steps, steps)
    result = PushResult(status=state, branch=push_branch, commit=commit, files=files, created_repo=created)
    if pr_branch:
        action, pull = client.create_or_update_pull(target, pr_branch, title, body)
        result.pull = f"{action} #{pull.get('number')} {pull.get('html_url', '')}".strip()
    return result


def _holds_render(git: Git, target: Target, pr_branch: str, work: Path, base: str | None) -> bool:
    """Whether the PR branch already is exactly this render, one commit on the current target head."""
    fetched = git.run("fetch", "-q", "--no-tags", "--depth", "2", target.clone_url, f"refs/heads/{pr_branch}", cwd=work, check=False)
    if fetched.returncode != 0:
        return False
    theirs = git.run("rev-parse", "FETCH_HEAD^{tree}", "FETCH_HEAD^", cwd=work, check=False).stdout.split()
    ours = git.run("rev-parse", "HEAD^{tree}", cwd=work).stdout.strip()
    return len(theirs) == 2 and theirs[0] == ours and theirs[1] == base
