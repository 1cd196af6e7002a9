"""platform/<env>/: the cluster-wide basics every Application relies on.

Namespaces, the local-SSD StorageClass, static local PersistentVolumes, and the
NetworkPolicies that isolate each namespace. The objects are templates under
templates/_platform/ fed by :func:`bbgen.render.outputs.platform_context`;
this module derives the policies. The policies are derived from the
dependency graph (a dependant may reach its dependency's ports), never listed by
hand, so a new `dependsOn` opens exactly the path it needs and nothing else.
They sync in wave 0, before any workload exists to be reached.
"""

from __future__ import annotations

from typing import Any

from bbgen.kube.objects import INSTANCE_LABEL, standard_labels
from bbgen.kube.podsecurity import Level, least_strict
from bbgen.catalog import load_catalog, role_home
from bbgen.render import backups, basic_auth
from bbgen.render.context_platform import CiliumNetworkPolicy, NetworkPolicy, PodSecurity
from bbgen.render.units import METRICS_ROLE, Unit, speaks_tls, pod_labels, pod_port_protocols, pod_ports, provider, route_port
from bbgen.spec.models import Platform

NS_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every Namespace
INGRESS = "ingress"  # the role of the NGINX ingress controller (ingress.provider: nginx)
EDGE_GATEWAY = "edge-gateway"  # the role of the component making the platform's Gateway
ACME_SOLVER = {"acme.cert-manager.io/http01-solver": "true"}  # cert-manager's label on its HTTP-01 solver pods
ACME_SOLVER_PORT = 8089
CLIENT, ADMIN, METRICS_PORT, CLUSTER = "client", "admin", "metrics", "cluster"  # the purposes of component.yaml's portPurposes
Rendering = tuple[str, dict[str, Any]]
"""A template of templates/_platform/ (file name without `.yaml.j2`) and its variables
(fields of render/context_platform.py's PlatformObjectVariables)."""


RESTRICTED: Level = "restricted"


def _unit_level(unit: Unit) -> tuple[Level, str]:
    """The Pod Security level a unit's pods need, and why: restricted unless its component declares otherwise.

    Custom apps are always restricted (their pods run non-root with a read-only root
    filesystem); a component's declaration may hinge on one of its settings (host ports).
    """
    fact = unit.component.pod_security if unit.component is not None else None
    if fact is None or (fact.when_setting is not None and not unit.settings.get(fact.when_setting)):
        return RESTRICTED, ""
    return fact.level, fact.why


def pod_security(units: dict[str, Unit], namespace: str, kubernetes_version: str) -> PodSecurity:
    """The Pod Security Admission levels of one namespace: the least strict its units need, warn and audit restricted."""
    needs = sorted((u.name, *_unit_level(u)) for u in units.values() if u.namespace == namespace)
    enforce = least_strict([level for _, level, _ in needs])
    minor = ".".join(kubernetes_version.split(".")[:2])
    why = [f"{name}: {reason}" for name, level, reason in needs if level != RESTRICTED]
    return PodSecurity(enforce=enforce, version=f"v{minor}", warn=RESTRICTED, audit=RESTRICTED, why=why)


def _ns_peer(namespace: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {NS_LABEL: namespace}}}
    if labels:
        peer["podSelector"] = {"matchLabels": dict(labels)}
    return peer


def _ports(numbers: list[int]) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": n} for n in sorted(set(numbers))]


def _policy(
    platform: Platform, name: str, namespace: str, selector: dict[str, str], ingress: list[dict[str, Any]] | None, expressions: list[dict[str, Any]] | None = None
) -> Rendering:
    """A NetworkPolicy: ``ingress`` None denies all ingress to the selected pods."""
    labels = standard_labels(name, part_of=platform.name)
    policy = NetworkPolicy(name=name, namespace=namespace, labels=labels, selector=selector, ingress=ingress, expressions=expressions or ())
    return "networkpolicy", {"policy": policy}


def isolated_namespaces(units: dict[str, Unit]) -> set[str]:
    """Namespaces that get default-deny: all of ours except those a component marks as shared system space."""
    shared = {u.namespace for u in units.values() if u.component is not None and not u.component.network.isolate}
    return {u.namespace for u in units.values()} - shared


def _edge_ports(platform: Platform, unit: Unit) -> tuple[list[int], list[int]]:
    """Pod ports the edge (ingress controller or gateway) must reach on this unit: (HTTP routes, TCP exposures)."""
    http = [route_port(unit)] if unit.host_label else []
    tcp = [t.target_port or t.port for t in platform.ingress.tcp if t.component == unit.name]
    return http, tcp


def _purpose_ports(unit: Unit, wanted: set[str]) -> list[dict[str, Any]]:
    """The unit's pod ports serving any of ``wanted`` (an app's ports are all `client`), as policy ports."""
    if unit.component is None:
        found = pod_port_protocols(unit) if CLIENT in wanted else []
    else:
        comp = unit.component
        found = sorted({(n, "TCP") for name, n in comp.ports.items() if comp.purposes(name) & wanted})
    return [{"protocol": proto, "port": n} for n, proto in found]


def _guarded(unit: Unit, allowed: set[str]) -> bool:
    """Has the unit a port serving none of ``allowed``, so a namespace-wide allowance must leave its pods out?"""
    comp = unit.component
    return comp is not None and any(not comp.purposes(name) & allowed for name in comp.ports)


def _except(units: list[Unit]) -> list[dict[str, Any]]:
    """`matchExpressions` leaving out these units' pods (by their instance label, else their first label)."""
    values: dict[str, set[str]] = {}
    for unit in units:
        labels = pod_labels(unit)
        key = INSTANCE_LABEL if INSTANCE_LABEL in labels else sorted(labels)[0]
        values.setdefault(key, set()).add(labels[key])
    return [{"key": k, "operator": "NotIn", "values": sorted(v)} for k, v in sorted(values.items())]


def _admin_peers(unit: Unit, units: dict[str, Unit]) -> list[dict[str, Any]]:
    """The spec's `adminFrom` as peers: a unit's pods by name, else every pod of a namespace (its own needs none)."""
    peers: list[dict[str, Any]] = []
    for entry in unit.admin_from:
        other = units.get(entry)
        if other is not None and other.namespace != unit.namespace:
            peers.append(_ns_peer(other.namespace, pod_labels(other)))
        elif other is None and entry != unit.namespace:
            peers.append(_ns_peer(entry))
    return peers


def network_policies(platform: Platform, units: dict[str, Unit]) -> list[Rendering]:
    """Default-deny per namespace, then per port purpose (component.yaml's `portPurposes`) who may come in.

    Dependants in other namespaces reach `client` ports; Prometheus (the `metrics` role) `client` and
    `metrics` ports; `admin` ports open to their own namespace and the spec's `adminFrom`; `cluster`
    ports to the component's own pods only. Pods with a port a namespace-wide allowance must not open
    are left out of it and get the ports it would have given them in their own policy.
    """
    isolated = isolated_namespaces(units)
    prometheus = provider(units, METRICS_ROLE)  # the scraper every isolated namespace admits
    scraped = {CLIENT, METRICS_PORT}
    docs: list[Rendering] = []
    for ns in sorted(isolated):
        here = [u for u in sorted(units.values(), key=lambda u: u.name) if u.namespace == ns]
        docs.append(_policy(platform, "default-deny-ingress", ns, {}, None))
        same = _except([u for u in here if _guarded(u, {CLIENT, ADMIN, METRICS_PORT})])
        docs.append(_policy(platform, "allow-same-namespace", ns, {}, [{"from": [{"podSelector": {}}]}], same))
        if prometheus is not None and prometheus.namespace != ns:
            peer = [_ns_peer(prometheus.namespace, pod_labels(prometheus))]
            docs.append(_policy(platform, "allow-prometheus-scrape", ns, {}, [{"from": peer}], _except([u for u in here if _guarded(u, scraped)])))
    for ns in sorted(solver_namespaces(platform, units) & isolated):
        docs.append(_edge_policy(platform, units, "allow-acme-http01-solver", ns, ACME_SOLVER, [ACME_SOLVER_PORT]))
    for unit in sorted(units.values(), key=lambda u: u.name):
        if unit.namespace not in isolated:
            continue
        rules: list[dict[str, Any]] = []
        peers = [
            _ns_peer(d.namespace, pod_labels(d))
            for d in sorted(units.values(), key=lambda u: u.name)
            if unit.name in d.depends_on and d.namespace != unit.namespace
        ]
        peers += _backup_peers(platform, units, unit)
        client = _purpose_ports(unit, {CLIENT})
        if peers and client:
            rules.append({"from": peers, "ports": client})
        if _guarded(unit, {CLIENT, ADMIN, METRICS_PORT}):
            # Left out of allow-same-namespace: its namespace reaches all but the `cluster` ports, its own pods those.
            rules.append({"from": [{"podSelector": {}}], "ports": _purpose_ports(unit, {CLIENT, ADMIN, METRICS_PORT})})
            rules.append({"from": [{"podSelector": {"matchLabels": pod_labels(unit)}}], "ports": _purpose_ports(unit, {CLUSTER})})
        if prometheus is not None and prometheus.namespace != unit.namespace and _guarded(unit, scraped) and _purpose_ports(unit, scraped):
            rules.append({"from": [_ns_peer(prometheus.namespace, pod_labels(prometheus))], "ports": _purpose_ports(unit, scraped)})
        admins, admin_ports = _admin_peers(unit, units), _purpose_ports(unit, {ADMIN})
        if admins and admin_ports:
            rules.append({"from": admins, "ports": admin_ports})
        http, tcp = _edge_ports(platform, unit)
        if (http or tcp) and platform.ingress.provider == "nginx":
            if _controller_ns(units) != unit.namespace:
                rules.append(_nginx_rule(units, http + tcp))
        elif http and basic_auth.behind_proxy(platform, unit):
            # The Gateway reaches only the basic-auth proxy; the proxy reaches the unit through
            # allow-same-namespace (it runs in the unit's namespace). TCP exposures bypass HTTP auth.
            name = basic_auth.proxy_name(unit.name)
            docs.append(_edge_policy(platform, units, f"allow-{name}-from-gateway", unit.namespace, basic_auth.proxy_labels(unit.name), [basic_auth.PORT]))
            if tcp:
                docs.append(_edge_policy(platform, units, f"allow-{unit.name}-from-gateway", unit.namespace, pod_labels(unit), [], tcp))
        elif http or tcp:
            docs.append(_edge_policy(platform, units, f"allow-{unit.name}-from-gateway", unit.namespace, pod_labels(unit), http, tcp))
        if unit.provides(INGRESS) and platform.ingress.provider == "nginx" and platform.ingress.tcp:
            # The chart opens one controller port per TCP exposure, equal to the exposed port.
            rules.append({"ports": _ports([t.port for t in platform.ingress.tcp])})
        if unit.component is not None:
            declared = unit.component.ports
            for allow in unit.component.network.allow:
                numbers = _ports([declared[p] for p in allow.ports])
                rules.append({"ports": numbers} if allow.source == "world" else {"from": [{"namespaceSelector": {}}], "ports": numbers})
        if rules:
            docs.append(_policy(platform, f"allow-{unit.name}", unit.namespace, pod_labels(unit), rules))
    return docs


def _backup_peers(platform: Platform, units: dict[str, Unit], unit: Unit) -> list[dict[str, Any]]:
    """On the store taking backups: every other namespace's backup and restore pods, as dependants are admitted.

    They reach the component they back up through its own namespace's allowance (they run there). A
    component writing its backups into the store itself (`writesToStore`, Elasticsearch's S3 repository)
    gets its own pods admitted instead: they, not its backup pods, talk S3.
    """
    found = backups.store_of(units)
    if found is None or found[0].name != unit.name:
        return []
    env = next(iter(platform.environments))
    peers: list[dict[str, Any]] = []
    for other in sorted(units.values(), key=lambda u: u.name):
        plan = backups.plan(platform, units, other, env) if other.namespace != unit.namespace else None
        if plan is not None:
            peers.append(_ns_peer(other.namespace, pod_labels(other) if plan.writesToStore else backups.backup_pod_labels(other)))
    return peers


def solver_namespaces(platform: Platform, units: dict[str, Unit]) -> set[str]:
    """Where HTTP-01 solver pods run: beside each Ingress, or beside the Gateway whose listeners it certifies,
    and beside every certificate of a TLS TCP exposure (tcp-certificate.yaml.j2), under either provider."""
    tls = {units[t.component].namespace for t in platform.ingress.tcp if t.component in units and speaks_tls(units[t.component], t.target_port or t.port)}
    if platform.ingress.provider == "nginx":
        return {u.namespace for u in units.values() if u.host_label} | tls
    gateway = provider(units, EDGE_GATEWAY)
    if gateway is None:
        return set()
    return ({gateway.namespace} if any(u.host_label for u in units.values()) else set()) | tls


def _controller_ns(units: dict[str, Unit]) -> str:
    """The ingress controller's namespace; without one enabled, where the catalog's would run (an external install)."""
    nginx = provider(units, INGRESS)
    if nginx is not None:
        return nginx.namespace
    return role_home(load_catalog(), INGRESS) or INGRESS


def _nginx_rule(units: dict[str, Unit], ports: list[int]) -> dict[str, Any]:
    nginx = provider(units, INGRESS)
    return {"from": [_ns_peer(_controller_ns(units), pod_labels(nginx) if nginx is not None else None)], "ports": _ports(ports)}


def _cilium_ports(ports: list[int]) -> list[dict[str, Any]]:
    return [{"ports": [{"port": str(p), "protocol": "TCP"} for p in sorted(set(ports))]}]


def _edge_policy(
    platform: Platform, units: dict[str, Unit], name: str, namespace: str, selector: dict[str, str], http: list[int], tcp: list[int] | None = None
) -> Rendering:
    """Let the edge reach selected pods: the NGINX controller's pods, or Cilium's Gateway.

    Cilium proxies HTTP routes through Envoy, so backends see the `ingress` entity,
    which only a CiliumNetworkPolicy can name. TCPRoutes bypass Envoy (Cilium 1.20
    load-balances them in the datapath), so their ports admit the outside world and
    the nodes that forward it.
    """
    if platform.ingress.provider == "nginx":
        return _policy(platform, name, namespace, selector, [_nginx_rule(units, http + (tcp or []))])
    proxied = sorted(set(http) - set(tcp or []))
    rules = [{"fromEntities": ["ingress"], "toPorts": _cilium_ports(proxied)}] if proxied else []
    if tcp:
        rules.append({"fromEntities": ["world", "remote-node", "host"], "toPorts": _cilium_ports(tcp)})
    labels = standard_labels(name, part_of=platform.name)
    return "ciliumnetworkpolicy", {"policy": CiliumNetworkPolicy(name=name, namespace=namespace, labels=labels, selector=selector, rules=rules)}
