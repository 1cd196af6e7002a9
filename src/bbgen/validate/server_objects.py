"""What ``validate --server`` sends: the objects the offline run checked, and the same for a ``--previous`` render.

The offline pipeline already built every Kustomize root and every path an Application
names (and set each object's default namespace from its Application); ``from_pairs``
reuses that work. ``collect`` repeats the same steps for the previous render, which is
never schema-checked or cross-checked: it is only the state the new render is compared to.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bbgen.progress import Progress, nothing
from bbgen.validate.findings import Finding
from bbgen.validate.server import Log, ServerObject, ServerOptions, check

if TYPE_CHECKING:
    from bbgen.validate.pipeline import Parsed
    from bbgen.validate.resources import Resource


def from_pairs(pairs: list[tuple[Parsed, Resource]]) -> list[ServerObject]:
    return [ServerObject(doc=r.doc, file=r.source, ref=r.ref, default_namespace=r.default_namespace) for _, r in pairs]


def from_charts(objects: list[Resource]) -> list[ServerObject]:
    """Chart output: located at the Application that renders the chart, and said so in each message."""
    return [ServerObject(doc=r.doc, file=r.source, ref=r.ref, default_namespace=r.default_namespace, note="rendered by this Application's chart") for r in objects]


def collect(root: Path, log: Log | None = None) -> list[ServerObject]:
    """Every object of the render at ``root``, found the way ``validate`` finds them (its problems are not reported here)."""
    from bbgen.validate import argo, checks  # lazy
    from bbgen.validate import pipeline as p  # lazy
    from bbgen.validate.discover import discover  # lazy
    from bbgen.validate.resources import scope_overrides  # lazy
    from bbgen.validate.tools import require_tool  # lazy

    root = root.resolve()
    ignored: list[Finding] = []
    kustomize = require_tool("kustomize")
    layout = discover(root)
    builds = p._build_all(layout.roots, root, kustomize, log)
    parsed = p._parse_builds(builds, ignored) + p._parse_plain(layout, ignored)
    overrides = scope_overrides([x.chunk.value for x in parsed])
    pairs, targets = p._follow_applications(p._resources(parsed, layout, overrides), builds, layout, kustomize, overrides, ignored, log)
    helm_values = argo.value_files([r for _, r in pairs if r.is_a("Application", checks.ARGO)])
    return from_pairs([(x, r) for x, r in p._apply_defaults(pairs, targets) if not (x.is_file and x.origin in helm_values)])


def server_findings(
    pairs: list[tuple[Parsed, Resource]], options: ServerOptions, *, log: Log | None = None, progress: Progress = nothing, charts: list[Resource] | None = None
) -> list[Finding]:
    """The pipeline's hook: dry-run the checked objects, the charts' output and ``options.extra`` as ``options`` says.

    A ``--previous`` render's charts are not rendered (its own Kustomize output is the state compared to).
    """
    return check(from_pairs(pairs) + from_charts(charts or []), options, log=log, progress=progress, previous=lambda d: collect(d, log))
