"""Who may reach a component's ports beyond what the dependency graph opens: `adminFrom`."""

from __future__ import annotations

from collections.abc import Iterator

from bbgen.errors import SpecIssue
from bbgen.spec.checks._base import Context, check, hint


def _namespaces(ctx: Context) -> set[str]:
    """The namespaces this environment's enabled units live in (what `adminFrom` may name as a namespace)."""
    out: set[str] = set()
    for name, where in ctx.enabled.items():
        if where[0] == "components":
            out.add(ctx.platform.components[name].namespace or ctx.catalog[name].namespace)
        else:
            out.add(ctx.platform.apps[name].namespace)
    return out


@check()
def admin_from(ctx: Context) -> Iterator[SpecIssue]:
    """`adminFrom` names enabled components, apps or their namespaces, on a component that has an `admin` port.

    A name matching nothing would open nothing (a NetworkPolicy peer selecting no pod), so
    the person who wanted access would find it silently missing.
    """
    known = sorted(set(ctx.enabled) | _namespaces(ctx))
    for name, settings in sorted(ctx.platform.components.items()):
        if not settings.enabled or not settings.admin_from:
            continue
        comp = ctx.catalog[name]
        if not any("admin" in comp.purposes(port) for port in comp.ports):
            yield ctx.at(("components", name, "adminFrom"), f"{name} has no admin port (see portPurposes in `bbgen components`); adminFrom opens nothing")
            continue
        for index, entry in enumerate(settings.admin_from):
            if entry not in known:
                yield ctx.at(
                    ("components", name, "adminFrom", index),
                    f"{entry!r} is neither an enabled component or app nor one of their namespaces{hint(entry, known)}",
                )
