"""Custom apps as whole workloads: the fields that only make sense together (ports, env sources, scaling, migrations).

Each rule here guards a combination that would otherwise render objects that
validate and then do something else than meant: a route to a port nobody
named, two Service ports under one name, an HPA fighting a fixed replica count.
The errors point at the entry a person would change.
"""

from __future__ import annotations

from collections.abc import Iterator

from bbgen.errors import SpecIssue
from bbgen.spec.app_models import ROUTED_PORT_NAME, ROUTED_SERVICE_PORT, CustomApp
from bbgen.spec.checks._base import Context, check


@check()
def app_ports(ctx: Context) -> Iterator[SpecIssue]:
    """`ports` replaces `port` (never both), belongs to a service or worker, has unique names and numbers, routes
    at most one port (exactly one when a host meets several ports), and the routed (or first) port of a service is
    TCP and leaves the Service's `http` port 80 to itself."""
    for name, app in sorted(ctx.platform.apps.items()):
        if app.enabled and app.ports:
            yield from _ports(ctx, name, app)


def _ports(ctx: Context, name: str, app: CustomApp) -> Iterator[SpecIssue]:
    at = ("apps", name)
    if ctx.written((*at, "port")):
        yield ctx.at((*at, "port"), "give either `port` (one port) or `ports` (several), not both")
    if app.kind in ("job", "cronjob"):
        yield ctx.at((*at, "ports"), f"a {app.kind} serves no port (only kind: service or worker takes `ports`)")
        return
    names: dict[str, int] = {}
    numbers: dict[tuple[int, str], int] = {}
    for index, port in enumerate(app.ports):
        if port.name in names:
            yield ctx.at((*at, "ports", index, "name"), f"port name {port.name} is already used by ports[{names[port.name]}]")
        names.setdefault(port.name, index)
        if (port.port, port.protocol) in numbers:
            yield ctx.at((*at, "ports", index, "port"), f"{port.protocol} port {port.port} is already ports[{numbers[(port.port, port.protocol)]}]")
        numbers.setdefault((port.port, port.protocol), index)
    routed = [index for index, port in enumerate(app.ports) if port.route]
    for index in routed[1:]:
        yield ctx.at((*at, "ports", index, "route"), f"only one port is routed (ports[{routed[0]}] already says route: true)")
    if app.kind == "worker":
        for index in routed[:1]:
            yield ctx.at((*at, "ports", index, "route"), "a worker has no Service to route to (only kind: service routes a port)")
        return
    if app.host and len(app.ports) > 1 and not routed:
        yield ctx.at((*at, "ports"), f"with a host and {len(app.ports)} ports, mark the one the host routes to with `route: true`")
    main = routed[0] if routed else 0
    if app.ports[main].protocol != "TCP":
        which = "routed" if routed else "first"
        yield ctx.at((*at, "ports", main, "protocol"), f"the {which} port is the Service's HTTP port {ROUTED_SERVICE_PORT}; it must be TCP")
    for index, port in enumerate(app.ports):
        if index == main:
            continue
        if port.name == ROUTED_PORT_NAME:
            yield ctx.at((*at, "ports", index, "name"), f"`{ROUTED_PORT_NAME}` names the Service port of the routed (or first) port; rename this one")
        if port.port == ROUTED_SERVICE_PORT and port.protocol == "TCP":
            yield ctx.at((*at, "ports", index, "port"), f"the Service's port {ROUTED_SERVICE_PORT} is the routed (or first) port's; use another number")


@check()
def app_autoscale(ctx: Context) -> Iterator[SpecIssue]:
    """`autoscale` is for a service or worker, scales on a CPU request the spec sets (the utilisation target is a
    share of it), and replaces `replicas` rather than fighting it."""
    for name, app in sorted(ctx.platform.apps.items()):
        if not app.enabled or app.autoscale is None:
            continue
        at = ("apps", name)
        if app.kind in ("job", "cronjob"):
            yield ctx.at((*at, "autoscale"), f"a {app.kind} runs to completion; only kind: service or worker is autoscaled")
            continue
        requests = app.resources.requests if app.resources is not None else None
        if requests is None or requests.cpu is None:
            yield ctx.at((*at, "autoscale"), "autoscaling on CPU needs resources.requests.cpu (the target is a share of it, e.g. requests: {cpu: 250m})")
        if ctx.written((*at, "replicas")):
            yield ctx.at((*at, "replicas"), "with autoscale the autoscaler sets the replica count; drop replicas (or autoscale)")
