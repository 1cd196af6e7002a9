"""The template contract of templates/_argo/: what Argo CD's Applications and AppProjects read.

Argo CD objects are the contract with the cluster, so their data is typed like the
components' (render/context.py): frozen objects, one docstring per field, listed in
docs/templates.md. render/outputs.py builds them; the templates only lay them out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bbgen.render.context import GitOps


@dataclass(frozen=True, kw_only=True, slots=True)
class Controller:
    """The GitOps controller (Argo CD) that owns every Application and AppProject."""

    namespace: str
    """Its namespace, where Applications and AppProjects live (the `gitops` provider's, from its component.yaml)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class GitSource:
    """Plain manifests Argo CD reads from an upstream repository at a pinned revision."""

    repo: str
    """Repository URL."""
    revision: str | None
    """Tag or commit."""
    path: str
    """Directory in the repository."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ChartSource:
    """A pinned upstream Helm chart and the values file bbgen renders for it."""

    repo: str
    """Chart repository URL."""
    name: str
    """Chart name."""
    revision: str | None
    """Chart version."""
    releaseName: str
    """Helm release name."""
    valuesFile: str
    """Path of the values file in the GitOps repository (read through the `$values` source)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Application:
    """One Argo CD Application: a unit in one environment, an environment's platform basics, or its root."""

    name: str
    """Application name (`<env>-<unit>`, `<env>-platform`, `<env>-root`)."""
    labels: Mapping[str, str]
    """The standard labels."""
    wave: int | None
    """Sync wave (from the dependency graph), or none for the root."""
    finalizer: bool
    """Whether deleting the Application deletes what it deployed (never for the self-managed controller or the root)."""
    project: str
    """AppProject it belongs to (`<env>-<domain>`, `<env>-platform`, or `default` for the root)."""
    destination: Mapping[str, str]
    """Argo CD destination: the environment's API server (`https://kubernetes.default.svc` on the hub and in per-cluster mode) and the namespace."""
    syncOptions: Sequence[str]
    """Extra sync options (the component's `syncOptions`)."""
    delivery: str
    """`kustomize`, `chart` or `git`: which source shape the Application has."""
    path: str | None
    """Path of its Kustomize overlay in the GitOps repository (a chart's companions), or none."""
    git: GitSource | None
    """The upstream repository (git delivery), else none."""
    chart: ChartSource | None
    """The upstream chart (chart delivery), else none."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Project:
    """One AppProject: a domain (its namespaces, repositories and cluster-scoped kinds), or the platform's own."""

    name: str
    """Project name: `<env>-<domain>`, or `<env>-platform` (one set per environment, so no Application reaches another's cluster)."""
    labels: Mapping[str, str]
    """The standard labels."""
    server: str
    """The one API server its Applications may deploy to: its environment's destination (`gitops.mode`, `gitops.hub`)."""
    members: Sequence[str]
    """Units in the domain, sorted (empty for the platform project)."""
    namespaces: Sequence[str]
    """Namespaces its Applications may deploy to, sorted."""
    sourceRepos: Sequence[str]
    """Repositories its Applications may read: the GitOps repository and the domain's charts and git sources."""
    clusterResources: Sequence[Mapping[str, str]]
    """Cluster-scoped kinds it may create (`group`, `kind`), from the members' `clusterResources`."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ArgoShared:
    """What every _argo template reads besides its own object."""

    gitops: GitOps
    """The GitOps repository."""
    controller: Controller
    """The GitOps controller."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ApplicationVariables:
    """The variables of _argo/application.yaml.j2."""

    app: Application
    """The Application to render."""
    gitops: GitOps
    """The GitOps repository."""
    controller: Controller
    """The GitOps controller."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ProjectVariables:
    """The variables of _argo/appproject.yaml.j2 and platform-project.yaml.j2."""

    project: Project
    """The AppProject to render."""
    gitops: GitOps
    """The GitOps repository."""
    controller: Controller
    """The GitOps controller."""


def application_variables(shared: ArgoShared, app: Application) -> ApplicationVariables:
    return ApplicationVariables(app=app, gitops=shared.gitops, controller=shared.controller)


def project_variables(shared: ArgoShared, project: Project) -> ProjectVariables:
    return ProjectVariables(project=project, gitops=shared.gitops, controller=shared.controller)
