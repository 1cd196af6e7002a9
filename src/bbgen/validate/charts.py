"""Render every chart-delivered component the way Argo CD will, and check what comes out.

bbgen writes only a values file for an upstream chart; what reaches the cluster is
the chart's output. For each Helm source of each Application in the tree this finds
the chart (:mod:`bbgen.validate.charts_source`), runs ``helm template`` as Argo CD
does (:mod:`bbgen.validate.charts_render`), and checks the objects with kubeconform
against bbgen's schemas, the AppProject, collisions, NetworkPolicies and the leak
guard (:mod:`bbgen.validate.charts_checks`), and the values files against the keys
the chart declares (:mod:`bbgen.validate.charts_values`).

Findings about a chart's output are located at the Application that deploys it
(the object named as usual) and end with the chart and version that rendered it,
saying so when that is not the pinned version. A chart that cannot be had is a
warning saying how to provide it; ``--no-charts`` turns the whole step off.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbgen.kube import schemas
from bbgen.progress import Progress, nothing
from bbgen.validate import argo, kubeconform
from bbgen.validate.charts_checks import ChartOutput, check_environment, leaks
from bbgen.validate.charts_render import ChartApp, Rendered, chart_apps, served_apis, template
from bbgen.validate.charts_source import ChartOptions, Located, Lookup
from bbgen.validate.charts_values import ChartInterface, load_interface, undeclared
from bbgen.validate.checks import ARGO, finding
from bbgen.validate.findings import Finding, Severity
from bbgen.validate.resources import Resource, YamlProblem, is_namespaced, is_object, scope_overrides, split_documents
from bbgen.validate.tools import Log, find_tool, trim_stderr

DEFAULT_KUBE_VERSION = "1.34.0"


@dataclass(kw_only=True)
class ChartRun:
    """What the chart step adds to a report."""

    findings: list[Finding] = field(default_factory=list)
    checked: list[tuple[str, str]] = field(default_factory=list)
    rendered: list[dict[str, str]] = field(default_factory=list)
    """What rendered, for the report: application file, chart, version, pinned version, where it came from."""
    objects: list[Resource] = field(default_factory=list)
    """Every object the charts rendered (for ``validate --server``)."""


def _kube_version(app: Resource, manifest: dict[str, Any], explicit: str | None) -> str:
    """The version Argo CD's cluster reports: ``--kubernetes-version``, else the environment's, else the spec's."""
    if explicit:
        return explicit
    per_env = manifest.get("kubernetesVersions")
    if app.env and isinstance(per_env, dict) and isinstance(per_env.get(app.env), str):
        return str(per_env[app.env])
    recorded = manifest.get("kubernetesVersion")
    return recorded if isinstance(recorded, str) and schemas.parse_version(recorded) else DEFAULT_KUBE_VERSION


def _note(ca: ChartApp, chart: Located) -> str:
    if chart.mismatch(ca.ref):
        return f" (chart {ca.ref.name} {chart.version} rendered, not the pinned {ca.ref.version})"
    return f" (chart {ca.ref.name} {chart.version})"


def check_charts(
    *,
    apps: list[Resource],
    own: list[Resource],
    root: Path,
    manifest: dict[str, Any],
    options: ChartOptions,
    conform: Path,
    explicit_version: str | None = None,
    log: Log | None = None,
    progress: Progress = nothing,
) -> ChartRun:
    """Render and check every chart source of ``apps``; ``own`` are bbgen's objects (the tree's, built)."""
    run = ChartRun()
    if not options.enabled:
        return run
    wanted, problems = chart_apps([a for a in apps if a.is_a("Application", ARGO)], argo.local_repos(apps, root), root)
    run.findings += problems
    if not wanted:
        return run
    helm = find_tool("helm")
    if helm is None:
        for ca in wanted:
            message = f"{ca.label} {ca.ref.version} not rendered: helm is not installed (run `bbgen tools install`, or pass --no-charts)"
            run.findings.append(finding(ca.app, "chart", message, "warning"))
        return run
    lookup = Lookup(options=options, helm=helm, log=log)
    ready: list[tuple[ChartApp, Located]] = []
    for ca in wanted:
        found = lookup.find(ca.ref)
        if isinstance(found, str):
            run.findings.append(finding(ca.app, "chart", f"{ca.label} not rendered: {found}", "warning"))
            continue
        ready.append((ca, found))
        if found.mismatch(ca.ref):
            message = (
                f"{ca.label}: rendered version {found.version} from the {found.origin}, not the pinned {ca.ref.version} "
                "(--chart-version-mismatch allow); what the pinned version renders may differ"
            )
            run.findings.append(finding(ca.app, "chart", message, "warning"))
    with tempfile.TemporaryDirectory(prefix="bbgen-charts-") as tmp:
        rendered = _render_all(ready, own, root, manifest, helm, explicit_version, Path(tmp), log, progress)
    outputs = _outputs(rendered, own, run)
    run.rendered = [
        {"application": r.chart_app.app.source, "chart": r.chart_app.ref.name, "version": r.chart.version, "pinned": r.chart_app.ref.version, "from": r.chart.origin}
        for r in rendered
        if r.ok
    ]
    run.findings += _conform(outputs, rendered, conform, log)
    for env in sorted({o.app.env or "" for o in outputs}):
        run.findings += check_environment(env, own, [o for o in outputs if (o.app.env or "") == env])
    run.findings += leaks(outputs, options.leak_scan)
    run.findings += _values_findings(ready, root)
    run.checked = sorted({(r.source, r.ref) for o in outputs for r in o.objects})
    run.objects = [r for o in outputs for r in o.objects]
    return run


def _render_all(
    ready: list[tuple[ChartApp, Located]],
    own: list[Resource],
    root: Path,
    manifest: dict[str, Any],
    helm: Path,
    explicit: str | None,
    scratch: Path,
    log: Log | None,
    progress: Progress,
) -> list[Rendered]:
    """Render each chart; again, once, where another chart of the environment serves APIs it could detect."""

    def env_apis(env: str | None, extra: list[Rendered]) -> set[str]:
        docs = [r.doc for r in own if r.env in (env, None)]
        docs += [d for r in extra if r.chart_app.app.env in (env, None) for d in _docs(r)]
        return served_apis(docs)

    def one(ca: ChartApp, chart: Located, apis: set[str]) -> Rendered:
        return template(ca, chart, root=root, helm=helm, kube_version=_kube_version(ca.app, manifest, explicit), apis=apis, scratch=scratch, log=log)

    total = len(ready)
    progress("helm template", 0, total)
    first_apis = [env_apis(ca.app.env, []) for ca, _ in ready]
    first = [one(ca, chart, apis) for (ca, chart), apis in zip(ready, first_apis)]
    progress("helm template", total, total)
    out: list[Rendered] = []
    for (ca, chart), apis, result in zip(ready, first_apis, first):
        full = env_apis(ca.app.env, first)
        out.append(one(ca, chart, full) if result.ok and full != apis else result)
    return out


def _docs(rendered: Rendered) -> list[dict[str, Any]]:
    if not rendered.ok:
        return []
    try:
        return [c.value for c in split_documents(rendered.done.stdout) if is_object(c.value)]
    except YamlProblem:
        return []


def _outputs(rendered: list[Rendered], own: list[Resource], run: ChartRun) -> list[ChartOutput]:
    overrides = scope_overrides([r.doc for r in own] + [d for r in rendered for d in _docs(r)])
    outputs: list[ChartOutput] = []
    for item in rendered:
        ca, note = item.chart_app, _note(item.chart_app, item.chart)
        if not item.ok:
            message = f"helm template failed: {trim_stderr(item.done.stderr.replace('Error: ', '', 1))}"
            run.findings.append(finding(ca.app, "chart", message + note))
            continue
        try:
            docs = [c.value for c in split_documents(item.done.stdout) if is_object(c.value)]
        except YamlProblem as exc:
            run.findings.append(finding(ca.app, "chart", f"helm template output does not parse: {exc}{note}"))
            continue
        objects = [
            Resource(
                doc=doc, origin=ca.app.source, source=ca.app.source, env=ca.app.env,
                namespaced=is_namespaced(str(doc["apiVersion"]), str(doc["kind"]), overrides), default_namespace=ca.namespace,
            )
            for doc in docs
        ]
        outputs.append(ChartOutput(app=ca.app, objects=objects, note=note))
    return outputs


def _conform(outputs: list[ChartOutput], rendered: list[Rendered], binary: Path, log: Log | None) -> list[Finding]:
    """kubeconform over each output, against the schema set of the Kubernetes version it was rendered for."""
    version_of = {id(r.chart_app.app): r.kube_version for r in rendered}
    by_version: dict[str, list[tuple[kubeconform.ConformDoc, str]]] = {}
    from bbgen.kube import yamlio  # lazy

    for item in outputs:
        used = schemas.choose(version_of.get(id(item.app), DEFAULT_KUBE_VERSION)).used
        for res in item.objects:
            by_version.setdefault(used, []).append((kubeconform.ConformDoc(text=yamlio.dump(res.doc), origin=item.app.source, ref=res.ref), item.note))
    out: list[Finding] = []
    for used, units in sorted(by_version.items()):
        notes = {(u.origin, u.ref): n for u, n in units}
        found = kubeconform.validate([u for u, _ in units], binary=binary, schema_locations=schemas.schema_locations(used), log=log)
        out += [Finding(check=f.check, file=f.file, resource=f.resource, message=f.message + notes.get((f.file, f.resource), ""), severity=f.severity) for f in found]
    return out


def _values_findings(ready: list[tuple[ChartApp, Located]], root: Path) -> list[Finding]:
    """Values keys the chart does not declare: errors for the pinned version, warnings for another one."""
    from bbgen.kube import yamlio  # lazy

    interfaces: dict[Path, ChartInterface] = {}
    out: list[Finding] = []
    for ca, chart in ready:
        interface = interfaces.setdefault(chart.path, load_interface(chart.path))
        sources: list[tuple[str, Any]] = []
        for rel in ca.value_files:
            try:
                sources.append((rel, yamlio.load((root / rel).read_text(encoding="utf-8"))))
            except (OSError, UnicodeDecodeError, yamlio.YAMLError):
                continue  # the yaml check reports a broken file
        sources += [(ca.app.source, values) for values in ca.inline]
        severity: Severity = "warning" if chart.mismatch(ca.ref) else "error"
        for file, values in sources:
            for path in undeclared(values, interface) if isinstance(values, dict) else []:
                message = (
                    f"values key {path} is not declared by the chart (not in its values.yaml or values.schema.json, "
                    f"and no template reads it): Helm ignores it{_note(ca, chart)}"
                )
                out.append(Finding(check="chart-values", file=file, resource=ca.app.ref, message=message, severity=severity))
    return out
