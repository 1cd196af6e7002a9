from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from bbgen.commands._common import (
    BranchOpt,
    CaBundleOpt,
    Console,
    OwnerOpt,
    QuietOpt,
    RepoOpt,
    SpecArg,
    TokenEnvOpt,
    UrlOpt,
    VerboseOpt,
    token_from,
)
from bbgen.errors import EXIT_UNSAFE, UsageError

if TYPE_CHECKING:
    from bbgen.diff import DiffResult

_COLOURS = {"+": "\x1b[32m", "-": "\x1b[31m", "@": "\x1b[36m"}
_RESET = "\x1b[0m"


class Format(str, Enum):
    text = "text"
    json = "json"
    yaml = "yaml"


def diff(
    spec: SpecArg,
    against: Annotated[Optional[Path], typer.Option("--against", help="Compare with this directory (a previous render or a checkout).")] = None,
    remote: Annotated[bool, typer.Option("--remote", help="Compare with the spec's Gitea repository branch (fetched with git).")] = False,
    stat: Annotated[bool, typer.Option("--stat", help="Print the per-resource summary only (JSON: no patches).")] = False,
    output: Annotated[
        Format, typer.Option("--output", "-o", help="Text (summary, then a unified diff) or one JSON document.")
    ] = Format.text,
    fail_on_unsafe: Annotated[
        bool, typer.Option("--fail-on-unsafe", help="Exit 3 when a change cannot be synced in place (needs kustomize).")
    ] = False,
    at: Annotated[
        Optional[str], typer.Option("--at", metavar="REV", help="With --against: compare with DIR as git revision REV holds it (HEAD: what the next commit changes), not as it is on disk.")
    ] = None,
    only_unsafe: Annotated[
        bool, typer.Option("--only-unsafe", help="Exit 0 unless a change cannot be synced in place (then 3): other differences pass. For the bbgen-unsafe pre-commit hook.")
    ] = False,
    url: UrlOpt = None,
    owner: OwnerOpt = None,
    repo: RepoOpt = None,
    branch: BranchOpt = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait for each Gitea API answer.")] = 20.0,
    token_env: TokenEnvOpt = "GITEA_TOKEN",
    ca_bundle: CaBundleOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Show what rendering SPEC would change, per resource, then as a unified diff.

    Exit 0 when identical, 1 when different (drift detection in CI), 2 on errors,
    3 with --fail-on-unsafe when a change cannot be applied in place
    (--only-unsafe: 3 for that, else 0, however much differs).
    Each environment's changed overlays are built with kustomize on both sides, and
    changes the API server refuses on a live object (a StatefulSet's
    volumeClaimTemplates, a selector, a Job's template, a cluster IP, a smaller PVC,
    an immutable ConfigMap...) are listed with why and what to do instead ("unsafe"
    in JSON/YAML); without kustomize that check is skipped with a note.
    With --remote the commit compared with is printed (stderr; "remote" in JSON):
    pass it to `push-to-gitea --expect` so a render pushed meanwhile is not replaced.
    Files bbgen does not own are ignored. Argo CD Applications are listed first:
    they change what the cluster runs.

    \b
    Examples:
      bbgen diff platform.yaml --against gitops/
      GITEA_TOKEN=... bbgen diff platform.yaml --remote --stat
      bbgen diff platform.yaml --against gitops/ --output json | jq '.resources[] | select(.kind == "Application")'
      bbgen diff platform.yaml --against gitops/ --at HEAD --only-unsafe --stat
    """
    from bbgen import api  # lazy

    if (against is None) == (not remote):
        raise UsageError(message="pass exactly one of --against DIR and --remote")
    if at is not None and against is None:
        raise UsageError(message="--at REV reads the --against directory at a git revision: pass --against DIR too")
    fail_on_unsafe = fail_on_unsafe or only_unsafe
    token = token_from(token_env) if remote else ""
    with Console(quiet=quiet, verbose=verbose) as console:
        result = api.diff(
            spec, against=against, remote=remote, token=token, ca_bundle=str(ca_bundle) if ca_bundle else None,
            url=url, owner=owner, repo=repo, branch=branch, timeout=timeout, log=console.log, progress=console.progress,
            unsafe=True if fail_on_unsafe else None, at=at,
        )
        if result.remote is not None:
            _compared(console, result.remote)
        if result.unsafe is None:
            console.status("note: kustomize not found: changes Argo CD cannot sync in place were not checked (bbgen tools install)")
        for line in result.unsafe_unbuilt:
            console.status(f"note: not checked for changes that cannot be applied in place, kustomize could not build {line}")
        if result.unsafe:
            console.status(f"{len(result.unsafe)} change(s) cannot be applied in place; see each remedy")
    if output is Format.json:
        sys.stdout.write(json.dumps(_as_json(result, stat=stat), indent=2, sort_keys=True) + "\n")
    elif output is Format.yaml:
        from bbgen.kube import yamlio  # lazy

        sys.stdout.write(yamlio.dump(_as_json(result, stat=stat)))
    elif result.identical:
        console.status("no changes")
    else:
        _print(result, stat=stat, colour=sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    if fail_on_unsafe and result.unsafe:
        raise typer.Exit(EXIT_UNSAFE)
    if not result.identical and not only_unsafe:
        raise typer.Exit(1)


def _compared(console: Console, remote: dict[str, str | None]) -> None:
    """Name the remote commit compared with, so the push can insist on it (--expect)."""
    where = f"{remote['repository']}@{remote['branch']}"
    if remote["commit"]:
        console.status(f"compared with {where} at {remote['commit']} (push with --expect {remote['commit'][:12]} to refuse if it moves)")
    else:
        console.status(f"compared with {where}: the branch does not exist yet")


def _as_json(result: DiffResult, *, stat: bool) -> dict[str, object]:
    """The summary plus, unless --stat, each file's unified diff with secret-looking values masked."""
    data = result.as_dict()
    data["unsafe"] = _redacted(result.unsafe)
    if not stat:
        from bbgen.secrets.detect import redact  # lazy

        data["patches"] = {path: "\n".join(map(redact, lines)) + "\n" for path, lines in sorted(result.patches.items())}
    return data


def _redacted(unsafe: list[dict[str, str]] | None) -> list[dict[str, str]] | None:
    """Old and new values can come from anywhere in an object (a Job's env): a secret-looking one is masked."""
    if unsafe is None:
        return None
    from bbgen.secrets.detect import redact  # lazy

    return [item | {"old": redact(item["old"]), "new": redact(item["new"])} for item in unsafe]


def _print(result: DiffResult, *, stat: bool, colour: bool) -> None:
    out = sys.stdout
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
    if result.unsafe:
        out.write(f"Cannot be applied in place ({len(result.unsafe)}):\n")
        for item in _redacted(result.unsafe) or []:
            where = f"{item['namespace']}/{item['name']}" if item["namespace"] else item["name"]
            out.write(f"  ! {item['environment']}: {item['kind']} {where}  {item['field']}: {item['old']} -> {item['new']}  ({item['file']})\n")
            out.write(f"      why: {item['why']}\n      do:  {item['remedy']}\n")
    out.write(
        f"Files: {len(result.added_files)} added, {len(result.changed_files)} changed, {len(result.removed_files)} removed\n"
    )
    if stat:
        return
    from bbgen.secrets.detect import redact  # a value that looks like a secret is masked, never shown  # lazy

    for path in sorted(result.patches):
        for line in map(redact, result.patches[path]):
            start = _COLOURS.get(line[:1]) if colour and not line.startswith(("+++", "---")) else None
            out.write(f"{start}{line}{_RESET}\n" if start else line + "\n")
