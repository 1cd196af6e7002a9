from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bbgen.commands._common import SpecArg, status


def render(
    spec: SpecArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the repository into.")],
) -> None:
    """Render SPEC into a GitOps repository in --out.

    Only files whose bytes change are rewritten; files bbgen rendered before and no
    longer renders are removed; files bbgen does not own are never touched. On any
    error the directory is left as it was.

    Example: bbgen render profiles/betelgeuse.yaml --out gitops/
    """
    from bbgen import api

    result = api.render(spec, out)
    status(f"written {len(result.written)}, unchanged {len(result.unchanged)}, removed {len(result.removed)}")
