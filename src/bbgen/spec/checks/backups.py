"""Backup schedules are cron schedules, and a component's `backup` is only where there is something to back up."""

from __future__ import annotations

from collections.abc import Iterator

from bbgen.errors import SpecIssue
from bbgen.spec.checks._base import Context, check
from bbgen.spec.checks.apps import cron_problem


@check()
def backup_schedules(ctx: Context) -> Iterator[SpecIssue]:
    """`backups.schedule`, `backups.offsite.schedule` and each `components.<name>.backup.schedule` parse as cron;
    `backup` only on a component with a backup method."""
    spec = ctx.platform
    if (problem := cron_problem(spec.backups.schedule)) is not None:
        yield ctx.at(("backups", "schedule"), problem)
    if spec.backups.offsite is not None and (problem := cron_problem(spec.backups.offsite.schedule)) is not None:
        yield ctx.at(("backups", "offsite", "schedule"), problem)
    for name, settings in sorted(spec.components.items()):
        if settings.backup is None:
            continue
        at = ("components", name, "backup")
        comp = ctx.catalog.get(name)
        if comp is not None and (comp.backup is None or comp.backup.method == "none"):
            why = f" ({comp.backup.reason})" if comp.backup is not None and comp.backup.reason else ""
            yield ctx.at(at, f"{name} has no backup method{why}")
        elif settings.backup.schedule is not None and (problem := cron_problem(settings.backup.schedule)) is not None:
            yield ctx.at((*at, "schedule"), problem)
