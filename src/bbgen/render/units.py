"""Resolve spec + catalog into deployable units with every default applied.

A *unit* is one enabled catalog component or custom app. Everything that later
stages need (namespace, image, host per environment, merged resources, sync
wave) is decided here once, so templates and layout never re-derive defaults.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import jinja2

from bbgen.catalog import AnyComponent, ChartComponent, GitComponent, KustomizeComponent, catalog_roles
from bbgen.kube.objects import INSTANCE_LABEL, NAME_LABEL, standard_labels
from bbgen.spec.models import CustomApp, Oidc, Platform, Resources

KEYCLOAK = "keycloak"


@dataclass(frozen=True, kw_only=True)
class Unit:
    name: str
    kind: str  # "component" or "app"
    delivery: str  # "kustomize", "chart" or "git"
    domain: str
    namespace: str
    depends_on: tuple[str, ...]
    after: tuple[str, ...] = ()  # ordering only, among enabled units
    component: AnyComponent | None = None
    app: CustomApp | None = None
    image: str | None = None
    chart_version: str | None = None
    host_label: str | None = None  # as configured: label or FQDN, None when not exposed
    storage: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    oidc: Oidc | None = None
    roles: dict[str, str] = field(default_factory=dict)  # role -> provider, for the roles among depends_on
    wave: int = 1

    @property
    def service(self) -> str:
        if self.component is not None and self.component.service:
            return self.component.service
        return self.name


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif value is not None:
            out[key] = value
    return out


def _resources_dict(res: Resources | None) -> dict[str, Any]:
    if res is None:
        return {}
    return {k: {kk: str(vv) for kk, vv in v.items() if vv is not None} for k, v in res.model_dump(exclude_none=True).items()}


def enabled_names(platform: Platform) -> set[str]:
    return {n for n, s in platform.components.items() if s.enabled} | {n for n, a in platform.apps.items() if a.enabled}


def resolve_roles(platform: Platform, catalog: dict[str, AnyComponent]) -> dict[str, str]:
    """Role → the enabled component filling it: the spec's choice, else the only enabled provider.

    A role left out (none enabled, or several and no choice) is for the spec checks
    to report; here it simply resolves to nothing.
    """
    enabled = enabled_names(platform)
    out: dict[str, str] = {}
    for role, providers in catalog_roles(catalog).items():
        chosen = platform.role_choice(role)
        candidates = [p for p in providers if p in enabled]
        if chosen is not None and chosen in candidates:
            out[role] = chosen
        elif chosen is None and len(candidates) == 1:
            out[role] = candidates[0]
    return out


def _resolve(deps: list[str], roles: dict[str, str], known: set[str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """Dependencies with roles replaced by their providers, and which roles were resolved to what."""
    names: set[str] = set()
    used: dict[str, str] = {}
    for dep in deps:
        if dep in roles:
            names.add(roles[dep])
            used[dep] = roles[dep]
        elif dep in known:
            names.add(dep)
    return tuple(sorted(names)), used


def build_units(platform: Platform, catalog: dict[str, AnyComponent]) -> dict[str, Unit]:
    """Every enabled unit, by name, with sync waves from the dependency graph."""
    units: dict[str, Unit] = {}
    roles = resolve_roles(platform, catalog)
    enabled = enabled_names(platform)
    sso = KEYCLOAK in enabled
    for name, settings in sorted(platform.components.items()):
        if not settings.enabled:
            continue
        comp = catalog[name]
        image = None
        chart_version = None
        if isinstance(comp, KustomizeComponent) and comp.image is not None:
            image = f"{comp.image.repository}:{settings.version or comp.image.tag}"
        if isinstance(comp, ChartComponent):
            chart_version = settings.version or comp.chart.version
        if isinstance(comp, GitComponent):
            chart_version = settings.version or comp.git.revision
        host = comp.host if settings.host is None else (settings.host or None)
        oidc = settings.oidc if comp.oidc else None
        deps, used = _resolve(comp.depends_on + comp.uses + ([KEYCLOAK] if oidc is not None and sso else []), roles, enabled)
        units[name] = Unit(
            name=name,
            kind="component",
            delivery=comp.delivery,
            domain=comp.domain,
            namespace=settings.namespace or comp.namespace,
            depends_on=deps,
            roles=used,
            oidc=oidc,
            after=tuple(sorted(set(comp.after))),
            component=comp,
            image=image,
            chart_version=chart_version,
            host_label=host,
            storage=str(settings.storage) if settings.storage is not None else comp.defaults.storage,
            settings={**comp.defaults.settings, **settings.settings},
        )
    for name, app in sorted(platform.apps.items()):
        if not app.enabled:
            continue
        deps, used = _resolve(app.depends_on + ([KEYCLOAK] if app.oidc is not None and sso else []), roles, enabled)
        units[name] = Unit(
            name=name,
            kind="app",
            delivery="kustomize",
            domain=app.namespace,
            namespace=app.namespace,
            depends_on=deps,
            roles=used,
            oidc=app.oidc,
            app=app,
            image=app.image,
            host_label=app.host or None,
        )
    waves = _waves(units)
    return {name: _replace(unit, wave=waves[name]) for name, unit in units.items()}


def _replace(unit: Unit, **changes: Any) -> Unit:
    from dataclasses import replace

    return replace(unit, **changes)


def _waves(units: dict[str, Unit]) -> dict[str, int]:
    """Wave 1 for units without dependencies; otherwise one more than the highest dependency."""
    waves: dict[str, int] = {}

    def visit(name: str, stack: tuple[str, ...]) -> int:
        if name in waves:
            return waves[name]
        if name in stack:  # cycles are rejected by the spec checks; stay total anyway
            return 1
        deps = [d for d in units[name].depends_on + units[name].after if d in units]
        wave = 1 + max((visit(d, stack + (name,)) for d in deps), default=0)
        waves[name] = wave
        return wave

    for name in sorted(units):
        visit(name, ())
    return waves


def replicas(platform: Platform, unit: Unit, env: str) -> int:
    override = platform.environments[env].components.get(unit.name)
    if override is not None and override.replicas is not None:
        return override.replicas
    if unit.app is not None:
        return unit.app.replicas
    settings = platform.components[unit.name]
    if settings.replicas is not None:
        return settings.replicas
    assert unit.component is not None
    return unit.component.defaults.replicas


def resources(platform: Platform, unit: Unit, env: str) -> dict[str, Any]:
    base: dict[str, Any] = {}
    if unit.component is not None:
        base = unit.component.defaults.resources
        base = _merge(base, _resources_dict(platform.components[unit.name].resources))
    elif unit.app is not None:
        base = _merge({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}, _resources_dict(unit.app.resources))
    override = platform.environments[env].components.get(unit.name)
    if override is not None:
        base = _merge(base, _resources_dict(override.resources))
    return base


@functools.cache
def _expose_env() -> jinja2.Environment:
    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


@functools.cache
def _expose_template(source: str) -> jinja2.Template:
    """Compiled once per process: every dependant in every environment renders the same few strings."""
    return _expose_env().from_string(source)


@functools.lru_cache(maxsize=8192)
def _expose_value(source: str, context_json: str) -> str:
    import json

    return _expose_template(source).render(json.loads(context_json))


def exposed_env(unit: Unit, dependant: str = "", sso: dict[str, Any] | None = None) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Connection env vars a dependant gets: plain values, and Secret references by name.

    The values are Jinja over the dependency's ``service``, ``namespace``, ``ports``,
    ``name`` and ``settings``, the ``dependant``'s name (its own database, its own
    bucket prefix) and the platform's ``sso`` realm and issuer.
    """
    if unit.component is not None:
        import json

        context = {
            "service": unit.service, "namespace": unit.namespace, "ports": dict(unit.component.ports), "name": unit.name,
            "settings": unit.settings, "dependant": dependant, "sso": sso or {},
        }
        key = json.dumps(context, sort_keys=True, default=str)
        plain = {k: _expose_value(v, key) for k, v in unit.component.expose.env.items()}
        secret = {k: {"secret": v.secret, "key": v.key} for k, v in unit.component.expose.secret_env.items()}
        return plain, secret
    assert unit.app is not None
    prefix = unit.name.upper().replace("-", "_")
    return {f"{prefix}_URL": f"http://{unit.name}.{unit.namespace}.svc.cluster.local"}, {}


def oidc_client_id(unit: Unit) -> str | None:
    if unit.oidc is None:
        return None
    return unit.oidc.client_id or unit.name


def oidc_secret_name(client_id: str) -> str:
    """The Secret (key `client-secret`) holding a confidential client's secret, in Keycloak's and the client's namespace."""
    return f"oidc-{client_id}"


def labels(platform: Platform, unit: Unit) -> dict[str, str]:
    return standard_labels(unit.name, part_of=platform.name)


def selector(unit: Unit) -> dict[str, str]:
    return {NAME_LABEL: unit.name, INSTANCE_LABEL: unit.name}


def pod_labels(unit: Unit) -> dict[str, str]:
    """Labels that select every pod of the unit, for NetworkPolicies.

    A chart labels its pods with the release as instance (and its own names), so
    only the instance label is common to all of them.
    """
    comp = unit.component
    if comp is not None and comp.network.pod_labels:
        return dict(comp.network.pod_labels)
    if isinstance(comp, ChartComponent):
        return {INSTANCE_LABEL: comp.chart.release_name or unit.name}
    return selector(unit)


def pod_ports(unit: Unit) -> dict[str, int]:
    """The ports the unit's pods listen on, by name."""
    if unit.component is not None:
        return dict(unit.component.ports)
    assert unit.app is not None
    return {"http": unit.app.port}


def http_service_port(unit: Unit) -> int:
    """The port number of the unit's Service port named `http`: what a route's backend names."""
    comp = unit.component
    if isinstance(comp, ChartComponent):
        for svc in comp.chart_services:
            if svc.name == unit.service and "http" in svc.ports:
                return svc.ports["http"]
    if comp is not None:
        return comp.ports.get("http", 80)
    return 80
