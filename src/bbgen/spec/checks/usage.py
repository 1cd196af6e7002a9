"""Fields a component would not use, and versions that are not versions.

A setting accepted but ignored is worse than an error: the person believes the
platform has it. Each check here knows, from the catalog entry, whether the
component reads the field (a volume only for stateful components, a version only
where there is an image, chart or upstream revision to pin, a public host only for
a component serving HTTP).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bbgen.catalog import ChartComponent, GitComponent, KustomizeComponent
from bbgen.errors import SpecIssue
from bbgen.spec.checks._base import Context, check
from bbgen.spec.references import git_ref_problem, tag_problem

# Helm chart versions are SemVer 2 (optionally with a leading v); a range would make a render mean different charts.
_CHART_VERSION_RE = re.compile(r"v?[0-9]+(\.[0-9]+){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?\Z")


@check()
def component_versions(ctx: Context) -> Iterator[SpecIssue]:
    """`version` is a valid image tag, chart version or git revision, on a component that has one to pin."""
    for name, settings in sorted(ctx.platform.components.items()):
        version = settings.version
        if version is None:
            continue
        path = ("components", name, "version")
        component = ctx.catalog[name]
        if isinstance(component, KustomizeComponent):
            if component.image is None:
                yield ctx.at(path, f"{name!r} has no image of its own, so `version` would be ignored: remove it")
            elif (why := tag_problem(version)) is not None:
                yield ctx.at(path, f"{why}; `version` is the tag of {component.image.repository}")
        elif isinstance(component, ChartComponent):
            if not _CHART_VERSION_RE.match(version):
                yield ctx.at(path, (
                    f"{version!r} is not a chart version (SemVer such as 1.20.2 or v1.21.2; "
                    f"the pinned one is {component.chart.version})"
                ))
        elif isinstance(component, GitComponent) and (why := git_ref_problem(version)) is not None:
            yield ctx.at(path, f"{version!r} is not a git tag or commit of {component.git.repo}: {why.replace('branch name', 'ref')}")


@check()
def ignored_fields(ctx: Context) -> Iterator[SpecIssue]:
    """Refuse a field the component does not use: storage without a volume, a host without HTTP, basic auth without a host."""
    for name, settings in sorted(ctx.platform.components.items()):
        if not settings.enabled:
            continue
        component = ctx.catalog[name]
        where: tuple[str, ...] = ("components", name)
        if settings.storage is not None and not component.stateful:
            yield ctx.at((*where, "storage"), (
                f"{name!r} keeps no persistent volume, so `storage` would be ignored: remove it (see `bbgen components`)"
            ))
        serves_http = "http" in component.ports or (
            isinstance(component, ChartComponent) and any("http" in s.ports for s in component.chart_services)
        )
        if settings.host and not serves_http:
            yield ctx.at((*where, "host"), (
                f"{name!r} serves no HTTP port, so a public host would route nowhere: remove `host` "
                "(raw TCP goes through ingress.tcp)"
            ))
    for name, unit_at in sorted(ctx.enabled.items()):
        basic = ctx.owner(name).basic_auth
        if basic is not None and basic.enabled and not ctx.host_of(name):
            yield ctx.at((*unit_at, "basicAuth", "enabled"), (
                f"{name!r} has no public host, so basic auth would guard nothing: give it a `host` or remove `basicAuth`"
            ))
