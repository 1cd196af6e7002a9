from __future__ import annotations

import sys
from typing import Annotated

import typer

from bbgen.commands._common import DataFormat, QuietOpt, SpecArg


def spec(
    spec: SpecArg,
    env: Annotated[str, typer.Option("--env", "-e", help="Environment whose merged spec is printed.")] = "prod",
    output: Annotated[DataFormat, typer.Option("--output", "-o", help="yaml: the merged spec, each value with `# file:line`; json: the spec and an origin per value.")] = DataFormat.yaml,
    quiet: QuietOpt = False,
) -> None:
    """Print one environment's merged spec: the base with that environment's layer applied.

    Environments are layers over the base spec: mappings merge deeply, lists replace,
    `null` removes a key. Each value shows the file:line it came from, and which
    layer when it is not the base. Only what the file writes is shown, not defaults.
    The whole spec is validated first (every environment), as `bbgen render` does.

    \b
    Examples:
      bbgen spec profiles/betelgeuse.yaml --env staging
      bbgen spec platform.yaml -e dev -o json
    """
    from bbgen import api  # lazy

    merged = api.spec(spec, env=env)
    if output is DataFormat.json:
        import json

        document = {"environment": merged.env, "spec": merged.loaded.data, "origin": merged.origins()}
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(merged.yaml())
