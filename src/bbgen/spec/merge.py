"""The spec as one environment sees it: the base spec with that environment's overrides applied.

Everything an environment's templates read is built from this view (see
render/context.py), never from the base spec plus ad-hoc lookups of
``environments[env]``. So making another field overridable per environment only
changes this merge, not the templates or the code that builds their context.

Today an environment overrides its domain, its TLS issuer and, per component or
app, replicas and resources. In the view those are resolved: the environment's
``domain`` and ``tlsIssuer`` are set explicitly (so ``env_domain``/``env_issuer``
answer the same as on the base spec), component and app settings carry the
environment's replicas and merged resources, and ``environments`` holds only this
environment, its overrides emptied because they are already applied.
"""

from __future__ import annotations

from typing import Any, TypeVar

from bbgen.spec.models import ComponentOverride, ComponentSettings, CustomApp, Platform, ResourceAmounts, Resources

_Owner = TypeVar("_Owner", ComponentSettings, CustomApp)


def _amounts(base: ResourceAmounts | None, over: ResourceAmounts | None) -> ResourceAmounts | None:
    if base is None or over is None:
        return over or base
    changes = {k: v for k, v in over if v is not None}
    return base.model_copy(update=changes)


def merge_resources(base: Resources | None, over: Resources | None) -> Resources | None:
    """``over``'s set amounts win; unset ones keep ``base``'s (the same rule as over catalog defaults)."""
    if base is None or over is None:
        return over or base
    return Resources.model_construct(requests=_amounts(base.requests, over.requests), limits=_amounts(base.limits, over.limits))


def _settings(settings: _Owner, override: ComponentOverride | None) -> _Owner:
    if override is None:
        return settings
    changes: dict[str, Any] = {"resources": merge_resources(settings.resources, override.resources)}
    if override.replicas is not None:
        changes["replicas"] = override.replicas
    return settings.model_copy(update=changes)


def env_view(platform: Platform, env: str) -> Platform:
    """``platform`` as environment ``env`` sees it (a KeyError for an unknown environment)."""
    environment = platform.environments[env]
    overrides = environment.components
    components = {name: _settings(s, overrides.get(name)) for name, s in platform.components.items()}
    apps = {name: _settings(a, overrides.get(name)) for name, a in platform.apps.items()}
    resolved = environment.model_copy(update={
        "domain": platform.env_domain(env),
        "tls_issuer": environment.tls_issuer or platform.tls.issuer,
        "components": {},
    })
    return platform.model_copy(update={"components": components, "apps": apps, "environments": {env: resolved}})
