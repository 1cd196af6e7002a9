from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer

from bbgen.commands._common import Console, QuietOpt


def _profile_names(incomplete: str) -> list[str]:
    """Shell completion for --profile: the shipped profiles."""
    from bbgen.starter import profiles  # lazy

    return [name for name in profiles() if name.startswith(incomplete)]


def init(
    path: Annotated[Path, typer.Argument(help="Spec file to create; a platform.schema.json is written beside it.", metavar="PATH")] = Path("platform.yaml"),
    profile: Annotated[str, typer.Option("--profile", "-p", help="Shipped profile to start from (minimal, betelgeuse, gpu, multi-env; an unknown name lists them).", autocompletion=_profile_names)] = "minimal",
    name: Annotated[Optional[str], typer.Option("--name", help="Platform name (a DNS label); also renames the profile's realm and <name>-gitops repository.")] = None,
    domain: Annotated[Optional[str], typer.Option("--domain", help="Base DNS domain; replaces the profile's domain in every value (hosts, URLs, e-mail).")] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite an existing spec (and a platform.schema.json that is not bbgen's).")] = False,
    schema_url: Annotated[Optional[str], typer.Option("--schema-url", help="Point the editor modeline at this hosted schema instead of writing platform.schema.json.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Write a starter spec from a profile, with its comments, ready for your editor.

    The first line is `# yaml-language-server: $schema=platform.schema.json`, and that
    file (what `bbgen schema` prints) is written next to the spec, so editors with the
    YAML language server complete and check every field. The result is loaded back
    with the same checks `bbgen render` runs before anything is written. An existing
    spec is never overwritten without --force; parent directories are created.

    \b
    Examples:
      bbgen init
      bbgen init infra/platform.yaml --profile betelgeuse --name acme --domain acme.io
      bbgen init --schema-url https://git.example.org/platform/bbgen/raw/branch/main/docs/platform.schema.json
    """
    from bbgen import api  # lazy

    result = api.init(path, profile=profile, name=name, domain=domain, force=force, schema_url=schema_url)
    schema = f" and {result.schema}" if result.schema else ""
    Console(quiet=quiet).status(f"wrote {result.spec} (profile {result.profile}){schema}; next: bbgen render {shlex.quote(str(result.spec))} --out gitops/")
