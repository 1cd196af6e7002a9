"""Checks that span fields: they need the catalog and the whole spec at once.

Each check is a small registered function (see :mod:`._base`) that reports at the
YAML position a person would edit to fix it; all of them run and every problem is
reported together, so one run shows everything wrong. The modules are imported
here in the order their issues are reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bbgen.errors import SpecError
from bbgen.spec.checks import names, wiring, exposure, network, cluster, hub, capacity, usage, apps, backups, workloads, app_storage, environments  # noqa: F401  (registers, in report order)
from bbgen.spec.checks._base import CHECKS, Context, check, run

if TYPE_CHECKING:
    from bbgen.catalog import AnyComponent
    from bbgen.errors import SpecIssue
    from bbgen.spec._positions import LoadedYaml
    from bbgen.spec.models import Platform

__all__ = ["CHECKS", "Context", "check", "check_environments", "check_platform"]


def check_platform(platform: Platform, loaded: LoadedYaml, catalog: dict[str, AnyComponent], *, env: str = "prod") -> Context:
    """Raise SpecError listing every cross-field problem of one environment's spec; else its checked context."""
    ctx = Context(platform, loaded, catalog, env=env)
    issues = run(ctx, "names")
    if issues:
        raise SpecError(issues=issues)
    issues = run(ctx, "spec")
    if issues:
        raise SpecError(issues=issues)
    return ctx


def check_environments(contexts: dict[str, Context]) -> None:
    """Raise SpecError listing what clashes between environments (each checked against those before it)."""
    issues: list[SpecIssue] = []
    for index, (env, ctx) in enumerate(contexts.items()):
        ctx.earlier = dict(list(contexts.items())[:index])
        issues.extend(run(ctx, "environments"))
    if issues:
        raise SpecError(issues=issues)
