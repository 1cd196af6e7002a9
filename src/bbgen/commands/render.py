from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from bbgen.commands._common import Console, QuietOpt, SpecArg, status


class Format(str, Enum):
    text = "text"
    json = "json"


def render(
    spec: SpecArg,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the repository into (new, empty, or rendered by bbgen before).")],
    adopt: Annotated[bool, typer.Option("--adopt", help="Render into a non-empty directory that holds no bbgen manifest; its other files are kept.")] = False,
    output: Annotated[
        Format, typer.Option("--output", "-o", help="The result as a status line (text, on stderr) or as JSON on stdout: the files written, unchanged and removed.")
    ] = Format.text,
    quiet: QuietOpt = False,
) -> None:
    """Render SPEC into a GitOps repository in --out.

    Only files whose bytes change are rewritten; files bbgen rendered before and no
    longer renders are removed; files bbgen does not own are never touched. On any
    error the directory is left as it was. `/`, your home directory and a non-empty
    directory bbgen did not render are refused (the last one unless --adopt). A
    second render into the same directory waits a few seconds for the first, then
    refuses; one that was killed is completed or cleaned up by the next.

    \b
    Examples:
      bbgen render platform.yaml --out gitops/
      bbgen render profiles/betelgeuse.yaml --out gitops/ --quiet
      bbgen render platform.yaml --out existing-repo/ --adopt   # keep its other files
      bbgen render platform.yaml --out gitops/ -o json | jq '.written'
    """
    from bbgen import api  # lazy

    result = api.render(spec, out, adopt=adopt)
    for warning in result.warnings:  # on stderr even with --quiet: an open door is never routine
        status(f"warning: {warning}")
    if output is Format.json:
        data = {"out": str(out), "written": result.written, "unchanged": result.unchanged, "removed": result.removed}
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        return
    Console(quiet=quiet).status(f"written {len(result.written)}, unchanged {len(result.unchanged)}, removed {len(result.removed)}")
