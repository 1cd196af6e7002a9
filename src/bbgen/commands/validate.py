from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from bbgen.commands._common import status


def validate(
    directory: Annotated[Path, typer.Argument(help="A directory written by `bbgen render`.", show_default=False)],
    kubernetes_version: Annotated[
        Optional[str],
        typer.Option("--kubernetes-version", help="Validate against this version instead of the one the spec chose."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the kustomize/kubeconform commands.")] = False,
) -> None:
    """Validate a rendered repository offline.

    Runs `kustomize build` on every overlay and every path an Application points to,
    the kubeconform binary in strict mode against pinned Kubernetes and CRD schemas,
    then cross-resource checks (Service refs, selectors, ConfigMaps, namespaces and
    AppProjects, host conflicts, TLS sources). Exit 0 clean, 1 findings, 2 usage error.

    Example: bbgen validate gitops/
    """
    from bbgen import api

    report = api.validate(directory, kubernetes_version=kubernetes_version, log=status if verbose else None)
    for finding in report.findings:
        sys.stdout.write(f"{finding.severity}: {finding.located()}\n")  # the line already leads with the severity
    errors = sum(1 for f in report.findings if f.severity == "error")
    warnings = len(report.findings) - errors
    status(f"built {len(report.builds)} kustomizations; {errors} errors, {warnings} warnings")
    if not report.ok:
        raise typer.Exit(1)
