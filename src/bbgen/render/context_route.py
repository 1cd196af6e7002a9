"""`unit.route` and `unit.basicAuth`: what the unit's public route allows and what guards it, as templates read them.

Kept apart from render/context.py, which re-exports it, as the backup and custom-app parts are.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class Route:
    """What the unit's public route allows beyond the edge's defaults (catalog `route`)."""

    timeout: int | None
    """Seconds a request may take, or none for the edge's default."""
    maxBodySize: str | None
    """Largest request body NGINX accepts, or none for its default."""


@dataclass(frozen=True, kw_only=True, slots=True)
class BasicAuth:
    """HTTP basic auth in front of the unit's public host."""

    secret: str
    """Secret holding the htpasswd line (key `auth`)."""
    realm: str
    """Realm the browser shows."""
    proxy: BasicAuthProxy | None = None
    """Under the gateway provider, the NGINX proxy that checks the Secret (render/basic_auth.py); none under NGINX."""


@dataclass(frozen=True, kw_only=True, slots=True)
class BasicAuthProxy:
    """The basic-auth proxy the HTTPRoute targets (gateway provider): it forwards to the unit's Service."""

    name: str
    """Name of its Deployment, Service and ConfigMap."""
    labels: dict[str, str]
    """Its pods' labels (its own name, not the unit's: the unit's Service and policies must not select it)."""
    selector: dict[str, str]
    """What its Service and the edge's policy select."""
    image: str
    """The pinned NGINX image (unprivileged build)."""
    port: int
    """Port the route's backendRef names (Service and container)."""
    healthPort: int
    """Probe-only port."""
    config: str
    """Its nginx.conf."""
    configHash: str
    """Digest of the config, on the pod template: a changed config rolls the pods."""
    configDir: str
    """Where its ConfigMap (nginx.conf) is mounted."""
    htpasswdDir: str
    """Where the htpasswd Secret is mounted."""
    secretKey: str
    """The Secret's key holding the htpasswd lines."""
