"""`bbgen secrets plan|generate`: the Secrets the platform needs, made outside git."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from bbgen.commands._common import Console, DataFormat, QuietOpt, SpecArg, emit

if TYPE_CHECKING:
    from bbgen.render.inventory import SecretsPlan

app = typer.Typer(
    name="secrets",
    help=(
        "The Secrets the platform needs, never stored in git: `plan` lists them, "
        "`generate` writes one environment's Secret manifests with its own strong values to a directory outside the repository."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)


EnvOpt = Annotated[
    Optional[str],
    typer.Option("--env", "-e", metavar="ENV", help="One environment of the spec (plan: all when left out; generate: prod when left out)."),
]


@app.command()
def plan(
    spec: SpecArg,
    env: EnvOpt = None,
    output: Annotated[DataFormat, typer.Option("--output", "-o", help="A table (text), or JSON / YAML for scripts.")] = DataFormat.text,
    quiet: QuietOpt = False,
) -> None:
    """List every Secret each environment needs, per namespace, and how each key is made.

    Every environment has its own Secrets and values (ENV column; --env shows one):
    a component enabled only in some environments is planned only there. HOW says whether bbgen generates the key, a person must supply it (and the
    environment variable `bbgen secrets generate` reads it from), or it is a copy
    of a Secret owned by another namespace (same name, same value). CONSUMER names
    the dependant whose own credential it is (a database role of its own, say),
    planned in its namespace and in the component's; `-` for shared Secrets.

    \b
    Examples:
      bbgen secrets plan platform.yaml
      bbgen secrets plan platform.yaml --env staging
      bbgen secrets plan platform.yaml -o json | jq '.secrets[] | select(.environment == "prod")'
      bbgen secrets plan platform.yaml -o yaml
    """
    from bbgen import api  # lazy

    secrets_plan = api.secrets_plan(spec, env)
    if output is not DataFormat.text:
        emit(secrets_plan.as_dict(), output)
        return
    sys.stdout.write(_table(secrets_plan))
    status = Console(quiet=quiet).status
    for inventory in secrets_plan.inventories:
        copies = sum(1 for s in inventory.secrets if s.copy_of)
        namespaces = len({s.namespace for s in inventory.secrets})
        status(f"{inventory.environment}: {len(inventory.secrets)} Secrets ({copies} copies) in {namespaces} namespaces")


def _table(secrets_plan: SecretsPlan) -> str:
    rows = [("ENV", "NAMESPACE", "SECRET", "KEY", "HOW", "CONSUMER", "USED BY")]
    for inventory in secrets_plan.inventories:
        for secret in inventory.secrets:
            for key in sorted(secret.keys):
                rows.append((
                    inventory.environment, secret.namespace, secret.name, key, secret.keys[key].describe(),
                    secret.consumer or "-", ",".join(secret.used_by),
                ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1] for row in rows]
    supplied: dict[tuple[str, str], list[str]] = {}  # (variable, what) -> environments: one line per variable
    for inventory in secrets_plan.inventories:
        for secret in inventory.secrets:
            for key in sorted(secret.keys):
                kp = secret.keys[key]
                if kp.source == "supply":
                    what = f"{secret.namespace}/{secret.name}/{key}: {kp.supply}" + ("; optional" if kp.optional else "")
                    supplied.setdefault((kp.env or "", what), []).append(inventory.environment)
    if supplied:
        lines += ["", "To supply (environment variable, or --from-file NAMESPACE/NAME/KEY=PATH), per `generate --env` run:"]
        for (var, what), envs in supplied.items():
            lines.append(f"  {var}  {what} [{','.join(envs)}]")
    return "\n".join(line.rstrip() for line in lines) + "\n"


@app.command()
def generate(
    spec: SpecArg,
    out: Annotated[Path, typer.Option("--out", help="Directory for this environment's Secret manifests, outside any git repository (e.g. ~/secrets/<platform>/<env>).")],
    env: EnvOpt = None,
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
    """Write one environment's Secret manifests with strong random values for `kubectl apply -f DIR`.

    --env names the environment (prod when left out: every spec has it, and it is
    the cluster the generated README bootstraps first). Each environment gets its
    own values in its own directory: every Secret carries the label
    bbgen.dev/environment, and a directory holding another environment's Secrets
    is refused (exit 2), so no credential is ever shared between clusters.
    One file per namespace, mode 0600 in a 0700 directory; refuses any directory
    inside a bbgen-rendered tree or a git work tree holding one. Re-running keeps
    every existing value (read back from DIR), so credentials never rotate by
    accident; --rotate names the ones to replace, and for each rotated Secret
    says what the running service needs (a restart, the next sync's setup Job, or
    a step in the service itself), from the component's catalog entry. Values a person must supply come
    from their BBGEN_SECRET_<NAMESPACE>_<NAME>_<KEY> variable (see `secrets plan`),
    --from-file, or a hidden prompt when a terminal is attached; otherwise exit 2
    listing what is missing, and nothing is written.

    \b
    Examples:
      bbgen secrets generate platform.yaml --out ~/secrets/demo/prod && kubectl apply -f ~/secrets/demo/prod
      bbgen secrets generate platform.yaml --env staging --out ~/secrets/demo/staging
      bbgen secrets generate platform.yaml --env staging --out ~/secrets/demo/staging --rotate redis-credentials
    """
    from bbgen import api  # lazy

    ask = None
    if sys.stdin.isatty():
        import getpass

        def ask(prompt: str) -> str:
            return getpass.getpass(f"value for {prompt}")

    result = api.secrets_generate(spec, out, env=env, rotate=rotate, from_files=from_file, environ=os.environ, ask=ask)
    status = Console(quiet=quiet).status
    for name in result.skipped:
        status(f"skipped {name}: optional and not supplied")
    for name in result.stale:
        status(f"note: {result.out / name} holds no Secret this platform needs any more; remove it if so")
    if result.generated:
        status("new values: " + ", ".join(result.generated))
    for line in result.rotation:  # rotated: what the running service needs before it uses the new value
        status("rotated " + line)
    status(
        f"{result.environment}: {len(result.secrets)} Secrets in {result.out} (files written {len(result.written)}, unchanged {len(result.unchanged)}); "
        f"apply with: kubectl apply -f {result.out}"
    )
    if show:
        for (ns, name, key), value in sorted(result.values.items()):
            sys.stdout.write(f"{ns}/{name}/{key}\t{value}\n")
