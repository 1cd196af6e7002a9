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
from bbgen.kube.names import fqdn
from bbgen.render import engine, overlay, paths
from bbgen.render.outputs import add_outputs
from bbgen.render.tree import Tree
from bbgen.render.units import (
    Unit,
    build_units,
    exposed_env,
    http_service_port,
    labels,
    oidc_client_id,
    oidc_secret_name,
    pod_ports,
    replicas,
    resources,
    selector,
)
from bbgen.spec.models import Platform

ENV_LABEL = "bbgen.dev/environment"


GATEWAY_COMPONENT = "gateway"
GATEWAY_NAME = "public"


def env_context(platform: Platform, units: dict[str, Unit], env: str) -> dict[str, Any]:
    """What every template of one environment may read about the platform as a whole.

    Computed once per environment: the Gateway's listeners, the ingress
    controller's TCP map and Grafana's datasources all need other units' facts.
    """
    domain = platform.env_domain(env)
    hosts = []
    for unit in units.values():
        if unit.host_label:
            hosts.append({"unit": unit.name, "namespace": unit.namespace, "service": unit.service, "port": http_service_port(unit), "host": fqdn(unit.host_label, domain)})
    tcp = []
    for exposure in platform.ingress.tcp:
        target = units[exposure.component]
        port = exposure.target_port or exposure.port
        tcp.append({"port": exposure.port, "unit": target.name, "namespace": target.namespace, "service": target.service, "targetPort": port})
    gateway = units.get(GATEWAY_COMPONENT)
    return {
        "platform": {
            "name": platform.name,
            "domain": platform.domain,
            "hosts": sorted(hosts, key=lambda h: h["host"]),
            "tcp": sorted(tcp, key=lambda t: t["port"]),
            "sso": _sso(platform, units, domain),
            "gpuPools": _gpu_pools(platform),
            "enabled": sorted(units),
            "gitops": {"repoURL": layout.repo_url(platform), "branch": platform.gitops.branch},
            "storage": {"className": platform.storage.class_name, "provisioner": platform.storage.provisioner},
        },
        "env": {
            "name": env,
            "domain": domain,
            "issuer": platform.env_issuer(env),
            "ingressProvider": platform.ingress.provider,
            "ingressClass": platform.ingress.class_name,
            "gateway": {"name": GATEWAY_NAME, "namespace": gateway.namespace} if gateway is not None else None,
            "acmeEmail": platform.tls.acme_email,
            "kubernetesVersion": platform.kubernetes_version,
        },
    }


def _sso(platform: Platform, units: dict[str, Unit], domain: str) -> dict[str, Any]:
    """The realm, its public issuer, its in-cluster address and every OIDC client of the platform."""
    keycloak = units.get("keycloak")
    realm = platform.sso_realm()
    issuer = f"https://{fqdn(keycloak.host_label, domain)}/realms/{realm}" if keycloak is not None and keycloak.host_label else None
    internal = None
    if keycloak is not None:
        internal = f"http://{keycloak.service}.{keycloak.namespace}.svc.cluster.local:{pod_ports(keycloak).get('http', 8080)}/realms/{realm}"
    clients = []
    for unit in sorted(units.values(), key=lambda u: u.name):
        client_id = oidc_client_id(unit)
        if client_id is None or unit.oidc is None:
            continue
        host = fqdn(unit.host_label, domain) if unit.host_label else None
        secret = None
        if not unit.oidc.public:
            env_name = "OIDC_CLIENT_SECRET_" + client_id.upper().replace("-", "_")
            secret = {"name": oidc_secret_name(client_id), "key": "client-secret", "env": env_name}
        redirects = [f"https://{host}/*"] if host else []
        origins = [f"https://{host}"] if host else []
        # Keycloak's ClientRepresentation, without the secret (the realm import and the clients Job add it).
        representation: dict[str, Any] = {
            "clientId": client_id,
            "name": unit.name,
            "enabled": True,
            "protocol": "openid-connect",
            "publicClient": unit.oidc.public,
            "standardFlowEnabled": True,
            "directAccessGrantsEnabled": False,
            "redirectUris": redirects,
            "webOrigins": origins,
            "attributes": {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": "+"},
        }
        if secret is not None:
            representation["clientAuthenticatorType"] = "client-secret"
        clients.append({
            "clientId": client_id,
            "unit": unit.name,
            "namespace": unit.namespace,
            "public": unit.oidc.public,
            "host": host,
            "redirectUris": redirects,
            "webOrigins": origins,
            "secret": secret,
            "representation": representation,
        })
    return {"realm": realm, "issuer": issuer, "internalUrl": internal, "clients": clients}


def _gpu_pools(platform: Platform) -> list[dict[str, Any]]:
    """GPU node pools with what a pod needs to land there: a node selector and tolerations for the pool's taints."""
    pools = []
    for name, pool in sorted(platform.node_pools.items()):
        if pool.role != "gpu" and pool.gpus_per_node == 0:
            continue
        tolerations = []
        for taint in pool.taints:
            tol: dict[str, Any] = {"key": taint.key, "operator": "Equal" if taint.value else "Exists", "effect": taint.effect}
            if taint.value:
                tol["value"] = taint.value
            tolerations.append(tol)
        pools.append({
            "name": name,
            "count": pool.count,
            "gpusPerNode": pool.gpus_per_node,
            # GPU feature discovery labels every GPU node so; a pool's own labels are more precise.
            "nodeSelector": dict(pool.labels) or {"nvidia.com/gpu.present": "true"},
            "tolerations": tolerations,
        })
    return pools


def _dep_context(unit: Unit, plain: dict[str, str], secret: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "name": unit.name,
        "namespace": unit.namespace,
        "service": unit.service,
        "ports": pod_ports(unit),
        "address": f"{unit.service}.{unit.namespace}.svc.cluster.local",
        "settings": dict(unit.settings),
        "env": plain,
        "secretEnv": secret,
    }


def _deps(units: dict[str, Unit], unit: Unit, sso: dict[str, Any]) -> dict[str, Any]:
    """The unit's enabled dependencies by name, each with the connection env it exposes to this unit."""
    return {dep: _dep_context(units[dep], *exposed_env(units[dep], unit.name, sso)) for dep in unit.depends_on if dep in units}


def _with_roles(unit: Unit, deps: dict[str, Any]) -> dict[str, Any]:
    """The same dependencies, plus each again under the role it fills (`object-store`, `llm`)."""
    return {**deps, **{role: deps[provider] for role, provider in unit.roles.items() if provider in deps}}


def unit_context(platform: Platform, units: dict[str, Unit], unit: Unit, env: str, shared: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything a template may read, with every default already applied."""
    shared = shared or env_context(platform, units, env)
    comp = unit.component
    sso = shared["platform"]["sso"]
    deps = _deps(units, unit, sso)
    client = next((c for c in sso["clients"] if c["unit"] == unit.name), None)
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
        "host": fqdn(unit.host_label, shared["env"]["domain"]) if unit.host_label else None,
        "ports": pod_ports(unit),
        "httpServicePort": http_service_port(unit),
        "settings": dict(unit.settings),
        "labels": labels(platform, unit),
        "selector": selector(unit),
        "basicAuth": None,
        "env": _env_list(unit, deps, client, sso),
        "deps": _with_roles(unit, deps),
        "dependants": sorted(u.name for u in units.values() if unit.name in u.depends_on),
        "tcp": [t for t in shared["platform"]["tcp"] if t["unit"] == unit.name],
    }
    route = comp.route if comp is not None else None
    ctx_unit["route"] = {"timeout": route.timeout if route else None, "maxBodySize": route.max_body_size if route else None}
    if comp is not None and isinstance(comp, ChartComponent):
        ctx_unit["chartVersion"] = unit.chart_version
        ctx_unit["release"] = comp.chart.release_name or unit.name
    if basic is not None and basic.enabled:
        ctx_unit["basicAuth"] = {"secret": basic.secret_name or f"{unit.name}-basic-auth", "realm": basic.realm}
    ctx_unit["oidc"] = client
    if comp is not None and comp.gpu:
        pools = shared["platform"]["gpuPools"]
        ctx_unit["gpuPool"] = pools[0] if pools else None
    if unit.app is not None:
        ctx_unit["healthPath"] = unit.app.health_path
        ctx_unit["readOnlyRootFilesystem"] = unit.app.read_only_root_filesystem
    return {**shared, "unit": ctx_unit}


def _secret_ref(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _env_list(unit: Unit, deps: dict[str, Any], client: dict[str, Any] | None, sso: dict[str, Any]) -> list[dict[str, Any]]:
    """Container env (Kubernetes EnvVar list): dependency connection settings, the OIDC client, then the app's own."""
    out: dict[str, dict[str, Any]] = {}
    for dep in unit.depends_on:
        if dep not in deps:
            continue
        plain, secret = deps[dep]["env"], deps[dep]["secretEnv"]
        for key in sorted(plain):
            out[key] = {"name": key, "value": plain[key]}
        for key in sorted(secret):
            out[key] = _secret_ref(key, secret[key]["secret"], secret[key]["key"])
    if unit.app is not None and client is not None:
        out["OIDC_CLIENT_ID"] = {"name": "OIDC_CLIENT_ID", "value": client["clientId"]}
        if sso["issuer"]:
            out["OIDC_ISSUER_URL"] = {"name": "OIDC_ISSUER_URL", "value": sso["issuer"]}
        if sso["internalUrl"]:
            out["OIDC_INTERNAL_URL"] = {"name": "OIDC_INTERNAL_URL", "value": sso["internalUrl"]}
        if client["secret"] is not None:
            out["OIDC_CLIENT_SECRET"] = _secret_ref("OIDC_CLIENT_SECRET", client["secret"]["name"], client["secret"]["key"])
    if unit.app is not None:
        for var in unit.app.env:
            out[var.name] = {"name": var.name, "value": var.value}
        for ref in unit.app.secret_env:
            out[ref.name] = _secret_ref(ref.name, ref.secret, ref.key)
    return [out[k] for k in sorted(out)]


@functools.cache
def _app_templates(root: Path) -> tuple[Path, ...]:
    return tuple(sorted((root / "_app").glob("*.yaml.j2")))


ROUTE_TEMPLATES = {"nginx": "ingress.yaml.j2", "gateway": "httproute.yaml.j2"}


def _unit_templates(root: Path, platform: Platform, unit: Unit) -> list[Path]:
    if unit.app is not None:
        base = list(_app_templates(root))
    else:
        assert unit.component is not None
        base = list(unit.component.templates)
    shared = root / "_shared"
    if unit.host_label:
        base.append(shared / ROUTE_TEMPLATES[platform.ingress.provider])
    if platform.ingress.provider == "gateway" and any(t.component == unit.name for t in platform.ingress.tcp):
        base.append(shared / "tcproute.yaml.j2")
    return base


def _render_unit(root: Path, platform: Platform, context: dict[str, Any], unit: Unit) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for template in _unit_templates(root, platform, unit):
        for doc in engine.render_documents(root, template, context):
            if doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
                raise TemplateError(template=str(template.relative_to(root.parent)), line=None, message="renders a Secret with data; secrets never enter git")
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(context["unit"]["labels"])
            docs.append(doc)
    seen: set[tuple[str, str, str, str]] = set()
    for doc in docs:
        ident = objects.identity(doc)
        if ident in seen:
            raise TemplateError(template=f"templates/{unit.name}", line=None, message=f"renders {ident[1]}/{ident[3]} twice")
        seen.add(ident)
    return docs


def _add_kustomize_unit(tree: Tree, root: Path, platform: Platform, units: dict[str, Unit], unit: Unit, shared: dict[str, dict[str, Any]]) -> None:
    per_env = {env: _render_unit(root, platform, unit_context(platform, units, unit, env, shared[env]), unit) for env in platform.environments}
    base = per_env["prod"]
    base_dir = paths.base_dir(unit.name)
    layout.add_docs(tree, base_dir, base)
    base_by_id = {objects.identity(d): d for d in base}
    for env, docs in sorted(per_env.items()):
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


def _add_chart_unit(tree: Tree, root: Path, platform: Platform, units: dict[str, Unit], unit: Unit, shared: dict[str, dict[str, Any]]) -> None:
    """Helm values per environment; the chart's companions (routes, extra objects) as a Kustomize overlay."""
    assert isinstance(unit.component, ChartComponent)
    if layout.has_manifests(unit):
        _add_kustomize_unit(tree, root, platform, units, unit, shared)
    for env in sorted(platform.environments):
        context = unit_context(platform, units, unit, env, shared[env])
        docs = engine.render_documents(root, unit.component.values_template, context, kubernetes=False)
        if len(docs) != 1 or not isinstance(docs[0], dict):
            raise TemplateError(template=f"templates/{unit.name}/values.yaml.j2", line=None, message="must render one mapping")
        tree.add_doc(paths.values_file(unit.name, env), docs[0])


def _chart_services(units: dict[str, Unit]) -> list[dict[str, Any]]:
    """Services upstream charts create, as the catalog declares them: validate checks routes against these."""
    out = []
    for unit in units.values():
        if isinstance(unit.component, ChartComponent):
            for svc in unit.component.chart_services:
                ports = [{"name": n, "port": p} for n, p in sorted(svc.ports.items())]
                out.append({"namespace": unit.namespace, "name": svc.name, "ports": ports, "component": unit.name})
    return sorted(out, key=lambda s: (s["namespace"], s["name"]))


def build_tree(platform: Platform, *, catalog_root: Path | None = None) -> Tree:
    """Render the whole repository for ``platform`` into memory."""
    root = catalog_root or templates_root()
    catalog: dict[str, AnyComponent] = load_catalog(root)
    units = build_units(platform, catalog)
    meta: dict[str, Any] = {"kubernetesVersion": platform.kubernetes_version, "environments": sorted(platform.environments), "generator": "bbgen"}
    chart_services = _chart_services(units)
    if chart_services:
        meta["chartServices"] = chart_services
    tree = Tree(meta=meta)
    shared = {env: env_context(platform, units, env) for env in platform.environments}
    for unit in units.values():
        if unit.delivery == "chart":
            _add_chart_unit(tree, root, platform, units, unit, shared)
        elif unit.delivery == "git":
            if layout.has_manifests(unit):
                raise TemplateError(template=f"templates/{unit.name}", line=None, message="a git-delivered component renders nothing of its own (no templates, no host)")
        else:
            _add_kustomize_unit(tree, root, platform, units, unit, shared)
    add_outputs(tree, root, platform, units)
    return tree
