from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bbgen.commands._common import Console, QuietOpt, SpecArg


def render(
    spec: SpecArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the repository into.")],
    quiet: QuietOpt = False,
) -> None:
    """Render SPEC into a GitOps repository in --out.

    Only files whose bytes change are rewritten; files bbgen rendered before and no
    longer renders are removed; files bbgen does not own are never touched. On any
    error the directory is left as it was.

    \b
    Examples:
      bbgen render platform.yaml --out gitops/
      bbgen render profiles/betelgeuse.yaml --out gitops/ --quiet
    """
    from bbgen import api  # lazy

    result = api.render(spec, out)
    Console(quiet=quiet).status(f"written {len(result.written)}, unchanged {len(result.unchanged)}, removed {len(result.removed)}")
