"""Command line: parse options, call one function in ``bbgen.api``, map errors to exit codes.

Exit codes: 0 success, 1 findings (validate) , 2 bad input or usage. Data goes to
stdout, status to stderr. Heavy imports (pydantic, jinja2) happen inside the
commands so `bbgen --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from bbgen import __version__

app = typer.Typer(
    name="bbgen",
    help=(
        "Turn one typed platform spec into a GitOps repository (Kustomize + Argo CD), "
        "validate it offline, and keep it true.\n\n"
        "Typical flow: bbgen render platform.yaml --out gitops/ && bbgen validate gitops/"
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _status(message: str) -> None:
    sys.stderr.write(message + "\n")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"bbgen {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """Root options."""


SpecArg = Annotated[
    Path,
    typer.Argument(help="Platform spec (YAML), e.g. profiles/betelgeuse.yaml.", show_default=False),
]


@app.command()
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
    _status(f"written {len(result.written)}, unchanged {len(result.unchanged)}, removed {len(result.removed)}")


@app.command()
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

    report = api.validate(directory, kubernetes_version=kubernetes_version, log=_status if verbose else None)
    for finding in report.findings:
        sys.stdout.write(f"{finding.severity}: {finding}\n")
    errors = sum(1 for f in report.findings if f.severity == "error")
    warnings = len(report.findings) - errors
    _status(f"built {len(report.builds)} kustomizations; {errors} errors, {warnings} warnings")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the platform spec.

    Point your editor at it: put `# yaml-language-server: $schema=platform.schema.json`
    on the first line of the spec after `bbgen schema > platform.schema.json`.
    """
    import json

    from bbgen import api

    sys.stdout.write(json.dumps(api.json_schema(), indent=2, sort_keys=True) + "\n")


def main() -> None:
    """Entry point: the one place errors become exit codes and messages."""
    from bbgen.errors import BbgenError, SpecError

    try:
        app(prog_name="bbgen")
    except BbgenError as exc:
        if isinstance(exc, SpecError):
            sys.stderr.write(str(exc) + "\n")
        else:
            sys.stderr.write(f"bbgen: error: {exc}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("bbgen: interrupted\n")
        sys.exit(130)
