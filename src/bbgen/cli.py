"""Command line: the typer app and the one place errors become exit codes.

Exit codes: 0 success, 1 findings or differences, 2 bad input or usage, 3 a change
that cannot be applied in place (`diff --fail-on-unsafe`, set by that command). Each
command lives in ``bbgen.commands.<name>`` and imports its heavy dependencies
(pydantic, jinja2, yaml) only when it runs, so `bbgen --help` stays fast.
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from bbgen import __version__
from bbgen.errors import BbgenError, SpecError
from bbgen.redact import redact, register_environment
from bbgen.commands.components import components
from bbgen.commands.diff import diff
from bbgen.commands.graph import graph
from bbgen.commands.init import init
from bbgen.commands.promote import promote
from bbgen.commands.push import push_to_gitea
from bbgen.commands.render import render
from bbgen.commands.schema import schema
from bbgen.commands.secrets import app as secrets_app
from bbgen.commands.spec import spec
from bbgen.commands.tools import app as tools_app
from bbgen.commands.validate import validate
from bbgen.commands.version import version as version_command

app = typer.Typer(
    name="bbgen",
    help=(
        "Turn one typed platform spec into a GitOps repository (Kustomize + Argo CD), "
        "validate it offline, see what a change does, and push it to Gitea.\n\n"
        "Typical flow: bbgen render platform.yaml --out gitops/ ; bbgen validate gitops/ ; "
        "bbgen diff platform.yaml --remote ; bbgen push-to-gitea platform.yaml"
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


app.command()(init)
app.command()(render)
app.command()(validate)
app.command()(diff)
app.command("push-to-gitea")(push_to_gitea)
app.command()(schema)
app.add_typer(secrets_app, name="secrets")
app.command()(components)
app.command()(graph)
app.command()(spec)
app.command()(promote)
app.add_typer(tools_app, name="tools")
app.command("version")(version_command)


def main() -> None:
    """Entry point: the one place errors become exit codes and messages, each passed through the redactor.

    An unexpected exception is a bbgen bug: one redacted line and a hint, never a
    raw traceback (a traceback quotes values, and a value may be a token);
    ``BBGEN_DEBUG=1`` prints the traceback, redacted too.
    """
    import os

    try:
        app(prog_name="bbgen")
    except BbgenError as exc:
        register_environment()
        if isinstance(exc, SpecError):
            sys.stderr.write(redact(str(exc)) + "\n")
        else:
            sys.stderr.write(redact(f"bbgen: error: {exc}") + "\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("bbgen: interrupted\n")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 (the last line of defence: no traceback, no token)
        register_environment()
        if os.environ.get("BBGEN_DEBUG"):
            import traceback

            sys.stderr.write(redact("".join(traceback.format_exception(exc))))
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        sys.stderr.write(
            redact(f"bbgen: internal error: {type(exc).__name__}: {first}") + "\n"
            "bbgen: this is a bug in bbgen; re-run with BBGEN_DEBUG=1 for the (redacted) traceback and report it\n"
        )
        sys.exit(2)
