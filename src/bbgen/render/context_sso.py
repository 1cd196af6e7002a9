"""`platform.sso`: the platform realm and its OIDC clients, as templates read them.

Kept apart from render/context.py, which re-exports it, as the backup and custom-app parts are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bbgen.render.context_app import Kube


@dataclass(frozen=True, kw_only=True, slots=True)
class OidcSecret:
    """Where a confidential OIDC client's secret is kept (a Secret made out of band)."""

    name: str
    """Secret name (`oidc-<clientId>`), in the client's and the SSO provider's namespace."""
    key: str
    """Key holding the client secret (`client-secret`)."""
    idKey: str
    """Key holding the client id (`client-id`), for a client that reads its id from a Secret too."""
    env: str
    """Environment variable the SSO provider's realm import reads it from (`OIDC_CLIENT_SECRET_<ID>`)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class OidcClient:
    """One OIDC client of the platform realm: a component or app that signs users in."""

    clientId: str
    """Client id in the realm."""
    unit: str
    """Component or app owning the client."""
    namespace: str
    """Its namespace."""
    public: bool
    """A public (PKCE, secretless) client; otherwise confidential."""
    host: str | None
    """Its public host (redirects go back there), or none."""
    redirectUris: Sequence[str]
    """Allowed redirect URIs: `https://<host><path>` for each of the component's `oidcClient.callbackPaths`, else `https://<host>/*`."""
    webOrigins: Sequence[str]
    """Allowed web origins (`https://<host>`)."""
    secret: OidcSecret | None
    """The client secret's Secret (confidential clients), else none."""
    representation: Kube
    """Keycloak's ClientRepresentation of the client, without the secret (realm import, clients Job)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Sso:
    """Single sign-on: the platform realm on the enabled `sso` provider."""

    realm: str
    """Realm name (`sso.realm`, default the platform name)."""
    issuer: str | None
    """Public issuer URL (tokens' `iss`), or none without an `sso` provider with a public host."""
    internalUrl: str | None
    """The same realm through the provider's in-cluster Service (discovery, tokens, keys), or none."""
    clients: Sequence[OidcClient]
    """Every OIDC client of the platform, sorted by component or app name."""
    adminGroup: str
    """Realm group whose members administer the platform's UIs (`sso.adminGroup`, default `<platform>-admins`);
    every client's tokens carry the user's group names in the `groups` claim (scope `groups`)."""
    groupsScope: str
    """Name of the client scope (and token claim) carrying the user's groups: request it to get `groups`."""
