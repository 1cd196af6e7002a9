"""Custom apps: their environment variables, which the kubelet would otherwise take at face value.

Kubernetes accepts a duplicate env name (the last wins) and lets an app's own
variable silently replace a connection setting bbgen injects; both are the kind
of mistake nobody sees until the app talks to the wrong database, so they are
errors here, at the entry a person would edit.
"""

from __future__ import annotations

from collections.abc import Iterator

from bbgen.errors import SpecIssue
from bbgen.spec.checks._base import Context, check
from bbgen.spec.injected import OIDC_ENV, app_url_env, component_injects

# The kubelet and the API server refuse far smaller objects than an env list of megabytes; 32 KiB per value
# leaves room for a certificate or a small config while catching a file pasted by mistake.
MAX_ENV_VALUE = 32 * 1024


@check()
def app_env(ctx: Context) -> Iterator[SpecIssue]:
    """An app's env names are unique across `env` and `secretEnv`, do not replace an injected variable unless
    the entry says `override: true`, and literal values hold no NUL byte and at most 32 KiB."""
    for name, app in sorted(ctx.platform.apps.items()):
        if not app.enabled:
            continue
        injected = _injected(ctx, name)
        seen: dict[str, str] = {}
        entries = [("env", i, e.name, e.override) for i, e in enumerate(app.env)]
        entries += [("secretEnv", i, r.name, r.override) for i, r in enumerate(app.secret_env)]
        for field, index, var, override in entries:
            path = ("apps", name, field, index, "name")
            where = f"{field}[{index}]"
            if var in seen:
                yield ctx.at(path, f"{var} is already set by {seen[var]} (each variable once; the last would silently win)")
                continue
            seen[var] = where
            if var in injected and not override:
                source = "the OIDC client (`oidc`)" if injected[var] == "oidc" else f"dependency {injected[var]}"
                yield ctx.at(path, f"{var} is injected by bbgen for {source} (rename it, or add `override: true` to replace it)")
        for index, var_ in enumerate(app.env):
            path = ("apps", name, "env", index, "value")
            if "\x00" in var_.value:
                yield ctx.at(path, f"{var_.name} holds a NUL byte (a process cannot receive it in its environment)")
            size = len(var_.value.encode("utf-8"))
            if size > MAX_ENV_VALUE:
                yield ctx.at(path, f"{var_.name} is {size} bytes, over the 32 KiB limit (mount large content as a file instead)")


def _injected(ctx: Context, app: str) -> dict[str, str]:
    """Every env var name bbgen sets on ``app`` → what it is for: a dependency (roles resolved as render does) or `oidc`."""
    spec = ctx.platform.apps[app]
    out: dict[str, str] = {}
    deps = {ctx.chosen.get(dep, dep) for dep in spec.depends_on}
    if spec.oidc is not None and (sso := ctx.provider("sso")) is not None:
        deps.add(sso)
    for dep in sorted(deps):
        where = ctx.enabled.get(dep)
        if where is None:
            continue
        names = component_injects(ctx.catalog[dep]) if where[0] == "components" else [app_url_env(dep)]
        for var in names:
            out.setdefault(var, dep)
    if spec.oidc is not None:
        for var in OIDC_ENV:
            out.setdefault(var, "oidc")
    return out
