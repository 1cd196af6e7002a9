"""`bbgen validate DIR`: prove a rendered tree builds, matches its schemas and hangs together.

Only the result types are imported eagerly; the machinery (subprocesses, YAML,
schema caches) loads when ``validate_tree`` runs, so importing this package
from the CLI costs nothing until validation is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bbgen.progress import Progress, nothing
from bbgen.validate.findings import Finding, Report

if TYPE_CHECKING:
    from bbgen.validate.server import ServerOptions
    from bbgen.validate.charts_source import ChartOptions

__all__ = ["Finding", "Report", "validate_tree"]


def validate_tree(
    root: Path,
    *,
    kubernetes_version: str | None = None,
    log: Callable[[str], None] | None = None,
    progress: Progress | None = None,
    server: ServerOptions | None = None,
    charts: ChartOptions | None = None,
) -> Report:
    """Validate the tree at ``root``; problems in the tree are findings, never exceptions.

    Raises ``bbgen.errors.ToolMissingError`` when kustomize or kubeconform is not
    installed, ``UsageError`` for a missing directory or a malformed
    ``kubernetes_version``, ``ToolFailedError`` when a tool itself breaks and
    ``SchemaCacheError`` when the schema cache cannot be written.
    ``kubernetes_version`` overrides the one recorded in ``.bbgen/manifest.json``;
    ``log`` receives every command line run (for ``-v``); ``progress`` hears how
    far the builds and the schema check got. ``charts`` turns on rendering the
    chart-delivered components with helm (:mod:`bbgen.validate.charts`); ``None``
    leaves them to their values files. ``server`` adds the server-side dry-run
    (``bbgen.validate.server``; raises ``ServerError`` when that cluster cannot be used).
    """
    from bbgen.validate.pipeline import validate

    return validate(Path(root), kubernetes_version=kubernetes_version, log=log, progress=progress or nothing, server=server, charts=charts)
