"""The repository around the components, made the way components are: templates.

Argo CD's Applications, AppProjects and root apps (templates/_argo/), the cluster-wide
basics of platform/<env>/ (templates/_platform/), and the repository's CI workflow,
validate.sh and README (templates/_repo/) are rendered by :mod:`bbgen.render.engine`
like any component template; YAML ones are parsed back and dumped canonically,
text ones use the engine's text dialect. Paths come from :mod:`bbgen.render.paths`.

What these templates read is typed (render/context_argo.py, context_platform.py,
context_repo.py, context_readme.py; listed in docs/templates.md); all of it is built here and only here, one
function per level:

=========================  =================================  ===================================
function                   level                              templates
=========================  =================================  ===================================
:func:`platform_context`   one environment                    _argo/appproject, platform-project
:func:`platform_objects`   the platform (every env alike)     _platform/* (one context per object)
:func:`env_apps_context`   one environment                    _argo/application (root, platform)
:func:`app_context`        one unit in one environment        _argo/application
:func:`ci_context`         the finished manifest tree         _repo/validate.yaml, validate.sh
:func:`readme_context`     the platform                       _repo/README.md
=========================  =================================  ===================================

Which flows the network policies admit is derived in :mod:`bbgen.render.platform`,
the README's parts are shaped in :mod:`bbgen.render.readme`, the CI's build roots
and schemas found in :mod:`bbgen.render.ci`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bbgen.catalog import ChartComponent, GitComponent, templates_root
from bbgen.errors import TemplateError
from bbgen.kube import pins, schemas, yamlio
from bbgen.kube.kustomize import kustomization
from bbgen.kube.names import fqdn
from bbgen.kube.objects import standard_labels
from bbgen.render import ci, engine, paths, readme
from bbgen.render.restore import restore_text
from bbgen.render.graph import mermaid
from bbgen.render.inventory import build_inventory, cluster_secret_name
from bbgen.render.context import variables
from bbgen.render.context_argo import (
    Application,
    ArgoShared,
    ChartSource,
    Controller,
    GitSource,
    Project,
    application_variables,
    project_variables,
)
from bbgen.render.context_build import gitops
from bbgen.render.context_readme import ComponentRow, Dns, DnsHost, DnsTcp, ReadmeCi, ReadmeEnv, ReadmeVariables, RepoFacts, SuppliedKey
from bbgen.render.context_repo import Actions, Ci, CiVariables
from bbgen.render.context_platform import NamespaceObject, StorageClassObject, Volume
from bbgen.render.layout import (
    GITOPS,
    IN_CLUSTER,
    PLATFORM_PROJECT,
    add_docs,
    app_name,
    argocd_namespace,
    destination,
    has_manifests,
    repo_url,
    root_app_name,
    runs_argocd,
    self_managed,
    spoke_servers,
    spokes,
)
from bbgen.render.platform import Rendering, network_policies, pod_security
from bbgen.render.tree import Tree
from bbgen.render.units import Unit, provider, speaks_tls
from bbgen.spec.merge import env_view
from bbgen.spec.models import Platform

ARGO = "_argo"
PLATFORM = "_platform"
REPO = "_repo"


def _shared(platform: Platform) -> ArgoShared:
    """What every _argo template reads: the GitOps repository and the GitOps controller's (Argo CD's) namespace."""
    return ArgoShared(gitops=gitops(platform), controller=Controller(namespace=argocd_namespace()))


def argo_units(platform: Platform, env: str, units: dict[str, Unit]) -> dict[str, Unit]:
    """Of ``env``'s units, those with an Application there: all, less the GitOps controller where Argo CD does not run (a hub's spokes)."""
    if runs_argocd(platform, env):
        return units
    return {name: u for name, u in units.items() if not u.provides(GITOPS)}


def project_name(env: str, domain: str) -> str:
    return f"{env}-{domain}"


def platform_context(platform: Platform, env: str, units: dict[str, Unit]) -> tuple[list[Project], Project]:
    """One environment's AppProjects: one per domain of ``units`` (the units with an Application there, :func:`argo_units`), and the platform one.

    Per environment, each allowing only that environment's API server, so that a
    staging Application can never deploy into prod's cluster (issue #15).
    """
    server = destination(platform, env)
    by_domain: dict[str, list[Unit]] = {}
    for unit in units.values():
        by_domain.setdefault(unit.domain, []).append(unit)
    out = []
    for domain in sorted(by_domain):
        members = by_domain[domain]
        repos = {repo_url(platform)}
        cluster_kinds: set[tuple[str, str]] = set()
        namespaces = {u.namespace for u in members}
        for u in members:
            if u.component is not None:
                cluster_kinds.update((r.group, r.kind) for r in u.component.cluster_resources)
                if isinstance(u.component, ChartComponent):
                    repos.add(u.component.chart.repo)
                    namespaces.update(u.component.chart.namespaces)
                elif isinstance(u.component, GitComponent):
                    repos.add(u.component.git.repo)
        out.append(Project(
            name=project_name(env, domain),
            labels=standard_labels(project_name(env, domain), part_of=platform.name),
            server=server,
            members=sorted(u.name for u in members),
            namespaces=sorted(namespaces),
            sourceRepos=sorted(repos),
            clusterResources=[{"group": g, "kind": k} for g, k in sorted(cluster_kinds)],
        ))
    own_name = project_name(env, PLATFORM_PROJECT)
    own = Project(
        name=own_name, labels=standard_labels(own_name, part_of=platform.name), server=server,
        members=[], namespaces=[], sourceRepos=[repo_url(platform)], clusterResources=[],
    )
    return out, own


def platform_objects(platform: Platform, units: dict[str, Unit]) -> list[Rendering]:
    """Everything under platform/<env>/, from that environment's view and units: its own volumes on its own nodes."""
    out: list[Rendering] = []
    for ns in sorted({u.namespace for u in units.values()}):
        psa = pod_security(units, ns, platform.kubernetes_version)
        out.append(("namespace", {"ns": NamespaceObject(name=ns, labels=standard_labels(ns, part_of=platform.name), podSecurity=psa)}))
    st = platform.storage
    storage = StorageClassObject(
        className=st.class_name,
        labels=standard_labels(st.class_name, part_of=platform.name),
        provisioner=st.provisioner,
        reclaimPolicy=st.reclaim_policy,
        allowVolumeExpansion=st.provisioner != "kubernetes.io/no-provisioner",
    )
    out.append(("storageclass", {"storage": storage}))
    for v in st.volumes:
        volume = Volume(name=v.name, labels=standard_labels(v.name, part_of=platform.name), size=str(v.size), path=v.path, node=v.node)
        out.append(("volume", {"volume": volume, "storage": storage}))
    out.extend(network_policies(platform, units))
    return out


def _app(platform: Platform, name: str, *, project: str, destination: dict[str, str], path: str, wave: int | None, finalizer: bool) -> Application:
    return Application(
        name=name, labels=standard_labels(name, part_of=platform.name), wave=wave, finalizer=finalizer, project=project,
        destination=destination, syncOptions=[], delivery="kustomize", path=path, git=None, chart=None,
    )


def env_apps_context(platform: Platform, env: str) -> tuple[Application, Application]:
    """One environment's own Applications: the root (applied by hand) and the one syncing platform/<env>/.

    The root makes Applications and AppProjects, which live beside Argo CD: on the
    hub (or the environment's own cluster in per-cluster mode), so always in-cluster.
    """
    root = _app(platform, root_app_name(env), project="default", destination={"server": IN_CLUSTER, "namespace": argocd_namespace()},
                path=paths.apps_dir(env), wave=None, finalizer=False)
    basics = _app(platform, f"{env}-platform", project=project_name(env, PLATFORM_PROJECT), destination={"server": destination(platform, env)},
                  path=paths.platform_dir(env), wave=0, finalizer=True)
    return root, basics


def app_context(platform: Platform, env: str, unit: Unit) -> Application:
    """One unit's Application in one environment; chart units are multi-source with a `$values` ref."""
    comp = unit.component
    git = chart = None
    if isinstance(comp, GitComponent):
        git = GitSource(repo=comp.git.repo, revision=unit.chart_version, path=comp.git.path)
    elif isinstance(comp, ChartComponent):
        chart = ChartSource(
            repo=comp.chart.repo, name=comp.chart.name, revision=unit.chart_version,
            releaseName=comp.chart.release_name or unit.name, valuesFile=paths.values_file(unit.name, env),
        )
    return Application(
        name=app_name(env, unit.name),
        labels=standard_labels(unit.name, part_of=platform.name),
        wave=unit.wave,
        finalizer=not self_managed(unit),  # deleting Argo CD's own Application must not uninstall Argo CD
        project=project_name(env, unit.domain),
        destination={"server": destination(platform, env), "namespace": unit.namespace},
        syncOptions=list(comp.sync_options) if comp is not None else [],
        delivery=unit.delivery,
        path=paths.overlay_dir(unit.name, env) if has_manifests(unit) else None,
        git=git,
        chart=chart,
    )


def ci_context(platform: Platform, tree: Tree) -> CiVariables:
    """The CI workflow's and validate.sh's data: the tree's build roots and plain files, pins, schema locations."""
    roots, plain = ci.targets(tree)
    k8s_dir = ci.kubernetes_schema_dir(platform)
    key = f"bbgen-tools-${{{{ runner.os }}}}-go{ci.GO_VERSION}-kustomize-{pins.KUSTOMIZE_VERSION}-kubeconform-{pins.KUBECONFORM_VERSION}"
    return CiVariables(ci=Ci(
        builds=roots,
        files=plain,
        script=paths.SCRIPT_PATH,
        kubernetesSchemas=f"{k8s_dir}/{schemas.K8S_TEMPLATE}",
        crdSchemas=f"{paths.CRD_SCHEMA_DIR}/{schemas.CRD_TEMPLATE}",
        branch=platform.gitops.branch,
        goVersion=ci.GO_VERSION,
        actions=Actions(checkout=ci.CHECKOUT_ACTION, setupGo=ci.SETUP_GO_ACTION, cache=ci.CACHE_ACTION),
        cacheKey=key,
        kustomizeVersion=pins.KUSTOMIZE_VERSION,
        kubeconformVersion=pins.KUBECONFORM_VERSION,
        kustomizePackage=pins.KUSTOMIZE_PACKAGE,
        kubeconformPackage=pins.KUBECONFORM_PACKAGE,
    ))


def readme_context(platform: Platform, units: dict[str, Unit]) -> ReadmeVariables:
    """Everything README.md.j2 reads: the platform, its bootstrap steps, hosts, Secrets and CI facts."""
    envs = sorted(platform.environments)
    inventory = build_inventory(platform, units, spokes=spoke_servers(platform, platform.gitops.hub))
    ordered = sorted(units.values(), key=lambda u: u.name)
    supplied = [(s, k) for s in inventory.secrets for k in sorted(s.keys) if s.keys[k].source == "supply"]
    argocd = provider(units, readme.GITOPS)
    hub = platform.gitops.hub
    argo_envs = [e for e in envs if runs_argocd(platform, e)]
    remote = set(spokes(platform))
    return ReadmeVariables(
        platform=RepoFacts(name=platform.name, branch=platform.gitops.branch, repoURL=repo_url(platform)),
        graph=mermaid(platform, units).rstrip("\n"),
        envs=[
            ReadmeEnv(
                name=e,
                platformDir=paths.platform_dir(e),
                rootApp=paths.root_app_file(e),
                cluster=destination(platform, e),
                remote=e in remote,
                clusterSecret=f"{argocd_namespace()}/{cluster_secret_name(e)}" if e in remote else None,
            )
            for e in envs
        ],
        cni=readme.install_step(provider(units, readme.CNI), envs),
        gitopsController=readme.install_step(argocd, argo_envs) if argocd is not None and readme.chart_facts(argocd) else None,
        gitopsMode=platform.gitops.mode,
        hub=hub,
        argocdNamespace=argocd_namespace(),
        argocdVersionHint=readme.ARGOCD_VERSION_HINT,
        repoSecret=f"repo-{platform.gitops.repo}".lower().replace("_", "-").replace(".", "-"),
        secretsDir=f"~/secrets/{platform.name}",
        supplied=[SuppliedKey(env=s.keys[k].env, what=s.keys[k].supply, optional=s.keys[k].optional) for s, k in supplied],
        secrets=readme.secret_rows(inventory),
        components=[
            ComponentRow(name=u.name, namespace=u.namespace, delivery=u.delivery, wave=u.wave, dependsOn=list(u.depends_on))
            for u in sorted(units.values(), key=lambda u: (u.wave, u.name))
        ],
        dns=Dns(
            target=readme.dns_target(platform, units),
            hosts=[DnsHost(env=e, host=fqdn(u.host_label, platform.env_domain(e)), unit=u.name) for e in envs for u in ordered if u.host_label],
            tcp=[
                DnsTcp(
                    env=e, port=t.port, unit=t.component, host=fqdn(t.host or units[t.component].host_label or t.component, platform.env_domain(e)),
                    tls=speaks_tls(units[t.component], t.target_port or t.port),
                )
                for e in envs for t in sorted(platform.ingress.tcp, key=lambda t: t.port) if t.component in units
            ],
        ),
        ci=ReadmeCi(
            workflow=paths.WORKFLOW_PATH,
            script=paths.SCRIPT_PATH,
            schemaRoot=paths.SCHEMA_ROOT,
            kubernetesVersion=schemas.choose(platform.kubernetes_version).used,
            kustomizeVersion=pins.KUSTOMIZE_VERSION,
            kubeconformVersion=pins.KUBECONFORM_VERSION,
        ),
        manifest=paths.MANIFEST_PATH,
    )


def _doc(root: Path, template: str, context: dict[str, Any]) -> dict[str, Any]:
    docs = engine.render_documents(root, root / template, context)
    if len(docs) != 1:
        raise TemplateError(template=f"templates/{template}", line=None, message=f"must render one document, not {len(docs)}")
    doc: dict[str, Any] = docs[0]
    return doc


def _text(root: Path, template: str, context: dict[str, Any], *, yaml: bool = False) -> str:
    text = engine.render_text(root, root / template, context, text=True)
    if yaml:  # kept as text for its comments, but it must still be valid YAML
        try:
            yamlio.load(text)
        except yamlio.YAMLError as exc:
            raise TemplateError(template=f"templates/{template}", line=None, message=f"rendered invalid YAML: {' '.join(str(exc).split())}") from None
    return text


def add_outputs(tree: Tree, root: Path, platform: Platform, units: dict[str, Unit], env_units: dict[str, dict[str, Unit]]) -> None:
    """Add projects/<env>/, platform/<env>/, apps/<env>/, bootstrap/, the CI files and the README; call once the components are in.

    ``units`` is every unit some environment runs; ``env_units`` each environment's own (from its view).
    """
    shared = _shared(platform)
    for env in sorted(platform.environments):
        objects = platform_objects(env_view(platform, env), env_units[env])
        basics = [_doc(root, f"{PLATFORM}/{name}.yaml.j2", context) for name, context in objects]
        add_docs(tree, paths.platform_dir(env), basics, namespaced_names=True)
        deployed = argo_units(platform, env, env_units[env])
        domains, own_project = platform_context(platform, env, deployed)
        projects = [_doc(root, f"{ARGO}/appproject.yaml.j2", variables(project_variables(shared, p))) for p in domains]
        projects.append(_doc(root, f"{ARGO}/platform-project.yaml.j2", variables(project_variables(shared, own_project))))
        add_docs(tree, paths.projects_dir(env), projects)
        root_app, basics_app = env_apps_context(platform, env)
        apps = [_doc(root, f"{ARGO}/application.yaml.j2", variables(application_variables(shared, basics_app)))]
        apps += [_doc(root, f"{ARGO}/application.yaml.j2", variables(application_variables(shared, app_context(platform, env, u)))) for u in deployed.values()]
        names = []
        for app in apps:
            name = paths.app_file(app["metadata"]["name"], env)
            tree.add_doc(f"{paths.apps_dir(env)}/{name}", app)
            names.append(name)
        tree.add_doc(f"{paths.apps_dir(env)}/{paths.KUSTOMIZATION}", kustomization([f"../../{paths.projects_dir(env)}", *sorted(names)]))
        tree.add_doc(paths.root_app_file(env), _doc(root, f"{ARGO}/application.yaml.j2", variables(application_variables(shared, root_app))))
    ci.add_schemas(tree, platform)
    context = variables(ci_context(platform, tree))
    tree.add(paths.SCRIPT_PATH, _text(root, f"{REPO}/validate.sh.j2", context))
    tree.add(paths.WORKFLOW_PATH, _text(root, f"{REPO}/validate.yaml.j2", context, yaml=True))
    tree.add(paths.README_PATH, readme_text(platform, units, root=root))
    tree.add(paths.RESTORE_PATH, restore_text(root, platform, env_units))


def readme_text(platform: Platform, units: dict[str, Unit], *, root: Path | None = None) -> str:
    """The README's text, from the catalog root's templates/_repo/README.md.j2."""
    return _text(root or templates_root(), f"{REPO}/README.md.j2", variables(readme_context(platform, units)))
