"""Checks that span fields: they need the catalog and the whole spec at once.

Each check reports at the YAML position a person would edit to fix it, and all
problems are reported together so one run shows everything wrong.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from bbgen.catalog import catalog_roles
from bbgen.errors import SpecError, SpecIssue
from bbgen.kube.names import fqdn

if TYPE_CHECKING:
    from bbgen.catalog import AnyComponent
    from bbgen.spec.loader import LoadedYaml
    from bbgen.spec.models import Platform

RESERVED = {"platform", "root"}


def _hint(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _at_key(loaded: LoadedYaml, path: tuple[str | int, ...], message: str) -> SpecIssue:
    """Locate at the mapping key itself: for problems with a name rather than with its value."""
    from bbgen.spec.loader import format_path, issue

    pos = loaded.positions.key(path)
    if pos is None:
        return issue(loaded, path, message)
    return SpecIssue(file=loaded.file, line=pos[0], column=pos[1], path=format_path(path), message=message)


def check_platform(
    platform: Platform,
    loaded: LoadedYaml,
    catalog: dict[str, AnyComponent],
) -> None:
    """Raise SpecError listing every cross-field problem; return quietly when there is none."""
    from bbgen.spec.loader import issue

    issues: list[SpecIssue] = []
    names = sorted(catalog)

    if "prod" not in platform.environments:
        issues.append(_at_key(loaded, ("environments",), "an environment named 'prod' is required (it is the Kustomize base)"))

    for name in platform.components:
        if name not in catalog:
            issues.append(_at_key(loaded, ("components", name), f"unknown component {name!r}{_hint(name, names)}; see `bbgen components`"))
    for name in platform.apps:
        if name in catalog:
            issues.append(_at_key(loaded, ("apps", name), f"{name!r} is the name of a catalog component; pick another app name"))
        if name in RESERVED:
            issues.append(_at_key(loaded, ("apps", name), f"{name!r} is reserved for bbgen's own Applications"))
    if issues:
        raise SpecError(issues=issues)

    enabled: dict[str, tuple[str, ...]] = {}
    for name, settings in platform.components.items():
        if settings.enabled:
            enabled[name] = ("components", name)
    for name, app in platform.apps.items():
        if app.enabled:
            enabled[name] = ("apps", name)

    # Component-specific settings: only keys the catalog declares, with the declared type.
    for name, settings in platform.components.items():
        declared = catalog[name].defaults.settings
        for key, value in settings.settings.items():
            path = ("components", name, "settings", key)
            if key not in declared:
                known = ", ".join(sorted(declared)) or "none"
                issues.append(issue(loaded, path, f"unknown setting for {name}{_hint(key, list(declared))}; known: {known}"))
            elif type(declared[key]) is not type(value) and not (isinstance(declared[key], float) and isinstance(value, int)):
                issues.append(issue(loaded, path, f"must be a {type(declared[key]).__name__}, like the default {declared[key]!r}"))

    # Roles (`object-store`, `llm`): the spec's choice is an enabled provider, or there is one to default to.
    from bbgen.spec.models import ROLE_FIELDS
    from pydantic.alias_generators import to_camel

    roles = catalog_roles(catalog)

    def _field(role: str) -> str:
        """The YAML key that chooses a role's provider."""
        return to_camel(ROLE_FIELDS[role]) if role in ROLE_FIELDS else role

    chosen: dict[str, str] = {}
    for role, providers in sorted(roles.items()):
        field = _field(role)
        choice = platform.role_choice(role)
        candidates = [p for p in providers if p in enabled and enabled[p][0] == "components"]
        if choice is not None:
            if choice not in providers:
                issues.append(issue(loaded, (field,), f"{choice!r} does not provide {role}; choose one of {', '.join(providers)}"))
            elif choice not in candidates:
                issues.append(issue(loaded, (field,), f"{choice!r} is not an enabled component: add `{choice}: {{}}` under components"))
            else:
                chosen[role] = choice
        elif len(candidates) == 1:
            chosen[role] = candidates[0]
        elif len(candidates) > 1:
            issues.append(_at_key(loaded, ("components", candidates[1]), (
                f"{' and '.join(candidates)} both provide {role}: set `{field}:` to the one its consumers use"
            )))

    def _unfilled(role: str) -> str | None:
        """Why a role nobody provides fails its consumer (None: filled, or already reported as ambiguous)."""
        if role in chosen or any(p in enabled for p in roles[role]):
            return None
        return f"needs {role}: enable one of {', '.join(roles[role])} (and choose it with `{_field(role)}:` if several are)"

    # Dependencies: every dependency of an enabled unit is itself enabled.
    at: tuple[str | int, ...]
    for name, where in sorted(enabled.items()):
        if where[0] == "components":
            for dep in catalog[name].depends_on:
                if dep in roles:
                    if (why := _unfilled(dep)) is not None:
                        issues.append(_at_key(loaded, ("components", name), f"{name!r} {why}"))
                elif dep not in enabled:
                    at = ("components", dep, "enabled") if dep in platform.components else ("components", name)
                    issues.append((issue if at[-1] == "enabled" else _at_key)(loaded, at, f"{dep!r} is disabled or not listed, but {name!r} depends on it"))
        else:
            for index, dep in enumerate(platform.apps[name].depends_on):
                if dep == name:
                    issues.append(issue(loaded, ("apps", name, "dependsOn", index), "an app cannot depend on itself"))
                elif dep in roles:
                    if (why := _unfilled(dep)) is not None:
                        issues.append(issue(loaded, ("apps", name, "dependsOn", index), why))
                elif dep not in enabled:
                    listed = dep in platform.components or dep in platform.apps
                    state = "disabled" if listed else f"not a component, app or role of this spec{_hint(dep, sorted(enabled) + sorted(roles))}"
                    issues.append(issue(loaded, ("apps", name, "dependsOn", index), f"{dep!r} is {state}"))
    issues.extend(_sso(platform, loaded, enabled, catalog))
    issues.extend(_gpu(platform, loaded, enabled, catalog))
    issues.extend(_cycles(platform, loaded, enabled))

    # Hosts: one owner per host in every environment.
    for env in sorted(platform.environments):
        claimed: dict[str, str] = {}
        for name, where in sorted(enabled.items(), key=lambda kv: (kv[1][0] != "components", kv[0])):
            label = _host_of(platform, catalog, name, where)
            if where[0] == "components":
                at = ("components", name, "host") if platform.components[name].host else ("components", name)
            else:
                at = ("apps", name, "host")
            if not label:
                continue
            host = fqdn(label, platform.env_domain(env))
            if host in claimed:
                issues.append((issue if at[-1] == "host" else _at_key)(loaded, at, f"host {host} is already claimed by {claimed[host]!r} (environment {env})"))
            else:
                claimed[host] = name

    # TCP exposures: one owner per port, pointing at an enabled component.
    ports: dict[int, int] = {}
    for index, tcp in enumerate(platform.ingress.tcp):
        tcp_at: tuple[str | int, ...] = ("ingress", "tcp", index)
        if tcp.port in ports:
            issues.append(issue(loaded, tcp_at + ("port",), f"TCP port {tcp.port} is already exposed by ingress.tcp[{ports[tcp.port]}]"))
        else:
            ports[tcp.port] = index
        if tcp.component not in enabled:
            issues.append(issue(loaded, tcp_at + ("component",), f"{tcp.component!r} is not an enabled component{_hint(tcp.component, sorted(enabled))}"))

    issues.extend(_routing(platform, loaded, enabled, catalog))
    issues.extend(_storage(platform, loaded, enabled))

    clusters: dict[str, str] = {}
    for env in sorted(platform.environments, key=lambda e: (e != "prod", e)):
        server = platform.environments[env].cluster
        if server in clusters:
            issues.append(issue(loaded, ("environments", env), (
                f"deploys to the same cluster as {clusters[server]!r} ({server}); their namespaces would collide: "
                f"set environments.{env}.cluster to the API server of its own cluster"
            )))
        else:
            clusters[server] = env

    for env, environment in platform.environments.items():
        for name in environment.components:
            if name not in enabled:
                issues.append(_at_key(loaded, ("environments", env, "components", name), f"{name!r} is not an enabled component or app"))

    if issues:
        raise SpecError(issues=issues)


# The component each routing provider needs, and the one it rules out.
_PROVIDER_COMPONENT = {"nginx": "ingress-nginx", "gateway": "gateway"}


def _host_of(platform: Platform, catalog: dict[str, AnyComponent], name: str, where: tuple[str, ...]) -> str | None:
    """The host label an enabled unit is exposed on, after defaults (None: not public)."""
    if where[0] == "components":
        settings = platform.components[name]
        return catalog[name].host if settings.host is None else (settings.host or None)
    return platform.apps[name].host or None


def _routing(platform: Platform, loaded: LoadedYaml, enabled: dict[str, tuple[str, ...]], catalog: dict[str, AnyComponent]) -> list[SpecIssue]:
    """The routing provider and the components that implement it must agree."""
    from bbgen.spec.loader import issue

    provider = platform.ingress.provider
    found: list[SpecIssue] = []
    for other, component in _PROVIDER_COMPONENT.items():
        if other != provider and component in enabled and enabled[component][0] == "components":
            found.append(_at_key(loaded, ("components", component), (
                f"{component!r} implements ingress.provider: {other}, but the spec selects {provider!r}; "
                f"remove it or set ingress.provider: {other}"
            )))
    if provider == "gateway":
        routed = platform.ingress.tcp or any(_host_of(platform, catalog, n, w) for n, w in enabled.items())
        if routed and "gateway" not in enabled:
            found.append(issue(loaded, ("ingress", "provider"), (
                "Gateway API routing needs the `gateway` component (the platform's Gateway): "
                "add `gateway: {}` (and `gateway-api: {}` for its CRDs) under components"
            )))
        for name, where in sorted(enabled.items()):
            owner = platform.components[name] if where[0] == "components" else platform.apps[name]
            if owner.basic_auth is not None and owner.basic_auth.enabled:
                found.append(issue(loaded, (*where, "basicAuth", "enabled"), (
                    "basic auth needs ingress.provider: nginx (Gateway API has no standard basic auth); "
                    "put the host behind Keycloak instead"
                )))
    return found


def _sso(platform: Platform, loaded: LoadedYaml, enabled: dict[str, tuple[str, ...]], catalog: dict[str, AnyComponent]) -> list[SpecIssue]:
    """OIDC clients need Keycloak with a public host, a component able to use one, and unique client ids."""
    from bbgen.spec.loader import issue

    found: list[SpecIssue] = []
    ids: dict[str, str] = {}
    keycloak_public = "keycloak" in enabled and bool(_host_of(platform, catalog, "keycloak", enabled["keycloak"]))
    for name, where in sorted(enabled.items()):
        owner = platform.components[name] if where[0] == "components" else platform.apps[name]
        if owner.oidc is None:
            continue
        at = (*where, "oidc")
        if where[0] == "components" and not catalog[name].oidc:
            found.append(issue(loaded, at, f"{name!r} cannot sign users in through Keycloak (see `bbgen components`); remove `oidc`"))
            continue
        if not keycloak_public:
            found.append(issue(loaded, at, "an OIDC client needs the `keycloak` component enabled with a public host (its issuer URL)"))
        if where[0] == "components" and not _host_of(platform, catalog, name, where):
            found.append(issue(loaded, at, f"{name!r} signs users in on its public host: give it a host (browsers are redirected back to it)"))
        client_id = owner.oidc.client_id or name
        if client_id in ids:
            found.append(issue(loaded, at, f"client id {client_id!r} is already used by {ids[client_id]!r}"))
        ids.setdefault(client_id, name)
        if owner.oidc.public and where[0] == "components":
            found.append(issue(loaded, (*at, "public"), "catalog components sign in server-side: their clients are confidential"))
    return found


def _gpu(platform: Platform, loaded: LoadedYaml, enabled: dict[str, tuple[str, ...]], catalog: dict[str, AnyComponent]) -> list[SpecIssue]:
    """A GPU component needs a GPU node pool to be scheduled on."""
    pools = [n for n, p in platform.node_pools.items() if p.role == "gpu" or p.gpus_per_node > 0]
    found: list[SpecIssue] = []
    for name, where in sorted(enabled.items()):
        if where[0] == "components" and catalog[name].gpu and not pools:
            found.append(_at_key(loaded, ("components", name), (
                f"{name!r} runs on GPUs, but nodePools has no GPU pool: add one with `role: gpu` and `gpusPerNode`"
            )))
    for name in pools:
        if platform.node_pools[name].gpus_per_node == 0:
            from bbgen.spec.loader import issue

            found.append(issue(loaded, ("nodePools", name), "a GPU pool needs `gpusPerNode` (1 or more)"))
    return found


def _storage(platform: Platform, loaded: LoadedYaml, enabled: dict[str, tuple[str, ...]]) -> list[SpecIssue]:
    """Static volumes and the local-path provisioner are two ways to give the class its volumes: one at a time."""
    from bbgen.spec.loader import issue

    storage = platform.storage
    static = storage.provisioner == "kubernetes.io/no-provisioner"
    found: list[SpecIssue] = []
    names: dict[str, int] = {}
    for index, volume in enumerate(storage.volumes):
        if volume.name in names:
            found.append(issue(loaded, ("storage", "volumes", index, "name"), f"volume {volume.name!r} is already declared at storage.volumes[{names[volume.name]}]"))
        names.setdefault(volume.name, index)
    if storage.volumes and not static:
        found.append(issue(loaded, ("storage", "volumes"), (
            f"static volumes need storage.provisioner: kubernetes.io/no-provisioner (it is {storage.provisioner!r}, "
            "which creates volumes itself)"
        )))
    if "local-path-provisioner" in enabled and storage.provisioner != "rancher.io/local-path":
        found.append(_at_key(loaded, ("components", "local-path-provisioner"), (
            f"the local-path provisioner serves storage.provisioner: rancher.io/local-path (it is {storage.provisioner!r})"
        )))
    return found


def _cycles(platform: Platform, loaded: LoadedYaml, enabled: dict[str, tuple[str, ...]]) -> list[SpecIssue]:
    from bbgen.spec.loader import issue

    graph = {name: [d for d in platform.apps[name].depends_on if d in platform.apps] for name in platform.apps}
    state: dict[str, int] = {}
    found: list[SpecIssue] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                cycle = trail[trail.index(dep):] + [dep] if dep in trail else [node, dep]
                found.append(issue(loaded, ("apps", node, "dependsOn"), "dependency cycle: " + " -> ".join(cycle)))
            elif state.get(dep) is None:
                visit(dep, trail + [dep])
        state[node] = 2

    for name in sorted(graph):
        if state.get(name) is None:
            visit(name, [name])
    return found
