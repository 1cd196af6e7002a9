"""Names the rest of the checks rely on: the base environment, catalog components, app names.

These run first (phase ``names``): every later check may look a spec component up
in the catalog, so an unknown one must stop the run before they start.
"""

from __future__ import annotations

from collections.abc import Iterator

from bbgen.errors import SpecIssue
from bbgen.spec.checks._base import Context, check, hint

RESERVED = {"platform", "root"}


@check(phase="names")
def prod_environment(ctx: Context) -> Iterator[SpecIssue]:
    """`prod` exists: its overlay is the Kustomize base every other environment patches."""
    if "prod" not in ctx.platform.environments:
        yield ctx.at_key(("environments",), "an environment named 'prod' is required (it is the Kustomize base)")


@check(phase="names")
def known_components(ctx: Context) -> Iterator[SpecIssue]:
    """Every key under `components` is a catalog component."""
    names = sorted(ctx.catalog)
    for name in ctx.platform.components:
        if name not in ctx.catalog:
            yield ctx.at_key(("components", name), f"unknown component {name!r}{hint(name, names)}; see `bbgen components`")


@check(phase="names")
def app_names(ctx: Context) -> Iterator[SpecIssue]:
    """An app's name clashes with neither a catalog component nor bbgen's own Applications."""
    for name in ctx.platform.apps:
        if name in ctx.catalog:
            yield ctx.at_key(("apps", name), f"{name!r} is the name of a catalog component; pick another app name")
        if name in RESERVED:
            yield ctx.at_key(("apps", name), f"{name!r} is reserved for bbgen's own Applications")
