"""Every public host carries an authentication decision, and the decision is one the edge can keep.

The render writes the decision on each route (`bbgen.dev/auth`, see bbgen.spec.auth);
here it is read back from what Argo CD will apply, so a route added by hand, an
escape-hatch manifest or a patch that drops the annotation is caught before it
opens a host to the internet. A host served open on purpose (`public`) is listed
as a warning, so the open doors are visible in every validate run.
"""

from __future__ import annotations

from bbgen.kube.objects import pod_template
from bbgen.spec.auth import ANNOTATION, DECISIONS
from bbgen.validate.checks import GATEWAY_API, EnvView, finding
from bbgen.validate.findings import Finding
from bbgen.validate.resources import Resource, dicts

CHECK = "auth"
PROXY_ANNOTATION = "bbgen.dev/auth-proxy"
"""On the Service of the basic-auth proxy bbgen renders under the Gateway API (templates/_shared/basic_auth_proxy.yaml.j2)."""
NGINX_AUTH = ("nginx.ingress.kubernetes.io/auth-type", "nginx.ingress.kubernetes.io/auth-url")
"""NGINX's own authentication annotations: basic auth, or a sub-request to an auth service."""


def _hosts(route: Resource) -> list[str]:
    if route.kind == "Ingress":
        return sorted({str(r["host"]) for r in dicts(route.spec.get("rules")) if r.get("host")})
    names = route.spec.get("hostnames")
    return sorted(str(h) for h in names) if isinstance(names, list) else []


def _serves(route: Resource) -> bool:
    """Whether the route reaches a backend at all (an HTTP→HTTPS redirect route serves nothing to protect)."""
    return route.kind == "Ingress" or any(dicts(rule.get("backendRefs")) for rule in dicts(route.spec.get("rules")))


def _mounts_secret(spec: dict[str, object]) -> bool:
    """Whether a pod spec mounts a Secret volume into a container (the proxy's htpasswd file)."""
    volumes = {str(v.get("name")) for v in dicts(spec.get("volumes")) if isinstance(v.get("secret"), dict)}
    return any(str(m.get("name")) in volumes for c in dicts(spec.get("containers")) for m in dicts(c.get("volumeMounts")))


def _is_auth_proxy(view: EnvView, namespace: str | None, name: str) -> bool:
    """A Service bbgen rendered as the basic-auth proxy, whose selected pods mount the htpasswd Secret."""
    svc = view.find("Service", namespace, name, "")
    if svc is None or svc.annotations().get(PROXY_ANNOTATION) != "basic":
        return False
    selector = svc.spec.get("selector")
    if not isinstance(selector, dict) or not selector:
        return False
    for res in view.resources:
        tpl = pod_template(res.doc) if res.namespace == namespace else None
        if tpl is not None and all(tpl.labels.get(k) == v for k, v in selector.items()) and _mounts_secret(tpl.spec):
            return True
    return False


def _bypassing_refs(view: EnvView, route: Resource) -> list[str]:
    """The backends of an HTTPRoute claiming basic auth that are not the basic-auth proxy (`namespace/name`)."""
    out: list[str] = []
    for rule in dicts(route.spec.get("rules")):
        for ref in dicts(rule.get("backendRefs")):
            namespace = str(ref.get("namespace") or route.namespace)
            name = str(ref.get("name"))
            is_service = ref.get("kind", "Service") == "Service" and ref.get("group", "") in ("", "core")
            if not is_service or not _is_auth_proxy(view, namespace, name):
                out.append(f"{namespace}/{name}")
    return sorted(set(out))


def check_route_auth(view: EnvView) -> list[Finding]:
    """A route to a public host without an authentication decision is an error; one open on purpose, a warning."""
    out: list[Finding] = []
    routes = view.of("Ingress", "networking.k8s.io") + view.of("HTTPRoute", GATEWAY_API)
    for route in routes:
        hosts = _hosts(route)
        if not hosts or not _serves(route):
            continue
        shown = ", ".join(hosts)
        annotations = route.annotations()
        decision = annotations.get(ANNOTATION)
        nginx_auth = route.kind == "Ingress" and any(annotations.get(a) for a in NGINX_AUTH)
        if decision is None:
            if not nginx_auth:
                out.append(finding(route, CHECK, (
                    f"serves {shown} with no authentication decision ({ANNOTATION}): put basic auth or OIDC on the host "
                    "in the spec, use a component with its own login, or set `public: true` to serve it open on purpose"
                )))
        elif decision not in DECISIONS:
            out.append(finding(route, CHECK, f"{ANNOTATION}={decision} is not one of {', '.join(DECISIONS)}"))
        elif decision == "basic" and route.kind == "Ingress" and annotations.get(NGINX_AUTH[0]) != "basic":
            out.append(finding(route, CHECK, f"{ANNOTATION}=basic, but the Ingress sets no {NGINX_AUTH[0]}: basic, so {shown} is open"))
        elif decision == "basic" and route.kind == "HTTPRoute":
            bypass = _bypassing_refs(view, route)
            if bypass:
                out.append(finding(route, CHECK, (
                    f"{ANNOTATION}=basic, but the HTTPRoute sends {shown} to {', '.join(bypass)}, not to a basic-auth proxy "
                    f"(a Service annotated {PROXY_ANNOTATION}=basic whose pods mount the htpasswd Secret), so the host is open"
                )))
        elif decision == "public":
            out.append(finding(route, CHECK, f"serves {shown} without authentication (`public: true` in the spec)", "warning"))
        elif decision == "app":
            out.append(finding(route, CHECK, (
                f"serves {shown} with only the custom app's own authentication, which bbgen cannot check: "
                "put `oidc` or `basicAuth` on the app, or `public: true` if it is open on purpose"
            ), "warning"))
    return out
