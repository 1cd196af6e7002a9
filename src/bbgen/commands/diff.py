from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from bbgen.commands._common import BranchOpt, CaBundleOpt, OwnerOpt, RepoOpt, SpecArg, TokenEnvOpt, UrlOpt, status, token_from

if TYPE_CHECKING:
    from bbgen.diff import DiffResult

_COLOURS = {"+": "\x1b[32m", "-": "\x1b[31m", "@": "\x1b[36m"}
_RESET = "\x1b[0m"


def diff(
    spec: SpecArg,
    against: Annotated[Optional[Path], typer.Option("--against", help="Compare with this directory (a previous render or a checkout).")] = None,
    remote: Annotated[bool, typer.Option("--remote", help="Compare with the spec's Gitea repository branch (fetched with git).")] = False,
    stat: Annotated[bool, typer.Option("--stat", help="Print the per-resource summary only.")] = False,
    url: UrlOpt = None,
    owner: OwnerOpt = None,
    repo: RepoOpt = None,
    branch: BranchOpt = None,
    token_env: TokenEnvOpt = "GITEA_TOKEN",
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Show what rendering SPEC would change, per resource, then as a unified diff.

    Exit 0 when identical, 1 when different (drift detection in CI), 2 on errors.
    Files bbgen does not own are ignored. Argo CD Applications are listed first:
    they change what the cluster runs.

    Examples: bbgen diff platform.yaml --against gitops/
              GITEA_TOKEN=... bbgen diff platform.yaml --remote --stat
    """
    from bbgen import api
    from bbgen.errors import UsageError

    if (against is None) == (not remote):
        raise UsageError(message="pass exactly one of --against DIR and --remote")
    token = token_from(token_env) if remote else ""
    result = api.diff(
        spec, against=against, remote=remote, token=token, ca_bundle=str(ca_bundle) if ca_bundle else None,
        url=url, owner=owner, repo=repo, branch=branch,
    )
    _print(result, stat=stat, colour=sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    if not result.identical:
        raise typer.Exit(1)


def _print(result: DiffResult, *, stat: bool, colour: bool) -> None:
    out = sys.stdout
    if result.identical:
        status("no changes")
        return
    apps = [r for r in result.resources if r.kind in ("Application", "AppProject")]
    others = [r for r in result.resources if r.kind not in ("Application", "AppProject")]
    sign = {"added": "+", "changed": "~", "removed": "-"}
    if apps:
        out.write("Argo CD Applications (change what the cluster runs):\n")
        for change in apps:
            out.write(f"  {sign[change.action]} {change.label}  ({change.file})\n")
    if others:
        out.write("Resources:\n")
        for change in others:
            out.write(f"  {sign[change.action]} {change.label}  ({change.file})\n")
    out.write(
        f"Files: {len(result.added_files)} added, {len(result.changed_files)} changed, {len(result.removed_files)} removed\n"
    )
    if stat:
        return
    from bbgen.secrets.detect import redact  # a value that looks like a secret is masked, never shown

    for path in sorted(result.patches):
        for line in map(redact, result.patches[path]):
            start = _COLOURS.get(line[:1]) if colour and not line.startswith(("+++", "---")) else None
            out.write(f"{start}{line}{_RESET}\n" if start else line + "\n")
