from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from bbgen.commands._common import Console, QuietOpt, VerboseOpt


class Format(str, Enum):
    text = "text"
    json = "json"
    junit = "junit"


class Mismatch(str, Enum):
    refuse = "refuse"
    allow = "allow"


def validate(
    directory: Annotated[Path, typer.Argument(help="A directory written by `bbgen render`.", show_default=False, metavar="DIR")],
    kubernetes_version: Annotated[
        Optional[str],
        typer.Option("--kubernetes-version", help="Validate against this version instead of the one the spec chose (one bbgen bundles schemas for; others are refused)."),
    ] = None,
    output: Annotated[
        Format,
        typer.Option("--output", "-o", help="Findings as text lines, a JSON document, or JUnit XML (one test case per object)."),
    ] = Format.text,
    server: Annotated[
        bool,
        typer.Option("--server", help="Also dry-run every object against a real API server (server-side apply, strict field validation); read-only."),
    ] = False,
    context: Annotated[
        Optional[str],
        typer.Option("--context", help="With --server: the kubeconfig context to use (default: the current one).", show_default=False),
    ] = None,
    kubeconfig: Annotated[
        Optional[Path],
        typer.Option("--kubeconfig", help="With --server: the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).", show_default=False),
    ] = None,
    previous: Annotated[
        Optional[Path],
        typer.Option(
            "--previous",
            help="With --server: store this previous render on a scratch API server bbgen starts (needs scripts/install-kube.sh) and dry-run DIR against that state, so immutable-field changes are caught.",
            show_default=False,
            metavar="PREV",
        ),
    ] = None,
    charts: Annotated[
        Optional[Path],
        typer.Option(
            "--charts",
            help="Offline chart directory of `<chart>-<version>/` (or `<chart>/`) trees to render the chart-delivered "
            "components from [env: BBGEN_CHARTS]. Else the chart cache (~/.cache/bbgen/charts), else `helm pull` from "
            "each Application's repoURL; a chart none of them has is a warning.",
            metavar="DIR",
            show_default=False,
        ),
    ] = None,
    no_charts: Annotated[bool, typer.Option("--no-charts", help="Do not render the upstream charts; check only their values files.")] = False,
    chart_version_mismatch: Annotated[
        Mismatch,
        typer.Option(
            "--chart-version-mismatch",
            help="When only another version of a pinned chart is at hand: refuse it (a warning says so) or allow "
            "rendering it; every finding about it then names the version rendered and the one pinned.",
        ),
    ] = Mismatch.refuse,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Validate a rendered repository offline.

    Runs `kustomize build` on every overlay and every path an Application points to,
    the kubeconform binary in strict mode against pinned Kubernetes and CRD schemas,
    then cross-resource checks (Service refs, selectors, ConfigMaps, namespaces and
    AppProjects, host conflicts, TLS sources, network policies). Every chart-delivered
    component is rendered with helm the way Argo CD will (release, namespace, values
    files, the environment's Kubernetes version, the CRDs the tree installs) and its
    output checked the same way, plus values keys the chart does not declare. Findings go to
    stdout; the summary and, on a terminal, progress go to stderr.
    Exit 0 clean (warnings allowed), 1 errors found, 2 usage error (also: DIR holds no
    bbgen manifest, or nothing to validate, so a CI job pointed at the wrong path fails).

    \b
    Examples:
      bbgen validate gitops/
      bbgen validate gitops/ -o junit > bbgen-validate.xml        # CI test report
      bbgen validate gitops/ -o json | jq '.findings[] | select(.severity == "error")'
      bbgen validate gitops/ --kubernetes-version 1.33            # one of the bundled 1.25 … 1.37
      bbgen validate gitops/ -v                                   # show each kustomize/kubeconform/helm command
      bbgen validate gitops/ --server --context staging           # dry-run against a live cluster (read-only)
      bbgen validate gitops/ --server --previous old-gitops/      # immutable changes, on a scratch API server
      bbgen validate gitops/ --charts ~/charts                    # offline: charts unpacked as <chart>-<version>/
      bbgen validate gitops/ --charts ~/charts --chart-version-mismatch allow   # render the versions you have
      bbgen validate gitops/ --no-charts                          # values files only, no helm
    """
    from bbgen import api  # lazy
    from bbgen.errors import UsageError  # lazy

    options = None
    if server:
        from bbgen.validate.server import ServerOptions  # lazy

        options = ServerOptions(kubeconfig=kubeconfig, context=context, previous=previous)
    elif context is not None or kubeconfig is not None or previous is not None:
        raise UsageError(message="--context, --kubeconfig and --previous only apply to the server-side dry-run", hint="add --server")

    with Console(quiet=quiet, verbose=verbose) as console:
        chart_options = api.chart_options(directory=charts, enabled=not no_charts, allow_other_version=chart_version_mismatch is Mismatch.allow)
        report = api.validate(directory, kubernetes_version=kubernetes_version, log=console.log, progress=console.progress, charts=chart_options, server=options)
    if output is Format.json:
        from bbgen.validate.output import to_json  # lazy

        sys.stdout.write(to_json(report))
    elif output is Format.junit:
        from bbgen.validate.output import to_junit  # lazy

        sys.stdout.write(to_junit(report))
    else:
        for finding in report.findings:
            sys.stdout.write(f"{finding.severity}: {finding.located()}\n")
    console.status(
        f"built {len(report.builds)} kustomizations, "
        + (f"rendered {len(report.charts)} charts, " if report.charts else "")
        + f"checked {len(report.checked)} objects; "
        f"{len(report.errors)} errors, {len(report.warnings)} warnings"
    )
    if not report.ok:
        raise typer.Exit(1)
