"""Gateway API checks: routes attach to a rendered Gateway listener that admits them,
cross-namespace references are granted, HTTPS listeners have a certificate source,
and no two routes claim the same host and path on one listener.

The rules mirror what a Gateway controller does at attach time (a route whose
parent does not accept it is silently left out of the data plane), so the
mistake shows up here rather than as a 404 after a sync.
"""

from __future__ import annotations

import json
from typing import Any

from bbgen.validate.checks import (
    CERT_MANAGER,
    GATEWAY_API,
    ROUTE_KINDS,
    EnvView,
    annotation_issuer,
    covers,
    finding,
    issuer_problem,
)
from bbgen.validate.findings import Finding
from bbgen.validate.resources import Resource, dicts, sub

NS_LABEL = "kubernetes.io/metadata.name"
# Listener protocols each route kind can attach to (core protocols only; others are implementation-specific).
ROUTE_PROTOCOLS: dict[str, frozenset[str]] = {
    "HTTPRoute": frozenset({"HTTP", "HTTPS"}),
    "GRPCRoute": frozenset({"HTTP", "HTTPS"}),
    "TLSRoute": frozenset({"TLS"}),
    "TCPRoute": frozenset({"TCP"}),
    "UDPRoute": frozenset({"UDP"}),
}
CORE_PROTOCOLS = frozenset({"HTTP", "HTTPS", "TLS", "TCP", "UDP"})


def strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def routes(view: EnvView) -> list[Resource]:
    return [r for r in view.resources if r.group == GATEWAY_API and r.kind in ROUTE_KINDS]


def gateway_parents(route: Resource) -> list[dict[str, Any]]:
    """parentRefs that name a Gateway (the default kind), not some other parent type."""
    return [
        p
        for p in dicts(route.spec.get("parentRefs"))
        if (p.get("group") if p.get("group") is not None else GATEWAY_API) == GATEWAY_API and (p.get("kind") or "Gateway") == "Gateway"
    ]


def listeners(gateway: Resource) -> list[dict[str, Any]]:
    return dicts(gateway.spec.get("listeners"))


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (an empty selector selects everything)."""
    match = selector.get("matchLabels")
    if isinstance(match, dict) and any(labels.get(str(k)) != str(v) for k, v in match.items()):
        return False
    for expr in dicts(selector.get("matchExpressions")):
        key, op, values = str(expr.get("key")), expr.get("operator"), strings(expr.get("values"))
        present = key in labels
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and present and labels[key] in values):
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def namespace_labels(view: EnvView, name: str) -> dict[str, str]:
    ns = view.find("Namespace", None, name, "")
    return {**(ns.labels() if ns is not None else {}), NS_LABEL: name}


def _fits(route: Resource, listener: dict[str, Any]) -> bool:
    protocol = str(listener.get("protocol") or "")
    kinds = dicts(sub(listener, "allowedRoutes").get("kinds"))
    if kinds:
        return any((k.get("group") if k.get("group") is not None else GATEWAY_API) == route.group and k.get("kind") == route.kind for k in kinds)
    return protocol not in CORE_PROTOCOLS or protocol in ROUTE_PROTOCOLS[route.kind]


def _admits(view: EnvView, gateway: Resource, listener: dict[str, Any], route: Resource) -> bool:
    namespaces = sub(listener, "allowedRoutes", "namespaces")
    origin = namespaces.get("from") or "Same"
    if origin == "All":
        return True
    if origin == "Same":
        return route.namespace == gateway.namespace
    if origin == "Selector":
        return selects(sub(namespaces, "selector"), namespace_labels(view, route.namespace or ""))
    return False


def hosts_intersect(listener_host: str | None, route_hosts: list[str]) -> bool:
    """Does a route hostname fall under the listener's hostname (either side may be a wildcard)?"""
    if not listener_host or not route_hosts:
        return True
    for host in route_hosts:
        if covers(listener_host, host) or covers(host, listener_host):
            return True
        for wide, narrow in ((listener_host, host), (host, listener_host)):
            if wide.startswith("*.") and narrow.endswith(wide[1:]):
                return True
    return False


def _names(items: list[dict[str, Any]]) -> str:
    return ", ".join(f"{item.get('name')} ({item.get('protocol')}/{item.get('port')})" for item in items) or "none"


def resolve_parent(view: EnvView, route: Resource, ref: dict[str, Any]) -> tuple[Resource | None, list[dict[str, Any]], str | None]:
    """The Gateway and listeners a parentRef attaches the route to, or why it attaches to none."""
    ns, name = str(ref.get("namespace") or route.namespace), str(ref.get("name") or "")
    gateway = view.find("Gateway", ns, name, GATEWAY_API)
    if gateway is None:
        return None, [], f"parentRef Gateway {ns}/{name} is not rendered in environment {view.env}"
    found = listeners(gateway)
    section, port = ref.get("sectionName"), ref.get("port")
    where = f"Gateway {ns}/{name}"
    if section:
        found = [item for item in found if item.get("name") == section]
        if not found:
            return gateway, [], f"{where} has no listener {section!r} (it has: {_names(listeners(gateway))})"
    if port is not None:
        found = [item for item in found if item.get("port") == port]
        if not found:
            return gateway, [], f"{where} has no listener{' ' + repr(section) if section else ''} on port {port}"
    fitting = [item for item in found if _fits(route, item)]
    if not fitting:
        wanted = "/".join(sorted(ROUTE_PROTOCOLS[route.kind]))
        return gateway, [], f"{where} listener(s) {_names(found)} do not accept a {route.kind} (needs protocol {wanted})"
    admitted = [item for item in fitting if _admits(view, gateway, item, route)]
    if not admitted:
        froms = sorted({str(sub(item, "allowedRoutes", "namespaces").get("from") or "Same") for item in fitting})
        return gateway, [], f"{where} listener(s) {_names(fitting)} do not admit routes from namespace {route.namespace} (allowedRoutes.namespaces.from: {', '.join(froms)})"
    hosts = strings(route.spec.get("hostnames"))
    matching = [item for item in admitted if hosts_intersect(item.get("hostname"), hosts)]
    if not matching:
        shown = ", ".join(str(item.get("hostname")) for item in admitted)
        return gateway, [], f"hostnames {', '.join(hosts)} match no hostname of {where} listener(s) ({shown})"
    return gateway, matching, None


def check_gateway_refs(view: EnvView) -> list[Finding]:
    """Every route's Gateway parent is rendered and has a listener that accepts it."""
    out: list[Finding] = []
    for route in routes(view):
        for ref in gateway_parents(route):
            _, _, problem = resolve_parent(view, route, ref)
            if problem:
                out.append(finding(route, "gateway-ref", problem))
    return out


def _granted(view: EnvView, source: Resource, to_ns: str, to_group: str, to_kind: str, to_name: str) -> bool:
    for grant in view.of("ReferenceGrant", GATEWAY_API):
        if grant.namespace != to_ns:
            continue
        froms = dicts(grant.spec.get("from"))
        tos = dicts(grant.spec.get("to"))
        from_ok = any(f.get("group") == source.group and f.get("kind") == source.kind and f.get("namespace") == source.namespace for f in froms)
        to_ok = any((t.get("group") or "") == to_group and t.get("kind") == to_kind and (not t.get("name") or t.get("name") == to_name) for t in tos)
        if from_ok and to_ok:
            return True
    return False


def _cross_namespace_ref(view: EnvView, owner: Resource, ref: dict[str, Any], default_kind: str, what: str) -> list[Finding]:
    """A reference into another namespace needs a ReferenceGrant there admitting ``owner``."""
    ns = ref.get("namespace")
    if not ns or ns == owner.namespace:
        return []
    group, kind = str(ref.get("group") or ""), str(ref.get("kind") or default_kind)
    if _granted(view, owner, str(ns), group, kind, str(ref.get("name"))):
        return []
    message = f"{what} {kind} {ns}/{ref.get('name')} is in another namespace and no ReferenceGrant in {ns} allows it"
    return [finding(owner, "reference-grant", message)]


def check_reference_grants(view: EnvView) -> list[Finding]:
    """A route backend or listener certificate in another namespace needs a ReferenceGrant there."""
    out: list[Finding] = []
    for route in routes(view):
        for rule in dicts(route.spec.get("rules")):
            for ref in dicts(rule.get("backendRefs")):
                out += _cross_namespace_ref(view, route, ref, "Service", "backendRef")
    for gateway in view.of("Gateway", GATEWAY_API):
        for listener in listeners(gateway):
            for ref in dicts(sub(listener, "tls").get("certificateRefs")):
                out += _cross_namespace_ref(view, gateway, ref, "Secret", f"listener {listener.get('name')} certificateRef")
    return out


def check_gateway_tls(view: EnvView) -> list[Finding]:
    """Every terminating HTTPS/TLS listener names a certificate that something issues."""
    out: list[Finding] = []
    certs = view.of("Certificate", CERT_MANAGER)
    for gateway in view.of("Gateway", GATEWAY_API):
        issuer = annotation_issuer(gateway)
        terminating = [
            item
            for item in listeners(gateway)
            if item.get("protocol") in ("HTTPS", "TLS") and (sub(item, "tls").get("mode") or "Terminate") == "Terminate"
        ]
        if issuer is not None and terminating:
            problem = issuer_problem(view, issuer[0], issuer[1], issuer[2], gateway.namespace)
            if problem:
                out.append(finding(gateway, "tls-source", f"cert-manager annotation names {problem}"))
        for item in terminating:
            label = f"listener {item.get('name')}"
            refs = [r for r in dicts(sub(item, "tls").get("certificateRefs")) if r.get("name")]
            if not refs:
                out.append(finding(gateway, "tls-source", f"{label} ({item.get('protocol')}) has no tls.certificateRefs, so it has no certificate to serve"))
                continue
            host = item.get("hostname")
            if issuer is not None:
                if not host:
                    message = f"{label} has no hostname; cert-manager only issues for listeners with a hostname, so its Secret is never filled"
                    out.append(finding(gateway, "tls-source", message))
                continue
            for ref in refs:
                if (ref.get("group") or "") != "" or (ref.get("kind") or "Secret") != "Secret":
                    continue  # another certificate store: out of bbgen's sight
                ns, secret = str(ref.get("namespace") or gateway.namespace), str(ref["name"])
                matching = [c for c in certs if c.namespace == ns and c.spec.get("secretName") == secret]
                names = [n for c in matching for n in strings(c.spec.get("dnsNames"))]
                if not matching:
                    why = f"no cert-manager issuer annotation on the Gateway and no Certificate writes Secret {ns}/{secret}"
                elif host and not any(covers(n, str(host)) for n in names):
                    why = f"the Certificate(s) writing Secret {ns}/{secret} do not list {host}"
                else:
                    continue
                out.append(finding(gateway, "tls-source", f"{label} has no certificate source: {why}"))
    return out


def _ingress_keys(res: Resource) -> list[tuple[tuple[Any, ...], str]]:
    cls = res.spec.get("ingressClassName") or res.annotations().get("kubernetes.io/ingress.class") or ""
    keys: list[tuple[tuple[Any, ...], str]] = []
    for rule in dicts(res.spec.get("rules")):
        host = rule.get("host") or "*"
        for path in dicts(sub(rule, "http").get("paths")):
            value = path.get("path") or "/"
            keys.append((("ingress", cls, host, value), f"host {host} path {value}"))
    return keys


def _http_route_keys(view: EnvView, route: Resource) -> list[tuple[tuple[Any, ...], str]]:
    """One key per (listener, host, match): routes on different listeners (HTTP :80 vs HTTPS :443) never clash."""
    attach: set[tuple[str, ...]] = set()
    for ref in gateway_parents(route):
        gateway, found, _ = resolve_parent(view, route, ref)
        if gateway is not None and found:
            attach.update((str(gateway.namespace), gateway.name, str(item.get("port"))) for item in found)
        elif gateway is None:  # unresolvable: key on what the ref says (gateway-ref reports it)
            attach.add((str(ref.get("namespace") or route.namespace), str(ref.get("name")), str(ref.get("sectionName") or "")))
    keys: list[tuple[tuple[Any, ...], str]] = []
    for parent in sorted(attach):
        for host in strings(route.spec.get("hostnames")) or ["*"]:
            for rule in dicts(route.spec.get("rules")):
                for match in dicts(rule.get("matches")) or [{}]:
                    value = sub(match, "path").get("value") or "/"
                    rest = json.dumps({k: v for k, v in match.items() if k != "path"}, sort_keys=True)
                    keys.append(((route.kind, parent, host, value, rest), f"host {host} path {value}"))
    return keys


def check_route_conflicts(view: EnvView) -> list[Finding]:
    """No two routing rules claim the same host and path on the same controller or Gateway listener."""
    claims: dict[tuple[Any, ...], list[tuple[Resource, str]]] = {}
    for res in view.resources:
        if res.is_a("Ingress", "networking.k8s.io"):
            keys = _ingress_keys(res)
        elif res.group == GATEWAY_API and res.kind in ("HTTPRoute", "GRPCRoute"):
            keys = _http_route_keys(view, res)
        else:
            continue
        for key, text in keys:
            claims.setdefault(key, []).append((res, text))
    out: list[Finding] = []
    for owners in claims.values():
        if len(owners) < 2:
            continue
        owners = sorted(owners, key=lambda o: (o[0].source, o[0].ref))
        first, text = owners[0]
        for other, _ in owners[1:]:
            same = other.identity == first.identity
            where = "twice in the same object" if same else f"also by {first.ref} ({first.source})"
            out.append(finding(other, "route-conflict", f"{text} is claimed {where}"))
    return out
