"""The platform spec as pydantic v2 models.

Every field carries a description because the JSON Schema that ``bbgen schema``
prints is what editors show while a person types the spec. Field names are
snake_case in Python and camelCase in YAML, the convention Kubernetes users
already read every day. The scalar types (names, hosts, quantities, references)
and their checks live in :mod:`bbgen.spec.scalars`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from bbgen.spec.scalars import (
    DNS_LABEL_KEYS,
    Branch,
    DnsLabel,
    DnsLabelKey,
    DnsName,
    Domain,
    EnvName,
    Host,
    ImageRef,
    KubernetesVersion,
    NonEmpty,
    Port,
    Quantity,
    SecretKey,
    Size,
    UrlPath,
)
# What an app gets when the spec sets no resources (render uses the same; the checks compare against it).
APP_RESOURCES: dict[str, dict[str, str]] = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}

# Catalog roles the spec chooses a provider for, and the Platform field that chooses (YAML: camelCase).
ROLE_FIELDS = {"object-store": "object_store", "llm": "llm"}

# The `ingress.provider` value for Gateway API routing, named once for code. It happens to equal the
# name of the catalog component that makes the Gateway; code never means that component by it.
GATEWAY_API = "gateway"

class SpecModel(BaseModel):
    """Base: unknown keys are errors, YAML keys are camelCase, and types are strict.

    Strict mode keeps YAML's loose scalars honest: `port: true` or `enabled: "on"`
    are errors rather than a silent 1 or True.
    """

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=False,
        frozen=True,
        strict=True,
    )


class ResourceAmounts(SpecModel):
    """An amount of CPU and memory, in Kubernetes quantity notation."""

    cpu: Quantity | None = Field(default=None, description="CPU, in cores or millicores (e.g. `250m`, `2`).")
    memory: Quantity | None = Field(default=None, description="Memory (e.g. `512Mi`, `4Gi`).")


class Resources(SpecModel):
    """Requests and limits of one container replica; unset values keep the catalog's."""

    requests: ResourceAmounts | None = Field(default=None, description="What the scheduler reserves for each replica.")
    limits: ResourceAmounts | None = Field(default=None, description="The ceiling for each replica; memory over the limit is OOM-killed.")


class BasicAuth(SpecModel):
    """HTTP basic auth in front of a public host, for tools that have no login of their own."""

    enabled: bool = Field(default=False, description="Put HTTP basic auth in front of this host (the htpasswd Secret is created out of band).")
    secret_name: DnsName | None = Field(default=None, description="Secret holding the htpasswd content under key `auth`; defaults to `<component>-basic-auth`.")
    realm: str = Field(default="Authentication required", description="Realm shown by the browser's password prompt.")


ScalarValue = str | int | float | bool


class Oidc(SpecModel):
    """A Keycloak client for this component or app, in the platform realm (`sso.realm`)."""

    client_id: DnsLabel | None = Field(default=None, description="Client id in the realm; defaults to the component or app name.")
    public: bool = Field(
        default=False,
        description=(
            "A public client (a browser app using PKCE, no secret). Otherwise confidential: bbgen plans a generated "
            "client secret (`oidc-<clientId>`, key `client-secret`) shared by Keycloak and the client."
        ),
    )


class PatchTarget(SpecModel):
    """Which rendered object a patch changes: one object of the unit, by kind and name."""

    kind: NonEmpty = Field(description="Kind of the object (e.g. `Deployment`).")
    name: NonEmpty = Field(description="`metadata.name` of the object.")
    namespace: DnsLabel | None = Field(default=None, description="Namespace of the object; omitted: any (the unit's objects share one).")


class JsonPatchOp(SpecModel):
    """One RFC 6902 operation; `path` and `from` are RFC 6901 pointers (`/spec/template/spec/containers/0/args`)."""

    op: Literal["add", "remove", "replace", "move", "copy", "test"] = Field(description="The operation.")
    path: Annotated[str, StringConstraints(pattern=r"^(/.*)?$")] = Field(description="JSON pointer to the place operated on (`\"\"` is the whole object).")
    value: Any = Field(default=None, description="Value for `add`, `replace` and `test` (required for those).")
    from_: Annotated[str, StringConstraints(pattern=r"^(/.*)?$")] | None = Field(default=None, alias="from", description="Source pointer for `move` and `copy` (required for those).")

    @model_validator(mode="after")
    def _operands(self) -> JsonPatchOp:
        if self.op in ("add", "replace", "test") and "value" not in self.model_fields_set:
            raise ValueError(f"`{self.op}` needs a `value`")
        if self.op in ("move", "copy") and self.from_ is None:
            raise ValueError(f"`{self.op}` needs a `from` pointer")
        return self


class Patch(SpecModel):
    """A change to one object bbgen renders, for the setting the catalog does not expose.

    Applied in memory before the base/overlay split, so the result is validated like every rendered object.
    Strategic merge, e.g. `{target: {kind: Deployment, name: web}, patch: {spec: {template: {spec: {terminationGracePeriodSeconds: 45}}}}}`;
    JSON 6902, e.g. `{target: {kind: Service, name: web}, ops: [{op: add, path: /metadata/annotations, value: {team: web}}]}`.
    """

    target: PatchTarget = Field(description="The rendered object to change; one that does not exist is a spec error.")
    patch: dict[str, Any] | None = Field(
        default=None,
        description=(
            "A strategic-merge patch: mappings merge deeply; lists of mappings with a `name` key (containers, env, ports, "
            "volumes, ...) merge item by item by name, other lists replace; `null` deletes a key; `$patch: delete` in a "
            "named list item removes that item."
        ),
    )
    ops: list[JsonPatchOp] | None = Field(default=None, description="A JSON 6902 patch: `add`, `remove`, `replace`, `move`, `copy`, `test`, applied in order.")

    @model_validator(mode="after")
    def _one_kind(self) -> Patch:
        if (self.patch is None) == (self.ops is None):
            raise ValueError("give exactly one of `patch` (strategic merge) or `ops` (JSON 6902)")
        return self


PATCHES_DESCRIPTION = (
    "Patches to the objects bbgen renders for it (escape hatch: a setting the catalog does not expose), strategic merge or "
    "JSON 6902 (see Patch for an example of each); a target that matches nothing is a spec error."
)
MANIFESTS_DESCRIPTION = (
    "Extra manifest files (paths relative to the spec file) added to its Kustomize base and owned by bbgen: Kubernetes objects "
    "only, no Secret with data (e.g. `manifests: [extra/web-configmap.yaml]`). Named `manifests` because `resources` is requests and limits."
)
HELM_VALUES_DESCRIPTION = (
    "Helm values deep-merged over the values bbgen renders, written to this component's values file only "
    "(chart components only; mappings merge, lists replace; e.g. `helmValues: {podLabels: {team: platform}}`)."
)


PUBLIC_DESCRIPTION = (
    "Serve the public host without any authentication, on purpose (a public website or an API that checks its own keys): "
    "without it a host whose component has no login of its own needs `basicAuth` or `oidc`; with it, render and validate warn, listing the host."
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
    settings: dict[str, ScalarValue | list[ScalarValue]] = Field(default_factory=dict, description="Component-specific settings; the keys each component accepts are listed by `bbgen components`.")
    patches: list[Patch] = Field(default_factory=list, description=PATCHES_DESCRIPTION)
    manifests: list[NonEmpty] = Field(default_factory=list, description=MANIFESTS_DESCRIPTION)
    helm_values: dict[str, Any] = Field(default_factory=dict, description=HELM_VALUES_DESCRIPTION)


class EnvVar(SpecModel):
    """A plain environment variable, set literally in the Deployment (so it ends up in git)."""

    name: EnvName = Field(description="Variable name.")
    value: str = Field(description="Literal value (at most 32 KiB, no NUL byte; `$(` is kept literally). Never a secret: secrets are referenced with `secretRef`.")
    override: bool = Field(default=False, description="Replace a variable bbgen injects under the same name (a dependency's connection setting or the OIDC client); without it such a name is an error.")


class SecretRef(SpecModel):
    """An environment variable read from a Secret, so the value never appears in git."""

    name: EnvName = Field(description="Variable name inside the container.")
    secret: DnsName = Field(description="Name of a Secret in the app's namespace (created out of band, never in git).")
    key: SecretKey = Field(description="Key inside that Secret (letters, digits, `-`, `_`, `.`).")
    override: bool = Field(default=False, description="Replace a variable bbgen injects under the same name (a dependency's connection setting or the OIDC client); without it such a name is an error.")


class Probes(SpecModel):
    """How the kubelet checks an app's container: the same check for readiness and liveness."""

    type: Literal["http", "tcp", "exec", "none"] = Field(description="`http` (GET `path` on the app's port), `tcp` (connect to the port), `exec` (run `command` in the container) or `none`.")
    path: UrlPath | None = Field(default=None, description="HTTP path (type `http` only); defaults to `healthPath`.")
    command: list[NonEmpty] = Field(default_factory=list, description="Command run in the container, exit 0 meaning healthy (type `exec` only, required there).")


class CustomApp(SpecModel):
    """One of the user's own services, deployed from an image they build."""

    enabled: bool = Field(default=True, description="Deploy this app.")
    image: ImageRef = Field(description="Image reference including its tag or digest (e.g. `registry.example.org/hadith/api:1.4.2`).")
    namespace: DnsLabel = Field(default="apps", description="Namespace (and AppProject) the app lives in.")
    port: Port = Field(default=8080, description="Container port the app listens on; the Service exposes it as port 80 named `http`.")
    replicas: Annotated[int, Field(ge=0, le=100)] = Field(default=1, description="Replica count.")
    host: Host | None = Field(default=None, description="Public host (label or DNS name); omit for an internal-only service.")
    health_path: UrlPath = Field(default="/healthz", description="HTTP path for the liveness and readiness probes (absolute, no spaces).")
    kind: Literal["service", "worker", "job", "cronjob"] = Field(
        default="service",
        description=(
            "`service`: a Deployment behind a Service (and a route with `host`); `worker`: a Deployment without Service or route; "
            "`job`: a Job run to completion on each sync; `cronjob`: a CronJob on `schedule`, never two runs at once."
        ),
    )
    schedule: NonEmpty | None = Field(default=None, description="When a `cronjob` runs: five cron fields (minute hour day-of-month month day-of-week, e.g. `30 2 * * *`) or `@hourly`/`@daily`/…; only for `cronjob`, and required there.")
    command: list[NonEmpty] = Field(default_factory=list, description="Replaces the image's entrypoint (Kubernetes `command`).")
    args: list[str] = Field(default_factory=list, description="Arguments replacing the image's default (Kubernetes `args`).")
    probes: Probes | None = Field(default=None, description="Readiness and liveness check; defaults to HTTP on `healthPath` for a `service` and none for the other kinds.")
    image_pull_secrets: list[DnsName] = Field(default_factory=list, description="Secrets (type `kubernetes.io/dockerconfigjson`, in the app's namespace, created out of band) for pulling a private image.")
    service_account: DnsName | None = Field(default=None, description="An existing ServiceAccount (made out of band) the pods run as; its token is then mounted. Without it the pods get the namespace default and no token.")
    env: list[EnvVar] = Field(default_factory=list, description="Plain environment variables.")
    secret_env: list[SecretRef] = Field(default_factory=list, description="Environment variables read from Secrets by reference.")
    depends_on: list[DnsLabel] = Field(default_factory=list, description="Components or apps this app talks to: adds their connection env vars and orders the sync.")
    resources: Resources | None = Field(default=None, description="Requests and limits per replica.")
    basic_auth: BasicAuth | None = Field(default=None, description="HTTP basic auth on the public host.")
    public: bool = Field(default=False, description=PUBLIC_DESCRIPTION)
    oidc: Oidc | None = Field(
        default=None,
        description=(
            "A Keycloak client for the app: adds it to the realm and gives the app OIDC_ISSUER_URL (public issuer, the tokens' `iss`), "
            "OIDC_INTERNAL_URL (the same realm through the in-cluster Service, for discovery and JWKS), OIDC_CLIENT_ID and, "
            "for a confidential client, OIDC_CLIENT_SECRET by secretKeyRef."
        ),
    )
    read_only_root_filesystem: bool = Field(default=True, description="Mount the root filesystem read-only (a writable /tmp is always provided).")
    patches: list[Patch] = Field(default_factory=list, description=PATCHES_DESCRIPTION)
    manifests: list[NonEmpty] = Field(default_factory=list, description=MANIFESTS_DESCRIPTION)
    helm_values: dict[str, Any] = Field(default_factory=dict, description="Not for apps (they are no chart); setting it is a spec error.")


class TcpExposure(SpecModel):
    """A raw TCP port opened on the ingress controller, for protocols that are not HTTP."""

    port: Port = Field(description="Port opened on the ingress controller.")
    component: DnsLabel = Field(description="Component whose Service receives the traffic.")
    target_port: Port | None = Field(default=None, description="Service port; defaults to the exposed port.")


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
    replicas: Annotated[int, Field(ge=0, le=100)] | None = Field(default=None, description="Replica count in this environment.")
    resources: Resources | None = Field(default=None, description="Requests and limits in this environment.")
    storage: Size | None = Field(default=None, description="Persistent volume size in this environment (components).")
    host: Host | None = Field(default=None, description="Public host in this environment (empty string: not exposed).")
    health_path: UrlPath | None = Field(default=None, description="Probe path in this environment (custom apps).")
    basic_auth: BasicAuth | None = Field(default=None, description="HTTP basic auth in this environment.")
    public: bool | None = Field(default=None, description="Serve the public host without authentication in this environment (see the base field).")
    oidc: Oidc | None = Field(default=None, description="Keycloak client in this environment.")
    settings: dict[str, ScalarValue | list[ScalarValue] | None] | None = Field(default=None, description="Component settings in this environment, merged key by key (`null` drops one back to its default).")
    env: list[EnvVar] | None = Field(default=None, description="Plain environment variables in this environment (the whole list; custom apps).")
    secret_env: list[SecretRef] | None = Field(default=None, description="Variables from Secrets in this environment (the whole list; custom apps).")
    depends_on: list[DnsLabel] | None = Field(default=None, description="Dependencies in this environment (the whole list; custom apps).")
    read_only_root_filesystem: bool | None = Field(default=None, description="Read-only root filesystem in this environment (custom apps).")
    schedule: NonEmpty | None = Field(default=None, description="CronJob schedule in this environment (custom apps of kind `cronjob`).")
    command: list[NonEmpty] | None = Field(default=None, description="Container command in this environment (the whole list; custom apps).")
    args: list[str] | None = Field(default=None, description="Container args in this environment (the whole list; custom apps).")
    probes: Probes | None = Field(default=None, description="Readiness and liveness check in this environment (custom apps).")
    image_pull_secrets: list[DnsName] | None = Field(default=None, description="Image pull Secrets in this environment (the whole list; custom apps).")
    service_account: DnsName | None = Field(default=None, description="ServiceAccount the pods run as in this environment (custom apps).")
    patches: list[Patch] | None = Field(default=None, description="Patches in this environment (the whole list, replacing the base one).")
    manifests: list[NonEmpty] | None = Field(default=None, description="Extra manifest files in this environment (the whole list; a file only here lands in this environment's overlay).")
    helm_values: dict[str, Any] | None = Field(default=None, description="Helm values in this environment, merged deeply over the base `helmValues` (chart components).")


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

    def env_issuer(self, env: str) -> str:
        """Let's Encrypt issuer name (`letsencrypt-staging` / `letsencrypt-prod`) for an environment."""
        choice = self.environments[env].tls_issuer or self.tls.issuer
        return f"letsencrypt-{choice}"
