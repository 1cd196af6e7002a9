from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from bbgen.commands._common import Console, DataFormat, QuietOpt, SpecArg, emit

if TYPE_CHECKING:
    from bbgen.diff import DiffResult
    from bbgen.promote import PromoteResult


def promote(
    spec: SpecArg,
    name: Annotated[str, typer.Argument(help="Component or app to promote (as written under components/apps).", show_default=False, metavar="NAME")],
    source: Annotated[str, typer.Option("--from", help="Environment whose value is promoted (what it sees: base plus its layer).", show_default=False)],
    target: Annotated[str, typer.Option("--to", help="Environment that gets it.", show_default=False)],
    what: Annotated[Optional[str], typer.Option("--what", help="Comma-separated fields to promote: image (a component's version, an app's image), settings (an app's env) or any field name.")] = None,
    settings: Annotated[bool, typer.Option("--settings", help="Promote settings too (same as adding `settings` to --what).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write nothing; print the unified diff of the spec file.")] = False,
    output: Annotated[DataFormat, typer.Option("--output", "-o", help="text (the spec diff with --dry-run, then the render summary) or one JSON/YAML document.")] = DataFormat.text,
    quiet: QuietOpt = False,
) -> None:
    """Promote a component's or app's image (and settings) from one environment to another, in SPEC.

    Like Kargo promoting freight from stage to stage, done in the spec: the value
    written for --to is the one --from sees (base plus its layer). It goes where
    --to's value is written today: into --to's layer when that sets it; a value
    prod inherits from the base is changed in the base, and each other environment
    that inherited the old value gets it in its own layer, so only prod changes.
    Comments and layout are kept; the result is loaded with the spec checks before
    it is written (atomically). Prints the render changes of --to (as `bbgen diff
    --stat`); nothing to promote: says so, exit 0, SPEC untouched.

    \b
    Examples:
      bbgen promote platform.yaml orchestrator --from staging --to prod --dry-run
      bbgen promote platform.yaml orchestrator --from staging --to prod
      bbgen promote platform.yaml prometheus --from dev --to staging --settings
      bbgen promote platform.yaml api --from staging --to prod --what image,replicas
      bbgen promote platform.yaml api --from staging --to prod --dry-run -o json | jq .changes
    """
    from bbgen import api  # lazy

    fields = [f.strip() for f in what.split(",") if f.strip()] if what else None
    console = Console(quiet=quiet)
    result, changes = api.promote(spec, name, source=source, target=target, what=fields, settings=settings, dry_run=dry_run)
    if output is not DataFormat.text:
        emit(_document(result, changes, dry_run=dry_run), output)
    if not result.changes:
        console.status(f"nothing to promote: {target} already sees what {source} does for {result.kind} {name}")
        return
    if result.reformatted:
        console.status(f"warning: {spec} does not keep its layout through a YAML round trip (indentation or quoting); lines besides the promoted ones change, see --dry-run")
    for change in result.changes:
        console.status(f"{name}.{change.field}: {_shown(change.old)} -> {_shown(change.new)} (written at {', '.join(change.written)})")
    if output is DataFormat.text:
        if dry_run:
            from bbgen.secrets.detect import redact  # lazy: a value that looks like a secret is masked, as in `bbgen diff`

            sys.stdout.write("".join(redact(line) + "\n" for line in result.patch))
        _summary(changes, target)
    console.status(f"dry run: {spec} not written" if dry_run else f"promoted {result.kind} {name} from {source} to {target} in {spec}")


def _document(result: PromoteResult, changes: DiffResult, *, dry_run: bool) -> dict[str, object]:
    """What `-o json` prints: the values promoted, where they were written, the spec's diff and the render summary."""
    from bbgen.secrets.detect import redact  # lazy

    return {
        "name": result.name, "kind": result.kind, "from": result.source, "to": result.target,
        "written": bool(result.changes) and not dry_run,
        "changes": [{"field": c.field, "old": c.old, "new": c.new, "writtenAt": c.written} for c in result.changes],
        "patch": "\n".join(map(redact, result.patch)) + "\n" if result.patch else "",
        "render": changes.as_dict(),
    }


def _shown(value: object) -> str:
    return "(none)" if value is None else str(value)


def _summary(changes: DiffResult, target: str) -> None:
    """The per-resource summary of the render, `bbgen diff --stat` style, for the target environment."""
    out = sys.stdout
    sign = {"added": "+", "changed": "~", "removed": "-"}
    out.write(f"Render of {target}:\n")
    for change in changes.resources:
        out.write(f"  {sign[change.action]} {change.label}  ({change.file})\n")
    listed = {r.file for r in changes.resources}
    for mark, paths in (("+", changes.added_files), ("~", changes.changed_files), ("-", changes.removed_files)):
        for path in paths:
            if path not in listed:
                out.write(f"  {mark} {path}\n")
    out.write(f"Files: {len(changes.added_files)} added, {len(changes.changed_files)} changed, {len(changes.removed_files)} removed\n")
