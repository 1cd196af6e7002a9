"""What units ask of the nodes: requests within limits, GPUs that fit a node, memory volumes within the limit,
and replica counts the component's templates can render.

Resources are layered (the catalog's or the app default, then the spec's, then an
environment's override), so each check looks at the merged values of every
environment and reports at the line the spec wrote; a problem that comes only
from the catalog's own defaults is the catalog's bug, for its tests to catch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bbgen.errors import SpecIssue
from bbgen.spec._positions import Path_
from bbgen.spec.checks._base import Context, check
from bbgen.spec.references import quantity_value

RESOURCES = ("cpu", "memory")


@dataclass(frozen=True)
class Amount:
    """One merged resource value and where the spec set it (None: a default)."""

    text: str
    path: Path_ | None


def _layers(ctx: Context, name: str, env: str) -> list[tuple[Path_ | None, dict[str, dict[str, str]]]]:
    """The resource layers of a unit in an environment, lowest first, each with the spec path it was written at."""
    from bbgen.spec.models import APP_RESOURCES, Resources

    where = ctx.enabled[name]
    base = ctx.catalog[name].defaults.resources if where[0] == "components" else APP_RESOURCES
    layers: list[tuple[Path_ | None, dict[str, dict[str, str]]]] = [(None, base)]

    def dump(res: Resources | None) -> dict[str, dict[str, str]]:
        if res is None:
            return {}
        return {k: {kk: str(vv) for kk, vv in v.items() if vv is not None} for k, v in res.model_dump(exclude_none=True).items()}

    # The environment's layer is merged into the owner already; its values keep their layer's positions.
    layers.append(((*where, "resources"), dump(ctx.owner(name).resources)))
    return layers


def amount(ctx: Context, name: str, env: str, kind: str, resource: str) -> Amount | None:
    """The merged ``kind`` (requests/limits) of ``resource`` for a unit in an environment."""
    found: Amount | None = None
    for path, layer in _layers(ctx, name, env):
        value = layer.get(kind, {}).get(resource)
        if value is not None:
            found = Amount(text=str(value), path=None if path is None else (*path, kind, resource))
    return found


def _envs(ctx: Context) -> list[str]:
    return sorted(ctx.platform.environments, key=lambda e: (e != "prod", e))


def _env_note(ctx: Context, path: Path_ | None) -> str:
    """` in environment E` when ``path`` was written in environment E's layer."""
    written = ctx.loaded.positions.origin(path) if path is not None else None
    return f" in environment {written[1]}" if written is not None and written[0] == "environments" else ""


@check()
def requests_within_limits(ctx: Context) -> Iterator[SpecIssue]:
    """A request is at most its limit (Kubernetes refuses the pod otherwise), in every environment."""
    seen: set[tuple[Path_, str]] = set()
    for name in sorted(ctx.enabled):
        if ctx.enabled_component(name) and ctx.catalog[name].delivery == "git":
            continue
        for env in _envs(ctx):
            for resource in RESOURCES:
                request = amount(ctx, name, env, "requests", resource)
                limit = amount(ctx, name, env, "limits", resource)
                if request is None or limit is None:
                    continue
                asked, ceiling = quantity_value(request.text), quantity_value(limit.text)
                if asked is None or ceiling is None or asked <= ceiling or ceiling == 0:
                    continue
                written = [a.path for a in (request, limit) if a.path is not None]
                if not written:
                    continue
                at = max(written, key=lambda p: ctx.loaded.positions.origin(p)[0] == "environments")
                message = (
                    f"requests.{resource} {request.text} is above limits.{resource} {limit.text}{_env_note(ctx, at)}: "
                    f"Kubernetes refuses such a pod (lower the request or raise the limit)"
                )
                if (at, message) not in seen:
                    seen.add((at, message))
                    yield ctx.at(at, message)


@check()
def positive_limits(ctx: Context) -> Iterator[SpecIssue]:
    """A limit the spec writes is above zero (a zero limit leaves a container no room at all)."""
    places: list[Path_] = [(*where, "resources") for where in (("components", n) for n in ctx.platform.components)]
    places += [("apps", n, "resources") for n in ctx.platform.apps]
    for place in places:
        for resource in RESOURCES:
            path = (*place, "limits", resource)
            value = _spec_value(ctx, path)
            if value is not None and quantity_value(value) == 0:
                yield ctx.at(path, f"a limit of {value} leaves no room to run: give an amount above zero, or leave it out for the default")


def _spec_value(ctx: Context, path: Path_) -> str | None:
    """The scalar the spec file holds at ``path`` (after validation, so quantities are well-formed)."""
    node: object = ctx.loaded.data
    for seg in path:
        if isinstance(node, dict) and seg in node:
            node = node[seg]
        else:
            return None
    return None if node is None or isinstance(node, (dict, list, bool)) else str(node)


def _setting(ctx: Context, name: str, key: str) -> tuple[object, Path_ | None]:
    """A component's merged setting, with its spec path when the spec sets it."""
    spec = ctx.platform.components[name].settings
    if key in spec:
        return spec[key], ("components", name, "settings", key)
    return ctx.catalog[name].defaults.settings.get(key), None


@check()
def gpus_fit_the_pool(ctx: Context) -> Iterator[SpecIssue]:
    """The GPUs a component's replica asks for (its catalog-declared GPU setting) fit on one node of the GPU pool."""
    pool = ctx.gpu_pool()
    for name in sorted(ctx.enabled):
        key = ctx.catalog[name].resource_settings.gpus if ctx.enabled_component(name) else None
        if key is None:
            continue
        value, path = _setting(ctx, name, key)
        if not isinstance(value, int) or isinstance(value, bool):
            continue  # the settings check reports the type
        def report(message: str, path: Path_ | None = path, name: str = name) -> SpecIssue:
            return ctx.at(path, message) if path is not None else ctx.at_key(("components", name), message)

        if value < 1:
            yield report(f"{key}: {value} leaves {name!r} without a GPU: it needs 1 or more")
            continue
        if pool is None:
            continue  # reported by the GPU pool check
        per_node = ctx.platform.node_pools[pool].gpus_per_node
        if 0 < per_node < value:
            yield report((
                f"{key}: {value} GPUs per replica do not fit on one node of nodePools.{pool} ({per_node} per node), "
                f"so the pod would never be scheduled: lower {key} or give the pool more gpusPerNode"
            ))


@check()
def memory_volumes_within_limit(ctx: Context) -> Iterator[SpecIssue]:
    """A memory-backed volume a setting sizes (`/dev/shm`) is a quantity no larger than the memory limit."""
    seen: set[tuple[Path_, str]] = set()
    for name in sorted(ctx.enabled):
        keys = ctx.catalog[name].resource_settings.memory if ctx.enabled_component(name) else []
        for key in keys:
            value, path = _setting(ctx, name, key)
            size = quantity_value(str(value))
            if size is None:
                if path is not None:
                    yield ctx.at(path, f"{value!r} is not a Kubernetes quantity (e.g. 2Gi)")
                continue
            for env in _envs(ctx):
                limit = amount(ctx, name, env, "limits", "memory")
                ceiling = quantity_value(limit.text) if limit is not None else None
                if limit is None or ceiling is None or size <= ceiling:
                    continue
                at = path if path is not None else limit.path
                if at is None:
                    continue
                message = (
                    f"{key} {value} is above the memory limit {limit.text}{_env_note(ctx, limit.path)}: the volume is memory "
                    f"counted against the limit, so filling it kills the pod (lower {key} or raise limits.memory)"
                )
                if (at, message) not in seen:
                    seen.add((at, message))
                    yield ctx.at(at, message)


def _bounds(low: int | None, high: int | None) -> str:
    if low is not None and low == high:
        return f"exactly {low} replica{'s' if low != 1 else ''}"
    if low is not None and high is not None:
        return f"{low} to {high} replicas"
    return f"at most {high} replicas" if high is not None else f"at least {low} replicas"


@check()
def replica_bounds(ctx: Context) -> Iterator[SpecIssue]:
    """Replica counts stay within what the component's templates render (catalog `scale`), in every environment."""
    for name in sorted(ctx.enabled):
        if not ctx.enabled_component(name):
            continue
        scale = ctx.catalog[name].scale
        if scale.min is None and scale.max is None and not scale.several_need:
            continue
        counts: list[tuple[int, Path_]] = []
        base = ctx.platform.components[name].replicas
        if base is not None:
            counts.append((base, ("components", name, "replicas")))
        why = f": {scale.reason}" if scale.reason else ""
        for count, path in counts:
            if (scale.min is not None and count < scale.min) or (scale.max is not None and count > scale.max):
                yield ctx.at(path, f"{name!r} runs {_bounds(scale.min, scale.max)}, not {count}{why}")
                continue
            for role in scale.several_need if count > 1 else []:
                if ctx.provider(role) is None:
                    yield ctx.at(path, (
                        f"{count} replicas of {name!r} need the {role} role{why}: enable {ctx.providers_text(role)}"
                    ))


@check()
def storage_rules(ctx: Context) -> Iterator[SpecIssue]:
    """A volume size obeys the component's `storageRule` (when its templates compute with the size)."""
    for name, settings in sorted(ctx.platform.components.items()):
        rule = ctx.catalog[name].storage_rule if ctx.enabled_component(name) else None
        if rule is None or settings.storage is None:
            continue
        if (problem := rule.problem(str(settings.storage))) is not None:
            why = f" ({rule.reason})" if rule.reason else ""
            yield ctx.at(("components", name, "storage"), f"{problem}{why}")
