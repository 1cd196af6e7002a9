"""The env var names bbgen injects into a unit, named once for the checks, the renderer and `bbgen components`.

An app's own variable of one of these names would silently replace a connection
setting, so the spec checks need the names before anything is rendered; they are
derived here from the catalog's `expose` blocks alone, never from rendered values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bbgen.catalog import AnyComponent

# What an app with `oidc` is given about its client (the issuer and internal URL only when the SSO provider has them).
OIDC_ENV = ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_INTERNAL_URL", "OIDC_ISSUER_URL")


def app_url_env(app: str) -> str:
    """The variable a custom app's dependants get its in-cluster URL under (`<NAME>_URL`)."""
    return app.upper().replace("-", "_") + "_URL"


def component_injects(component: AnyComponent) -> list[str]:
    """Names of the env vars a catalog component injects into every unit depending on it (its `expose`), sorted."""
    return sorted({*component.expose.env, *component.expose.secret_env})
