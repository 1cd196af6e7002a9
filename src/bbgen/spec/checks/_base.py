"""What every cross-field check shares: the context it reads and the one registry it joins.

A check is a small function ``(ctx) -> Iterable[SpecIssue]`` whose docstring says
what it guards; ``@check`` adds it to :data:`CHECKS`, in definition order, which
is also the order its issues are reported in. Checks of the ``names`` phase run
first: the others may index the catalog by every component the spec names, so
an unknown name stops the run before they start. Checks of the ``environments``
phase run last, once per environment, when every environment's merged spec has
passed its own checks: they compare an environment with the ones before it
(:attr:`Context.earlier`), for what must differ between clusters.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bbgen.catalog import catalog_roles
from bbgen.errors import SpecIssue
from bbgen.kube.names import fqdn
from bbgen.spec._messages import issue_at

if TYPE_CHECKING:
    from bbgen.catalog import AnyComponent
    from bbgen.spec._positions import LoadedYaml, Path_
    from bbgen.spec.models import ComponentSettings, CustomApp, Platform

Phase = Literal["names", "spec", "environments"]
CheckFn = Callable[["Context"], Iterable[SpecIssue]]


@dataclass(frozen=True)
class Registered:
    phase: Phase
    run: CheckFn


CHECKS: list[Registered] = []


def check(phase: Phase = "spec") -> Callable[[CheckFn], CheckFn]:
    """Register a check; its issues are reported after those of the checks registered before it."""

    def register(fn: CheckFn) -> CheckFn:
        if not (fn.__doc__ or "").strip():
            raise TypeError(f"check {fn.__name__} needs a docstring saying what it guards")
        CHECKS.append(Registered(phase=phase, run=fn))
        return fn

    return register


def hint(name: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for a near miss, else nothing."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Context:
    """The validated spec, where its text was, and the catalog, plus facts several checks derive."""

    def __init__(self, platform: Platform, loaded: LoadedYaml, catalog: dict[str, AnyComponent], *, env: str = "prod") -> None:
        self.platform = platform
        self.loaded = loaded
        self.catalog = catalog
        self.env = env  # the environment whose merged spec this is
        # The environments checked before this one (prod first), by name: set for the `environments` phase.
        self.earlier: Mapping[str, Context] = {}

    # --- reporting ---------------------------------------------------------------------------------

    def at(self, path: Path_, message: str) -> SpecIssue:
        """An issue at the value of ``path`` (or the nearest thing written above it)."""
        return issue_at(self.loaded.file_at(path), self.loaded.positions.locate(path), self.loaded.positions.origin(path), message)

    def at_key(self, path: Path_, message: str) -> SpecIssue:
        """An issue at the mapping key itself: for problems with a name rather than with its value."""
        pos = self.loaded.positions.key(path)
        if pos is None:
            return self.at(path, message)
        return issue_at(self.loaded.file_at(path), pos, self.loaded.positions.origin(path), message)

    def written(self, path: Path_) -> bool:
        """Whether the spec file itself holds ``path`` (rather than a default filling it in)."""
        return self.loaded.positions.value(path) is not None

    # --- derived facts -----------------------------------------------------------------------------

    @functools.cached_property
    def enabled(self) -> dict[str, tuple[str, ...]]:
        """Every enabled unit → where the spec declares it: ``("components", name)`` or ``("apps", name)``."""
        out: dict[str, tuple[str, ...]] = {}
        for name, settings in self.platform.components.items():
            if settings.enabled:
                out[name] = ("components", name)
        for name, app in self.platform.apps.items():
            if app.enabled:
                out[name] = ("apps", name)
        return out

    def enabled_component(self, name: str) -> bool:
        where = self.enabled.get(name)
        return where is not None and where[0] == "components"

    @functools.cached_property
    def roles(self) -> dict[str, list[str]]:
        """Role → the catalog components that provide it."""
        return catalog_roles(self.catalog)

    @functools.cached_property
    def chosen(self) -> dict[str, str]:
        """Role → the enabled component filling it: the spec's valid choice, else the only candidate."""
        out: dict[str, str] = {}
        for role, providers in self.roles.items():
            choice = self.platform.role_choice(role)
            candidates = [p for p in providers if self.enabled_component(p)]
            if choice is not None:
                if choice in candidates:
                    out[role] = choice
            elif len(candidates) == 1:
                out[role] = candidates[0]
        return out

    def provider(self, role: str) -> str | None:
        """The enabled component filling ``role`` (chosen, or the first enabled provider), None if none."""
        if role in self.chosen:
            return self.chosen[role]
        return next((p for p in self.roles.get(role, []) if self.enabled_component(p)), None)

    def providers_text(self, role: str) -> str:
        """The enabled provider of a role, else every catalog provider (for a message)."""
        found = self.provider(role)
        return found if found is not None else " or ".join(self.roles.get(role, [])) or role

    def role_field(self, role: str) -> str:
        """The YAML key that chooses a role's provider."""
        from pydantic.alias_generators import to_camel

        from bbgen.spec.models import ROLE_FIELDS

        return to_camel(ROLE_FIELDS[role]) if role in ROLE_FIELDS else role

    def owner(self, name: str) -> ComponentSettings | CustomApp:
        """The spec entry of an enabled unit."""
        where = self.enabled[name]
        return self.platform.components[name] if where[0] == "components" else self.platform.apps[name]

    def host_of(self, name: str) -> str | None:
        """The host label an enabled unit is exposed on, after defaults (None: not public)."""
        if self.enabled[name][0] == "components":
            settings = self.platform.components[name]
            return self.catalog[name].host if settings.host is None else (settings.host or None)
        return self.platform.apps[name].host or None

    def public_hosts(self) -> dict[str, str]:
        """Every public host this environment serves (full DNS name) → the enabled unit claiming it first."""
        domain = self.platform.env_domain(self.env)
        out: dict[str, str] = {}
        for name, _where in sorted(self.enabled.items(), key=lambda kv: (kv[1][0] != "components", kv[0])):
            label = self.host_of(name)
            if label:
                out.setdefault(fqdn(label, domain), name)
        return out

    def host_site(self, name: str, message: str) -> SpecIssue:
        """An issue about an enabled unit's host: at its `host` when written, else at the unit (its default host)."""
        where = self.enabled[name]
        if where[0] == "apps" or self.platform.components[name].host:
            return self.at((*where, "host"), message)
        return self.at_key(where, message)

    def gpu_pool(self) -> str | None:
        """The GPU node pool GPU workloads are placed on (the first by name), None without one."""
        pools = self.platform.gpu_pools()
        return pools[0] if pools else None


def run(ctx: Context, phase: Phase) -> list[SpecIssue]:
    """Every issue of every check of ``phase``, in registration order."""
    issues: list[SpecIssue] = []
    for registered in CHECKS:
        if registered.phase == phase:
            issues.extend(registered.run(ctx))
    return issues
