"""The template contract: every value a template can read, as typed, documented objects.

Three Jinja dialects read bbgen's data, and these types are all they see:

- manifest templates (``templates/<c>/*.yaml.j2``, ``values.yaml.j2``, ``_app``,
  ``_shared``): the variables ``platform`` (:class:`PlatformContext`), ``env``
  (:class:`EnvContext`) and ``unit`` (:class:`UnitContext`);
- ``expose.env`` values in component.yaml: :class:`ExposeContext`'s fields as
  variables, evaluated once per dependency and dependant;
- a secret key's ``value:`` in component.yaml: :class:`SecretValueContext`'s fields.

They are built once per environment, from that environment's view of the spec
(``spec.merge.env_view``), by render/context_build.py. Field names are the names
templates use (camelCase, as in YAML). Kubernetes-shaped values (labels, resources,
EnvVar lists, tolerations, Keycloak client representations) stay plain mappings
and lists, ready for ``| q`` and ``tojson``, and lists stay lists so templates can
concatenate them (``unit.env + own_env``); the annotations say ``Mapping`` and
``Sequence`` because nothing may change them. Keys that are not identifiers
(``unit.deps['object-store']``, ``unit.ports['otlp-http']``) are mapping keys.

docs/templates.md is generated from these classes (their docstrings and the
docstring under each field): change a field here, then regenerate it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

# The custom-app part of the contract (`unit.workload`) lives in context_app.py.
from bbgen.render.context_app import Kube as Kube, Workload as Workload
from bbgen.render.context_backup import Backup as Backup, BackupCredential as BackupCredential, BackupStore as BackupStore
from bbgen.render.context_metrics import KeyedTarget as KeyedTarget
from bbgen.render.context_route import BasicAuth as BasicAuth, BasicAuthProxy as BasicAuthProxy, Route as Route
from bbgen.render.context_sso import OidcClient as OidcClient, OidcSecret as OidcSecret, Sso as Sso


@dataclass(frozen=True, kw_only=True, slots=True)
class Host:
    """A public host of the platform in this environment (for the Gateway's listeners)."""

    unit: str
    """Name of the component or app served on the host."""
    namespace: str
    """Namespace of its Service."""
    service: str
    """Name of the Service a route points at."""
    port: int
    """Port number of that Service's port named `http`."""
    host: str
    """Fully qualified host name (`llm.example.org`)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TcpExposure:
    """A raw TCP port opened at the edge (`ingress.tcp`), resolved to its target Service."""

    port: int
    """Port opened at the edge."""
    unit: str
    """Component receiving the traffic."""
    namespace: str
    """Its namespace."""
    service: str
    """Its Service."""
    targetPort: int
    """Service port the traffic goes to (the exposed port unless `targetPort` is set)."""
    host: str
    """Public name clients connect to (`host` of the exposure, else the unit's host, else its name, on the environment's domain)."""
    tls: bool
    """Whether the port speaks TLS to its clients here (component.yaml's `tcpTls`, its setting on); the spec refuses an exposure without it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class GpuPool:
    """A GPU node pool, with what a pod needs to be scheduled there."""

    name: str
    """Pool name (`nodePools` key)."""
    count: int
    """Number of nodes."""
    gpusPerNode: int
    """`nvidia.com/gpu` devices per node."""
    nodeSelector: Mapping[str, str]
    """Node selector: the pool's labels, or `nvidia.com/gpu.present: "true"` without any."""
    tolerations: Sequence[Kube]
    """Kubernetes tolerations of the pool's taints."""


@dataclass(frozen=True, kw_only=True, slots=True)
class GitOps:
    """The GitOps repository Argo CD follows."""

    repoURL: str
    """Clone URL of the repository (`<gitops.url>/<owner>/<repo>.git`)."""
    url: str
    """Base URL of the Gitea server (`gitops.url`)."""
    branch: str
    """Branch Argo CD tracks."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StorageClass:
    """The one StorageClass every persistent volume uses."""

    className: str
    """StorageClass name."""
    provisioner: str
    """Its provisioner."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Observability:
    """Alert rules and dashboards bbgen generates from the catalog's facts (render/observability.py)."""

    ruleFiles: Mapping[str, str]
    """Prometheus rule files, file name (`<component>.rules.yml`, `platform.rules.yml`) to YAML text."""
    dashboards: Mapping[str, str]
    """Grafana dashboards, file name (`platform.json`, `<component>.json`) to JSON text."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PlatformContext:
    """`platform`: the platform as a whole, as this environment sees it."""

    name: str
    """Platform name."""
    domain: str
    """The base domain (the environment's own is `env.domain`)."""
    hosts: Sequence[Host]
    """Every public host in this environment, sorted by host name."""
    tcp: Sequence[TcpExposure]
    """Every TCP exposure, sorted by port."""
    sso: Sso
    """Single sign-on: realm, issuer, clients."""
    gpuPools: Sequence[GpuPool]
    """GPU node pools, by name."""
    enabled: Sequence[str]
    """Names of every enabled component and app, sorted."""
    gitops: GitOps
    """The GitOps repository."""
    storage: StorageClass
    """The StorageClass."""
    observability: Observability
    """Generated alert rules and dashboards (read by the `metrics` and `dashboards` providers' templates)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Gateway:
    """The platform's Gateway (Gateway API routing)."""

    name: str
    """Gateway name."""
    namespace: str
    """Namespace of the `edge-gateway` provider, where the Gateway lives."""


@dataclass(frozen=True, kw_only=True, slots=True)
class EnvContext:
    """`env`: the environment being rendered."""

    name: str
    """Environment name (`prod`, `staging`, …)."""
    domain: str
    """Its domain; public hosts are `<host>.<domain>`."""
    issuer: str
    """cert-manager ClusterIssuer for its certificates (`letsencrypt-prod` / `letsencrypt-staging`)."""
    ingressProvider: str
    """`nginx` (Ingress objects) or `gateway` (Gateway API routes)."""
    ingressClass: str
    """IngressClass or GatewayClass of every route."""
    gateway: Gateway | None
    """The Gateway routes attach to, when an `edge-gateway` provider is enabled."""
    acmeEmail: str
    """Let's Encrypt account contact."""
    kubernetesVersion: str
    """Kubernetes version the manifests target (`1.34.0`)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SecretKeyRef:
    """A key of a Secret, referenced by name (the value never enters git)."""

    secret: str
    """Secret name."""
    key: str
    """Key in that Secret."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Dependency:
    """An enabled dependency of the unit, with how this unit connects to it."""

    name: str
    """The dependency's name."""
    namespace: str
    """Its namespace."""
    service: str
    """Its Service."""
    ports: Mapping[str, int]
    """Its pods' ports by name."""
    address: str
    """In-cluster DNS name of its Service (`<service>.<namespace>.svc.cluster.local`)."""
    settings: Mapping[str, Any]
    """Its settings (catalog defaults merged with the spec's)."""
    env: Mapping[str, str]
    """Connection env vars it exposes to this unit (its `expose.env`, evaluated for this dependant)."""
    secretEnv: Mapping[str, SecretKeyRef]
    """Env vars read from Secrets (its `expose.secretEnv`), by variable name."""


@dataclass(frozen=True, kw_only=True, slots=True)
class UnitContext:
    """`unit`: the component or app being rendered, every default applied, in this environment."""

    name: str
    """Component or app name."""
    namespace: str
    """Namespace it is deployed to."""
    service: str
    """Name of its main Service."""
    image: str | None
    """Image reference (`repository:tag`), none for charts and git sources."""
    replicas: int
    """Replica count in this environment."""
    resources: Kube
    """Kubernetes resources (requests, limits) in this environment."""
    storage: str | None
    """Size of its persistent volume, or none."""
    storageClass: str
    """StorageClass of its persistent volumes."""
    host: str | None
    """Fully qualified public host in this environment, or none."""
    ports: Mapping[str, int]
    """Its pods' ports by name."""
    httpServicePort: int
    """Port number of its Service port named `http` (what a route's backend names)."""
    settings: Mapping[str, Any]
    """Its settings: catalog defaults merged with the spec's."""
    labels: Mapping[str, str]
    """The standard labels (`app.kubernetes.io/*`) every object of the unit carries."""
    selector: Mapping[str, str]
    """Labels selecting its pods (name and instance)."""
    basicAuth: BasicAuth | None
    """Basic auth on its public host, when enabled."""
    auth: str | None
    """How its public host authenticates callers (the route's `bbgen.dev/auth` annotation): `basic`, `oidc`,
    `builtin` or `token` (the component's own login), `public` (open on purpose); none without a host."""
    env: Sequence[Kube]
    """Container env (Kubernetes EnvVar list, sorted by name): dependencies' connection settings, the OIDC client, an app's own."""
    deps: Mapping[str, Dependency]
    """Enabled dependencies by name, and again under each role they fill for this unit (`object-store`, `llm`)."""
    dependants: Sequence[str]
    """Names of the enabled units depending on this one, sorted."""
    consumerSecrets: Mapping[str, Sequence[str]]
    """Each dependant's own Secrets of this unit (its `consumerSecrets`, names evaluated), by dependant name; a
    dependant signing in with an identity of its own (its component.yaml `ownCredentials`) has none."""
    dependantAccess: Mapping[str, str]
    """What a dependant asks of this unit beyond the default (its component.yaml `access`, by this unit's name or a
    role it fills), by dependant name; a dependant asking nothing is absent."""
    dependantTopics: Mapping[str, Sequence[str]]
    """Topics each dependant app declares (`apps.<name>.topics`, shared with others), by dependant name; none: absent."""
    tcp: Sequence[TcpExposure]
    """The TCP exposures reaching this unit."""
    route: Route
    """Its public route's limits."""
    chartVersion: str | None
    """Chart version (chart components), else none."""
    release: str | None
    """Helm release name (chart components), else none."""
    oidc: OidcClient | None
    """Its OIDC client, when the spec gives it one."""
    gpuPool: GpuPool | None
    """The GPU pool it runs on (GPU components; none without a GPU pool or for other units)."""
    healthPath: str | None
    """HTTP path of the probes (custom apps), else none."""
    readOnlyRootFilesystem: bool | None
    """Whether the root filesystem is read-only (custom apps), else none."""
    workload: Workload | None
    """What a custom app runs as (its kind, command, probes), else none."""
    backup: Backup | None = None
    """How it is backed up in this environment (`_shared/backup-*.j2`), none when it is not (no method, disabled, no object store)."""
    backupStore: BackupStore | None = None
    """The bucket and key its setup Job makes for backups (an `object-store` provider with `backupStore`), else none."""
    scrapesWithKey: Sequence[KeyedTarget] = ()
    """On the metrics scraper: the components whose metrics need its key here (one scrape job each), sorted; else empty."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ExposeContext:
    """Variables of a component's `expose.env` values, evaluated for each dependant."""

    service: str
    """The exposing component's Service."""
    namespace: str
    """Its namespace."""
    ports: Mapping[str, int]
    """Its pods' ports by name."""
    name: str
    """Its name."""
    settings: Mapping[str, Any]
    """Its settings."""
    dependant: str
    """Name of the dependant the value is for (its own database, its own bucket prefix)."""
    sso: Sso
    """The platform realm, as in `platform.sso`."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PlatformBasics:
    """The platform's identity, the same in every environment."""

    name: str
    """Platform name."""
    domain: str
    """Base domain."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SecretValueContext:
    """Variables of a secret key's fixed `value:` in component.yaml (never secret itself)."""

    gitops: GitOps
    """The GitOps repository."""
    platform: PlatformBasics
    """Platform name and base domain."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ManifestVariables:
    """The variables of a manifest template rendering one unit in one environment."""

    platform: PlatformContext
    """The platform as a whole, as this environment sees it."""
    env: EnvContext
    """The environment being rendered."""
    unit: UnitContext
    """The component or app being rendered."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Scope:
    """What one environment's manifest templates see: built once, then read per unit."""

    platform: PlatformContext
    env: EnvContext
    units: Mapping[str, UnitContext]

    def variables(self, unit: str) -> dict[str, Any]:
        """The template variables for rendering ``unit``."""
        return variables(ManifestVariables(platform=self.platform, env=self.env, unit=self.units[unit]))


def variables(context: Any) -> dict[str, Any]:
    """A dialect's root object as Jinja variables: one per field."""
    return {f.name: getattr(context, f.name) for f in fields(context)}
