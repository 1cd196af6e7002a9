"""Building the template contract (render/context.py) for one environment, once.

Everything is read from the environment's view of the spec (``spec.merge.env_view``)
and from the resolved units, never from another environment. Platform-level
components are found by the role they declare (``sso``, ``edge-gateway``) and the
facts in their component.yaml (an ``sso`` provider's issuer path and port), so a new
provider needs no code here.
"""

from __future__ import annotations

from typing import Any

from bbgen.catalog import AnyComponent, ChartComponent, consumer_secret_name
from bbgen.catalog.facts import Route as CatalogRoute
from bbgen.render.layout import repo_url
from bbgen.kube.names import fqdn
from bbgen.render import backups, basic_auth, engine, observability
from bbgen.render.app_storage import mounts
from bbgen.render.context import (
    BackupStore,
    KeyedTarget,
    Observability,
    BasicAuth,
    Dependency,
    EnvContext,
    ExposeContext,
    Gateway,
    GitOps,
    GpuPool,
    Host,
    OidcClient,
    OidcSecret,
    PlatformBasics,
    PlatformContext,
    Route,
    Scope,
    SecretKeyRef,
    SecretValueContext,
    Sso,
    StorageClass,
    TcpExposure,
    UnitContext,
    variables,
)
from bbgen.render.app_build import env_list, workload
from bbgen.render.units import (
    speaks_tls,
    METRICS_ROLE,
    SSO_ROLE,
    Unit,
    build_units,
    credential_holders,
    scraper_needs_key,
    env_units,
    http_service_port,
    labels,
    oidc_client_id,
    oidc_secret_name,
    pod_ports,
    provider,
    replicas,
    resources,
    selector,
)
from bbgen.spec.auth import decide
from bbgen.spec.injected import app_url_env
from bbgen.spec.merge import env_view
from bbgen.spec.models import Platform
from bbgen.spec.sources import SpecSource, source_of

GATEWAY_NAME = "public"
GROUPS_SCOPE = "groups"
"""The client scope (and claim) the `sso` provider adds to every client so tokens say which groups a user is in."""
EDGE_GATEWAY_ROLE = "edge-gateway"


def gitops(platform: Platform) -> GitOps:
    return GitOps(repoURL=repo_url(platform), url=platform.gitops.url, branch=platform.gitops.branch)


def secret_value_context(platform: Platform) -> SecretValueContext:
    """What a secret key's fixed ``value:`` may read: the same for every environment."""
    return SecretValueContext(gitops=gitops(platform), platform=PlatformBasics(name=platform.name, domain=platform.domain))


def build_scope(platform: Platform, catalog: dict[str, AnyComponent], env: str) -> Scope:
    """Every template variable of environment ``env``, built once from that environment's view.

    The units are resolved again from the view, not taken from the base spec, so a
    field the merge starts to override per environment reaches the templates with no
    change here.
    """
    view = env_view(platform, env)
    units = env_units(platform, catalog, env)
    domain = view.env_domain(env)
    platform_ctx = _platform(view, units, domain)
    gateway = provider(units, EDGE_GATEWAY_ROLE)
    env_ctx = EnvContext(
        name=env,
        domain=domain,
        issuer=view.env_issuer(env),
        ingressProvider=view.ingress.provider,
        ingressClass=view.ingress.class_name,
        gateway=Gateway(name=GATEWAY_NAME, namespace=gateway.namespace) if gateway is not None else None,
        acmeEmail=view.tls.acme_email,
        kubernetesVersion=view.kubernetes_version,
    )
    source = source_of(platform, env)  # where a file an app mounts is read from, and its errors located
    unit_ctxs = {name: _unit(view, units, unit, platform_ctx, domain, source, env) for name, unit in units.items()}
    return Scope(platform=platform_ctx, env=env_ctx, units=unit_ctxs)


def _platform(view: Platform, units: dict[str, Unit], domain: str) -> PlatformContext:
    hosts = [
        Host(unit=u.name, namespace=u.namespace, service=u.service, port=http_service_port(u), host=fqdn(u.host_label, domain))
        for u in units.values() if u.host_label
    ]
    tcp = []
    for exposure in view.ingress.tcp:
        target = units[exposure.component]
        number = exposure.target_port or exposure.port
        tcp.append(TcpExposure(
            port=exposure.port, unit=target.name, namespace=target.namespace, service=target.service, targetPort=number,
            host=fqdn(exposure.host or target.host_label or target.name, domain), tls=speaks_tls(target, number),
        ))
    return PlatformContext(
        name=view.name,
        domain=view.domain,
        hosts=sorted(hosts, key=lambda h: h.host),
        tcp=sorted(tcp, key=lambda t: t.port),
        sso=_sso(view, units, domain),
        gpuPools=_gpu_pools(view),
        enabled=sorted(units),
        gitops=gitops(view),
        storage=StorageClass(className=view.storage.class_name, provisioner=view.storage.provisioner),
        observability=Observability(ruleFiles=observability.rule_files(units), dashboards=observability.dashboards(units)),
    )


def _sso(view: Platform, units: dict[str, Unit], domain: str) -> Sso:
    """The realm, its public issuer and in-cluster address on the `sso` provider, and every OIDC client."""
    server = provider(units, SSO_ROLE)
    realm = view.sso_realm()
    issuer = internal = None
    facts = server.component.sso if server is not None and server.component is not None else None
    if server is not None and facts is not None:
        path = facts.issuer_path.replace("{realm}", realm)
        if server.host_label:
            issuer = f"https://{fqdn(server.host_label, domain)}{path}"
        internal = f"http://{server.service}.{server.namespace}.svc.cluster.local:{pod_ports(server)[facts.port]}{path}"
    clients = []
    for unit in sorted(units.values(), key=lambda u: u.name):
        client_id = oidc_client_id(unit)
        if client_id is None or unit.oidc is None:
            continue
        host = fqdn(unit.host_label, domain) if unit.host_label else None
        secret = None
        if not unit.oidc.public:
            env_name = "OIDC_CLIENT_SECRET_" + client_id.upper().replace("-", "_")
            secret = OidcSecret(name=oidc_secret_name(client_id), key="client-secret", idKey="client-id", env=env_name)
        native = unit.component.oidc_client if unit.component is not None else None
        paths = list(native.callback_paths) if native is not None and native.callback_paths else ["/*"]
        redirects = [f"https://{host}{path}" for path in paths] if host else []
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
            "redirectUris": list(redirects),
            "webOrigins": list(origins),
            "attributes": {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": "+"},
        }
        if secret is not None:
            representation["clientAuthenticatorType"] = "client-secret"
        clients.append(OidcClient(
            clientId=client_id, unit=unit.name, namespace=unit.namespace, public=unit.oidc.public, host=host,
            redirectUris=redirects, webOrigins=origins, secret=secret, representation=representation,
        ))
    return Sso(
        realm=realm, issuer=issuer, internalUrl=internal, clients=clients,
        adminGroup=view.sso_admin_group(), groupsScope=GROUPS_SCOPE,
    )


def _gpu_pools(view: Platform) -> list[GpuPool]:
    """GPU node pools with what a pod needs to land there: a node selector and tolerations for the pool's taints."""
    pools = []
    for name, pool in sorted(view.node_pools.items()):
        if pool.role != "gpu" and pool.gpus_per_node == 0:
            continue
        tolerations = []
        for taint in pool.taints:
            tol: dict[str, Any] = {"key": taint.key, "operator": "Equal" if taint.value else "Exists", "effect": taint.effect}
            if taint.value:
                tol["value"] = taint.value
            tolerations.append(tol)
        pools.append(GpuPool(
            name=name,
            count=pool.count,
            gpusPerNode=pool.gpus_per_node,
            # GPU feature discovery labels every GPU node so; a pool's own labels are more precise.
            nodeSelector=dict(pool.labels) or {"nvidia.com/gpu.present": "true"},
            tolerations=tolerations,
        ))
    return pools


def exposed_env(unit: Unit, dependant: str, sso: Sso) -> tuple[dict[str, str], dict[str, SecretKeyRef]]:
    """Connection env vars a dependant gets from ``unit``: plain values, and Secret references by name.

    The values are the component's ``expose.env`` strings in the ``value`` dialect over
    an :class:`ExposeContext`; an app exposes only its URL.
    """
    if unit.component is not None:
        context = variables(ExposeContext(
            service=unit.service, namespace=unit.namespace, ports=dict(unit.component.ports), name=unit.name,
            settings=unit.settings, dependant=dependant, sso=sso,
        ))
        where = f"templates/{unit.name}/component.yaml"
        plain = {k: engine.render_string(v, context, where=f"{where}: expose.env.{k}") for k, v in unit.component.expose.env.items()}
        # A consumer Secret's name (`postgres-{{ dependant }}`) becomes this dependant's own, as in the inventory.
        secret = {k: SecretKeyRef(secret=consumer_secret_name(v.secret, dependant), key=v.key) for k, v in unit.component.expose.secret_env.items()}
        return plain, secret
    assert unit.app is not None
    return {app_url_env(unit.name): f"http://{unit.name}.{unit.namespace}.svc.cluster.local"}, {}


def _dependency(dep: Unit, dependant: Unit, sso: Sso) -> Dependency:
    plain, secret = exposed_env(dep, dependant.name, sso)
    if not dependant.credential_from(dep.name):  # it signs in as itself: no credential of dep's is made for it
        secret = {}
    return Dependency(
        name=dep.name, namespace=dep.namespace, service=dep.service, ports=pod_ports(dep),
        address=f"{dep.service}.{dep.namespace}.svc.cluster.local", settings=dict(dep.settings), env=plain, secretEnv=secret,
    )


def _basic_auth(view: Platform, unit: Unit, route: CatalogRoute | None) -> BasicAuth | None:
    """The unit's basic auth: the Secret the edge (NGINX) or the proxy (Gateway API) checks."""
    basic = basic_auth.spec_of(view, unit)
    if basic is None:
        return None
    proxy = basic_auth.proxy_context(
        view, unit, basic, timeout=route.timeout if route else None, max_body_size=route.max_body_size if route else None,
    )
    return BasicAuth(secret=basic_auth.secret_name(unit.name, basic), realm=basic.realm, proxy=proxy)


def dependant_access(units: dict[str, Unit], unit: Unit) -> dict[str, str]:
    """Each dependant's component.yaml `access` towards ``unit``: keyed by its name, or by a role it fills for that dependant."""
    out: dict[str, str] = {}
    for other in sorted(units.values(), key=lambda u: u.name):
        if unit.name not in other.depends_on or other.component is None:
            continue
        for key, word in sorted(other.component.access.items()):
            if key == unit.name or other.roles.get(key) == unit.name:
                out[other.name] = word
    return out


def _unit(view: Platform, units: dict[str, Unit], unit: Unit, platform_ctx: PlatformContext, domain: str, source: SpecSource | None, env: str) -> UnitContext:
    """Everything a template may read about one unit, with every default already applied."""
    comp = unit.component
    sso = platform_ctx.sso
    deps = {name: _dependency(units[name], unit, sso) for name in unit.depends_on if name in units}
    client = next((c for c in sso.clients if c.unit == unit.name), None)
    owner = view.apps[unit.name] if unit.app is not None else view.components[unit.name]
    basic = owner.basic_auth
    auth = decide(
        basic=basic is not None and basic.enabled, oidc=owner.oidc is not None,
        login=comp.login if comp is not None else None, settings=unit.settings, public=owner.public, app=unit.app is not None,
    ) if unit.host_label else None
    route = comp.route if comp is not None else None
    chart = comp.chart if isinstance(comp, ChartComponent) else None
    pools = platform_ctx.gpuPools
    return UnitContext(
        name=unit.name,
        namespace=unit.namespace,
        service=unit.service,
        image=unit.image,
        replicas=replicas(view, unit),
        resources=resources(view, unit),
        storage=unit.storage,
        storageClass=view.storage.class_name,
        host=fqdn(unit.host_label, domain) if unit.host_label else None,
        ports=pod_ports(unit),
        httpServicePort=http_service_port(unit),
        settings=dict(unit.settings),
        labels=labels(view, unit),
        selector=selector(unit),
        basicAuth=_basic_auth(view, unit, route),
        auth=auth,
        env=env_list(unit, deps, client, sso),
        # Each dependency again under the role it fills (`object-store`, `llm`).
        deps={**deps, **{role: deps[name] for role, name in unit.roles.items() if name in deps}},
        dependants=sorted(u.name for u in units.values() if unit.name in u.depends_on),
        consumerSecrets={
            d: [consumer_secret_name(s.name, d) for s in comp.consumer_secrets]
            for d in credential_holders(units, unit)
        } if comp is not None and comp.consumer_secrets else {},
        dependantAccess=dependant_access(units, unit),
        dependantTopics={
            u.name: list(u.app.topics) for u in sorted(units.values(), key=lambda u: u.name)
            if unit.name in u.depends_on and u.app is not None and u.app.topics
        },
        tcp=[t for t in platform_ctx.tcp if t.unit == unit.name],
        route=Route(timeout=route.timeout if route else None, maxBodySize=route.max_body_size if route else None),
        chartVersion=unit.chart_version if chart is not None else None,
        release=(chart.release_name or unit.name) if chart is not None else None,
        oidc=client,
        gpuPool=(pools[0] if pools else None) if comp is not None and comp.gpu else None,
        healthPath=unit.app.health_path if unit.app is not None else None,
        readOnlyRootFilesystem=unit.app.read_only_root_filesystem if unit.app is not None else None,
        workload=workload(unit.app, replicas(view, unit), labels(view, unit), mounts(unit.name, unit.app, view.storage.class_name, source)) if unit.app is not None else None,
        backup=backups.plan(view, units, unit, env),
        backupStore=BackupStore(bucket=comp.backup_store.bucket, secret=comp.backup_store.secret, offsite=backups.offsite_plan(view, units, unit, env))
        if comp is not None and comp.backup_store is not None else None,
        scrapesWithKey=_keyed_targets(units, unit),
    )


SCRAPE_KEYS_DIR = "/etc/scrape-keys"
"""Where the metrics scraper's pod mounts its keys of components whose metrics need one, a folder each."""


def _keyed_targets(units: dict[str, Unit], scraper: Unit) -> list[KeyedTarget]:
    """On the metrics scraper: each component whose metrics need its key here, with the Secret holding that key."""
    if not scraper.provides(METRICS_ROLE):
        return []  # every other unit: no need to ask each component
    out = []
    for name in sorted(units):
        target = units[name]
        if scraper_needs_key(units, target) is not scraper:
            continue
        assert target.component is not None and target.component.scrape_credential is not None
        fact = target.component.scrape_credential
        out.append(KeyedTarget(unit=name, namespace=target.namespace, secret=consumer_secret_name(fact.secret, scraper.name), key=fact.key,
                               mountPath=f"{SCRAPE_KEYS_DIR}/{name}"))
    return out
