"""Cross-resource checks over one environment's rendered objects.

Schema validation proves each object is well-formed; these prove the objects
agree with each other the way the cluster will need them to (a Service that
selects nothing, an Ingress pointing at a port that does not exist). Every
check is a pure function of an ``EnvView`` returning findings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bbgen.validate.findings import Finding, Severity
from bbgen.kube.objects import containers, pod_template
from bbgen.validate.resources import Resource, dicts, sub

CERT_MANAGER = "cert-manager.io"
GATEWAY_API = "gateway.networking.k8s.io"
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")
ARGO = "argoproj.io"
AUTO_CONFIGMAPS = frozenset({"kube-root-ca.crt"})  # created by Kubernetes in every namespace
NGINX_AUTH_SECRET = "nginx.ingress.kubernetes.io/auth-secret"


@dataclass(kw_only=True)
class EnvView:
    """One environment: its objects, plus the namespaces Argo CD itself provides."""

    env: str
    resources: list[Resource]
    created_namespaces: set[str] = field(default_factory=set)  # CreateNamespace=true destinations

    def of(self, kind: str, group: str | None = None) -> list[Resource]:
        return [r for r in self.resources if r.is_a(kind, group)]

    def find(self, kind: str, namespace: str | None, name: str, group: str | None = None) -> Resource | None:
        for res in self.resources:
            if res.is_a(kind, group) and res.name == name and (namespace is None or res.namespace == namespace):
                return res
        return None

    @property
    def rendered_namespaces(self) -> set[str]:
        return {r.name for r in self.of("Namespace", "")}

    @property
    def control_namespaces(self) -> set[str]:
        """Where Argo CD's own objects live: installed out of band, before any of this syncs."""
        return {r.namespace for r in self.resources if r.group == ARGO and r.namespace}


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def finding(res: Resource, check: str, message: str, severity: Severity = "error") -> Finding:
    return Finding(check=check, file=res.source, resource=res.ref, message=message, severity=severity)


def _ports(service: Resource) -> list[dict[str, Any]]:
    return dicts(service.spec.get("ports"))


def _port_text(service: Resource) -> str:
    shown = [f"{p.get('name')}/{p.get('port')}" if p.get("name") else str(p.get("port")) for p in _ports(service)]
    return ", ".join(shown) or "none"


def _has_port(service: Resource, port: Any) -> bool:
    if service.spec.get("type") == "ExternalName":
        return True
    if isinstance(port, str) and not port.isdigit():
        return any(p.get("name") == port for p in _ports(service))
    try:
        number = int(port)
    except (TypeError, ValueError):
        return True  # malformed: kubeconform reports it
    return any(p.get("port") == number for p in _ports(service))


def service_ref(view: EnvView, res: Resource, ns: str | None, name: Any, port: Any, what: str) -> list[Finding]:
    if not name:
        return []
    service = view.find("Service", ns, str(name), "")
    if service is None:
        return [finding(res, "service-ref", f"{what} Service {name!r} does not exist in namespace {ns}")]
    if port is None or port == "":
        return [finding(res, "service-ref", f"{what} Service {name!r} names no port")]
    if not _has_port(service, port):
        return [finding(res, "service-ref", f"{what} Service {name!r} has no port {port!r} (it has: {_port_text(service)})")]
    return []


def _ingress_backends(ingress: Resource) -> list[dict[str, Any]]:
    backends = [sub(ingress.spec, "defaultBackend")]
    for rule in dicts(ingress.spec.get("rules")):
        backends.extend(sub(path, "backend") for path in dicts(sub(rule, "http").get("paths")))
    return [b for b in backends if b]


def check_service_refs(view: EnvView) -> list[Finding]:
    """Ingress and Gateway API route backends point at an existing Service and one of its ports."""
    out: list[Finding] = []
    for ingress in view.of("Ingress", "networking.k8s.io"):
        for backend in _ingress_backends(ingress):
            svc = sub(backend, "service")
            if not svc:
                continue  # a `resource:` backend: not a Service reference
            port = sub(svc, "port")
            port_value = port.get("number") if port.get("number") is not None else port.get("name")
            out += service_ref(view, ingress, ingress.namespace, svc.get("name"), port_value, "backend")
    for route in (r for r in view.resources if r.group == GATEWAY_API and r.kind in ROUTE_KINDS):
        for rule in dicts(route.spec.get("rules")):
            for ref in dicts(rule.get("backendRefs")):
                if (ref.get("group") or "") != "" or (ref.get("kind") or "Service") != "Service":
                    continue
                ns = ref.get("namespace") or route.namespace
                out += service_ref(view, route, ns, ref.get("name"), ref.get("port"), "backendRef")
    return out


def check_selectors(view: EnvView) -> list[Finding]:
    """A Service selector must match the pod template of some workload in its namespace."""
    out: list[Finding] = []
    templates: list[tuple[str | None, dict[str, str]]] = []
    for res in view.resources:
        tpl = pod_template(res.doc)
        if tpl is not None:
            templates.append((res.namespace, tpl.labels))
    for service in view.of("Service", ""):
        selector = service.spec.get("selector")
        if not isinstance(selector, dict) or not selector or service.spec.get("type") == "ExternalName":
            continue
        want = {str(k): str(v) for k, v in selector.items()}
        if not any(ns == service.namespace and want.items() <= labels.items() for ns, labels in templates):
            shown = ", ".join(f"{k}={v}" for k, v in sorted(want.items()))
            out.append(finding(service, "selector", f"selector {shown} matches no pod template in namespace {service.namespace}"))
    return out


def _pod_refs(pod_spec: dict[str, Any]) -> Iterable[tuple[str, str, bool, str]]:
    """(kind, name, optional, where) for every ConfigMap/Secret a pod spec reads."""
    for _, _, c in containers(pod_spec):
        cname = c.get("name", "?")
        for env in dicts(c.get("env")):
            source = sub(env, "valueFrom")
            for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                ref = sub(source, key)
                if ref.get("name"):
                    yield kind, str(ref["name"]), bool(ref.get("optional")), f"container {cname} env {env.get('name')}"
        for env_from in dicts(c.get("envFrom")):
            for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                ref = sub(env_from, key)
                if ref.get("name"):
                    yield kind, str(ref["name"]), bool(ref.get("optional")), f"container {cname} envFrom"
    for vol in dicts(pod_spec.get("volumes")):
        vname = vol.get("name", "?")
        cm, secret = sub(vol, "configMap"), sub(vol, "secret")
        if cm.get("name"):
            yield "ConfigMap", str(cm["name"]), bool(cm.get("optional")), f"volume {vname}"
        if secret.get("secretName"):
            yield "Secret", str(secret["secretName"]), bool(secret.get("optional")), f"volume {vname}"
        for src in dicts(sub(vol, "projected").get("sources")):
            for key, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
                ref = sub(src, key)
                if ref.get("name"):
                    yield kind, str(ref["name"]), bool(ref.get("optional")), f"projected volume {vname}"
    for pull in dicts(pod_spec.get("imagePullSecrets")):
        if pull.get("name"):
            yield "Secret", str(pull["name"]), False, "imagePullSecrets"


def _issued_secrets(view: EnvView) -> set[tuple[str | None, str]]:
    """Secrets cert-manager writes: a Certificate's secretName, or an annotated Ingress's TLS secret."""
    out = {(c.namespace, str(c.spec["secretName"])) for c in view.of("Certificate", CERT_MANAGER) if c.spec.get("secretName")}
    for ingress in view.of("Ingress", "networking.k8s.io"):
        if _has_issuer_annotation(ingress):
            out.update((ingress.namespace, str(t["secretName"])) for t in dicts(ingress.spec.get("tls")) if t.get("secretName"))
    for gateway in view.of("Gateway", GATEWAY_API):
        if _has_issuer_annotation(gateway):
            out.update(certificate_refs(gateway))
    return out


def certificate_refs(gateway: Resource) -> set[tuple[str | None, str]]:
    """(namespace, name) of every Secret a Gateway's listeners serve certificates from."""
    out: set[tuple[str | None, str]] = set()
    for listener in dicts(gateway.spec.get("listeners")):
        for ref in dicts(sub(listener, "tls").get("certificateRefs")):
            if (ref.get("group") or "") == "" and (ref.get("kind") or "Secret") == "Secret" and ref.get("name"):
                out.add((str(ref.get("namespace") or gateway.namespace), str(ref["name"])))
    return out


def check_config_refs(view: EnvView) -> tuple[list[Finding], set[str]]:
    """Referenced ConfigMaps must be rendered; referenced Secrets are collected as out-of-band needs."""
    out: list[Finding] = []
    secrets: set[tuple[str | None, str]] = set()
    for res in view.resources:
        tpl = pod_template(res.doc)
        if tpl is not None:
            for kind, name, optional, where in _pod_refs(tpl.spec):
                if kind == "Secret":
                    if not optional:
                        secrets.add((res.namespace, name))
                elif not optional and name not in AUTO_CONFIGMAPS and view.find("ConfigMap", res.namespace, name, "") is None:
                    message = f"{where} reads ConfigMap {name!r}, which is not rendered in namespace {res.namespace}"
                    out.append(finding(res, "configmap-ref", message))
        if res.is_a("ServiceAccount", ""):
            for ref in dicts(res.doc.get("imagePullSecrets")) + dicts(res.doc.get("secrets")):
                if ref.get("name"):
                    secrets.add((res.namespace, str(ref["name"])))
        if res.is_a("Ingress", "networking.k8s.io"):
            auth = res.annotations().get(NGINX_AUTH_SECRET)
            if auth:
                ns, _, name = auth.rpartition("/")
                secrets.add((ns or res.namespace, name))
            secrets.update((res.namespace, str(t["secretName"])) for t in dicts(res.spec.get("tls")) if t.get("secretName"))
        if res.is_a("Gateway", GATEWAY_API):
            secrets.update(certificate_refs(res))
    rendered = {(r.namespace, r.name) for r in view.of("Secret", "")}
    needed = secrets - rendered - _issued_secrets(view)
    return out, {f"{ns}/{name}" for ns, name in needed if ns}


def check_namespaces(view: EnvView) -> list[Finding]:
    """Everything lands in a Namespace this environment renders (or Argo CD owns or creates)."""
    known = view.rendered_namespaces | view.control_namespaces | view.created_namespaces
    out: list[Finding] = []
    grouped: dict[tuple[str, str], list[Resource]] = {}
    for res in view.resources:
        if not res.namespaced:
            continue
        ns = res.namespace
        if not ns:
            out.append(finding(res, "namespace", "has no namespace, and no Application destination supplies one"))
        elif ns not in known:
            grouped.setdefault((res.origin, ns), []).append(res)
    for (origin, ns), members in sorted(grouped.items()):
        message = f"namespace {ns!r} is not rendered as a Namespace in environment {view.env}"
        if len(members) == 1:
            out.append(finding(members[0], "namespace", message))
        else:  # one root cause, one finding: located at the build, naming the first object
            message += f" (used by {len(members)} objects of this build)"
            out.append(Finding(check="namespace", file=origin, resource=members[0].ref, message=message))
    for app in view.of("Application", ARGO):
        ns = sub(app.spec, "destination").get("namespace")
        if ns and ns not in known:
            message = f"destination namespace {ns!r} is not rendered as a Namespace in environment {view.env}"
            out.append(finding(app, "namespace", message + " and CreateNamespace=true is not set"))
    return out


def _has_issuer_annotation(ingress: Resource) -> bool:
    notes = ingress.annotations()
    return bool(notes.get(f"{CERT_MANAGER}/cluster-issuer") or notes.get(f"{CERT_MANAGER}/issuer"))


def annotation_issuer(res: Resource) -> tuple[str, str, str] | None:
    """(kind, group, name) of the issuer a cert-manager annotation names, if any."""
    notes = res.annotations()
    if notes.get(f"{CERT_MANAGER}/cluster-issuer"):
        return ("ClusterIssuer", CERT_MANAGER, notes[f"{CERT_MANAGER}/cluster-issuer"])
    if notes.get(f"{CERT_MANAGER}/issuer"):
        kind = notes.get(f"{CERT_MANAGER}/issuer-kind") or "Issuer"
        return (kind, notes.get(f"{CERT_MANAGER}/issuer-group") or CERT_MANAGER, notes[f"{CERT_MANAGER}/issuer"])
    return None


def issuer_problem(view: EnvView, kind: str, group: str, name: str, namespace: str | None) -> str | None:
    """Why an issuer reference does not resolve, or None when it does (or cannot be judged)."""
    if group and group != CERT_MANAGER:
        return None  # an external issuer type: out of bbgen's sight
    if kind == "ClusterIssuer":
        found = view.find("ClusterIssuer", None, name, CERT_MANAGER)
        return None if found else f"ClusterIssuer {name!r} is not rendered in environment {view.env}"
    found = view.find("Issuer", namespace, name, CERT_MANAGER)
    return None if found else f"Issuer {name!r} is not rendered in namespace {namespace}"


def covers(pattern: str, host: str) -> bool:
    if pattern == host:
        return True
    if pattern.startswith("*."):
        head, _, tail = host.partition(".")
        return bool(head) and tail == pattern[2:]
    return False


def check_tls_sources(view: EnvView) -> list[Finding]:
    """Every TLS host gets its certificate from an issuer that exists, or from a Certificate."""
    out: list[Finding] = []
    certs = view.of("Certificate", CERT_MANAGER)
    for ingress in view.of("Ingress", "networking.k8s.io"):
        issuer = annotation_issuer(ingress)
        if issuer is not None and dicts(ingress.spec.get("tls")):
            problem = issuer_problem(view, issuer[0], issuer[1], issuer[2], ingress.namespace)
            if problem:
                out.append(finding(ingress, "tls-source", f"cert-manager annotation names {problem}"))
        for tls in dicts(ingress.spec.get("tls")):
            secret = tls.get("secretName")
            hosts = _strings(tls.get("hosts"))
            if not secret:
                message = f"TLS entry for {', '.join(hosts) or 'no hosts'} has no secretName, so no certificate can be issued into it"
                out.append(finding(ingress, "tls-source", message))
                continue
            if issuer is not None:
                continue
            matching = [c for c in certs if c.namespace == ingress.namespace and c.spec.get("secretName") == secret]
            names = [n for c in matching for n in _strings(c.spec.get("dnsNames"))]
            for host in hosts:
                if not any(covers(n, host) for n in names):
                    if matching:
                        why = f"the Certificate(s) writing Secret {secret!r} do not list it"
                    else:
                        why = f"no cert-manager issuer annotation and no Certificate writes Secret {secret!r}"
                    out.append(finding(ingress, "tls-source", f"TLS host {host} has no certificate source: {why}"))
    for cert in certs:
        ref = sub(cert.spec, "issuerRef")
        if ref.get("name"):
            problem = issuer_problem(view, str(ref.get("kind") or "Issuer"), str(ref.get("group") or ""), str(ref["name"]), cert.namespace)
            if problem:
                out.append(finding(cert, "tls-source", f"issuerRef names {problem}"))
    return out
