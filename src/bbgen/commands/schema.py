from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from bbgen.commands._common import Console, QuietOpt
from bbgen.errors import UsageError


class SchemaFormat(str, Enum):
    json = "json"
    yaml = "yaml"
    markdown = "markdown"


def schema(
    output: Annotated[
        Optional[SchemaFormat],
        typer.Option("--output", "-o", help="json (the JSON Schema), yaml (the same schema as YAML) or markdown (the field reference). [default: json]"),
    ] = None,
    format_: Annotated[Optional[SchemaFormat], typer.Option("--format", hidden=True, help="Old name of --output.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", metavar="FILE", help="Write to this file instead of stdout (its directory must exist).")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Print the JSON Schema of the platform spec, or its field reference as Markdown.

    Editors read the schema: put `# yaml-language-server: $schema=platform.schema.json`
    on the spec's first line for completion and checks as you type. The Markdown
    (field, type, default, description) is what docs/spec.md holds. With --out the
    file is replaced in one step, and left alone when already current.

    \b
    Examples:
      bbgen schema --out platform.schema.json
      bbgen schema -o markdown --out docs/spec.md
      bbgen schema -o yaml | less
    """
    from bbgen import api  # lazy

    if output is not None and format_ is not None and output is not format_:
        raise UsageError(message=f"--output {output.value} and --format {format_.value} disagree; pass only --output")
    chosen = output or format_ or SchemaFormat.json
    if out is not None:
        _check_target(out)
    if chosen is SchemaFormat.json:
        text = api.json_schema_text()
    elif chosen is SchemaFormat.yaml:
        from bbgen.kube import yamlio  # lazy

        text = yamlio.dump(api.json_schema())
    else:
        text = api.spec_reference()
    if out is None:
        sys.stdout.write(text)
        return
    Console(quiet=quiet).status(f"{_write(out, text)} {out}")


def _check_target(out: Path) -> None:
    """Fail before any work when the file cannot be written: a missing directory is a typo, not a request."""

    if out.is_dir():
        raise UsageError(message=f"--out {out}: is a directory", hint="name the file to write")
    if not out.parent.is_dir():
        raise UsageError(message=f"--out {out}: no such directory {out.parent}", hint="create it first")


def _write(out: Path, text: str) -> str:
    """Replace ``out`` atomically (a reader never sees half a schema); 'unchanged' when it already holds ``text``."""
    from bbgen.render.write import stage  # lazy

    data = text.encode("utf-8")
    if out.is_file() and out.read_bytes() == data:
        return "unchanged"
    for tmp, target in stage({out: data}):
        os.replace(tmp, target)
    return "wrote"
