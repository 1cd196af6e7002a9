"""How units connect: their settings, the roles they fill and need, dependencies, SSO, GPU pools."""

from __future__ import annotations

from collections.abc import Iterator

from bbgen.errors import SpecIssue
from bbgen.spec.checks._base import Context, check, hint
from bbgen.spec.models import ComponentSettings
from bbgen.spec.references import image_problem


@check()
def component_settings(ctx: Context) -> Iterator[SpecIssue]:
    """Component-specific settings: only keys the catalog declares, each with the declared type."""
    for name, settings in ctx.platform.components.items():
        declared = ctx.catalog[name].defaults.settings
        for key, value in settings.settings.items():
            path = ("components", name, "settings", key)
            if key not in declared:
                known = ", ".join(sorted(declared)) or "none"
                yield ctx.at(path, f"unknown setting for {name}{hint(key, declared)}; known: {known}")
            elif type(declared[key]) is not type(value) and not (isinstance(declared[key], float) and isinstance(value, int)):
                yield ctx.at(path, f"must be a {type(declared[key]).__name__}, like the default {declared[key]!r}")


@check()
def setting_rules(ctx: Context) -> Iterator[SpecIssue]:
    """Settings obey the rules their component declares (`settingRules`: a pattern, known values, required with a provider)."""
    for name in sorted(ctx.platform.components):
        if not ctx.enabled_component(name):
            continue
        component = ctx.catalog[name]
        written = ctx.platform.components[name].settings
        for key, rule in sorted(component.setting_rules.items()):
            value = written.get(key, component.defaults.settings.get(key))
            path = ("components", name, "settings", key)
            why = f" ({rule.reason})" if rule.reason else ""
            if key in written and type(value) is type(component.defaults.settings.get(key)):
                if (problem := rule.problem(value)) is not None:
                    yield ctx.at(path, f"{problem}{why}")
                    continue
                if rule.image and isinstance(value, str) and (problem := image_problem(value)) is not None:
                    yield ctx.at(path, f"{value!r} is not an image reference: {problem}")
                    continue
            provider = rule.required_for_provider
            if provider is not None and ctx.platform.ingress.provider == provider and not value:
                message = f"ingress.provider: {provider} needs settings.{key} of {name!r}{why}"
                yield ctx.at(path, message) if key in written else ctx.at_key(("components", name), message)


@check()
def role_choices(ctx: Context) -> Iterator[SpecIssue]:
    """A role's provider (`objectStore:`, `llm:`) is an enabled provider, or there is exactly one to default to."""
    for role, providers in sorted(ctx.roles.items()):
        field = ctx.role_field(role)
        choice = ctx.platform.role_choice(role)
        candidates = [p for p in providers if ctx.enabled_component(p)]
        if choice is not None:
            if choice not in providers:
                yield ctx.at((field,), f"{choice!r} does not provide {role}; choose one of {', '.join(providers)}")
            elif choice not in candidates:
                yield ctx.at((field,), f"{choice!r} is not an enabled component: add `{choice}: {{}}` under components")
        elif len(candidates) > 1:
            yield ctx.at_key(("components", candidates[1]), (
                f"{' and '.join(candidates)} both provide {role}: set `{field}:` to the one its consumers use"
            ))


def _unfilled(ctx: Context, role: str) -> str | None:
    """Why a role nobody provides fails its consumer (None: filled, or already reported as ambiguous)."""
    if role in ctx.chosen or any(p in ctx.enabled for p in ctx.roles[role]):
        return None
    return f"needs {role}: enable one of {', '.join(ctx.roles[role])} (and choose it with `{ctx.role_field(role)}:` if several are)"


@check()
def dependencies(ctx: Context) -> Iterator[SpecIssue]:
    """Every dependency of an enabled unit (a component, an app or a role) is enabled or filled."""
    platform, roles, enabled = ctx.platform, ctx.roles, ctx.enabled
    for name, where in sorted(enabled.items()):
        if where[0] == "components":
            for dep in ctx.catalog[name].depends_on:
                if dep in roles:
                    if (why := _unfilled(ctx, dep)) is not None:
                        yield ctx.at_key(("components", name), f"{name!r} {why}")
                elif dep not in enabled:
                    message = f"{dep!r} is disabled or not listed, but {name!r} depends on it"
                    if dep in platform.components:
                        yield ctx.at(("components", dep, "enabled"), message)
                    else:
                        yield ctx.at_key(("components", name), message)
            continue
        for index, dep in enumerate(platform.apps[name].depends_on):
            at = ("apps", name, "dependsOn", index)
            if dep == name:
                yield ctx.at(at, "an app cannot depend on itself")
            elif dep in roles:
                if (why := _unfilled(ctx, dep)) is not None:
                    yield ctx.at(at, why)
            elif dep not in enabled:
                listed = dep in platform.components or dep in platform.apps
                state = "disabled" if listed else f"not a component, app or role of this spec{hint(dep, sorted(enabled) + sorted(roles))}"
                yield ctx.at(at, f"{dep!r} is {state}")


@check()
def oidc_clients(ctx: Context) -> Iterator[SpecIssue]:
    """OIDC clients need the `sso` provider with a public host, a component able to use one, and unique client ids."""
    sso = ctx.provider("sso")
    sso_name = ctx.providers_text("sso")
    sso_public = sso is not None and bool(ctx.host_of(sso))
    ids: dict[str, str] = {}
    for name, where in sorted(ctx.enabled.items()):
        owner = ctx.owner(name)
        if owner.oidc is None:
            continue
        at = (*where, "oidc")
        component = where[0] == "components"
        if component and not ctx.catalog[name].oidc:
            yield ctx.at(at, f"{name!r} cannot sign users in through {sso_name} (see `bbgen components`); remove `oidc`")
            continue
        if not sso_public:
            yield ctx.at(at, f"an OIDC client needs the `{sso_name}` component enabled with a public host (its issuer URL)")
        if component and not ctx.host_of(name):
            yield ctx.at(at, f"{name!r} signs users in on its public host: give it a host (browsers are redirected back to it)")
        client_id = owner.oidc.client_id or name
        if client_id in ids:
            yield ctx.at(at, f"client id {client_id!r} is already used by {ids[client_id]!r}")
        ids.setdefault(client_id, name)
        if owner.oidc.public and component:
            yield ctx.at((*at, "public"), "catalog components sign in server-side: their clients are confidential")
        native = ctx.catalog[name].oidc_client if component else None
        given = owner.settings if component and isinstance(owner, ComponentSettings) else {}
        for key, needed in sorted((native.settings if native is not None else {}).items()):
            if key in given and given[key] != needed:
                yield ctx.at((*where, "settings", key), (
                    f"settings.{key}: {given[key]!r} cannot be combined with `oidc` (callers could skip the sign-in); "
                    f"keep {needed!r} or remove `oidc`"
                ))


@check()
def gpu_pools(ctx: Context) -> Iterator[SpecIssue]:
    """A GPU component needs a GPU node pool to be scheduled on, and a GPU pool has GPUs."""
    pools = ctx.platform.gpu_pools()
    for name, where in sorted(ctx.enabled.items()):
        if where[0] == "components" and ctx.catalog[name].gpu and not pools:
            yield ctx.at_key(("components", name), (
                f"{name!r} runs on GPUs, but nodePools has no GPU pool: add one with `role: gpu` and `gpusPerNode`"
            ))
    for name in pools:
        if ctx.platform.node_pools[name].gpus_per_node == 0:
            yield ctx.at(("nodePools", name), "a GPU pool needs `gpusPerNode` (1 or more)")


@check()
def app_cycles(ctx: Context) -> Iterator[SpecIssue]:
    """Apps' `dependsOn` has no cycle (sync waves follow it)."""
    apps = ctx.platform.apps
    graph = {name: [d for d in apps[name].depends_on if d in apps] for name in apps}
    state: dict[str, int] = {}
    found: list[SpecIssue] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                cycle = trail[trail.index(dep):] + [dep] if dep in trail else [node, dep]
                found.append(ctx.at(("apps", node, "dependsOn"), "dependency cycle: " + " -> ".join(cycle)))
            elif state.get(dep) is None:
                visit(dep, trail + [dep])
        state[node] = 2

    for name in sorted(graph):
        if state.get(name) is None:
            visit(name, [name])
    return iter(found)


OBJECT_STORE = "object-store"


@check()
def object_store_buckets(ctx: Context) -> Iterator[SpecIssue]:
    """An app using the object store gets a bucket named after it, so its name must be a bucket name.

    App names are DNS labels already; a bucket also needs 3 characters at least, and must not be one of
    the store's own buckets (the shared datasets bucket, the backups bucket). The store's templates keep
    their guard for a spec that skipped the checks.
    """
    store = ctx.provider(OBJECT_STORE)
    if store is None:
        return
    component = ctx.catalog[store]
    spec_settings = ctx.platform.components[store].settings if store in ctx.platform.components else {}
    datasets = spec_settings.get("datasetsBucket", component.defaults.settings.get("datasetsBucket"))
    taken = {str(datasets), component.backup_store.bucket if component.backup_store else ""}
    for name, app in ctx.platform.apps.items():
        for index, dep in enumerate(app.depends_on):
            if dep != OBJECT_STORE and dep != store:
                continue
            at = ("apps", name, "dependsOn", index)
            if len(name) < 3:
                yield ctx.at(at, f"app {name!r} would get an object-store bucket named after it, and a bucket name has 3-63 characters: rename the app")
            elif name in taken:
                yield ctx.at(at, f"app {name!r} would get an object-store bucket named after it, but {store}'s own {name!r} bucket has that name: rename the app")
