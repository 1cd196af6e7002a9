from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from bbgen.commands._common import DataFormat, QuietOpt, emit


def components(
    spec: Annotated[Optional[Path], typer.Argument(help="Optional spec: adds whether each component is enabled in it.", show_default=False, metavar="SPEC")] = None,
    output: Annotated[DataFormat, typer.Option("--output", "-o", help="A table, or JSON / YAML for scripts.")] = DataFormat.text,
    quiet: QuietOpt = False,
) -> None:
    """List the catalog: name, domain/namespace, delivery, pinned version, host, dependencies, settings, injected env.

    Dependencies in parentheses are optional (wired when enabled); notes say which role a
    component provides (choose with `objectStore:` / `llm:`), whether it takes `oidc: {}`,
    whether it needs a GPU pool and how it is backed up (`components.<n>.backup` sets when). `injects` names the env vars every app depending on the
    component is given (an app's own variable of that name needs `override: true`).

    \b
    Examples:
      bbgen components
      bbgen components platform.yaml -o json | jq '.[] | select(.enabled) | .version'
      bbgen components -o yaml
    """
    from bbgen import api  # lazy

    rows = api.components(spec)
    if output is not DataFormat.text:
        emit(rows, output)
        return
    headers = ["name", "namespace", "delivery", "version", "host", "depends on", "notes", "settings", "injects"]
    if spec is not None:
        headers.append("enabled")
    table = [headers]
    for row in rows:
        line = [
            row["name"], f"{row['domain']}/{row['namespace']}", row["delivery"], row["version"],
            row["host"] or "-", ", ".join(row["dependsOn"] + [f"({u})" for u in row["uses"]]) or "-", _notes(row),
            ", ".join(sorted(row["settings"])) or "-", ", ".join(row["injects"]) or "-",
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
    if row.get("backup") not in (None, "none"):
        notes.append(f"backup {row['backup']}")
    return ", ".join(notes) or "-"
