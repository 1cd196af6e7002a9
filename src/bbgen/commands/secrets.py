"""`bbgen secrets plan|generate`: the Secrets the platform needs, made outside git."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from bbgen.commands._common import Console, DataFormat, QuietOpt, SpecArg, emit

if TYPE_CHECKING:
    from bbgen.render.inventory import Inventory

app = typer.Typer(
    name="secrets",
    help=(
        "The Secrets the platform needs, never stored in git: `plan` lists them, "
        "`generate` writes Secret manifests with strong values to a directory outside the repository."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command()
def plan(
    spec: SpecArg,
    output: Annotated[DataFormat, typer.Option("--output", "-o", help="A table (text), or JSON / YAML for scripts.")] = DataFormat.text,
    quiet: QuietOpt = False,
) -> None:
    """List every Secret the enabled platform needs, per namespace, and how each key is made.

    HOW says whether bbgen generates the key, a person must supply it (and the
    environment variable `bbgen secrets generate` reads it from), or it is a copy
    of a Secret owned by another namespace (same name, same value).

    \b
    Examples:
      bbgen secrets plan platform.yaml
      bbgen secrets plan platform.yaml -o json
      bbgen secrets plan platform.yaml -o yaml
    """
    from bbgen import api  # lazy

    inventory = api.secrets_plan(spec)
    if output is not DataFormat.text:
        emit(inventory.as_dict(), output)
        return
    sys.stdout.write(_table(inventory))
    copies = sum(1 for s in inventory.secrets if s.copy_of)
    Console(quiet=quiet).status(f"{len(inventory.secrets)} Secrets ({copies} copies) in {len({s.namespace for s in inventory.secrets})} namespaces")


def _table(inventory: Inventory) -> str:
    rows = [("NAMESPACE", "SECRET", "KEY", "HOW", "USED BY")]
    for secret in inventory.secrets:
        for key in sorted(secret.keys):
            rows.append((secret.namespace, secret.name, key, secret.keys[key].describe(), ",".join(secret.used_by)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1] for row in rows]
    supplied = [(s, k) for s in inventory.secrets for k in sorted(s.keys) if s.keys[k].source == "supply"]
    if supplied:
        lines += ["", "To supply (environment variable, or --from-file NAMESPACE/NAME/KEY=PATH):"]
        for secret, key in supplied:
            kp = secret.keys[key]
            optional = "; optional" if kp.optional else ""
            lines.append(f"  {kp.env}  {secret.namespace}/{secret.name}/{key}: {kp.supply}{optional}")
    return "\n".join(line.rstrip() for line in lines) + "\n"


@app.command()
def generate(
    spec: SpecArg,
    out: Annotated[Path, typer.Option("--out", help="Directory for the Secret manifests, outside any git repository (e.g. ~/secrets/<platform>).")],
    rotate: Annotated[
        Optional[list[str]],
        typer.Option("--rotate", metavar="NAME[/KEY]", help="Make a new value for NAME, NAME/KEY or NAMESPACE/NAME/KEY (repeatable); copies follow."),
    ] = None,
    from_file: Annotated[
        Optional[list[str]],
        typer.Option("--from-file", metavar="KEY=PATH", help="Take a value from a file: NAME/KEY=PATH or NAMESPACE/NAME/KEY=PATH (repeatable)."),
    ] = None,
    show: Annotated[bool, typer.Option("--show", help="Print the values to stdout (they are never printed otherwise).")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Write Secret manifests with strong random values for `kubectl apply -f DIR`.

    One file per namespace, mode 0600 in a 0700 directory; refuses any directory
    inside a bbgen-rendered tree or a git work tree holding one. Re-running keeps
    every existing value (read back from DIR), so credentials never rotate by
    accident; --rotate names the ones to replace. Values a person must supply come
    from their BBGEN_SECRET_<NAMESPACE>_<NAME>_<KEY> variable (see `secrets plan`),
    --from-file, or a hidden prompt when a terminal is attached; otherwise exit 2
    listing what is missing, and nothing is written.

    \b
    Examples:
      bbgen secrets generate platform.yaml --out ~/secrets/demo && kubectl apply -f ~/secrets/demo
      bbgen secrets generate platform.yaml --out ~/secrets/demo --rotate redis-credentials
    """
    from bbgen import api  # lazy

    ask = None
    if sys.stdin.isatty():
        import getpass

        def ask(prompt: str) -> str:
            return getpass.getpass(f"value for {prompt}")

    result = api.secrets_generate(spec, out, rotate=rotate, from_files=from_file, environ=os.environ, ask=ask)
    status = Console(quiet=quiet).status
    for name in result.skipped:
        status(f"skipped {name}: optional and not supplied")
    for name in result.stale:
        status(f"note: {result.out / name} holds no Secret this platform needs any more; remove it if so")
    if result.generated:
        status("new values: " + ", ".join(result.generated))
    status(
        f"{len(result.secrets)} Secrets in {result.out} (files written {len(result.written)}, unchanged {len(result.unchanged)}); "
        f"apply with: kubectl apply -f {result.out}"
    )
    if show:
        for (ns, name, key), value in sorted(result.values.items()):
            sys.stdout.write(f"{ns}/{name}/{key}\t{value}\n")
