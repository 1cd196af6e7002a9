from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from bbgen.commands._common import (
    BranchOpt,
    DataFormat,
    CaBundleOpt,
    Console,
    OwnerOpt,
    QuietOpt,
    RepoOpt,
    SpecArg,
    TokenEnvOpt,
    UrlOpt,
    VerboseOpt,
    emit,
    token_from,
)


def push_to_gitea(
    spec: SpecArg,
    create: Annotated[bool, typer.Option("--create", help="Create the repository (and organisation) when missing; private.")] = False,
    pr: Annotated[
        bool,
        typer.Option("--pr", help="Push to --pr-branch and open (or update) a pull request into --branch instead of pushing to it."),
    ] = False,
    pr_branch: Annotated[str, typer.Option("--pr-branch", help="Branch the pull request comes from.")] = "bbgen/update",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be committed; push nothing.")] = False,
    expect: Annotated[
        Optional[str],
        typer.Option("--expect", metavar="COMMIT", help="Refuse (exit 1) unless --branch is still at COMMIT, the one `bbgen diff --remote` printed."),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait for each Gitea API answer.")] = 20.0,
    author: Annotated[str, typer.Option("--author", help="Commit author as 'Name <email>'.")] = "bbgen <bbgen@localhost>",
    url: UrlOpt = None,
    owner: OwnerOpt = None,
    repo: RepoOpt = None,
    branch: BranchOpt = None,
    token_env: TokenEnvOpt = "GITEA_TOKEN",
    ca_bundle: CaBundleOpt = None,
    output: Annotated[
        DataFormat,
        typer.Option(
            "--output", "-o",
            help="The result as status lines (text, on stderr) or as JSON/YAML on stdout: status, branch, commit, files, pull request.",
        ),
    ] = DataFormat.text,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Render SPEC and commit it to the Gitea repository, then push (never force).

    Files bbgen owns are replaced with the fresh render; everything else on the
    branch is kept. Nothing to commit: exit 0, "up to date". If someone edited a
    generated file on the branch, or the branch moved during the push, bbgen refuses
    and nothing is lost. The token is read from $GITEA_TOKEN (see --token-env).
    --expect COMMIT (from `bbgen diff --remote`) refuses with exit 1 if the branch
    moved since. With --pr, --pr-branch is rebuilt from the current --branch head
    each run (bbgen's own branch; --branch itself is never forced) and the pull
    request is opened, updated or re-opened; its title names the changed
    components and its body lists the changed resources.

    \b
    Examples:
      GITEA_TOKEN=... bbgen push-to-gitea platform.yaml --create
      GITEA_TOKEN=... bbgen push-to-gitea platform.yaml --pr --pr-branch bbgen/update
      GITEA_TOKEN=... bbgen push-to-gitea platform.yaml --expect 3f1c2e9    # refuse if main moved
      bbgen push-to-gitea platform.yaml --dry-run -v    # list the files, show the git commands
      GITEA_TOKEN=... bbgen push-to-gitea platform.yaml --pr -o json | jq -r .commit
    """
    from bbgen import api  # lazy

    token = token_from(token_env)
    with Console(quiet=quiet, verbose=verbose) as console:
        result = api.push(
            spec, token=token, create=create, pr_branch=pr_branch if pr else None, dry_run=dry_run, expect=expect, author=author,
            url=url, owner=owner, repo=repo, branch=branch, ca_bundle=str(ca_bundle) if ca_bundle else None,
            timeout=timeout, log=console.log, progress=console.progress,
        )
    if output is not DataFormat.text:
        emit(
            {
                "status": result.status, "branch": result.branch, "commit": result.commit, "files": result.files,
                "createdRepo": result.created_repo, "pullRequest": result.pull,
            },
            output,
        )
        return
    status = console.status
    if result.created_repo:
        status("repository created" if not dry_run else "repository would be created")
    if result.status == "up-to-date":
        status(f"up to date: {result.branch} already has this render")
    elif result.status == "dry-run":
        status(f"dry run: {len(result.files)} files would be committed to {result.branch}")
        for path in result.files:
            sys.stdout.write(path + "\n")
    else:
        status(f"pushed {result.commit} to {result.branch} ({len(result.files)} files)")
    if result.pull:
        status(f"pull request {result.pull}")
