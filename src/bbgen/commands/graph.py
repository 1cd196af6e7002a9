from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bbgen.commands._common import QuietOpt


def graph(
    spec: Annotated[Path, typer.Argument(help="The platform spec (YAML).", show_default=False, metavar="SPEC")],
    env: Annotated[str, typer.Option("--env", "-e", help="Environment whose public hosts are drawn.")] = "prod",
    fence: Annotated[bool, typer.Option("--fence/--no-fence", help="Wrap the chart in a ```mermaid block, ready to paste into Markdown.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Print the platform as a Mermaid flowchart: domains, public hosts, TCP ports and data flows.

    Every arrow is a dependency bbgen wires (env/config in the dependant, a NetworkPolicy
    allowance at the dependency); disabled components are left out. Gitea and GitHub
    render Mermaid in Markdown; `mmdc` (mermaid-cli) turns it into SVG.

    \b
    Examples:
      bbgen graph profiles/betelgeuse.yaml
      bbgen graph platform.yaml --env staging --fence > docs/platform.md
    """
    from bbgen import api  # lazy

    text = api.graph(spec, env=env)
    sys.stdout.write(f"```mermaid\n{text}```\n" if fence else text)
