"""The validate run: discover, build, schema-check, then cross-check per environment."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bbgen.errors import UsageError
from bbgen.kube import schemas
from bbgen.progress import Progress, nothing
from bbgen.render.paths import MANIFEST_PATH
from bbgen.validate import argo, checks, exposure, hub, kubeconform, mounts, nginx, podsecurity, policy, routing, scrape, workloads
from bbgen.validate.charts_source import ChartOptions
from bbgen.validate.discover import Layout, discover, env_of
from bbgen.validate.findings import Finding, Report
from bbgen.validate.resources import (
    Chunk,
    Resource,
    YamlProblem,
    is_namespaced,
    is_object,
    scope_overrides,
    split_documents,
    sub,
)
from bbgen.validate.tools import BUILD_TIMEOUT, Log, require_tool, run, trim_stderr

if TYPE_CHECKING:
    from bbgen.validate.server import ServerOptions

DEFAULT_KUBERNETES_VERSION = "1.34.0"
BUILD_WORKERS = 2
ALL_ENVS = "(all)"


@dataclass(frozen=True, kw_only=True)
class Build:
    dir: str
    ok: bool
    stdout: str
    stderr: str


@dataclass(frozen=True, kw_only=True)
class Parsed:
    """A parsed object and the raw text kubeconform gets for it."""

    chunk: Chunk
    origin: str
    is_file: bool


def _read_manifest(root: Path, findings: list[Finding]) -> dict[str, Any]:
    path = root / MANIFEST_PATH
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        findings.append(Finding(check="manifest", file=MANIFEST_PATH, resource="", message=f"unreadable: {exc}", severity="warning"))
        return {}
    return data if isinstance(data, dict) else {}


def _resolve_version(explicit: str | None, manifest: dict[str, Any], findings: list[Finding]) -> str:
    if explicit is not None:
        try:
            choice = schemas.choose(explicit)
        except ValueError as exc:
            raise UsageError(message=str(exc), hint="pass e.g. --kubernetes-version 1.34.0") from None
    else:
        recorded = manifest.get("kubernetesVersion")
        if not isinstance(recorded, str) or schemas.parse_version(recorded) is None:
            findings.append(
                Finding(
                    check="manifest",
                    file=MANIFEST_PATH,
                    resource="",
                    message=f"no usable kubernetesVersion recorded; validating against {DEFAULT_KUBERNETES_VERSION}",
                    severity="warning",
                )
            )
            recorded = DEFAULT_KUBERNETES_VERSION
        choice = schemas.choose(recorded)
    if choice.note:
        findings.append(Finding(check="schema", file=MANIFEST_PATH, resource="", message=choice.note, severity="warning"))
    return choice.used


def _env_versions(explicit: str | None, manifest: dict[str, Any], base: str, findings: list[Finding]) -> dict[str, str]:
    """Environment → the Kubernetes version its objects are checked against, where a layer overrides the base one.

    ``--kubernetes-version`` checks everything against one version, as asked.
    """
    recorded = manifest.get("kubernetesVersions")
    if explicit is not None or not isinstance(recorded, dict):
        return {}
    out: dict[str, str] = {}
    for env, wanted in sorted(recorded.items()):
        if isinstance(env, str) and isinstance(wanted, str) and schemas.parse_version(wanted) is not None:
            choice = schemas.choose(wanted)
            if choice.note:
                findings.append(Finding(check="schema", file=MANIFEST_PATH, resource="", message=f"{env}: {choice.note}", severity="warning"))
            out[env] = choice.used
    return {env: used for env, used in out.items() if used != base}


def _build_all(dirs: Iterable[str], root: Path, binary: Path, log: Log | None, progress: Progress = nothing) -> dict[str, Build]:
    lock = threading.Lock()
    todo = sorted(set(dirs))
    finished = 0

    def say(line: str) -> None:  # builds run on threads; keep each logged command on its own line
        assert log is not None
        with lock:
            log(line)

    def one(rel: str) -> Build:
        nonlocal finished
        done = run([binary, "build", root / rel], timeout=BUILD_TIMEOUT, log=say if log else None)
        with lock:
            finished += 1
            progress("kustomize build", finished, len(todo))
        return Build(dir=rel, ok=done.returncode == 0 and not done.timed_out, stdout=done.stdout, stderr=done.stderr)

    if todo:
        progress("kustomize build", 0, len(todo))
    with ThreadPoolExecutor(max_workers=BUILD_WORKERS) as pool:
        return {b.dir: b for b in pool.map(one, todo)}


def _build_findings(build: Build) -> list[Finding]:
    text = trim_stderr(build.stderr.replace("Error: ", "", 1)) if build.stderr.strip() else ""
    if not build.ok:
        return [Finding(check="kustomize", file=build.dir, resource="", message=text or "build failed")]
    if text:
        return [Finding(check="kustomize", file=build.dir, resource="", message=text, severity="warning")]
    return []


def _parse_builds(builds: dict[str, Build], findings: list[Finding]) -> list[Parsed]:
    out: list[Parsed] = []
    for rel, build in sorted(builds.items()):
        findings.extend(_build_findings(build))
        if not build.ok:
            continue
        try:
            out.extend(Parsed(chunk=c, origin=rel, is_file=False) for c in split_documents(build.stdout) if is_object(c.value))
        except YamlProblem as exc:
            findings.append(Finding(check="kustomize", file=rel, resource="", message=f"build output does not parse: {exc}"))
    return out


def _parse_plain(layout: Layout, findings: list[Finding]) -> list[Parsed]:
    out: list[Parsed] = []
    for rel in layout.plain_files:
        try:
            chunks = split_documents((layout.root / rel).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            findings.append(Finding(check="yaml", file=rel, resource="", message=f"unreadable: {exc}"))
            continue
        except YamlProblem as exc:
            findings.append(Finding(check="yaml", file=rel, resource="", message=str(exc)))
            continue
        out.extend(Parsed(chunk=c, origin=rel, is_file=True) for c in chunks if is_object(c.value))
    return out


def _resources(parsed: list[Parsed], layout: Layout, overrides: dict[tuple[str, str], bool]) -> list[tuple[Parsed, Resource]]:
    pairs: list[tuple[Parsed, Resource]] = []
    for item in parsed:
        doc = item.chunk.value
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        source = item.origin if item.is_file else layout.locate(item.origin, str(doc["kind"]), str(meta.get("name") or ""))
        env_dir = item.origin.rpartition("/")[0] if item.is_file else item.origin
        res = Resource(
            doc=doc,
            origin=item.origin,
            source=source,
            env=env_of(env_dir),
            namespaced=is_namespaced(str(doc["apiVersion"]), str(doc["kind"]), overrides),
        )
        pairs.append((item, res))
    return pairs


def _apply_defaults(pairs: list[tuple[Parsed, Resource]], targets: list[argo.AppTarget]) -> list[tuple[Parsed, Resource]]:
    """Objects without a namespace land in their Application's destination namespace."""
    dest: dict[str, set[str]] = {}
    for t in targets:
        ns = sub(t.app.spec, "destination").get("namespace")
        dest.setdefault(t.path, set()).add(str(ns) if ns else "")
    defaults = {path: next(iter(nss)) for path, nss in dest.items() if len(nss) == 1 and "" not in nss}
    return [(p, replace(r, default_namespace=defaults.get(r.origin))) for p, r in pairs]


def _env_views(resources: list[Resource], envs: set[str], findings: list[Finding]) -> list[checks.EnvView]:
    views: list[checks.EnvView] = []
    for env in sorted(envs):
        seen: dict[tuple[str, str, str, str], Resource] = {}
        for res in resources:
            if res.env not in (env, None):
                continue
            first = seen.setdefault(res.identity, res)
            if first is not res and first.origin != res.origin:
                findings.append(
                    checks.finding(res, "duplicate", f"also rendered by {first.origin}; two Applications would fight over it", "warning")
                )
        members = list(seen.values())
        created = set()
        for app in (r for r in members if r.is_a("Application", checks.ARGO)):
            options = sub(app.spec, "syncPolicy").get("syncOptions") or []
            ns = sub(app.spec, "destination").get("namespace")
            if ns and "CreateNamespace=true" in options:
                created.add(str(ns))
        views.append(checks.EnvView(env=env, resources=members, created_namespaces=created))
    return views


def _follow_applications(
    pairs: list[tuple[Parsed, Resource]],
    builds: dict[str, Build],
    layout: Layout,
    binary: Path,
    overrides: dict[tuple[str, str], bool],
    findings: list[Finding],
    log: Log | None,
    progress: Progress = nothing,
) -> tuple[list[tuple[Parsed, Resource]], list[argo.AppTarget]]:
    """Build every path an Application names; repeat for Applications those builds contain."""
    targets: list[argo.AppTarget] = []
    apps = [r for _, r in pairs if r.is_a("Application", checks.ARGO)]
    local = argo.local_repos(apps, layout.root)
    pending = apps
    while pending:
        new_targets, problems = argo.plan_targets(pending, layout, local)
        findings += problems
        targets += new_targets
        extra = _build_all({t.path for t in new_targets} - set(builds), layout.root, binary, log, progress)
        builds.update(extra)
        more = _resources(_parse_builds(extra, findings), layout, overrides)
        pairs += more
        pending = [r for _, r in more if r.is_a("Application", checks.ARGO)]
    for t in targets:
        if not builds[t.path].ok:
            message = f"source path {t.path} does not build (see the kustomize finding for it)"
            findings.append(checks.finding(t.app, "application-path", message))
    return pairs, targets


def _cross_check(
    resources: list[Resource],
    envs: set[str],
    targets: list[argo.AppTarget],
    builds: dict[str, Build],
    findings: list[Finding],
    chart_values: list[nginx.ChartValues] | None = None,
    manifest: dict[str, Any] | None = None,
) -> set[str]:
    """Run every cross-resource check per environment; returns the out-of-band Secrets needed."""
    by_path: dict[str, list[Resource]] = {}
    for res in resources:
        by_path.setdefault(res.origin, []).append(res)
    secrets: set[str] = set()
    for view in _env_views(resources, envs, findings):
        deployed: dict[tuple[str, str, str, str], list[Resource]] = {}
        for t in targets:
            if t.app.env in (view.env, None) and builds[t.path].ok:
                deployed.setdefault(t.app.identity, []).extend(r for r in by_path.get(t.path, []) if r.env in (view.env, None))
        findings += checks.check_service_refs(view)
        findings += checks.check_selectors(view)
        findings += workloads.check_service_target_ports(view)
        findings += workloads.check_autoscalers(view)
        findings += workloads.check_disruption_budgets(view)
        findings += workloads.check_unique_entries(view)
        config_findings, needed = checks.check_config_refs(view)
        findings += config_findings
        secrets |= needed
        findings += mounts.check_pod_volumes(view)
        findings += mounts.check_stateful_sets(view)
        findings += checks.check_namespaces(view)
        findings += routing.check_route_conflicts(view)
        findings += checks.check_tls_sources(view)
        findings += routing.check_gateway_tls(view)
        findings += routing.check_gateway_refs(view)
        findings += routing.check_reference_grants(view)
        findings += nginx.check_tcp_services(view, chart_values or [])
        findings += policy.check_network_policies(view)
        findings += podsecurity.check_pod_security(view)
        findings += exposure.check_route_auth(view)
        findings += policy.check_deprecated(view)
        findings += argo.check_projects(view, deployed)
        findings += scrape.check_scrape_targets(view, scrape.metrics_ports(manifest or {}, view.env))
    return secrets


def _hub_checks(resources: list[Resource], targets: list[argo.AppTarget], builds: dict[str, Build], manifest: dict[str, Any]) -> list[Finding]:
    """One owner per Argo CD object; each Application on its environment's cluster (the manifest's `destinations`)."""
    by_path: dict[str, list[Resource]] = {}
    for res in resources:
        by_path.setdefault(res.origin, []).append(res)
    deployed = {t.app.identity: by_path.get(t.path, []) for t in targets}
    raw = manifest.get("destinations")
    destinations = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return hub.check_owners(resources, set(builds)) + hub.check_destinations(resources, destinations, deployed)


def _chart_services(manifest: dict[str, Any], findings: list[Finding]) -> list[Resource]:
    """Services upstream charts create, as the render declared them: routes to them are checked, their pods are not."""
    out: list[Resource] = []
    entries = manifest.get("chartServices")
    for entry in entries if isinstance(entries, list) else []:
        try:
            ports = [{"name": str(p["name"]), "port": int(p["port"])} for p in entry["ports"]]
            doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": str(entry["name"]), "namespace": str(entry["namespace"])}, "spec": {"ports": ports}}
        except (KeyError, TypeError, ValueError):
            findings.append(Finding(check="manifest", file=MANIFEST_PATH, resource="", message=f"unusable chartServices entry {entry!r}", severity="warning"))
            continue
        out.append(Resource(doc=doc, origin=MANIFEST_PATH, source=f"chart of {entry.get('component', '?')} (declared in {MANIFEST_PATH})", env=None, namespaced=True))
    return out


def validate(
    root: Path,
    *,
    kubernetes_version: str | None,
    log: Log | None,
    progress: Progress = nothing,
    server: ServerOptions | None = None,
    charts: ChartOptions | None = None,
) -> Report:
    if not root.is_dir():
        raise UsageError(message=f"{root} is not a directory", hint="pass the root of a rendered tree")
    root = root.resolve()
    findings: list[Finding] = []
    manifest = _read_manifest(root, findings)
    version = _resolve_version(kubernetes_version, manifest, findings)
    kustomize = require_tool("kustomize")
    conform = require_tool("kubeconform")
    layout = discover(root)

    builds = _build_all(layout.roots, root, kustomize, log, progress)
    parsed = _parse_builds(builds, findings) + _parse_plain(layout, findings)
    overrides = scope_overrides([p.chunk.value for p in parsed])
    pairs, targets = _follow_applications(_resources(parsed, layout, overrides), builds, layout, kustomize, overrides, findings, log, progress)
    helm_values = argo.value_files([r for _, r in pairs if r.is_a("Application", checks.ARGO)])
    pairs = [(p, r) for p, r in _apply_defaults(pairs, targets) if not (p.is_file and p.origin in helm_values)]

    by_version: dict[str, list[kubeconform.ConformDoc]] = {}
    env_versions = _env_versions(kubernetes_version, manifest, version, findings)
    for p, r in pairs:
        used = env_versions.get(r.env, version) if r.env else version
        by_version.setdefault(used, []).append(kubeconform.ConformDoc(text=p.chunk.text, origin=p.origin, ref=r.ref))
    progress(f"kubeconform ({len(pairs)} objects)", 0, 1)
    for used, units in sorted(by_version.items()):
        findings += kubeconform.validate(units, binary=conform, schema_locations=schemas.schema_locations(used), log=log)
    progress(f"kubeconform ({len(pairs)} objects)", 1, 1)
    chart_checked: list[tuple[str, str]] = []
    chart_rendered: list[dict[str, str]] = []
    chart_objects: list[Resource] = []
    if charts is not None:  # what Argo CD renders from the upstream charts (bbgen.validate.charts)
        from bbgen.validate.charts import check_charts

        apps = [r for _, r in pairs if r.is_a("Application", checks.ARGO)]
        chart_run = check_charts(
            apps=apps, own=[r for _, r in pairs], root=root, manifest=manifest, options=charts, conform=conform,
            explicit_version=kubernetes_version, log=log, progress=progress,
        )
        findings += chart_run.findings
        chart_checked, chart_rendered, chart_objects = chart_run.checked, chart_run.rendered, chart_run.objects

    resources = [r for _, r in pairs] + _chart_services(manifest, findings)
    envs = {e for e in manifest.get("environments") or [] if isinstance(e, str)} | {r.env for r in resources if r.env}
    chart_values = nginx.load_values([r for r in resources if r.is_a("Application", checks.ARGO)], root)
    secrets = _cross_check(resources, envs or {ALL_ENVS}, targets, builds, findings, chart_values, manifest)
    findings += _hub_checks(resources, targets, builds, manifest)
    if server is not None:  # --server: the same objects, dry-run against a real API server
        from bbgen.validate.server_objects import server_findings  # lazy

        findings += server_findings(pairs, server, log=log, progress=progress, charts=chart_objects)
    unique = sorted(set(findings), key=Finding.sort_key)
    checked = sorted({(r.source, r.ref) for _, r in pairs} | set(chart_checked))
    return Report(findings=unique, builds=sorted(builds), required_secrets=sorted(secrets), checked=checked, kubernetes_version=version, charts=chart_rendered)
