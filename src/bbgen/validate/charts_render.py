"""`helm template` exactly as Argo CD runs it for a chart source of an Application.

Argo CD renders a Helm source with the Application's release name (``helm.releaseName``,
else the Application's own name), its destination namespace, the value files in
order (``$ref/path`` files from another source of the same Application, plain ones
relative to the chart), then ``values``, then ``valuesObject``, then ``parameters``;
``--kube-version`` is the cluster's and ``--api-versions`` the APIs the cluster
serves, CRDs included unless ``skipCrds``. Here the cluster is the rendered tree:
its environment's ``kubernetesVersion`` and the CRDs the tree (bbgen's objects and
the charts' own output) installs.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbgen.kube import schemas
from bbgen.validate.argo import normalize_repo, sources
from bbgen.validate.charts_source import ChartRef, Located, helm_env
from bbgen.validate.checks import finding
from bbgen.validate.findings import Finding
from bbgen.validate.resources import Resource, dicts, sub
from bbgen.validate.tools import BUILD_TIMEOUT, Completed, Log, run


@dataclass(frozen=True, kw_only=True)
class ChartApp:
    """One chart source of one Application, with everything ``helm template`` needs from the tree."""

    app: Resource
    ref: ChartRef
    release: str
    namespace: str
    value_files: tuple[str, ...]
    """Tree-relative paths of the ``$ref/...`` value files, in order."""
    chart_value_files: tuple[str, ...]
    """Value files relative to the chart itself (Argo CD's plain ``valueFiles`` entries)."""
    inline: tuple[dict[str, Any], ...] = ()
    """``values`` (parsed) then ``valuesObject``, as Argo CD layers them after the files."""
    parameters: tuple[tuple[str, str, bool], ...] = ()
    """(name, value, forceString) of ``helm.parameters``."""
    skip_crds: bool = False

    @property
    def label(self) -> str:
        return f"chart {self.ref.name} of Application {self.app.name}"


def _local_path(entry: str) -> str:
    return "/".join(p for p in entry.partition("/")[2].split("/") if p not in ("", "."))


def chart_apps(apps: Iterable[Resource], local_repos: set[str], root: Path) -> tuple[list[ChartApp], list[Finding]]:
    """Every Helm chart source of ``apps``; value files outside this tree draw a warning and are left out."""
    out: list[ChartApp] = []
    problems: list[Finding] = []
    from bbgen.kube import yamlio  # lazy: only when a chart is rendered

    for app in apps:
        srcs = sources(app)
        for src in srcs:
            if not src.get("chart") or not src.get("repoURL"):
                continue
            helm = sub(src, "helm")
            tree_files: list[str] = []
            chart_files: list[str] = []
            for entry in helm.get("valueFiles") or []:
                entry = str(entry)
                if not entry.startswith("$"):
                    chart_files.append(entry)
                    continue
                ref_name = entry[1:].partition("/")[0]
                ref_src = next((s for s in srcs if s.get("ref") == ref_name), None)
                if ref_src is None:
                    continue  # the application-path check reports the dangling $ref
                if local_repos and normalize_repo(str(ref_src.get("repoURL") or "")) not in local_repos:
                    message = f"helm valueFile {entry} is in {ref_src.get('repoURL')}, not this repository; the chart renders without it"
                    problems.append(finding(app, "chart", message, "warning"))
                    continue
                if (root / _local_path(entry)).is_file():
                    tree_files.append(_local_path(entry))
            inline: list[dict[str, Any]] = []
            if isinstance(helm.get("values"), str):
                try:
                    parsed = yamlio.load(str(helm["values"]))
                except yamlio.YAMLError as exc:
                    problems.append(finding(app, "chart", f"helm.values does not parse: {' '.join(str(exc).split())}"))
                    continue
                if isinstance(parsed, dict):
                    inline.append(parsed)
            if isinstance(helm.get("valuesObject"), dict):
                inline.append(helm["valuesObject"])
            params = tuple(
                (str(p["name"]), str(p.get("value", "")), bool(p.get("forceString")))
                for p in dicts(helm.get("parameters"))
                if p.get("name")
            )
            out.append(ChartApp(
                app=app,
                ref=ChartRef(name=str(src["chart"]), version=str(src.get("targetRevision") or ""), repo=str(src["repoURL"])),
                release=str(helm.get("releaseName") or app.name),
                namespace=str(sub(app.spec, "destination").get("namespace") or "default"),
                value_files=tuple(tree_files),
                chart_value_files=tuple(chart_files),
                inline=tuple(inline),
                parameters=params,
                skip_crds=bool(helm.get("skipCrds")),
            ))
    return out, problems


def api_versions(docs: Iterable[dict[str, Any]]) -> set[str]:
    """``group/version`` and ``group/version/Kind`` of every served version of every CRD in ``docs``."""
    out: set[str] = set()
    for doc in docs:
        if doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = sub(doc, "spec")
        group, kind = spec.get("group"), sub(spec, "names").get("kind")
        if not isinstance(group, str) or not isinstance(kind, str):
            continue
        for version in dicts(spec.get("versions")):
            if version.get("name") and version.get("served", True):
                out |= {f"{group}/{version['name']}", f"{group}/{version['name']}/{kind}"}
    return out


def served_apis(docs: Iterable[dict[str, Any]]) -> set[str]:
    """What the environment's cluster serves once the tree is synced, as ``--api-versions`` entries.

    The CRDs the tree (and the charts) install; every custom ``group/version/Kind`` its
    objects use (an object of a kind nobody serves could not sync); and, for each such
    group, the kinds bbgen bundles schemas for, since a CRD bundle installs its group as
    a whole (a tree with Gateways has GatewayClasses served, even when the CRDs come
    from another repository).
    """
    items = list(docs)
    out = api_versions(items)
    groups: set[str] = set()
    for doc in items:
        api, kind = str(doc.get("apiVersion") or ""), str(doc.get("kind") or "")
        if "/" in api and "." in api.partition("/")[0] and kind:
            out |= {api, f"{api}/{kind}"}
            groups.add(api.partition("/")[0])
    return out | _bundled(frozenset(groups))


@functools.cache
def _bundled(groups: frozenset[str]) -> set[str]:
    out: set[str] = set()
    for group in groups:
        for path in sorted((schemas.crd_dir() / group).glob("*_*.json")):
            try:
                kinds = json.loads(path.read_text(encoding="utf-8"))["properties"]["kind"]["enum"]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            version = path.stem.rpartition("_")[2]
            out |= {f"{group}/{version}"} | {f"{group}/{version}/{k}" for k in kinds if isinstance(k, str)}
    return out


@dataclass(frozen=True, kw_only=True)
class Rendered:
    """One ``helm template`` run: the chart it used and what came out."""

    chart_app: ChartApp
    chart: Located
    kube_version: str
    done: Completed
    argv: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.done.returncode == 0 and not self.done.timed_out


def template(
    chart_app: ChartApp, chart: Located, *, root: Path, helm: Path, kube_version: str, apis: set[str], scratch: Path, log: Log | None
) -> Rendered:
    """Run ``helm template`` for one chart source; inline values go through files in ``scratch``."""
    argv: list[str | Path] = [helm, "template", chart_app.release, chart.path, "--namespace", chart_app.namespace, "--kube-version", kube_version]
    for api in sorted(apis):
        argv += ["--api-versions", api]
    if not chart_app.skip_crds:
        argv.append("--include-crds")
    for rel in chart_app.chart_value_files:
        argv += ["--values", chart.path / rel]
    for rel in chart_app.value_files:
        argv += ["--values", root / rel]
    for index, values in enumerate(chart_app.inline):
        path = scratch / f"{chart_app.app.name}-{index}.json"
        path.write_text(json.dumps(values), encoding="utf-8")  # JSON is YAML: no dumper needed
        argv += ["--values", path]
    for name, value, force in chart_app.parameters:
        argv += ["--set-string" if force else "--set", f"{name}={value}"]
    done = run(argv, timeout=BUILD_TIMEOUT, log=log, env=helm_env(scratch / "helm"))
    return Rendered(chart_app=chart_app, chart=chart, kube_version=kube_version, done=done, argv=tuple(str(a) for a in argv))
