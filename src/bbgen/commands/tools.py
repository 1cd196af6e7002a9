"""`bbgen tools install|list`: the pinned kustomize and kubeconform validation runs."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from bbgen.commands._common import Console, QuietOpt

app = typer.Typer(
    name="tools",
    help=(
        "The external tools bbgen pins (kustomize, kubeconform and helm for `bbgen validate`, promtool for the alert rules): "
        "`install` builds them with `go install` into the tools cache, `list` shows pinned versus found."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Format(str, Enum):
    text = "text"
    json = "json"


DirOpt = Annotated[
    Optional[Path],
    typer.Option("--dir", metavar="DIR", help="Tools directory; binaries go to DIR/bin (default: $BBGEN_TOOLS_DIR, else ~/.cache/bbgen/tools)."),
]


@app.command()
def install(directory: DirOpt = None, quiet: QuietOpt = False) -> None:
    """Build the pinned kustomize, kubeconform, helm and promtool with `go install` into DIR/bin.

    Needs the Go toolchain (GOTOOLCHAIN=local unless set: no toolchain downloads).
    A binary already reporting the pinned version is left alone, so re-running is
    cheap; a new one is built in a staging directory and renamed into place. Status
    goes to stderr; stdout gets the bin directory, for PATH.

    \b
    Examples:
      bbgen tools install
      export PATH="$(bbgen tools install -q):$PATH"
      bbgen tools install --dir /opt/bbgen-tools
    """
    from bbgen import api  # lazy

    console = Console(quiet=quiet)
    bin_dir = api.tools_install(directory, say=console.status)
    sys.stdout.write(f"{bin_dir}\n")


@app.command("list")
def list_(
    directory: DirOpt = None,
    output: Annotated[Format, typer.Option("--output", "-o", help="A table, or JSON for scripts.")] = Format.text,
    quiet: QuietOpt = False,
) -> None:
    """Show each pinned tool, the binary bbgen would run for it and the version that binary reports.

    STATE is ok, outdated (another version found first) or missing. Exit 1 when
    any tool is not ok, so scripts can check before validating.

    \b
    Examples:
      bbgen tools list
      bbgen tools list -o json | jq '.[] | select(.state != "ok")'
    """
    from bbgen import api  # lazy

    rows = api.tools_status(directory)
    if output is Format.json:
        sys.stdout.write(json.dumps([r.as_dict() for r in rows], indent=2, sort_keys=True) + "\n")
    else:
        table = [("TOOL", "PINNED", "FOUND", "STATE", "PATH")] + [(r.name, r.pinned, r.version or "-", r.state, r.path or "-") for r in rows]
        widths = [max(len(line[i]) for line in table) for i in range(4)]
        for line in table:
            sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(line[:4], widths)) + "  " + line[4] + "\n")
    bad = [r.name for r in rows if r.state != "ok"]
    if bad:
        Console(quiet=quiet).status(f"not ready: {', '.join(bad)}; run `bbgen tools install`")
        raise typer.Exit(1)
