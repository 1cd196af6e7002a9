"""A custom app (`apps.<name>`): one of the user's own workloads, as pydantic v2 models.

Apart from :mod:`bbgen.spec.models` (which re-exports everything here) because the workload model is the
part of the spec that grows: kinds, probes, ports, files, volumes, autoscaling each add their own model here.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from bbgen.spec.model_parts import MANIFESTS_DESCRIPTION, PATCHES_DESCRIPTION, PUBLIC_DESCRIPTION, BasicAuth, Oidc, Patch, Resources, SpecModel
from bbgen.spec.scalars import DnsLabel, DnsName, EnvName, FileMode, Host, ImageRef, KafkaTopic, MountPath, NonEmpty, Port, SecretKey, Size, UrlPath

# What an app gets when the spec sets no resources (render uses the same; the checks compare against it).
APP_RESOURCES: dict[str, dict[str, str]] = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}

# The Service port every routed (or first) app port is published as, and its name: what routes and the
# dependants' `<APP>_URL` (plain `http://<app>.<ns>.svc.cluster.local`) rely on.
ROUTED_SERVICE_PORT = 80
ROUTED_PORT_NAME = "http"

# --- ports ------------------------------------------------------------------------------------------

# An IANA service name, what Kubernetes allows as a port name: at most 15 lower-case letters, digits and
# single '-', at least one letter, no '-' at either end.
PORT_NAME_RE = re.compile(r"^(?=.{1,15}$)(?=[^a-z]*[a-z])[a-z0-9]+(-[a-z0-9]+)*$")


def _port_name(value: str) -> str:
    if not PORT_NAME_RE.match(value):
        raise ValueError(
            f"{value!r} is not a port name (at most 15 lower-case letters, digits and single '-', "
            "with a letter, not starting or ending with '-'; e.g. metrics, grpc-api)"
        )
    return value


PortName = Annotated[str, AfterValidator(_port_name), Field(json_schema_extra={"pattern": PORT_NAME_RE.pattern})]


class AppPort(SpecModel):
    """One named port the app listens on, listed on its container and its Service."""

    name: PortName = Field(description="Port name (an IANA service name: at most 15 lower-case letters, digits and `-`, e.g. `metrics`).")
    port: Port = Field(description="Container port number; the Service exposes it under the same number, except the routed port.")
    protocol: Literal["TCP", "UDP"] = Field(default="TCP", description="`TCP` or `UDP`.")
    route: bool = Field(
        default=False,
        description=(
            "The port the public host routes to (at most one; required with a `host` and several ports). The routed port, "
            "or the first when none is, is the Service's port 80 named `http`, which probes and dependants use."
        ),
    )


# --- env from other sources --------------------------------------------------------------------------

# The pod fields the downward API offers to env (Kubernetes refuses any other `fieldPath` there).
FIELD_PATH_RE = re.compile(
    r"^(metadata\.(name|namespace|uid)|metadata\.(labels|annotations)\['[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?'\]"
    r"|spec\.(nodeName|serviceAccountName)|status\.(hostIP|hostIPs|podIP|podIPs))$"
)


def _field_path(value: str) -> str:
    if not FIELD_PATH_RE.match(value):
        raise ValueError(
            f"{value!r} is not a pod field env can read (metadata.name, metadata.namespace, metadata.uid, "
            "metadata.labels['k'], metadata.annotations['k'], spec.nodeName, spec.serviceAccountName, "
            "status.hostIP, status.hostIPs, status.podIP, status.podIPs)"
        )
    return value


FieldPath = Annotated[str, AfterValidator(_field_path), Field(json_schema_extra={"pattern": FIELD_PATH_RE.pattern})]


class FieldRef(SpecModel):
    """A field of the pod itself (the downward API), e.g. `{fieldPath: status.podIP}`."""

    field_path: FieldPath = Field(description="The pod field: `metadata.name`, `metadata.namespace`, `metadata.uid`, `metadata.labels['k']`, `metadata.annotations['k']`, `spec.nodeName`, `spec.serviceAccountName`, `status.hostIP(s)` or `status.podIP(s)`.")


class ConfigMapKeyRef(SpecModel):
    """A key of a ConfigMap in the app's namespace."""

    name: DnsName = Field(description="ConfigMap name: one bbgen renders (e.g. from `manifests`), or one made out of band with `optional: true`.")
    key: SecretKey = Field(description="Key inside that ConfigMap (letters, digits, `-`, `_`, `.`).")
    optional: bool = Field(default=False, description="Start the pod even when the ConfigMap or key is missing (the variable is then unset).")


class SecretKeyRef(SpecModel):
    """A key of a Secret in the app's namespace; the value never enters git (`bbgen secrets plan` lists it)."""

    name: DnsName = Field(description="Secret name (created out of band or by bbgen, never in git).")
    key: SecretKey = Field(description="Key inside that Secret (letters, digits, `-`, `_`, `.`).")
    optional: bool = Field(default=False, description="Start the pod even when the Secret or key is missing (the variable is then unset).")


class EnvSource(SpecModel):
    """Where a variable's value comes from instead of a literal: exactly one of `fieldRef`, `configMapKeyRef`, `secretKeyRef` (the Kubernetes shapes)."""

    field_ref: FieldRef | None = Field(default=None, description="A field of the pod (downward API).")
    config_map_key_ref: ConfigMapKeyRef | None = Field(default=None, description="A key of a ConfigMap.")
    secret_key_ref: SecretKeyRef | None = Field(default=None, description="A key of a Secret.")

    @model_validator(mode="after")
    def _one_source(self) -> EnvSource:
        if sum(x is not None for x in (self.field_ref, self.config_map_key_ref, self.secret_key_ref)) != 1:
            raise ValueError("give exactly one of `fieldRef`, `configMapKeyRef` or `secretKeyRef`")
        return self


class EnvVar(SpecModel):
    """An environment variable: a literal `value` (set in the Deployment, so it ends up in git) or `valueFrom` another source."""

    name: EnvName = Field(description="Variable name.")
    value: str | None = Field(default=None, description="Literal value (at most 32 KiB, no NUL byte; `$(` is kept literally). Never a secret: secrets are read with `valueFrom.secretKeyRef` or `secretEnv`.")
    value_from: EnvSource | None = Field(default=None, description="Read the value from the pod, a ConfigMap or a Secret instead (exactly one of `value` and `valueFrom`).")
    override: bool = Field(default=False, description="Replace a variable bbgen injects under the same name (a dependency's connection setting or the OIDC client); without it such a name is an error.")
    expand: bool = Field(
        default=False,
        description=(
            "The value refers to other variables of the container as `$(NAME)`, which the kubelet substitutes (`$$` is a literal `$`): "
            "a variable bbgen injects or one of the app's own `env`/`secretEnv` without `expand`. Such variables are listed after all "
            "others, so every reference is defined before it, and a secret stays a reference (e.g. "
            "`{name: DATABASE_URL, value: \"postgresql://$(POSTGRES_USER):$(POSTGRES_PASSWORD)@$(POSTGRES_HOST)/$(POSTGRES_DB)\", expand: true}`)."
        ),
    )

    @model_validator(mode="after")
    def _one_value(self) -> EnvVar:
        if (self.value is None) == (self.value_from is None):
            raise ValueError("give exactly one of `value` (a literal) or `valueFrom` (fieldRef, configMapKeyRef or secretKeyRef)")
        if self.expand and self.value_from is not None:
            raise ValueError("`expand` is for a literal `value` with `$(NAME)` references, not for `valueFrom`")
        return self


# --- autoscaling -------------------------------------------------------------------------------------

Replicas = Annotated[int, Field(ge=1, le=100)]
CpuPercent = Annotated[int, Field(ge=1, le=100)]


class Autoscale(SpecModel):
    """A HorizontalPodAutoscaler (autoscaling/v2) on the app's Deployment, scaling on average CPU utilisation."""

    min: Replicas = Field(default=1, description="Fewest replicas (1 to 100).")
    max: Replicas = Field(description="Most replicas (at least `min`, at most 100).")
    cpu: CpuPercent = Field(default=80, description="Target average CPU utilisation, in percent of `resources.requests.cpu` (1 to 100).")

    @model_validator(mode="after")
    def _bounds(self) -> Autoscale:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class AutoscaleOverride(SpecModel):
    """What one environment changes in an app's `autoscale`, merged over the base (`null` there: no autoscaler)."""

    min: Replicas | None = Field(default=None, description="Fewest replicas in this environment.")
    max: Replicas | None = Field(default=None, description="Most replicas in this environment.")
    cpu: CpuPercent | None = Field(default=None, description="Target average CPU utilisation in this environment.")


# --- migrations --------------------------------------------------------------------------------------


class Migrate(SpecModel):
    """A Job run before every sync (an Argo CD PreSync hook) with the app's image, env, pull secrets and ServiceAccount."""

    command: list[NonEmpty] = Field(min_length=1, description="Command of the migration (e.g. `[python, manage.py, migrate]`); required.")
    args: list[str] = Field(default_factory=list, description="Its arguments.")


class MigrateOverride(SpecModel):
    """What one environment changes in an app's `migrate`, merged over the base (`null` there: no migration)."""

    command: list[NonEmpty] | None = Field(default=None, min_length=1, description="Migration command in this environment.")
    args: list[str] | None = Field(default=None, description="Migration arguments in this environment.")


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


def _image_or_score(schema: dict[str, Any]) -> None:
    """For editors: an app needs `image` unless a Score file gives it (the loader fills it in before validation)."""
    required = [r for r in schema.get("required", []) if r != "image"]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    schema["anyOf"] = [{"required": ["image"]}, {"required": ["score"]}]


class AppFile(SpecModel):
    """A file mounted read-only into an app's container, from inline text or a file beside the spec.

    All files of an app live in one ConfigMap `<app>-files`, each mounted alone (subPath) at its path; the pods
    carry a checksum of that ConfigMap, so changing a file rolls them.
    """

    path: MountPath = Field(description="Absolute path of the file in the container (e.g. `/etc/app/config.yaml`).")
    content: str | None = Field(default=None, description="The file's text, inline.")
    source: NonEmpty | None = Field(default=None, description="A UTF-8 text file, relative to the spec file, read at render time (e.g. `config/app.yaml`).")
    mode: FileMode | None = Field(default=None, description="Permission bits as a quoted octal string (e.g. `\"0644\"`, `\"0755\"`); default `0644`.")

    @model_validator(mode="after")
    def _one_origin(self) -> AppFile:
        if (self.content is None) == (self.source is None):
            raise ValueError("give exactly one of `content` (inline text) or `source` (a file beside the spec)")
        return self


class AppVolume(SpecModel):
    """A directory mounted into an app's container: scratch space, or a persistent disk of its own.

    Any `persistent` volume makes a `service` or `worker` a StatefulSet: each replica gets its own claim on the
    platform's storage class (`storage.className`) and a stable name through the headless Service `<app>-headless`.
    """

    name: DnsLabel = Field(description="Volume name (unique within the app; `tmp` and `files` are bbgen's).")
    path: MountPath = Field(description="Absolute mount path in the container (e.g. `/var/lib/app`).")
    type: Literal["emptyDir", "persistent"] = Field(description="`emptyDir`: scratch space that lives as long as the pod; `persistent`: a PersistentVolumeClaim per replica that outlives it (kinds `service` and `worker` only).")
    size: Size | None = Field(default=None, description="`persistent`: the claim's size (required); `emptyDir`: its `sizeLimit` (optional).")
    medium: Literal["Memory"] | None = Field(default=None, description="`Memory` keeps an `emptyDir` in RAM (tmpfs, counted against the memory limit); emptyDir only.")


class CustomApp(SpecModel):
    """One of the user's own services, deployed from an image they build."""

    model_config = ConfigDict(json_schema_extra=_image_or_score)

    enabled: bool = Field(default=True, description="Deploy this app.")
    image: ImageRef = Field(description="Image reference including its tag or digest (e.g. `registry.example.org/hadith/api:1.4.2`); required unless `score` gives it.")
    score: NonEmpty | None = Field(
        default=None,
        description=(
            "A Score workload file (`score.dev/v1b1`, path relative to the spec file) giving this app's image, command, args, "
            "variables, files, volumes, probes, service ports and resource dependencies; the other fields stay here. "
            "Base only (not in `environments.<env>.apps`); see the README, \"Score workloads\"."
        ),
    )
    namespace: DnsLabel = Field(default="apps", description="Namespace (and AppProject) the app lives in.")
    port: Port = Field(default=8080, description="Container port the app listens on; the Service exposes it as port 80 named `http`. For several ports use `ports`.")
    ports: list[AppPort] = Field(default_factory=list, description="Several named ports instead of `port` (not both): each on the container and the Service; the routed one (`route: true`, or the first) is Service port 80 named `http`.")
    replicas: Annotated[int, Field(ge=0, le=100)] = Field(default=1, description="Replica count (without `autoscale`).")
    autoscale: Autoscale | None = Field(default=None, description="Scale a `service` or `worker` between `min` and `max` replicas on CPU (needs `resources.requests.cpu`); the Deployment then leaves `replicas` to the autoscaler.")
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
    migrate: Migrate | None = Field(default=None, description="A migration Job (`<app>-migrate`) Argo CD runs before each sync (PreSync hook, replaced on the next): the app's image, env, pull secrets and ServiceAccount with this command.")
    probes: Probes | None = Field(default=None, description="Readiness and liveness check; defaults to HTTP on `healthPath` for a `service` and none for the other kinds.")
    image_pull_secrets: list[DnsName] = Field(default_factory=list, description="Secrets (type `kubernetes.io/dockerconfigjson`, in the app's namespace, created out of band) for pulling a private image.")
    service_account: DnsName | None = Field(default=None, description="An existing ServiceAccount (made out of band) the pods run as; its token is then mounted. Without it the pods get the namespace default and no token.")
    env: list[EnvVar] = Field(default_factory=list, description="Plain environment variables.")
    secret_env: list[SecretRef] = Field(default_factory=list, description="Environment variables read from Secrets by reference.")
    depends_on: list[DnsLabel] = Field(default_factory=list, description="Components or apps this app talks to: adds their connection env vars and orders the sync.")
    topics: list[KafkaTopic] = Field(
        default_factory=list,
        description=(
            "Kafka topics (the `event-broker` role, which `dependsOn` must name) this app shares with others, beyond the "
            "`<app>.` topics and groups it owns: Kafka's users Job grants its user Describe, Read, Write, Create and "
            "DescribeConfigs on each, and nothing more."
        ),
    )
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
    files: list[AppFile] = Field(default_factory=list, description="Files mounted read-only into the container (config files, scripts), from inline text or files beside the spec; a change rolls the pods.")
    volumes: list[AppVolume] = Field(default_factory=list, description="Directories mounted into the container: `emptyDir` scratch space, or `persistent` disks (which make the app a StatefulSet).")
    patches: list[Patch] = Field(default_factory=list, description=PATCHES_DESCRIPTION)
    manifests: list[NonEmpty] = Field(default_factory=list, description=MANIFESTS_DESCRIPTION)
    helm_values: dict[str, Any] = Field(default_factory=dict, description="Not for apps (they are no chart); setting it is a spec error.")

    def all_ports(self) -> list[AppPort]:
        """The app's ports: `ports`, or the one `port` as the routed port named `http`."""
        return list(self.ports) if self.ports else [AppPort(name=ROUTED_PORT_NAME, port=self.port, route=True)]

    def routed_port(self) -> AppPort:
        """The port published as the Service's `http` port 80 (and probed): the one marked `route`, else the first."""
        ports = self.all_ports()
        return next((p for p in ports if p.route), ports[0])
