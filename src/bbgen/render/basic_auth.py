"""Basic auth under the Gateway API: a small NGINX proxy in front of the unit.

Gateway API has no standard basic-auth filter, and Cilium's Gateway offers no
extension for one that bbgen could render and check offline. So when a unit with
`basicAuth` has a public host and the provider is `gateway`, bbgen renders, in the
unit's namespace, an unprivileged NGINX (Deployment, Service, ConfigMap) that checks
the same htpasswd Secret ingress-nginx reads (key `auth`, made out of band by
`bbgen secrets generate`, mounted by reference) and forwards to the unit's Service.
The HTTPRoute targets the proxy; the edge's CiliumNetworkPolicy admits only the
proxy, and the proxy reaches the unit through the namespace's same-namespace policy.

Why NGINX: it verifies with the very code path (``auth_basic_user_file``, crypt()
on musl) that the NGINX provider uses, so one Secret format serves both providers
and a `$6$` line bbgen generates is accepted by both; it re-reads the file on each
request, so a rotated Secret needs no restart; it runs non-root on a read-only
root filesystem. oauth2-proxy's htpasswd mode would need a cookie secret and a
sign-in page, and accepts only bcrypt or SHA-1 lines.
"""

from __future__ import annotations

import hashlib

from bbgen.kube.objects import INSTANCE_LABEL, NAME_LABEL, standard_labels
from bbgen.render.context import BasicAuthProxy
from bbgen.render.units import Unit, http_service_port
from bbgen.spec.model_parts import BasicAuth
from bbgen.spec.models import GATEWAY_API, Platform

IMAGE = "docker.io/nginxinc/nginx-unprivileged:1.30.1-alpine"
"""NGINX stable, the unprivileged build (uid 101, Alpine: musl's crypt() knows `$6$`)."""
PORT = 8080
"""Where the proxy serves the route."""
HEALTH_PORT = 8081
"""Probes only: a separate server, so no path of the unit is shadowed or left open."""
HTPASSWD_DIR = "/etc/nginx/htpasswd"
CONFIG_DIR = "/etc/nginx/bbgen"
SECRET_KEY = "auth"


def spec_of(view: Platform, unit: Unit) -> BasicAuth | None:
    """The unit's `basicAuth` in this environment's view, when it is on and guards a host."""
    if not unit.host_label:
        return None
    owner = view.apps.get(unit.name) if unit.app is not None else view.components.get(unit.name)
    basic = owner.basic_auth if owner is not None else None
    return basic if basic is not None and basic.enabled else None


def secret_name(unit_name: str, basic: BasicAuth) -> str:
    return basic.secret_name or f"{unit_name}-basic-auth"


def behind_proxy(view: Platform, unit: Unit) -> bool:
    """Whether the unit's host is served through the basic-auth proxy (gateway provider, basic auth on)."""
    return view.ingress.provider == GATEWAY_API and spec_of(view, unit) is not None


def proxy_name(unit_name: str) -> str:
    return f"{unit_name}-auth-proxy"


def proxy_labels(unit_name: str) -> dict[str, str]:
    """The proxy's pod labels: its own name, so neither the unit's Service nor its policies select it."""
    name = proxy_name(unit_name)
    return {NAME_LABEL: name, INSTANCE_LABEL: name}


def _quoted(text: str) -> str:
    """An NGINX string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def nginx_conf(*, upstream: str, realm: str, timeout: int | None, max_body_size: str | None) -> str:
    """The proxy's whole nginx.conf: temp files under /tmp (read-only root), auth on every path, probes apart."""
    timeouts = [f"      proxy_read_timeout {timeout}s;", f"      proxy_send_timeout {timeout}s;"] if timeout else []
    lines = [
        "worker_processes 1;",
        "pid /tmp/nginx.pid;",
        "error_log /dev/stderr warn;",
        "events { worker_connections 1024; }",
        "http {",
        "  server_tokens off;",
        "  access_log /dev/stdout;",
        "  client_body_temp_path /tmp/client_temp;",
        "  proxy_temp_path /tmp/proxy_temp;",
        "  fastcgi_temp_path /tmp/fastcgi_temp;",
        "  uwsgi_temp_path /tmp/uwsgi_temp;",
        "  scgi_temp_path /tmp/scgi_temp;",
        "  map $http_upgrade $connection_upgrade { default upgrade; '' close; }",
        "  server {",
        f"    listen {PORT};",
        # Without a limit from the catalog, none: the Gateway itself sets none either.
        f"    client_max_body_size {max_body_size or '0'};",
        "    location / {",
        f"      auth_basic {_quoted(realm)};",
        f"      auth_basic_user_file {HTPASSWD_DIR}/{SECRET_KEY};",
        f"      proxy_pass {upstream};",
        "      proxy_http_version 1.1;",
        "      proxy_set_header Host $host;",
        "      proxy_set_header Upgrade $http_upgrade;",
        "      proxy_set_header Connection $connection_upgrade;",
        "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "      proxy_set_header X-Forwarded-Host $host;",
        "      proxy_set_header X-Forwarded-Proto https;",
        "      proxy_buffering off;",
        "      proxy_request_buffering off;",
        *timeouts,
        "    }",
        "  }",
        "  server {",
        f"    listen {HEALTH_PORT};",
        "    access_log off;",
        "    location = /healthz { return 200 'ok'; }",
        "  }",
        "}",
        "",
    ]
    return "\n".join(lines)


def proxy_context(view: Platform, unit: Unit, basic: BasicAuth, *, timeout: int | None, max_body_size: str | None) -> BasicAuthProxy | None:
    """What `_shared/basic_auth_proxy.yaml.j2` renders, or None where the edge does basic auth itself (NGINX)."""
    if not behind_proxy(view, unit):
        return None
    upstream = f"http://{unit.service}.{unit.namespace}.svc.cluster.local:{http_service_port(unit)}"
    config = nginx_conf(upstream=upstream, realm=basic.realm, timeout=timeout, max_body_size=max_body_size)
    return BasicAuthProxy(
        name=proxy_name(unit.name), labels=standard_labels(proxy_name(unit.name), part_of=view.name), selector=proxy_labels(unit.name), image=IMAGE, port=PORT, healthPort=HEALTH_PORT,
        config=config, configHash=hashlib.sha256(config.encode()).hexdigest()[:16],
        configDir=CONFIG_DIR, htpasswdDir=HTPASSWD_DIR, secretKey=SECRET_KEY,
    )
