"""How the platform is reached from outside: public hosts, TCP exposures and the routing provider."""

from __future__ import annotations

from collections.abc import Iterator

from bbgen.errors import SpecIssue
from bbgen.spec.checks._base import Context, check, hint
from bbgen.kube.names import fqdn
from bbgen.spec.auth import decide
from bbgen.spec.models import GATEWAY_API, ComponentSettings

# The catalog role whose provider implements each `ingress.provider` (the spec's own words, not component names).
PROVIDER_ROLE = {"nginx": "ingress", GATEWAY_API: "edge-gateway"}
# Ports the edge listens on for HTTP itself: plain HTTP (redirects, ACME HTTP-01) and HTTPS.
HTTP_PORTS = {80: "HTTP", 443: "HTTPS"}


@check()
def unique_hosts(ctx: Context) -> Iterator[SpecIssue]:
    """One owner per public host in this environment (its merged spec, on its own domain; across environments: environments.py)."""
    platform, env = ctx.platform, ctx.env
    claimed: dict[str, str] = {}
    for name, where in sorted(ctx.enabled.items(), key=lambda kv: (kv[1][0] != "components", kv[0])):
        label = ctx.host_of(name)
        if not label:
            continue
        host = fqdn(label, platform.env_domain(env))
        if host not in claimed:
            claimed[host] = name
            continue
        message = f"host {host} is already claimed by {claimed[host]!r} (environment {env})"
        if where[0] == "apps" or platform.components[name].host:
            yield ctx.at((*where, "host"), message)
        else:
            yield ctx.at_key(where, message)


@check()
def tcp_exposures(ctx: Context) -> Iterator[SpecIssue]:
    """TCP exposures: one owner per port, not an HTTP(S) listener's port, pointing at an enabled unit."""
    ports: dict[int, int] = {}
    enabled = ctx.enabled
    for index, tcp in enumerate(ctx.platform.ingress.tcp):
        at: tuple[str | int, ...] = ("ingress", "tcp", index)
        if tcp.port in HTTP_PORTS:
            yield ctx.at((*at, "port"), (
                f"TCP port {tcp.port} is the edge's {HTTP_PORTS[tcp.port]} listener, which every public host shares "
                f"(expose {tcp.component} on another port; targetPort may still be {tcp.target_port or tcp.port})"
            ))
        elif tcp.port in ports:
            yield ctx.at((*at, "port"), f"TCP port {tcp.port} is already exposed by ingress.tcp[{ports[tcp.port]}]")
        else:
            ports[tcp.port] = index
        if tcp.component not in enabled:
            yield ctx.at((*at, "component"), f"{tcp.component!r} is not an enabled component{hint(tcp.component, sorted(enabled))}")


@check()
def tcp_transport(ctx: Context) -> Iterator[SpecIssue]:
    """A raw TCP exposure reaches only a port that speaks TLS (component.yaml's `tcpTls`), with that TLS on."""
    for index, tcp in enumerate(ctx.platform.ingress.tcp):
        component = ctx.catalog.get(tcp.component)
        if component is None or not ctx.enabled_component(tcp.component):
            continue  # tcp_exposures says so
        at: tuple[str | int, ...] = ("ingress", "tcp", index)
        number = tcp.target_port or tcp.port
        names = [name for name, port in component.ports.items() if port == number]
        if not names:
            yield ctx.at((*at, "targetPort" if tcp.target_port else "port"), (
                f"{tcp.component!r} has no port {number} (its ports: "
                f"{', '.join(f'{n} {p}' for n, p in sorted(component.ports.items()))}); set targetPort to one of them"
            ))
            continue
        name = names[0]
        tls = component.tcp_tls.get(name)
        if name in component.no_raw_exposure:
            continue  # raw_tcp_refused says why, in the component's own words
        if tls is None:
            can = sorted(n for n in component.tcp_tls)
            yield ctx.at((*at, "component"), (
                f"{tcp.component}'s port {name} ({number}) cannot be exposed over raw TCP: bbgen renders no TLS for it, "
                f"so its traffic and credentials would cross the edge in the clear"
                + (f" (its ports that can: {', '.join(can)})" if can else "")
                + "; reach it from inside the cluster or through a VPN instead"
            ))
            continue
        owner = ctx.owner(tcp.component)
        chosen = owner.settings.get(tls.setting, True) if isinstance(owner, ComponentSettings) else True
        if chosen is not True:  # unset: the exposure turns it on (render/units.py)
            where = ("components", tcp.component, "settings", tls.setting)
            message = (
                f"{tcp.component}'s port {name} ({number}) is exposed over raw TCP (ingress.tcp[{index}]) with "
                f"settings.{tls.setting} off: remove that setting or set it to true ({tls.how})"
            )
            yield ctx.at(where, message) if ctx.written(where) else ctx.at((*at, "component"), message)


@check()
def tcp_tls_needs_exposure(ctx: Context) -> Iterator[SpecIssue]:
    """A `tcpTls` setting switched on in the spec has a TCP exposure to serve: its certificate is for that exposure's name."""
    exposed = {(t.component, t.target_port or t.port) for t in ctx.platform.ingress.tcp}
    for name, settings in sorted(ctx.platform.components.items()):
        component = ctx.catalog.get(name)
        if component is None or not settings.enabled:
            continue
        for port, tls in sorted(component.tcp_tls.items()):
            where = ("components", name, "settings", tls.setting)
            if settings.settings.get(tls.setting) is True and ctx.written(where) and (name, component.ports[port]) not in exposed:
                yield ctx.at(where, (
                    f"settings.{tls.setting} turns on TLS for {name}'s port {port} exposed over raw TCP, but environment "
                    f"{ctx.env} exposes no such port (ingress.tcp): add the exposure, or set it to false here"
                ))


@check()
def routing_provider(ctx: Context) -> Iterator[SpecIssue]:
    """The routing provider and the components that implement it agree."""
    platform = ctx.platform
    provider = platform.ingress.provider
    for other, role in PROVIDER_ROLE.items():
        if other == provider:
            continue
        for component in ctx.roles.get(role, []):
            if ctx.enabled_component(component):
                yield ctx.at_key(("components", component), (
                    f"{component!r} implements ingress.provider: {other}, but the spec selects {provider!r}; "
                    f"remove it or set ingress.provider: {other}"
                ))
    if provider != GATEWAY_API:
        return
    routed = platform.ingress.tcp or any(ctx.host_of(n) for n in ctx.enabled)
    gateways = ctx.roles.get(PROVIDER_ROLE[GATEWAY_API], [])
    if routed and gateways and not any(ctx.enabled_component(g) for g in gateways):
        gateway = gateways[0]
        missing = [d for d in ctx.catalog[gateway].depends_on if d in ctx.catalog and d not in ctx.enabled]
        also = f" (and {', '.join(f'`{d}: {{}}`' for d in missing)})" if missing else ""
        yield ctx.at(("ingress", "provider"), (
            f"Gateway API routing needs the `{gateway}` component (the platform's Gateway): "
            f"add `{gateway}: {{}}`{also} under components"
        ))


@check()
def auth_decisions(ctx: Context) -> Iterator[SpecIssue]:
    """Every public host has an authentication decision: basic auth, OIDC, the component's own login, or `public: true`."""
    domain = ctx.platform.env_domain(ctx.env)
    sso = ctx.providers_text("sso")
    for name, where in sorted(ctx.enabled.items()):
        owner = ctx.owner(name)
        label = ctx.host_of(name)
        if not label:
            if owner.public:
                yield ctx.at((*where, "public"), f"{name!r} has no public host, so `public: true` opens nothing: give it a `host` or remove `public`")
            continue
        component = ctx.catalog[name] if where[0] == "components" else None
        if component is not None and "http" not in component.ports:
            continue  # no HTTP to serve: ignored_fields refuses the host itself
        settings = {**(component.defaults.settings if component is not None else {}), **(owner.settings if isinstance(owner, ComponentSettings) else {})}
        decision = decide(
            basic=owner.basic_auth is not None and owner.basic_auth.enabled, oidc=owner.oidc is not None,
            login=component.login if component is not None else None, settings=settings, public=owner.public, app=component is None,
        )
        if decision is not None:
            continue
        login = component.login if component is not None else None
        ways = [f"set {', '.join(f'settings.{k}: {v}' for k, v in login.when.items())} (its own login)"] if login is not None else []
        ways.append("put `basicAuth: {enabled: true}` on it")
        if component is None or component.oidc:
            ways.append(f"put `oidc: {{}}` on it (sign-in through {sso})")
        ways.append("set `public: true` to serve it open on purpose")
        yield ctx.host_site(name, (
            f"host {fqdn(label, domain)} serves {name!r} with no authentication: {', '.join(ways[:-1])}{' or ' if len(ways) > 1 else ''}{ways[-1]}"
        ))


@check()
def raw_tcp_refused(ctx: Context) -> Iterator[SpecIssue]:
    """A TCP exposure may not reach a port its component says must not be exposed as it is (component.yaml `noRawExposure`).

    Kept apart from `tcp_exposures`: that check is about who owns an edge port, this one about
    what a component's port may be handed to the internet as (Kafka's in-cluster listener).
    """
    for index, tcp in enumerate(ctx.platform.ingress.tcp):
        component = ctx.catalog.get(tcp.component)
        if component is None or tcp.component not in ctx.enabled or not component.no_raw_exposure:
            continue
        target = tcp.target_port or tcp.port
        for port, reason in sorted(component.no_raw_exposure.items()):
            if component.ports.get(port) == target:
                yield ctx.at(("ingress", "tcp", index, "component"), (
                    f"{tcp.component}'s port {port} ({target}) cannot be exposed as raw TCP: {reason}"
                ))
