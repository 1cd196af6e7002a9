"""NetworkPolicy sanity, and warnings about software that upstream no longer maintains.

A NetworkPolicy peer that names a namespace nobody creates lets nothing in (the
intended traffic is silently dropped); a port no selected pod declares usually
means the policy was written against the Service port instead of the pod port.
"""

from __future__ import annotations

from typing import Any

from bbgen.validate.checks import ARGO, EnvView, finding
from bbgen.validate.findings import Finding
from bbgen.validate.nginx import CHART as NGINX_CHART
from bbgen.validate.nginx import uses_chart
from bbgen.kube.objects import containers, pod_template
from bbgen.validate.resources import Resource, dicts, sub
from bbgen.validate.routing import selects

NS_LABEL = "kubernetes.io/metadata.name"
CILIUM_NS_LABELS = ("io.kubernetes.pod.namespace", "k8s:io.kubernetes.pod.namespace")
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
MINIO_IMAGES = ("minio/minio", "docker.io/minio/minio", "quay.io/minio/minio")

NGINX_RETIRED = (
    "the NGINX ingress controller was retired upstream in March 2026 (no further releases or security fixes); "
    "consider ingress.provider: gateway"
)
MINIO_FROZEN = (
    "MinIO stopped publishing community images in October 2025 and the project is in maintenance mode "
    "(no new releases or security fixes through this image); plan a replacement or a maintained build"
)


def check_deprecated(view: EnvView) -> list[Finding]:
    """Warn where the tree deploys software upstream has retired."""
    out: list[Finding] = []
    for app in view.of("Application", ARGO):
        if uses_chart(app, NGINX_CHART):
            out.append(finding(app, "deprecated", NGINX_RETIRED, "warning"))
    for res in view.resources:
        tpl = pod_template(res.doc)
        for _, _, container in containers(tpl.spec) if tpl is not None else []:
            image = str(container.get("image") or "")
            if _repository(image) in MINIO_IMAGES:
                message = f"container {container.get('name')} runs {image}: {MINIO_FROZEN}"
                out.append(finding(res, "deprecated", message, "warning"))
    return out


def _repository(image: str) -> str:
    """The image reference without its tag or digest (a registry port is kept)."""
    head, _, last = image.split("@")[0].rpartition("/")
    name = last.partition(":")[0]
    return f"{head}/{name}" if head else name


def _named_namespaces(selector: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    """Namespace names a selector pins through the well-known namespace-name label."""
    names: list[str] = []
    labels = selector.get("matchLabels")
    if isinstance(labels, dict):
        names += [str(v) for k, v in labels.items() if k in keys]
    for expr in dicts(selector.get("matchExpressions")):
        if expr.get("key") in keys and expr.get("operator") == "In":
            names += [str(v) for v in expr.get("values") or []]
    return names


def _peers(res: Resource) -> list[tuple[str, dict[str, Any]]]:
    """(direction, peer) for every from/to peer of a NetworkPolicy."""
    out: list[tuple[str, dict[str, Any]]] = []
    for rule in dicts(res.spec.get("ingress")):
        out += [("from", p) for p in dicts(rule.get("from"))]
    for rule in dicts(res.spec.get("egress")):
        out += [("to", p) for p in dicts(rule.get("to"))]
    return out


def _cilium_selectors(res: Resource) -> list[tuple[str, dict[str, Any]]]:
    specs = [res.spec] + dicts(res.doc.get("specs")) if res.spec else dicts(res.doc.get("specs"))
    out: list[tuple[str, dict[str, Any]]] = []
    for spec in specs:
        for direction, field in (("ingress", "fromEndpoints"), ("ingressDeny", "fromEndpoints"), ("egress", "toEndpoints"), ("egressDeny", "toEndpoints")):
            for rule in dicts(spec.get(direction)):
                out += [(field, s) for s in dicts(rule.get(field))]
    return out


def _declared_ports(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for _, _, c in containers(pod_spec) for p in dicts(c.get("ports"))]


def _port_exposed(port: Any, end: Any, declared: list[dict[str, Any]]) -> bool:
    if isinstance(port, str) and not port.isdigit():
        return any(p.get("name") == port for p in declared)
    try:
        low = int(port)
        high = int(end) if end is not None else low
    except (TypeError, ValueError):
        return True  # malformed: kubeconform reports it
    return any(isinstance(p.get("containerPort"), int) and low <= p["containerPort"] <= high for p in declared)


def _unexposed_ports(view: EnvView, policy: Resource) -> list[str]:
    """Ingress ports no pod selected by the policy declares (only when every selected pod declares its ports)."""
    selector = sub(policy.spec, "podSelector")
    declared: list[list[dict[str, Any]]] = []
    for res in view.resources:
        tpl = pod_template(res.doc)
        if tpl is not None and res.namespace == policy.namespace and selects(selector, tpl.labels):
            declared.append(_declared_ports(tpl.spec))
    if not declared or any(not ports for ports in declared):
        return []  # selects nothing rendered (chart pods) or a pod that declares no ports: cannot judge
    flat = [p for ports in declared for p in ports]
    missing: list[str] = []
    for rule in dicts(policy.spec.get("ingress")):
        for port in dicts(rule.get("ports")):
            value = port.get("port")
            if value is not None and not _port_exposed(value, port.get("endPort"), flat):
                missing.append(str(value) + (f"-{port['endPort']}" if port.get("endPort") is not None else ""))
    return missing


def check_network_policies(view: EnvView) -> list[Finding]:
    """Peers name namespaces that exist; ingress ports are ports the selected pods declare."""
    known = view.rendered_namespaces | view.control_namespaces | view.created_namespaces | SYSTEM_NAMESPACES
    out: list[Finding] = []
    for policy in view.of("NetworkPolicy", "networking.k8s.io"):
        for direction, peer in _peers(policy):
            for ns in _named_namespaces(sub(peer, "namespaceSelector"), (NS_LABEL,)):
                if ns not in known:
                    message = f"{direction} peer selects namespace {ns!r}, which is not rendered in environment {view.env}; the rule matches nothing"
                    out.append(finding(policy, "network-policy", message))
        missing = _unexposed_ports(view, policy)
        if missing:
            message = f"ingress port(s) {', '.join(missing)} are declared by no container of the pods it selects (a Service port instead of the pod port?)"
            out.append(finding(policy, "network-policy", message, "warning"))
    for policy in view.of("CiliumNetworkPolicy", "cilium.io"):
        for field, selector in _cilium_selectors(policy):
            for ns in _named_namespaces(selector, CILIUM_NS_LABELS):
                if ns not in known:
                    message = f"{field} selects namespace {ns!r}, which is not rendered in environment {view.env}; the rule matches nothing"
                    out.append(finding(policy, "network-policy", message))
    return out
