"""Spec → in-memory repository. Pure: reads templates, writes nothing."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from bbgen.render import layout
from bbgen.catalog import AnyComponent, ChartComponent, load_catalog, templates_root
from bbgen.errors import TemplateError
from bbgen.kube import objects, yamlio
from bbgen.kube.kustomize import kustomization
from bbgen.render import basic_auth, checksums, engine, overlay, patches, paths
from bbgen.render.context import Scope
from bbgen.render.context_build import build_scope
from bbgen.render.outputs import add_outputs
from bbgen.render.tree import Tree
from bbgen.render.units import Unit, build_units, env_units as units_of_env
from bbgen.spec.auth import unguarded
from bbgen.spec.merge import env_view
from bbgen.spec.models import GATEWAY_API, Platform

ENV_LABEL = "bbgen.dev/environment"


@functools.cache
def _app_templates(root: Path) -> tuple[Path, ...]:
    return tuple(sorted((root / "_app").glob("*.yaml.j2")))


BACKUP_TEMPLATE = "backup-cronjob.yaml.j2"
RESTORE_TEMPLATE = "restore-job.yaml.j2"
OFFSITE_TEMPLATE = "offsite-cronjob.yaml.j2"

ROUTE_TEMPLATES = {"nginx": "ingress.yaml.j2", GATEWAY_API: "httproute.yaml.j2"}


def _unit_templates(root: Path, platform: Platform, unit: Unit) -> list[Path]:
    if unit.app is not None:
        base = list(_app_templates(root))
    else:
        assert unit.component is not None
        base = list(unit.component.templates)
    shared = root / "_shared"
    if unit.host_label:
        base.append(shared / ROUTE_TEMPLATES[platform.ingress.provider])
    if basic_auth.behind_proxy(platform, unit):
        base.append(shared / "basic_auth_proxy.yaml.j2")
    exposed = any(t.component == unit.name for t in platform.ingress.tcp)
    if platform.ingress.provider == GATEWAY_API and exposed:
        base.append(shared / "tcproute.yaml.j2")
    if exposed and unit.component is not None and unit.component.tcp_tls:
        base.append(shared / "tcp-certificate.yaml.j2")  # renders nothing unless an exposure's TLS is on
    return base


def _render_unit(root: Path, platform: Platform, scope: Scope, unit: Unit) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    context = scope.variables(unit.name)
    templates = _unit_templates(root, platform, unit)
    if context["unit"].backup is not None:  # a backup method, an object store to write to
        templates.append(root / "_shared" / BACKUP_TEMPLATE)
    store = context["unit"].backupStore
    if store is not None and store.offsite is not None:  # the store taking backups copies them off-site
        templates.append(root / "_shared" / OFFSITE_TEMPLATE)
    for template in templates:
        for doc in engine.render_documents(root, template, context):
            if doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
                raise TemplateError(template=str(template.relative_to(root.parent)), line=None, message="renders a Secret with data; secrets never enter git")
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(scope.units[unit.name].labels)
            docs.append(doc)
    seen: set[tuple[str, str, str, str]] = set()
    for doc in docs:
        ident = objects.identity(doc)
        if ident in seen:
            raise TemplateError(template=f"templates/{unit.name}", line=None, message=f"renders {ident[1]}/{ident[3]} twice")
        seen.add(ident)
    return docs


EnvUnits = dict[str, dict[str, Unit]]
"""Environment → its units, resolved from its view (spec.merge.env_view)."""


def _envs_of(unit: Unit, env_units: EnvUnits) -> list[str]:
    """The environments that run ``unit`` (an environment's layer may disable or add it), sorted."""
    return sorted(env for env, units in env_units.items() if unit.name in units)


def _hatches(platform: Platform, env: str, unit: Unit) -> tuple[Any, tuple[str, ...]]:
    """The unit's entry in environment ``env``'s view (its `patches`, `manifests`, `helmValues`) and its spec path."""
    view = env_view(platform, env)
    if unit.kind == "app":
        return view.apps[unit.name], ("apps", unit.name)
    return view.components.get(unit.name), ("components", unit.name)


def _check_hatches(platform: Platform, unit: Unit, env_units: EnvUnits) -> None:
    """Each escape hatch only where it means something: a located spec error otherwise."""
    for env in _envs_of(unit, env_units):
        entry, at = _hatches(platform, env, unit)
        if entry is None:
            continue
        where = patches.source_of(platform, env)
        if entry.helm_values and unit.delivery != "chart":
            raise patches.located(where, (*at, "helmValues"), "only a chart component takes Helm values (hint: use `patches` to change rendered objects)")
        if (entry.patches or entry.manifests) and not layout.has_manifests(unit):
            field = "patches" if entry.patches else "manifests"
            raise patches.located(where, (*at, field), "this component renders no Kustomize manifests of its own (hint: for a chart, use `helmValues`)")


def _with_hatches(platform: Platform, env: str, unit: Unit, scope: Scope, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``docs`` with the unit's extra manifests added and its patches applied, for environment ``env``."""
    entry, at = _hatches(platform, env, unit)
    if entry is None or not (entry.patches or entry.manifests):
        return docs
    where = patches.source_of(platform, env)
    try:
        if entry.manifests:
            extra = patches.read_manifests(where.directory if where else Path.cwd(), list(entry.manifests), (*at, "manifests"))
            for doc in extra:
                doc.setdefault("metadata", {}).setdefault("labels", {}).update(scope.units[unit.name].labels)
            known = {objects.identity(d) for d in docs}
            for doc in extra:
                if objects.identity(doc) in known:
                    raise patches.HatchError((*at, "manifests"), f"{doc['kind']}/{doc['metadata']['name']} is already rendered (hint: patch it instead)")
                known.add(objects.identity(doc))
            docs = [*docs, *extra]
        return patches.apply_patches(docs, list(entry.patches), (*at, "patches"))
    except patches.HatchError as err:
        raise patches.located(where, err.path, err.message) from None


def _add_kustomize_unit(tree: Tree, root: Path, platform: Platform, unit: Unit, scopes: dict[str, Scope], env_units: EnvUnits) -> None:
    per_env = {
        env: _with_hatches(platform, env, unit, scopes[env], _render_unit(root, env_view(platform, env), scopes[env], env_units[env][unit.name]))
        for env in _envs_of(unit, env_units)
    }
    for docs in per_env.values():  # after the patches: each environment's own ConfigMaps, so its overlay carries its checksum
        checksums.annotate(docs)
    base = per_env["prod"] if "prod" in per_env else per_env[min(per_env)]  # the base is prod's, or the first that runs it
    base_dir = paths.base_dir(unit.name)
    layout.add_docs(tree, base_dir, base)
    base_by_id = {objects.identity(d): d for d in base}
    for env, docs in sorted(per_env.items()):
        tree.warnings.extend(unguarded(docs, env))
        env_by_id = {objects.identity(d): d for d in docs}
        patches: list[dict[str, Any]] = []
        extra_files: list[str] = []
        for ident in sorted(set(base_by_id) | set(env_by_id)):
            if ident not in env_by_id:
                gone = base_by_id[ident]
                stub = {"$patch": "delete", "apiVersion": gone["apiVersion"], "kind": gone["kind"], "metadata": {"name": ident[3]}}
                if ident[2]:
                    stub["metadata"]["namespace"] = ident[2]
                patches.append({"patch": yamlio.dump(stub)})
            elif ident not in base_by_id:
                name = paths.resource_file(env_by_id[ident])
                tree.add_doc(f"{paths.overlay_dir(unit.name, env)}/{name}", env_by_id[ident])
                extra_files.append(name)
            else:
                ops = overlay.json_patch(base_by_id[ident], env_by_id[ident])
                if ops:
                    patches.append({"target": overlay.patch_target(env_by_id[ident]), "patch": yamlio.dump(ops)})
        extra: dict[str, Any] = {"labels": [{"pairs": {ENV_LABEL: env}, "includeSelectors": False}]}
        if patches:
            extra["patches"] = patches
        tree.add_doc(
            f"{paths.overlay_dir(unit.name, env)}/{paths.KUSTOMIZATION}",
            kustomization(["../../base", *sorted(extra_files)], **extra),
        )


def _add_chart_unit(tree: Tree, root: Path, platform: Platform, unit: Unit, scopes: dict[str, Scope], env_units: EnvUnits) -> None:
    """Helm values per environment; the chart's companions (routes, extra objects) as a Kustomize overlay."""
    assert isinstance(unit.component, ChartComponent)
    if layout.has_manifests(unit):
        _add_kustomize_unit(tree, root, platform, unit, scopes, env_units)
    for env in _envs_of(unit, env_units):
        docs = engine.render_documents(root, unit.component.values_template, scopes[env].variables(unit.name), kubernetes=False)
        if len(docs) != 1 or not isinstance(docs[0], dict):
            raise TemplateError(template=f"templates/{unit.name}/values.yaml.j2", line=None, message="must render one mapping")
        entry, _ = _hatches(platform, env, unit)
        values = patches.deep_merge(docs[0], entry.helm_values) if entry is not None and entry.helm_values else docs[0]
        tree.add_doc(paths.values_file(unit.name, env), values)


def _chart_services(units: dict[str, Unit]) -> list[dict[str, Any]]:
    """Services upstream charts create, as the catalog declares them: validate checks routes against these."""
    out = []
    for unit in units.values():
        if isinstance(unit.component, ChartComponent):
            for svc in unit.component.chart_services:
                ports = [{"name": n, "port": p} for n, p in sorted(svc.ports.items())]
                out.append({"namespace": unit.namespace, "name": svc.name, "ports": ports, "component": unit.name})
    return sorted(out, key=lambda s: (s["namespace"], s["name"]))


def _metrics_ports(units: dict[str, Unit]) -> list[dict[str, Any]]:
    """Each port a component declares for the `metrics` purpose, where it runs: `bbgen validate` checks a job scrapes it."""
    out = []
    for name in sorted(units):
        comp = units[name].component
        for port, number in sorted((comp.ports if comp is not None else {}).items()):
            if comp is not None and "metrics" in comp.purposes(port):
                out.append({"component": name, "namespace": units[name].namespace, "port": port, "number": number})
    return out


def build_tree(platform: Platform, *, catalog_root: Path | None = None) -> Tree:
    """Render the whole repository for ``platform`` into memory."""
    root = catalog_root or templates_root()
    catalog: dict[str, AnyComponent] = load_catalog(root)
    env_units = {env: units_of_env(platform, catalog, env) for env in sorted(platform.environments)}
    units = build_units(platform, catalog)
    for per_env in env_units.values():  # every unit some environment runs (a layer may add one)
        for name, unit in per_env.items():
            units.setdefault(name, unit)
    meta: dict[str, Any] = {"kubernetesVersion": platform.kubernetes_version, "environments": sorted(platform.environments), "generator": "bbgen"}
    meta["destinations"] = layout.destinations(platform)  # validate: every Application of an environment targets its cluster
    versions = {env: env_view(platform, env).kubernetes_version for env in sorted(platform.environments)}
    if any(v != platform.kubernetes_version for v in versions.values()):  # a layer overrides it: validate each against its own
        meta["kubernetesVersions"] = versions
    chart_services = _chart_services(units)
    if chart_services:
        meta["chartServices"] = chart_services
    meta["metricsPorts"] = {env: _metrics_ports(per_env) for env, per_env in env_units.items()}  # validate: each is scraped
    tree = Tree(meta=meta)
    scopes = {env: build_scope(platform, catalog, env) for env in platform.environments}
    for unit in units.values():
        _check_hatches(platform, unit, env_units)
        if unit.delivery == "chart":
            _add_chart_unit(tree, root, platform, unit, scopes, env_units)
        elif unit.delivery == "git":
            if layout.has_manifests(unit):
                raise TemplateError(template=f"templates/{unit.name}", line=None, message="a git-delivered component renders nothing of its own (no templates, no host)")
        else:
            _add_kustomize_unit(tree, root, platform, unit, scopes, env_units)
    _add_restores(tree, root, scopes)
    add_outputs(tree, root, platform, units, env_units)
    return tree


def _add_restores(tree: Tree, root: Path, scopes: dict[str, Scope]) -> None:
    """restore/<env>/<unit>.yaml: each backed-up unit's restore Job, in no kustomization (applied by hand, see RESTORE.md)."""
    template = root / "_shared" / RESTORE_TEMPLATE
    for env, scope in sorted(scopes.items()):
        for name, unit_ctx in sorted(scope.units.items()):
            if unit_ctx.backup is None:
                continue
            docs = engine.render_documents(root, template, scope.variables(name))
            if len(docs) != 1:
                raise TemplateError(template=f"templates/_shared/{RESTORE_TEMPLATE}", line=None, message="must render one Job")
            docs[0].setdefault("metadata", {}).setdefault("labels", {}).update({**unit_ctx.labels, ENV_LABEL: env})
            tree.add_doc(paths.restore_file(env, name), docs[0])
