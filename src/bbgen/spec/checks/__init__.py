"""Checks that span fields: they need the catalog and the whole spec at once.

Each check is a small registered function (see :mod:`._base`) that reports at the
YAML position a person would edit to fix it; all of them run and every problem is
reported together, so one run shows everything wrong. The modules are imported
here in the order their issues are reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bbgen.errors import SpecError
from bbgen.spec.checks import names, wiring, exposure, cluster, hub, capacity, usage  # noqa: F401  (registers, in report order)
from bbgen.spec.checks._base import CHECKS, Context, check, run

if TYPE_CHECKING:
    from bbgen.catalog import AnyComponent
    from bbgen.spec._positions import LoadedYaml
    from bbgen.spec.models import Platform

__all__ = ["CHECKS", "Context", "check", "check_platform"]


def check_platform(platform: Platform, loaded: LoadedYaml, catalog: dict[str, AnyComponent]) -> None:
    """Raise SpecError listing every cross-field problem; return quietly when there is none."""
    ctx = Context(platform, loaded, catalog)
    issues = run(ctx, "names")
    if issues:
        raise SpecError(issues=issues)
    issues = run(ctx, "spec")
    if issues:
        raise SpecError(issues=issues)
