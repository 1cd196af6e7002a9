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
    from bbgen import api  # lazy

    info = api.version_info()
    if output is Format.json:
        sys.stdout.write(json.dumps(info, indent=2, sort_keys=True) + "\n")
        return
    sys.stdout.write(f"bbgen {info['version']}\n")
    sys.stdout.write("pinned tools: " + ", ".join(f"{name} {version}" for name, version in info["tools"].items()) + "\n")
