"""Custom apps: their environment variables, and whether their workload kind fits the rest of the entry.

Kubernetes accepts a duplicate env name (the last wins) and lets an app's own
variable silently replace a connection setting bbgen injects; both are the kind
of mistake nobody sees until the app talks to the wrong database, so they are
errors here, at the entry a person would edit. Likewise a host on a worker or a
schedule on a Job would render objects that validate and never do what was meant.
"""

from __future__ import annotations

import re
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
            if var_.value is None:
                continue
            if "\x00" in var_.value:
                yield ctx.at(path, f"{var_.name} holds a NUL byte (a process cannot receive it in its environment)")
            size = len(var_.value.encode("utf-8"))
            if size > MAX_ENV_VALUE:
                yield ctx.at(path, f"{var_.name} is {size} bytes, over the 32 KiB limit (mount large content as a file instead)")


@check()
def app_private_secrets(ctx: Context) -> Iterator[SpecIssue]:
    """An app outside a component's namespace names none of its `private` Secrets (a superuser's password):
    bbgen would otherwise copy that Secret into the app's namespace. The app depends on the component and
    gets a credential of its own instead."""
    private: dict[str, tuple[str, str]] = {}  # Secret name -> (component, namespace)
    for component in sorted(c for c in ctx.platform.components if ctx.enabled_component(c)):
        meta = ctx.catalog[component]
        for secret in meta.secrets:
            if secret.private:
                private.setdefault(secret.name, (component, meta.namespace))
    if not private:
        return
    for name, app in sorted(ctx.platform.apps.items()):
        if not app.enabled:
            continue
        refs: list[tuple[tuple[str | int, ...], str]] = [(("apps", name, "secretEnv", i, "secret"), r.secret) for i, r in enumerate(app.secret_env)]
        refs += [(("apps", name, "env", i, "valueFrom", "secretKeyRef", "name"), e.value_from.secret_key_ref.name)
                 for i, e in enumerate(app.env) if e.value_from is not None and e.value_from.secret_key_ref is not None]
        for path, secret_name in refs:
            owner = private.get(secret_name)
            if owner is not None and owner[1] != app.namespace:
                yield ctx.at(path, (
                    f"{secret_name} is {owner[0]}'s private Secret, read only in namespace {owner[1]} "
                    f"(depending on {owner[0]} gives the app a credential of its own)"
                ))


_REFERENCE = re.compile(r"\$\$|\$\(([^)]*)\)")


def env_references(value: str) -> list[str]:
    """The variable names a value the kubelet expands refers to as `$(NAME)` (`$$` is an escaped `$`)."""
    return [m.group(1) for m in _REFERENCE.finditer(value) if m.group(0) != "$$"]


@check()
def app_env_references(ctx: Context) -> Iterator[SpecIssue]:
    """Every `$(NAME)` of an `expand: true` value names a variable listed before it: one bbgen injects, or the
    app's own without `expand` (the kubelet leaves an unknown reference as literal text, a silent misconfiguration)."""
    for name, app in sorted(ctx.platform.apps.items()):
        if not app.enabled or not any(e.expand for e in app.env):
            continue
        defined = set(_injected(ctx, name)) | {e.name for e in app.env if not e.expand} | {r.name for r in app.secret_env}
        for index, var in enumerate(app.env):
            if not var.expand or var.value is None:
                continue
            for ref in env_references(var.value):
                if ref not in defined:
                    known = ", ".join(sorted(defined)) or "none"
                    yield ctx.at(("apps", name, "env", index, "value"), (
                        f"$({ref}) names no variable the container has before {var.name} "
                        f"(injected or own without `expand`: {known}); write $$ for a literal $"
                    ))


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


# One cron field: `*`, a number or name, a range, a list of them, each with an optional `/step`.
_CRON_ITEM = re.compile(r"^(\*|[0-9]+(-[0-9]+)?|[A-Za-z]{3}(-[A-Za-z]{3})?)(/[0-9]+)?$")
_CRON_BOUNDS = ((0, 59, "minute"), (0, 23, "hour"), (1, 31, "day of month"), (1, 12, "month"), (0, 7, "day of week"))
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def cron_problem(schedule: str) -> str | None:
    """What is wrong with a CronJob schedule (five fields or a macro), checked cheaply; None when it looks right."""
    if schedule.strip() in _CRON_MACROS:
        return None
    fields = schedule.split()
    if len(fields) != 5:
        return f"has {len(fields)} fields, a schedule has 5 (minute hour day-of-month month day-of-week, e.g. '30 2 * * *')"
    for text, (low, high, what) in zip(fields, _CRON_BOUNDS):
        for item in text.split(","):
            if not _CRON_ITEM.match(item):
                return f"{what} field {text!r} is not cron syntax (*, N, N-M, a list, each with an optional /step)"
            for number in re.findall(r"(?<![/0-9])[0-9]+", item):
                if not low <= int(number) <= high:
                    return f"{what} {number} is outside {low}-{high}"
    return None


@check()
def app_workload(ctx: Context) -> Iterator[SpecIssue]:
    """An app's kind fits the rest of it: only a `service` has a host or is a dependency, `schedule` is set exactly
    for a `cronjob` (and is a cron schedule), and `probes` carry a path only for `http` and a command exactly for `exec`."""
    for name, app in sorted(ctx.platform.apps.items()):
        at = ("apps", name)
        if app.kind != "service" and app.host:
            yield ctx.at((*at, "host"), f"a {app.kind} has no Service to route to (only kind: service takes a host)")
        if app.kind == "cronjob" and app.schedule is None:
            yield ctx.at((*at, "kind"), "a cronjob needs a schedule (e.g. schedule: '30 2 * * *')")
        elif app.kind != "cronjob" and app.schedule is not None:
            yield ctx.at((*at, "schedule"), f"only a cronjob has a schedule (this app is a {app.kind})")
        elif app.schedule is not None and (problem := cron_problem(app.schedule)) is not None:
            yield ctx.at((*at, "schedule"), problem)
        probes = app.probes
        if probes is not None:
            if probes.type != "http" and probes.path is not None:
                yield ctx.at((*at, "probes", "path"), f"a path is for an http probe (this one is {probes.type})")
            if probes.type == "exec" and not probes.command:
                yield ctx.at((*at, "probes", "type"), "an exec probe needs a command (e.g. command: [pg_isready])")
            elif probes.type != "exec" and probes.command:
                yield ctx.at((*at, "probes", "command"), f"a command is for an exec probe (this one is {probes.type})")
        for index, dep in enumerate(app.depends_on):
            target = ctx.platform.apps.get(dep)
            if target is not None and target.kind != "service" and ctx.enabled.get(dep) == ("apps", dep):
                yield ctx.at((*at, "dependsOn", index), f"{dep} is a {target.kind}: it has no Service to connect to")


EVENT_BROKER = "event-broker"


@check()
def app_topics(ctx: Context) -> Iterator[SpecIssue]:
    """An app declaring `topics` depends on the event broker (by its role or a provider's name): only the broker grants them."""
    providers = set(ctx.roles.get(EVENT_BROKER, []))
    for name, app in sorted(ctx.platform.apps.items()):
        if not app.enabled or not app.topics:
            continue
        if not any(dep == EVENT_BROKER or dep in providers for dep in app.depends_on):
            yield ctx.at(("apps", name, "topics"), (
                f"{name} declares Kafka topics but does not depend on the event broker: add "
                f"{' or '.join(sorted(providers)) or EVENT_BROKER} to its dependsOn, or remove `topics`"
            ))
