"""Spec → in-memory repository. Pure: reads templates, writes nothing."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from bbgen import layout
from bbgen.catalog import ChartComponent, KustomizeComponent, load_catalog, templates_root
from bbgen.errors import TemplateError
from bbgen.render import engine, overlay, yamlio
from bbgen.render.tree import Tree
from bbgen.render.units import Unit, build_units, exposed_env, fqdn, labels, replicas, resources, selector
from bbgen.spec.models import Platform

ENV_LABEL = "bbgen.dev/environment"


def unit_context(platform: Platform, units: dict[str, Unit], unit: Unit, env: str) -> dict[str, Any]:
    """Everything a template may read, with every default already applied."""
    domain = platform.env_domain(env)
    comp = unit.component
    basic = unit.app.basic_auth if unit.app is not None else platform.components[unit.name].basic_auth
    ctx_unit: dict[str, Any] = {
        "name": unit.name,
        "namespace": unit.namespace,
        "service": unit.service,
        "image": unit.image,
        "replicas": replicas(platform, unit, env),
        "resources": resources(platform, unit, env),
        "storage": unit.storage,
        "storageClass": platform.storage.class_name,
        "host": fqdn(unit.host_label, domain) if unit.host_label else None,
        "ports": dict(comp.ports) if comp is not None else {"http": unit.app.port if unit.app else 80},
        "settings": dict(unit.settings),
        "labels": labels(platform, unit),
        "selector": selector(unit),
        "basicAuth": None,
        "env": _env_list(units, unit),
    }
    if basic is not None and basic.enabled:
        ctx_unit["basicAuth"] = {"secret": basic.secret_name or f"{unit.name}-basic-auth", "realm": basic.realm}
    if unit.app is not None:
        ctx_unit["healthPath"] = unit.app.health_path
        ctx_unit["readOnlyRootFilesystem"] = unit.app.read_only_root_filesystem
    return {
        "platform": {"name": platform.name, "domain": platform.domain},
        "env": {
            "name": env,
            "domain": domain,
            "issuer": platform.env_issuer(env),
            "ingressClass": platform.ingress.class_name,
            "acmeEmail": platform.tls.acme_email,
        },
        "unit": ctx_unit,
    }


def _secret_ref(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _env_list(units: dict[str, Unit], unit: Unit) -> list[dict[str, Any]]:
    """Container env (Kubernetes EnvVar list): dependency connection settings, then the app's own."""
    out: dict[str, dict[str, Any]] = {}
    for dep in unit.depends_on:
        if dep not in units:
            continue
        plain, secret = exposed_env(units[dep])
        for key in sorted(plain):
            out[key] = {"name": key, "value": plain[key]}
        for key in sorted(secret):
            out[key] = _secret_ref(key, secret[key]["secret"], secret[key]["key"])
    if unit.app is not None:
        for var in unit.app.env:
            out[var.name] = {"name": var.name, "value": var.value}
        for ref in unit.app.secret_env:
            out[ref.name] = _secret_ref(ref.name, ref.secret, ref.key)
    return [out[k] for k in sorted(out)]


@functools.cache
def _app_templates(root: Path) -> tuple[Path, ...]:
    return tuple(sorted((root / "_app").glob("*.yaml.j2")))


def _unit_templates(root: Path, unit: Unit) -> list[Path]:
    if unit.app is not None:
        base = list(_app_templates(root))
    else:
        assert unit.component is not None
        base = unit.component.templates
    return base + ([root / "_shared" / "ingress.yaml.j2"] if unit.host_label else [])


def _render_unit(root: Path, context: dict[str, Any], unit: Unit) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for template in _unit_templates(root, unit):
        for doc in engine.render_documents(root, template, context):
            if doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
                raise TemplateError(template=str(template.relative_to(root.parent)), line=None, message="renders a Secret with data; secrets never enter git")
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(context["unit"]["labels"])
            docs.append(doc)
    seen: set[tuple[str, str, str, str]] = set()
    for doc in docs:
        ident = overlay.identity(doc)
        if ident in seen:
            raise TemplateError(template=f"templates/{unit.name}", line=None, message=f"renders {ident[1]}/{ident[3]} twice")
        seen.add(ident)
    return docs


def _add_kustomize_unit(tree: Tree, root: Path, platform: Platform, units: dict[str, Unit], unit: Unit) -> None:
    per_env = {env: _render_unit(root, unit_context(platform, units, unit, env), unit) for env in platform.environments}
    base = per_env["prod"]
    base_dir = f"components/{unit.name}/base"
    layout.add_docs(tree, base_dir, base)
    base_by_id = {overlay.identity(d): d for d in base}
    for env, docs in sorted(per_env.items()):
        env_by_id = {overlay.identity(d): d for d in docs}
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
                name = layout.resource_file(env_by_id[ident])
                tree.add_doc(f"{layout.overlay_dir(unit.name, env)}/{name}", env_by_id[ident])
                extra_files.append(name)
            else:
                ops = overlay.json_patch(base_by_id[ident], env_by_id[ident])
                if ops:
                    patches.append({"target": overlay.patch_target(env_by_id[ident]), "patch": yamlio.dump(ops)})
        extra: dict[str, Any] = {"labels": [{"pairs": {ENV_LABEL: env}, "includeSelectors": False}]}
        if patches:
            extra["patches"] = patches
        tree.add_doc(
            f"{layout.overlay_dir(unit.name, env)}/kustomization.yaml",
            layout.kustomization(["../../base", *sorted(extra_files)], **extra),
        )


def _add_chart_unit(tree: Tree, root: Path, platform: Platform, units: dict[str, Unit], unit: Unit) -> None:
    assert isinstance(unit.component, ChartComponent)
    for env in sorted(platform.environments):
        context = unit_context(platform, units, unit, env)
        docs = engine.render_documents(root, unit.component.values_template, context, kubernetes=False)
        if len(docs) != 1 or not isinstance(docs[0], dict):
            raise TemplateError(template=f"templates/{unit.name}/values.yaml.j2", line=None, message="must render one mapping")
        tree.add_doc(f"values/{unit.name}/{env}.yaml", docs[0])


def _platform_docs(platform: Platform, units: dict[str, Unit]) -> list[dict[str, Any]]:
    common = {"app.kubernetes.io/part-of": platform.name, "app.kubernetes.io/managed-by": "bbgen"}
    docs: list[dict[str, Any]] = []
    for ns in sorted({u.namespace for u in units.values()}):
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {**common, "app.kubernetes.io/name": ns, "app.kubernetes.io/instance": ns}}})
    st = platform.storage
    docs.append(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": st.class_name, "labels": {**common, "app.kubernetes.io/name": st.class_name, "app.kubernetes.io/instance": st.class_name}},
            "provisioner": st.provisioner,
            "reclaimPolicy": st.reclaim_policy,
            "volumeBindingMode": "WaitForFirstConsumer",
            "allowVolumeExpansion": st.provisioner != "kubernetes.io/no-provisioner",
        }
    )
    return docs


def build_tree(platform: Platform, *, catalog_root: Path | None = None) -> Tree:
    """Render the whole repository for ``platform`` into memory."""
    root = catalog_root or templates_root()
    catalog: dict[str, KustomizeComponent | ChartComponent] = load_catalog(root)
    units = build_units(platform, catalog)
    tree = Tree(meta={"kubernetesVersion": platform.kubernetes_version, "environments": sorted(platform.environments), "generator": "bbgen"})
    for unit in units.values():
        if unit.delivery == "chart":
            _add_chart_unit(tree, root, platform, units, unit)
        else:
            _add_kustomize_unit(tree, root, platform, units, unit)
    layout.add_docs(tree, "projects", layout.projects(platform, units))
    for env in sorted(platform.environments):
        layout.add_docs(tree, f"platform/{env}", _platform_docs(platform, units))
        apps = [layout.platform_application(platform, env)] + [layout.application(platform, env, u) for u in units.values()]
        names = []
        for app in apps:
            name = app["metadata"]["name"].removeprefix(f"{env}-") + ".yaml"
            tree.add_doc(f"apps/{env}/{name}", app)
            names.append(name)
        tree.add_doc(f"apps/{env}/kustomization.yaml", layout.kustomization(["../../projects", *sorted(names)]))
        tree.add_doc(f"bootstrap/{env}/root-app.yaml", layout.root_application(platform, env))
    from bbgen.render.readme import readme

    tree.add("README.md", readme(platform, units))
    return tree
