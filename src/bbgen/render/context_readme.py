"""The template contract of templates/_repo/README.md.j2: the generated repository's README.

Written for whoever clones the GitOps repository without the spec, so its data is
typed like every other template's (listed in docs/templates.md); render/outputs.py
(readme_context) and render/readme.py build it, from the same inventory as
``bbgen secrets plan``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class RepoFacts:
    """The platform and its GitOps repository."""

    name: str
    """Platform name."""
    branch: str
    """Branch Argo CD follows."""
    repoURL: str
    """Clone URL of the repository."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ReadmeEnv:
    """One environment's bootstrap facts."""

    name: str
    """Environment name."""
    platformDir: str
    """Its platform/<env>/ directory."""
    rootApp: str
    """Path of its root Application."""
    cluster: str
    """Its API server as Argo CD addresses it (`https://kubernetes.default.svc` for the hub and in per-cluster mode)."""
    remote: bool
    """Whether the hub's Argo CD deploys it remotely (a spoke: registered by its cluster Secret)."""
    clusterSecret: str | None
    """A spoke's Argo CD cluster Secret (`<namespace>/<name>`, made by `bbgen secrets generate`), else none."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ChartFacts:
    """A chart installed by hand with helm."""

    release: str
    """Helm release name."""
    name: str
    """Chart name."""
    repo: str
    """Chart repository."""
    version: str | None
    """Chart version."""


@dataclass(frozen=True, kw_only=True, slots=True)
class InstallEnv:
    """Where one environment's install reads from."""

    name: str
    """Environment name."""
    valuesFile: str
    """Its Helm values file."""
    overlay: str
    """Its Kustomize overlay."""


@dataclass(frozen=True, kw_only=True, slots=True)
class InstallStep:
    """A unit installed by hand before Argo CD can (the CNI, Argo CD itself)."""

    name: str
    """Unit name."""
    namespace: str
    """Its namespace."""
    chart: ChartFacts | None
    """Its chart, or none (then its overlay is applied with kubectl)."""
    envs: Sequence[InstallEnv]
    """The environments it is installed in."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SuppliedKey:
    """A Secret key a person supplies, through an environment variable."""

    env: str | None
    """The variable `bbgen secrets generate` reads."""
    what: str | None
    """What the value is."""
    optional: bool
    """Whether the Secret may be left out."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SecretRow:
    """One Secret of the inventory, as the README's table shows it."""

    namespace: str
    """Its namespace."""
    name: str
    """Its name."""
    keyNames: Sequence[str]
    """Its keys, sorted."""
    how: str
    """How its values are made."""
    usedBy: Sequence[str]
    """Units reading it."""
    basicAuth: bool
    """Whether it is a basic-auth Secret (its password is shown how to read)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ComponentRow:
    """One unit in the README's component table."""

    name: str
    """Unit name."""
    namespace: str
    """Its namespace."""
    delivery: str
    """`kustomize`, `chart` or `git`."""
    wave: int
    """Its sync wave."""
    dependsOn: Sequence[str]
    """What it depends on."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DnsHost:
    """A DNS record to create."""

    env: str
    """Environment."""
    host: str
    """Fully qualified host."""
    unit: str
    """Unit served there."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DnsTcp:
    """A raw TCP port on the edge's address."""

    env: str
    """Environment."""
    host: str
    """Public name clients use (a record beside the hosts', and the name on the port's certificate)."""
    port: int
    """The port."""
    unit: str
    """Unit receiving it."""
    tls: bool
    """Whether the port speaks TLS (the spec refuses a raw exposure without it)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Dns:
    """What DNS must point at the edge."""

    target: str
    """What the records point at (the Gateway's or the controller's address)."""
    hosts: Sequence[DnsHost]
    """Every public host per environment."""
    tcp: Sequence[DnsTcp]
    """Every TCP exposure, by port."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ReadmeCi:
    """How the repository checks itself, as the README explains it."""

    workflow: str
    """Path of the workflow."""
    script: str
    """Path of validate.sh."""
    schemaRoot: str
    """Directory of the bundled schemas."""
    kubernetesVersion: str
    """Kubernetes version the schemas are for."""
    kustomizeVersion: str
    """Pinned kustomize version."""
    kubeconformVersion: str
    """Pinned kubeconform version."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ReadmeVariables:
    """The variables of templates/_repo/README.md.j2."""

    platform: RepoFacts
    """The platform and its repository."""
    graph: str
    """The platform as a Mermaid flowchart (`bbgen graph`)."""
    envs: Sequence[ReadmeEnv]
    """Every environment, sorted."""
    cni: InstallStep | None
    """The `cni` provider's hand install, when one is enabled."""
    gitopsController: InstallStep | None
    """The `gitops` provider's hand install (on the hub, or on every cluster in per-cluster mode), when one is enabled as a chart."""
    gitopsMode: str
    """`hub` (one Argo CD on the hub deploys every environment) or `per-cluster` (`gitops.mode`)."""
    hub: str
    """The environment whose cluster runs Argo CD in hub mode (`gitops.hub`)."""
    argocdNamespace: str
    """Where Argo CD runs."""
    argocdVersionHint: str
    """An Argo CD version for a hand install without the `gitops` component."""
    repoSecret: str
    """Name of the hand-made repository Secret."""
    secretsDir: str
    """Where `bbgen secrets generate` writes, in the commands shown."""
    supplied: Sequence[SuppliedKey]
    """Every key a person supplies."""
    secrets: Sequence[SecretRow]
    """Every Secret of the inventory."""
    components: Sequence[ComponentRow]
    """Every unit, by sync wave."""
    dns: Dns
    """The DNS records."""
    ci: ReadmeCi
    """The CI facts."""
    manifest: str
    """Path of the ownership manifest."""
