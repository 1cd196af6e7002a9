"""Where each environment's merged spec came from, kept with the platform for errors found after loading.

Render finds some spec mistakes only once objects exist (an escape-hatch patch whose
target matches nothing, an extra manifest file that cannot be read). Those must be
located like every other spec error, so :func:`bbgen.spec.load_platform` keeps each
environment's merged YAML (its positions) and the spec's directory here, by platform
identity while the platform lives, the same way :mod:`bbgen.spec.merge` keeps the
merged models. A Platform built in code has none (callers fall back to an unlocated issue).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path

from bbgen.spec._positions import LoadedYaml
from bbgen.spec.models import Platform


@dataclass(frozen=True)
class SpecSource:
    """Where an environment's merged spec came from: its positions and the directory manifests are relative to."""

    loaded: LoadedYaml
    directory: Path


_SOURCES: dict[int, tuple[weakref.ref[Platform], dict[str, SpecSource]]] = {}


def remember_source(platform: Platform, env: str, loaded: LoadedYaml, directory: Path) -> None:
    """Keep environment ``env``'s merged YAML (with positions) for ``platform``, so render errors are located."""
    key = id(platform)
    found = _SOURCES.get(key)
    if found is None or found[0]() is not platform:
        found = (weakref.ref(platform, lambda _ref: _SOURCES.pop(key, None)), {})
        _SOURCES[key] = found
    found[1][env] = SpecSource(loaded, directory)


def source_of(platform: Platform, env: str) -> SpecSource | None:
    found = _SOURCES.get(id(platform))
    if found is None or found[0]() is not platform:
        return None
    return found[1].get(env)


