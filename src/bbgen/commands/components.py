from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from bbgen.errors import UsageError


def components(
    spec: Annotated[Optional[Path], typer.Argument(help="Optional spec: adds whether each component is enabled in it.", show_default=False, metavar="SPEC")] = None,
    output: Annotated[str, typer.Option("--output", "-o", metavar="text|json", help="A table, or JSON for scripts.")] = "text",
) -> None:
    """List the catalog: name, domain/namespace, delivery, pinned version, host, dependencies, settings.

    Dependencies in parentheses are optional (wired when enabled); notes say which role a
    component provides (choose with `objectStore:` / `llm:`), whether it takes `oidc: {}`
    and whether it needs a GPU pool.

    \b
    Examples:
      bbgen components
      bbgen components platform.yaml --output json | jq '.[] | select(.enabled) | .version'
    """
    from bbgen import api  # lazy

    if output not in ("text", "json"):
        raise UsageError(message=f"--output {output!r}: choose text or json")
    rows = api.components(spec)
    if output == "json":
        sys.stdout.write(json.dumps(rows, indent=2, sort_keys=True) + "\n")
        return
    headers = ["name", "namespace", "delivery", "version", "host", "depends on", "notes", "settings"]
    if spec is not None:
        headers.append("enabled")
    table = [headers]
    for row in rows:
        line = [
            row["name"], f"{row['domain']}/{row['namespace']}", row["delivery"], row["version"],
            row["host"] or "-", ", ".join(row["dependsOn"] + [f"({u})" for u in row["uses"]]) or "-", _notes(row),
            ", ".join(sorted(row["settings"])) or "-",
        ]
        if spec is not None:
            line.append("yes" if row["enabled"] else "no")
        table.append(line)
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    for r in table:
        sys.stdout.write("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n")


def _notes(row: dict[str, object]) -> str:
    notes = []
    if row["provides"]:
        notes.append("provides " + ", ".join(str(r) for r in row["provides"]))  # type: ignore[attr-defined]
    if row["oidc"]:
        notes.append("oidc")
    if row["gpu"]:
        notes.append("gpu")
    return ", ".join(notes) or "-"
