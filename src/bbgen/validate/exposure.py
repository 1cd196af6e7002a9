"""Every public host carries an authentication decision, and the decision is one the edge can keep.

The render writes the decision on each route (`bbgen.dev/auth`, see bbgen.spec.auth);
here it is read back from what Argo CD will apply, so a route added by hand, an
escape-hatch manifest or a patch that drops the annotation is caught before it
opens a host to the internet. A host served open on purpose (`public`) is listed
as a warning, so the open doors are visible in every validate run.
"""

from __future__ import annotations

from bbgen.spec.auth import ANNOTATION, DECISIONS
from bbgen.validate.checks import GATEWAY_API, EnvView, finding
from bbgen.validate.findings import Finding
from bbgen.validate.resources import Resource, dicts

CHECK = "auth"
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
            out.append(finding(route, CHECK, f"{ANNOTATION}=basic on an HTTPRoute: bbgen renders no basic auth for the Gateway API, so {shown} is open"))
        elif decision == "public":
            out.append(finding(route, CHECK, f"serves {shown} without authentication (`public: true` in the spec)", "warning"))
        elif decision == "app":
            out.append(finding(route, CHECK, (
                f"serves {shown} with only the custom app's own authentication, which bbgen cannot check: "
                "put `oidc` or `basicAuth` on the app, or `public: true` if it is open on purpose"
            ), "warning"))
    return out
