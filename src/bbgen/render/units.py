"""Resolve spec + catalog into deployable units with every default applied.

A *unit* is one enabled catalog component or custom app. Everything that later
stages need (namespace, image, host per environment, merged resources, sync
wave) is decided here once, so templates and layout never re-derive defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bbgen.catalog import AnyComponent, ChartComponent, GitComponent, KustomizeComponent, catalog_roles
from bbgen.kube.objects import INSTANCE_LABEL, NAME_LABEL, standard_labels
from bbgen.spec.merge import env_view
from bbgen.spec.models import CustomApp, Oidc, Platform, Resources

SSO_ROLE = "sso"


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
    sso_provider: str | None = None  # the `sso` provider holding this unit's OIDC client (also in depends_on)
    admin_from: tuple[str, ...] = ()  # units or namespaces the spec lets reach the `admin` ports (beside its own namespace)
    own_credentials: tuple[str, ...] = ()  # dependencies it signs in to as itself (component.yaml `ownCredentials`), resolved
    wave: int = 1

    def provides(self, role: str) -> bool:
        return self.component is not None and role in self.component.provides

    def credential_from(self, dependency: str) -> bool:
        """Whether ``dependency`` gives this unit a credential of its own (not when it brings its own identity)."""
        return dependency not in self.own_credentials

    @property
    def service(self) -> str:
        if self.component is not None and self.component.service:
            return self.component.service
        return self.name


def provider(units: dict[str, Unit], role: str) -> Unit | None:
    """The enabled unit filling ``role`` (the first by name when several do), or None.

    Code asks for the SSO server, the ingress controller or the metrics scraper by the
    role its component.yaml declares, never by the component's name.
    """
    return next((units[name] for name in sorted(units) if units[name].provides(role)), None)


METRICS_ROLE = "metrics"
"""The role of the metrics scraper (Prometheus): NetworkPolicies admit it, keyed metrics give it a credential."""


def scraper_needs_key(units: dict[str, Unit], unit: Unit) -> Unit | None:
    """The metrics scraper, when ``unit``'s metrics need a credential here (component.yaml `scrapeCredential`, its setting on)."""
    fact = unit.component.scrape_credential if unit.component is not None else None
    if fact is None or unit.settings.get(fact.setting) is not True:
        return None
    scraper = provider(units, METRICS_ROLE)
    return scraper if scraper is not None and scraper.name != unit.name else None


def credential_holders(units: dict[str, Unit], unit: Unit) -> list[str]:
    """Who gets an own credential of ``unit`` (one of each of its `consumerSecrets`): its dependants that sign in with
    one, and the metrics scraper when its metrics need a key. Sorted; the secrets plan and the templates agree on it."""
    holders = {u.name for u in units.values() if unit.name in u.depends_on and u.credential_from(unit.name)}
    scraper = scraper_needs_key(units, unit)
    if scraper is not None:
        holders.add(scraper.name)
    return sorted(holders)


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
    sso = roles.get(SSO_ROLE)
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
        client_of = sso if oidc is not None else None
        deps, used = _resolve(comp.depends_on + comp.uses + ([client_of] if client_of else []), roles, enabled)
        units[name] = Unit(
            name=name,
            kind="component",
            delivery=comp.delivery,
            domain=comp.domain,
            namespace=settings.namespace or comp.namespace,
            depends_on=deps,
            roles=used,
            oidc=oidc,
            sso_provider=client_of,
            after=tuple(sorted(set(comp.after))),
            component=comp,
            image=image,
            chart_version=chart_version,
            host_label=host,
            storage=str(settings.storage) if settings.storage is not None else comp.defaults.storage,
            settings={**comp.defaults.settings, **_exposed_tls(platform, name, comp), **settings.settings},
            admin_from=tuple(settings.admin_from),
            own_credentials=_resolve(comp.own_credentials, roles, enabled)[0],
        )
    for name, app in sorted(platform.apps.items()):
        if not app.enabled:
            continue
        client_of = sso if app.oidc is not None else None
        deps, used = _resolve(app.depends_on + ([client_of] if client_of else []), roles, enabled)
        units[name] = Unit(
            name=name,
            kind="app",
            delivery="kustomize",
            domain=app.namespace,
            namespace=app.namespace,
            depends_on=deps,
            roles=used,
            oidc=app.oidc,
            sso_provider=client_of,
            app=app,
            image=app.image,
            host_label=app.host or None,
        )
    waves = _waves(units)
    return {name: _replace(unit, wave=waves[name]) for name, unit in units.items()}


def _exposed_tls(platform: Platform, name: str, comp: AnyComponent) -> dict[str, bool]:
    """The `tcpTls` settings a raw TCP exposure of the component turns on by default (the spec may not turn them off)."""
    exposed = {t.target_port or t.port for t in platform.ingress.tcp if t.component == name}
    return {tls.setting: True for port, tls in comp.tcp_tls.items() if comp.ports[port] in exposed}


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


def replicas(view: Platform, unit: Unit) -> int:
    """Replicas in the environment ``view`` is of (see spec.merge.env_view)."""
    if unit.app is not None:
        return view.apps[unit.name].replicas
    settings = view.components[unit.name]
    if settings.replicas is not None:
        return settings.replicas
    assert unit.component is not None
    return unit.component.defaults.replicas


def resources(view: Platform, unit: Unit) -> dict[str, Any]:
    """Requests and limits in the environment ``view`` is of: the spec's merged over the catalog's."""
    if unit.component is not None:
        return _merge(unit.component.defaults.resources, _resources_dict(view.components[unit.name].resources))
    assert unit.app is not None
    return _merge({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}, _resources_dict(view.apps[unit.name].resources))


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
    return {p.name: p.port for p in unit.app.all_ports()}


def route_port(unit: Unit) -> int:
    """The pod port a public route ends at: an app's routed (or first) port, a component's port named `http`."""
    if unit.app is not None:
        return unit.app.routed_port().port
    return pod_ports(unit).get("http", 80)


def pod_port_protocols(unit: Unit) -> list[tuple[int, str]]:
    """Every (port, protocol) the unit's pods listen on, sorted: a component's ports are TCP, an app says per port."""
    if unit.app is not None:
        return sorted({(p.port, p.protocol) for p in unit.app.all_ports()})
    return sorted({(n, "TCP") for n in pod_ports(unit).values()})


def speaks_tls(unit: Unit, port: int) -> bool:
    """Whether the unit's port ``port`` speaks TLS when exposed over raw TCP: component.yaml's `tcpTls` with its setting on."""
    if unit.component is None:
        return False
    tls = unit.component.tcp_tls
    return any(n in tls and p == port and unit.settings.get(tls[n].setting) is True for n, p in unit.component.ports.items())


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


GITOPS_ROLE = "gitops"


def env_units(platform: Platform, catalog: dict[str, AnyComponent], env: str) -> dict[str, Unit]:
    """The units environment ``env``'s cluster runs: those of its view, less the GitOps controller where it does not run.

    In hub mode one Argo CD, on the hub, deploys every environment, so a spoke gets
    no Argo CD of its own: no Application, overlay, values, namespace, policies or
    Secrets. Every stage that needs an environment's units (render, scope, secrets,
    graph) asks here, so none of them can disagree.
    """
    units = build_units(env_view(platform, env), catalog)
    if platform.gitops.runs_controller(env):
        return units
    return {n: u for n, u in units.items() if u.component is None or GITOPS_ROLE not in u.component.provides}
