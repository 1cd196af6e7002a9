from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated

import typer

from bbgen.commands._common import QuietOpt


class Format(str, Enum):
    text = "text"
    json = "json"


def version(
    output: Annotated[Format, typer.Option("--output", "-o", help="Text, or JSON for scripts.")] = Format.text,
    quiet: QuietOpt = False,
) -> None:
    """Print bbgen's version and the tool versions it pins (what `bbgen tools install` builds).

    \b
    Examples:
      bbgen version
      bbgen version -o json | jq -r '.tools.kustomize'
    """
    from bbgen import __version__
    from bbgen.validate.tools import PINNED

    if output is Format.json:
        data = {"version": __version__, "tools": {tool.name: tool.version for tool in PINNED}}
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        return
    sys.stdout.write(f"bbgen {__version__}\n")
    sys.stdout.write("pinned tools: " + ", ".join(f"{tool.name} {tool.version}" for tool in PINNED) + "\n")
