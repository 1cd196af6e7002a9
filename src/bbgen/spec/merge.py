"""The spec as one environment sees it: the base spec with that environment's layer applied.

Everything an environment's templates read is built from this view (see
render/context_build.py), never from the base spec plus ad-hoc lookups of
``environments[env]``. So making another field overridable per environment only
changes the merge (:mod:`bbgen.spec.layers`), not the templates or the code that
builds their context.

The merge itself runs on the raw data before validation (so errors in a layer are
located at the layer); :func:`bbgen.spec.load_platform` validates and checks each
environment's merged spec and keeps it with the platform. In the view the
environment's ``domain`` and ``tlsIssuer`` are set explicitly (so
``env_domain``/``env_issuer`` answer the same as on the base spec), and
``environments`` holds only this environment, its layer emptied because it is
already applied.
"""

from __future__ import annotations

import weakref

from bbgen.spec._positions import PosNode
from bbgen.spec.layers import layered
from bbgen.spec.models import Platform

# Each platform's merged environments, by id while the platform lives (a frozen model holding dicts is not
# hashable, and a private attribute would take part in equality).
_LAYERED: dict[int, tuple[weakref.ref[Platform], dict[str, Platform]]] = {}


def _cache(platform: Platform) -> dict[str, Platform]:
    key = id(platform)
    found = _LAYERED.get(key)
    if found is not None and found[0]() is platform:
        return found[1]
    views: dict[str, Platform] = {}
    _LAYERED[key] = (weakref.ref(platform, lambda _ref: _LAYERED.pop(key, None)), views)
    return views


def remember_layered(platform: Platform, env: str, merged: Platform) -> None:
    """Keep ``merged`` (environment ``env``'s validated, checked spec, all environments listed) with ``platform``."""
    _cache(platform)[env] = merged


def layered_platform(platform: Platform, env: str) -> Platform:
    """``platform`` with environment ``env``'s layer applied (every environment still listed, layers removed).

    A spec loaded from a file has it already; a Platform built in code gets it by
    merging its own data (a KeyError for an unknown environment).
    """
    platform.environments[env]  # noqa: B018  (KeyError for an unknown environment)
    cached = _cache(platform).get(env)
    if cached is not None:
        return cached
    data = platform.model_dump(by_alias=True, exclude_unset=True)
    if "environments" not in data:
        data["environments"] = {name: {} for name in platform.environments}
    merged_data, _ = layered(data, PosNode(), env)
    merged = Platform.model_validate(merged_data)
    remember_layered(platform, env, merged)
    return merged


def env_view(platform: Platform, env: str) -> Platform:
    """``platform`` as environment ``env`` sees it (a KeyError for an unknown environment)."""
    view = layered_platform(platform, env)
    environment = view.environments[env]
    resolved = environment.model_copy(update={
        "domain": view.env_domain(env),
        "tls_issuer": environment.tls_issuer or view.tls.issuer,
    })
    return view.model_copy(update={"environments": {env: resolved}})
