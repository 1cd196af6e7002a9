"""The platform spec as pydantic v2 models.

Every field carries a description because the JSON Schema that ``bbgen schema``
prints is what editors show while a person types the spec. Field names are
snake_case in Python and camelCase in YAML, the convention Kubernetes users
already read every day. The scalar types (names, hosts, quantities, references)
and their checks live in :mod:`bbgen.spec.scalars`; the shared building blocks in
:mod:`bbgen.spec.model_parts` and the custom-app model in :mod:`bbgen.spec.app_models`,
both re-exported here so ``from bbgen.spec.models import ...`` keeps working.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from bbgen.spec.app_models import (
    APP_RESOURCES,
    AppFile,
    AppPort,
    AppVolume,
    Autoscale,
    AutoscaleOverride,
    CustomApp,
    EnvSource,
    EnvVar,
    Migrate,
    MigrateOverride,
    Probes,
    SecretRef,
)
from bbgen.spec.backups import Backups, BackupsOverride, ComponentBackup
from bbgen.spec.model_parts import (
    HELM_VALUES_DESCRIPTION,
    MANIFESTS_DESCRIPTION,
    PATCHES_DESCRIPTION,
    PUBLIC_DESCRIPTION,
    BasicAuth,
    JsonPatchOp,
    Oidc,
    Patch,
    PatchTarget,
    ResourceAmounts,
    Resources,
    ScalarValue,
    SpecModel,
)
from bbgen.spec.scalars import (
    DNS_LABEL_KEYS,
    Branch,
    DnsLabel,
    DnsLabelKey,
    DnsName,
    Domain,
    Host,
    ImageRef,
    KubernetesVersion,
    NonEmpty,
    Port,
    Size,
    UrlPath,
)

__all__ = [
    "APP_RESOURCES", "AppFile", "AppPort", "AppVolume", "Autoscale", "AutoscaleOverride", "GATEWAY_API", "HELM_VALUES_DESCRIPTION", "MANIFESTS_DESCRIPTION", "PATCHES_DESCRIPTION", "ROLE_FIELDS",
    "BasicAuth", "ComponentOverride", "ComponentSettings", "CustomApp", "EnvSource", "EnvVar", "Environment", "GitOps", "Ingress",
    "IngressOverride", "JsonPatchOp", "LocalVolume", "Migrate", "MigrateOverride", "NodePool", "Oidc", "Patch", "PatchTarget", "Platform", "Probes",
    "ResourceAmounts", "Resources", "ScalarValue", "SecretRef", "SpecModel", "Sso", "Storage", "StorageOverride",
    "Taint", "TcpExposure", "Tls",
]

# Catalog roles the spec chooses a provider for, and the Platform field that chooses (YAML: camelCase).
ROLE_FIELDS = {"object-store": "object_store", "llm": "llm"}

# The `ingress.provider` value for Gateway API routing, named once for code. It happens to equal the
# name of the catalog component that makes the Gateway; code never means that component by it.
GATEWAY_API = "gateway"


ADMIN_FROM_DESCRIPTION = (
    "Who besides the component's own namespace may reach its `admin` ports (consoles, admin APIs; see `portPurposes` "
    "in `bbgen components`): enabled components or apps by name (their pods) or namespaces the platform creates (every pod there)."
)


class ComponentSettings(SpecModel):
    """Overrides for one catalog component; everything defaults to the catalog's values."""

    enabled: bool = Field(default=True, description="Deploy this component. A component others depend on cannot be disabled.")
    namespace: DnsLabel | None = Field(default=None, description="Namespace to deploy into; defaults to the catalog's domain namespace.")
    version: NonEmpty | None = Field(default=None, description="Image tag (Kustomize components) or chart version (chart components) replacing the pinned default.")
    replicas: Annotated[int, Field(ge=0, le=100)] | None = Field(default=None, description="Replica count; defaults to the catalog's value (1 for stateful services).")
    resources: Resources | None = Field(default=None, description="Requests and limits per replica; merged over the catalog defaults.")
    storage: Size | None = Field(default=None, description="Size of the persistent volume on the local-SSD storage class (above zero; only components that keep one, see `bbgen components`).")
    host: Host | None = Field(default=None, description="Public host: a label (`llm` becomes `llm.<domain>`) or a full DNS name, never an IP address; only for components serving HTTP. Empty string: not exposed.")
    basic_auth: BasicAuth | None = Field(default=None, description="HTTP basic auth on the public host.")
    public: bool = Field(default=False, description=PUBLIC_DESCRIPTION)
    oidc: Oidc | None = Field(default=None, description="Sign users in through Keycloak (components marked `oidc` in `bbgen components`): adds a client to the realm and wires it into the component's config.")
    admin_from: list[DnsLabel] = Field(default_factory=list, description=ADMIN_FROM_DESCRIPTION)
    settings: dict[str, ScalarValue | list[ScalarValue]] = Field(default_factory=dict, description="Component-specific settings; the keys each component accepts are listed by `bbgen components`.")
    patches: list[Patch] = Field(default_factory=list, description=PATCHES_DESCRIPTION)
    manifests: list[NonEmpty] = Field(default_factory=list, description=MANIFESTS_DESCRIPTION)
    helm_values: dict[str, Any] = Field(default_factory=dict, description=HELM_VALUES_DESCRIPTION)
    backup: ComponentBackup | None = Field(default=None, description="Schedule and retention of this component's backup CronJob, over `backups` (components with a backup method, see `bbgen components`).")


class TcpExposure(SpecModel):
    """A raw TCP port opened on the ingress controller, for protocols that are not HTTP."""

    port: Port = Field(description="Port opened on the ingress controller.")
    component: DnsLabel = Field(description="Component whose Service receives the traffic.")
    target_port: Port | None = Field(default=None, description="Service port; defaults to the exposed port.")
    host: DnsLabel | None = Field(
        default=None,
        description=(
            "Public name clients connect to (a DNS record at the edge, and the name on the port's TLS certificate); "
            "defaults to the component's host, else the component's name."
        ),
    )


class Ingress(SpecModel):
    """How traffic from outside reaches the platform's public hosts and TCP ports."""

    provider: Literal["nginx", "gateway"] = Field(
        default="nginx",
        description=(
            "How public hosts are routed: `nginx` renders Ingress objects for the NGINX ingress controller "
            "(retired upstream in March 2026; `bbgen validate` warns), `gateway` renders a Gateway API Gateway "
            "with HTTPRoutes and TCPRoutes (implemented by Cilium)."
        ),
    )
    class_name: DnsLabel = Field(default="nginx", description="IngressClass (nginx) or GatewayClass (gateway, e.g. the CNI's class) used by every route and by the ACME HTTP-01 solver.")
    tcp: list[TcpExposure] = Field(default_factory=list, description="Raw TCP ports exposed through the ingress controller (e.g. PostgreSQL 5432, Neo4j Bolt 7687).")


class Tls(SpecModel):
    """Certificates for every public host, issued by cert-manager from Let's Encrypt."""

    acme_email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] = Field(description="Contact address for the Let's Encrypt account (expiry notices go there).")
    issuer: Literal["staging", "prod"] = Field(default="prod", description="Default Let's Encrypt issuer for every environment; staging avoids rate limits while testing.")


class LocalVolume(SpecModel):
    """A static local PersistentVolume: a directory on one node's disk, offered to claims."""

    name: DnsLabel = Field(description="PersistentVolume name.")
    node: DnsName = Field(description="Node (its `kubernetes.io/hostname` label) whose disk holds the volume.")
    path: Annotated[str, StringConstraints(pattern=r"^/[^\s]*$")] = Field(description="Absolute path of an existing directory or mount on that node.")
    size: Size = Field(description="Capacity the volume offers to claims (e.g. `100Gi`).")


class Storage(SpecModel):
    """The one StorageClass every persistent volume uses (local SSDs: fast, bound to a node)."""

    class_name: DnsLabel = Field(default="local-ssd", description="StorageClass for every persistent volume (local SSD, WaitForFirstConsumer).")
    provisioner: NonEmpty = Field(default="rancher.io/local-path", description="CSI/external provisioner of that class (`kubernetes.io/no-provisioner` for static local PVs).")
    reclaim_policy: Literal["Retain", "Delete"] = Field(default="Retain", description="What happens to a volume when its claim is deleted; Retain keeps data on the node.")
    volumes: list[LocalVolume] = Field(
        default_factory=list,
        description="Static local PersistentVolumes pinned to named nodes; only with provisioner `kubernetes.io/no-provisioner` (otherwise the component providing the `storage-provisioner` role creates volumes on demand).",
    )


class Taint(SpecModel):
    """A taint on the pool's nodes; the GPU workloads bbgen places on the pool get a matching toleration."""

    key: NonEmpty = Field(description="Taint key (e.g. `nvidia.com/gpu`).")
    value: str = Field(default="", description="Taint value.")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = Field(default="NoSchedule", description="Taint effect.")


class NodePool(SpecModel):
    """A group of identical nodes. bbgen creates no nodes: it places GPU workloads on GPU pools (by their labels and taints) and checks that a GPU component has one."""

    count: Annotated[int, Field(ge=0, le=1000)] = Field(default=1, description="Number of nodes in the pool (documentation and capacity checks; bbgen does not provision).")
    role: Literal["worker", "control-plane", "gpu"] = Field(default="worker", description="What the pool is for.")
    labels: dict[str, str] = Field(default_factory=dict, description="Node labels workloads select on.")
    taints: list[Taint] = Field(default_factory=list, description="Taints that keep other workloads off (GPU pools usually taint `nvidia.com/gpu`).")
    gpus_per_node: Annotated[int, Field(ge=0, le=16)] = Field(default=0, description="`nvidia.com/gpu` devices per node.")


class Sso(SpecModel):
    """Single sign-on through Keycloak."""

    realm: DnsLabel | None = Field(default=None, description="Keycloak realm the platform's OIDC clients live in; defaults to the platform name.")
    admin_group: DnsLabel | None = Field(
        default=None,
        description=(
            "Realm group whose members administer the platform's own UIs signing in through Keycloak (Argo CD's "
            "`role:admin`, Grafana's Admin, Argo Workflows' admin ServiceAccount); created by Keycloak's clients Job. "
            "Defaults to `<platform>-admins`."
        ),
    )


class GitOps(SpecModel):
    """The Gitea repository that holds the rendered manifests and that Argo CD follows."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")] = Field(description="Base URL of the Gitea server (e.g. `https://git.example.org`).")
    owner: DnsLabel = Field(description="Gitea user or organisation owning the repository.")
    repo: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,100}$")] = Field(description="Repository name.")
    branch: Branch = Field(default="main", description="Branch Argo CD tracks (a git branch name: no `..`, no part starting with `.`).")
    mode: Literal["hub", "per-cluster"] = Field(
        default="hub",
        description=(
            "`hub`: one Argo CD, on the `hub` environment's cluster, deploys every environment (its AppProjects and root Applications live there once; "
            "the other clusters are registered with it). `per-cluster`: every environment's cluster runs its own Argo CD, managing only itself."
        ),
    )
    hub: DnsLabel = Field(default="prod", description="Environment whose cluster runs Argo CD in `hub` mode; its Applications target `https://kubernetes.default.svc`.")

    def runs_controller(self, env: str) -> bool:
        """Whether ``env``'s cluster runs the GitOps controller: only the hub in `hub` mode, every cluster in `per-cluster` mode."""
        return self.mode == "per-cluster" or env == self.hub


class ComponentOverride(SpecModel):
    """What one component or app changes in one environment: any of its fields, merged over the base.

    Mappings merge deeply, anything else (lists too) replaces, `null` removes the key so the default applies.
    Which fields apply depends on what the name is: a catalog component's fields or a custom app's.
    """

    enabled: bool | None = Field(default=None, description="Deploy it in this environment.")
    namespace: DnsLabel | None = Field(default=None, description="Namespace in this environment.")
    version: NonEmpty | None = Field(default=None, description="Image tag or chart version in this environment (components).")
    image: ImageRef | None = Field(default=None, description="Image reference in this environment (custom apps).")
    port: Port | None = Field(default=None, description="Container port in this environment (custom apps).")
    ports: list[AppPort] | None = Field(default=None, description="Named ports in this environment (the whole list; custom apps).")
    replicas: Annotated[int, Field(ge=0, le=100)] | None = Field(default=None, description="Replica count in this environment.")
    autoscale: AutoscaleOverride | None = Field(default=None, description="Autoscaler bounds in this environment, merged over the base `autoscale` (custom apps).")
    resources: Resources | None = Field(default=None, description="Requests and limits in this environment.")
    storage: Size | None = Field(default=None, description="Persistent volume size in this environment (components).")
    host: Host | None = Field(default=None, description="Public host in this environment (empty string: not exposed).")
    health_path: UrlPath | None = Field(default=None, description="Probe path in this environment (custom apps).")
    basic_auth: BasicAuth | None = Field(default=None, description="HTTP basic auth in this environment.")
    public: bool | None = Field(default=None, description="Serve the public host without authentication in this environment (see the base field).")
    oidc: Oidc | None = Field(default=None, description="Keycloak client in this environment.")
    admin_from: list[DnsLabel] | None = Field(default=None, description="Who else may reach the admin ports in this environment (the whole list; components).")
    settings: dict[str, ScalarValue | list[ScalarValue] | None] | None = Field(default=None, description="Component settings in this environment, merged key by key (`null` drops one back to its default).")
    env: list[EnvVar] | None = Field(default=None, description="Plain environment variables in this environment (the whole list; custom apps).")
    secret_env: list[SecretRef] | None = Field(default=None, description="Variables from Secrets in this environment (the whole list; custom apps).")
    depends_on: list[DnsLabel] | None = Field(default=None, description="Dependencies in this environment (the whole list; custom apps).")
    read_only_root_filesystem: bool | None = Field(default=None, description="Read-only root filesystem in this environment (custom apps).")
    schedule: NonEmpty | None = Field(default=None, description="CronJob schedule in this environment (custom apps of kind `cronjob`).")
    command: list[NonEmpty] | None = Field(default=None, description="Container command in this environment (the whole list; custom apps).")
    args: list[str] | None = Field(default=None, description="Container args in this environment (the whole list; custom apps).")
    migrate: MigrateOverride | None = Field(default=None, description="Migration Job in this environment, merged over the base `migrate` (custom apps).")
    probes: Probes | None = Field(default=None, description="Readiness and liveness check in this environment (custom apps).")
    image_pull_secrets: list[DnsName] | None = Field(default=None, description="Image pull Secrets in this environment (the whole list; custom apps).")
    service_account: DnsName | None = Field(default=None, description="ServiceAccount the pods run as in this environment (custom apps).")
    files: list[AppFile] | None = Field(default=None, description="Mounted files in this environment (the whole list; custom apps).")
    volumes: list[AppVolume] | None = Field(default=None, description="Volumes in this environment (the whole list; custom apps).")
    patches: list[Patch] | None = Field(default=None, description="Patches in this environment (the whole list, replacing the base one).")
    manifests: list[NonEmpty] | None = Field(default=None, description="Extra manifest files in this environment (the whole list; a file only here lands in this environment's overlay).")
    helm_values: dict[str, Any] | None = Field(default=None, description="Helm values in this environment, merged deeply over the base `helmValues` (chart components).")
    backup: ComponentBackup | None = Field(default=None, description="Backup schedule and retention in this environment, merged over the base `backup` (components).")


class StorageOverride(SpecModel):
    """What one environment's cluster changes in `storage`: its own static volumes (its own node names)."""

    class_name: DnsLabel | None = Field(default=None, description="StorageClass in this environment.")
    provisioner: NonEmpty | None = Field(default=None, description="Provisioner in this environment.")
    reclaim_policy: Literal["Retain", "Delete"] | None = Field(default=None, description="Reclaim policy in this environment.")
    volumes: list[LocalVolume] | None = Field(default=None, description="This cluster's static local volumes (the whole list, replacing the base one).")


class IngressOverride(SpecModel):
    """What one environment's cluster changes in `ingress`: the raw TCP ports it opens."""

    tcp: list[TcpExposure] | None = Field(default=None, description="Raw TCP ports of this cluster's ingress (the whole list).")


class Environment(SpecModel):
    """One deployment target (e.g. `prod`, `staging`) with its own overlays, domain and root Application.

    Besides its own fields it is a layer over the base spec (see the README, "Environments are layers"):
    `components`, `apps`, `nodePools`, `storage`, `ingress` and `kubernetesVersion` written here apply to this
    environment only. Mappings merge deeply, lists replace, `null` removes a key. Cluster facts (the API server
    address Cilium's kube-proxy replacement needs, node names of static volumes, GPU pools) belong here.
    """

    domain: Domain | None = Field(default=None, description="Domain of this environment; defaults to the platform domain for `prod`, `<env>.<domain>` otherwise.")
    tls_issuer: Literal["staging", "prod"] | None = Field(default=None, description="Let's Encrypt issuer for this environment; defaults to `tls.issuer`.")
    cluster: Annotated[str, StringConstraints(pattern=r"^https://\S+$")] = Field(default="https://kubernetes.default.svc", description="API server Argo CD deploys this environment to.")
    components: dict[DnsLabelKey, ComponentOverride | None] = Field(json_schema_extra=DNS_LABEL_KEYS, default_factory=dict, description="Per-component (or per-app, by name) fields in this environment, merged over `components.<name>` / `apps.<name>`; `null` removes the entry.")
    apps: dict[DnsLabelKey, ComponentOverride | None] = Field(json_schema_extra=DNS_LABEL_KEYS, default_factory=dict, description="Per-app fields in this environment, merged over `apps.<name>` (a new name adds an app to this environment only).")
    node_pools: dict[DnsLabelKey, NodePool | None] | None = Field(json_schema_extra=DNS_LABEL_KEYS, default=None, description="This cluster's node pools, merged pool by pool over `nodePools` (`null` removes a pool).")
    storage: StorageOverride | None = Field(default=None, description="This cluster's storage, merged over `storage` (its static volumes on its own nodes).")
    ingress: IngressOverride | None = Field(default=None, description="This cluster's raw TCP exposures, replacing `ingress.tcp`.")
    kubernetes_version: KubernetesVersion | None = Field(default=None, description="Kubernetes version of this cluster.")
    backups: BackupsOverride | None = Field(default=None, description="Backup schedule and retention in this environment, merged over `backups`.")


class Platform(SpecModel):
    """A whole platform: what runs, where, how it is reached and where its GitOps repo lives."""

    name: DnsLabel = Field(description="Platform name; used in labels (`app.kubernetes.io/part-of`) and the generated README.")
    domain: Domain = Field(description="Base DNS domain; public hosts are `<host>.<domain>`.")
    kubernetes_version: KubernetesVersion = Field(default="1.34.0", description="Kubernetes version the manifests are validated against (1.25 to 1.37).")
    gitops: GitOps = Field(description="Where the generated repository lives and which branch Argo CD follows.")
    tls: Tls = Field(description="Let's Encrypt settings for cert-manager.")
    ingress: Ingress = Field(default_factory=Ingress, description="Routing provider (NGINX Ingress or Gateway API), class and TCP exposures.")
    storage: Storage = Field(default_factory=Storage, description="The local-SSD storage class.")
    node_pools: dict[DnsLabelKey, NodePool] = Field(json_schema_extra=DNS_LABEL_KEYS, default_factory=lambda: {"workers": NodePool(count=1)}, description="Node pools by name; GPU workloads are placed on the GPU pools. Left out: one pool `workers` with one worker node.")
    environments: dict[DnsLabelKey, Environment] = Field(json_schema_extra=DNS_LABEL_KEYS, default_factory=lambda: {"prod": Environment()}, description="Environments by name; each gets its own overlays and root Application. `prod` is required. Left out: just `prod`.")
    sso: Sso = Field(default_factory=Sso, description="Single sign-on (Keycloak): the realm whose issuer (`https://<sso host>/realms/<realm>`) other components trust.")
    object_store: DnsLabel | None = Field(
        default=None,
        description=(
            "Which enabled provider of the `object-store` role (an S3-compatible store; see `bbgen components`) every object-store consumer (MLflow, Label Studio, "
            "Argo Workflows, apps depending on `object-store`) is wired to; defaults to the only one enabled."
        ),
    )
    llm: DnsLabel | None = Field(
        default=None,
        description=(
            "Which enabled provider of the `llm` role (a server on CPU or on a GPU pool; see `bbgen components`) apps depending on `llm` "
            "are wired to; defaults to the only one enabled."
        ),
    )
    backups: Backups = Field(default_factory=Backups, description="Backups of the stateful components into the object store (schedule, retention); per component under `components.<name>.backup`.")
    components: dict[DnsLabelKey, ComponentSettings] = Field(json_schema_extra=DNS_LABEL_KEYS, default_factory=dict, description="Catalog components to deploy, by catalog name; `{}` takes every default.")
    apps: dict[DnsLabelKey, CustomApp] = Field(json_schema_extra=DNS_LABEL_KEYS, default_factory=dict, description="The user's own services, by name.")

    def env_domain(self, env: str) -> str:
        """Domain of an environment, after defaults."""
        explicit = self.environments[env].domain
        if explicit:
            return explicit
        return self.domain if env == "prod" else f"{env}.{self.domain}"

    def gpu_pools(self) -> list[str]:
        """Names of the GPU node pools (role `gpu` or GPUs per node), sorted: GPU workloads go to the first."""
        return sorted(n for n, p in self.node_pools.items() if p.role == "gpu" or p.gpus_per_node > 0)

    def role_choice(self, role: str) -> str | None:
        """The provider the spec names for a catalog role (None: not chosen explicitly)."""
        field = ROLE_FIELDS.get(role)
        return getattr(self, field) if field is not None else None

    def sso_realm(self) -> str:
        return self.sso.realm or self.name

    def sso_admin_group(self) -> str:
        return self.sso.admin_group or f"{self.name}-admins"

    def env_issuer(self, env: str) -> str:
        """Let's Encrypt issuer name (`letsencrypt-staging` / `letsencrypt-prod`) for an environment."""
        choice = self.environments[env].tls_issuer or self.tls.issuer
        return f"letsencrypt-{choice}"
