"""A component.yaml, typed: a pydantic discriminated union on ``delivery``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field, field_validator, model_validator

from bbgen.catalog._base import _Meta
from bbgen.catalog.backup import BackupFacts, BackupStore

from bbgen.catalog.facts import (
    ClusterResource,
    Network,
    PortPurpose,
    ChartService,
    TcpTls,
    Route,
    SsoFacts,
    OidcClientFacts,
    Scale,
    SettingRule,
    ResourceSettings,
    PodSecurity,
    Login,
    ScoreResource,
    Defaults,
)
from bbgen.catalog.wiring import (
    Image,
    Chart,
    ConsumerSecretMeta,
    Expose,
    ScrapeCredential,
    SecretMeta,
)

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


class _ComponentBase(_Meta):
    name: str
    description: str
    domain: str
    namespace: str
    host: str | None = None
    service: str | None = None
    ports: dict[str, int] = Field(default_factory=dict)
    port_purposes: dict[str, Annotated[list[PortPurpose], Field(min_length=1)]] = Field(default_factory=dict, alias="portPurposes")
    """Which purposes a port serves, by port name (one purpose or a list); an unlisted port is `client`.
    The NetworkPolicies open a port to dependants only when it is `client`; see :meth:`purposes`."""
    tcp_tls: dict[str, TcpTls] = Field(default_factory=dict, alias="tcpTls")
    """Ports that may be exposed over raw TCP, by port name, and how each is then encrypted (:class:`TcpTls`)."""
    no_raw_exposure: dict[str, str] = Field(default_factory=dict, alias="noRawExposure")
    """Ports that `ingress.tcp` may not expose as they are, by port name, each with the reason (what an
    external listener would need): the spec check refuses such an exposure at its line with that reason."""
    depends_on: list[str] = Field(default_factory=list, alias="dependsOn")
    uses: list[str] = Field(default_factory=list)
    """Optional dependencies (components or roles): wired exactly like ``dependsOn`` when enabled, ignored otherwise."""
    own_credentials: list[str] = Field(default_factory=list, alias="ownCredentials")
    """Dependencies (among ``dependsOn``/``uses``) this component signs in to with an identity of its own, such as
    a built-in user it sets up itself (Kibana's `kibana_system`): they plan it no per-consumer credential, and it
    gets none of their secret env. In the dependency's namespace it may read the dependency's private Secrets
    (to set that user up as the superuser); the Secrets plan lists it among their users."""
    after: list[str] = Field(default_factory=list)
    """Ordering only: sync after these when they are enabled (no connection, no requirement)."""
    access: dict[str, str] = Field(default_factory=dict)
    """Access this component needs of a dependency (by its name or a role it fills) other than the default a
    dependant gets, e.g. `{kafka: read}`: the dependency's templates read it as ``unit.dependantAccess`` and
    say which words they know (kafka: `read`, read-only on every topic and group)."""
    secrets: list[SecretMeta] = Field(default_factory=list)
    consumer_secrets: list[ConsumerSecretMeta] = Field(default_factory=list, alias="consumerSecrets")
    """Secrets each dependant gets its own of (a name with `{{ dependant }}`), in its namespace and this component's."""
    scrape_credential: ScrapeCredential | None = Field(default=None, alias="scrapeCredential")
    """Its metrics need a credential while a setting is on: the metrics scraper then gets one of the consumer Secrets."""
    expose: Expose = Field(default_factory=Expose)
    defaults: Defaults = Field(default_factory=Defaults)
    cluster_resources: list[ClusterResource] = Field(default_factory=list, alias="clusterResources")
    stateful: bool = False
    backup: BackupFacts | None = None
    """How its state is backed up (required with `stateful: true`; `method: none` with a reason is a choice too)."""
    backup_store: BackupStore | None = Field(default=None, alias="backupStore")
    """An `object-store` provider: the bucket and key every backup CronJob writes with."""
    sync_options: list[str] = Field(default_factory=list, alias="syncOptions")
    """Extra Argo CD sync options for this component's Application (e.g. ServerSideApply=true for large CRDs)."""
    network: Network = Field(default_factory=Network)
    route: Route = Field(default_factory=Route)
    provides: list[str] = Field(default_factory=list)
    """Roles this component fills (`sso`, `ingress`, `object-store`, `llm` …). Other components and apps may
    depend on a role by name, and bbgen's code asks for a role, never for a component's name; the spec
    picks which enabled provider fills a role when there is more than one."""
    oidc: bool = False
    """The component can sign users in through Keycloak: its templates read ``unit.oidc`` when the spec sets `oidc`."""
    oidc_client: OidcClientFacts | None = Field(default=None, alias="oidcClient")
    """With ``oidc``: its callback paths and the labels its client secret's Secret needs (native OIDC clients)."""
    gpu: bool = False
    """The component runs on a GPU node pool (the spec must have one); templates read ``unit.gpuPool``."""
    sso: SsoFacts | None = None
    """Required when the component provides `sso`: where its realms' issuers live."""
    self_managed: bool = Field(default=False, alias="selfManaged")
    """The GitOps controller that deploys itself: its own Application carries no deletion finalizer,
    so deleting that Application never uninstalls the controller (and every other Application with it)."""
    scale: Scale = Field(default_factory=Scale)
    """Replica counts the templates render (`min`, `max`, and roles several replicas need), refused at the spec's line."""
    resource_settings: ResourceSettings = Field(default_factory=ResourceSettings, alias="resourceSettings")
    """Which settings ask for GPUs or memory-backed volumes, so the spec checks compare them with the pool and the limit."""
    setting_rules: dict[str, SettingRule] = Field(default_factory=dict, alias="settingRules")
    """What some settings' values must be (a pattern, the known values, required with a routing provider)."""
    storage_rule: SettingRule | None = Field(default=None, alias="storageRule")
    """What the spec's `storage` must look like beyond a Kubernetes quantity (a pattern), when the templates compute with it."""
    login: Login | None = None
    """The component's own authentication on its public host (a host without it needs basic auth, OIDC or `public: true`)."""
    pod_security: PodSecurity | None = Field(default=None, alias="podSecurity")
    """Only for a component whose pods need more than the restricted Pod Security profile: which level, and why."""
    storage_provisioner: str | None = Field(default=None, alias="storageProvisioner")
    """The StorageClass provisioner name the component implements: `storage.provisioner` must be it while the component is enabled."""
    score: ScoreResource | None = None
    """The Score resource type this component satisfies for Score workloads, and its outputs."""
    metrics: list[str] = Field(default_factory=list)
    """Metric names the component's scraped endpoints expose, as far as bbgen knows them (not a full list):
    the generated alert rules and Grafana dashboards query only these, `up` and the names other scraped
    components declare (kube-state-metrics' object series, the kubelet's volume stats, cAdvisor's container series).
    A component declaring names here is treated as a scrape target, like one with a `metrics` port."""
    metrics_when: dict[str, list[str]] = Field(default_factory=dict, alias="metricsWhen")
    """More metric names, each list known only while the boolean setting it is keyed by is on
    (Prometheus' kubelet and cAdvisor series with `scrapeKubelet`)."""
    folder: Path = Field(default=Path("."), exclude=True)

    @field_validator("provides", mode="before", json_schema_input_type=Union[str, list[str]])
    @classmethod
    def _one_role(cls, value: object) -> object:
        """A single role may be written as a plain string."""
        return [value] if isinstance(value, str) else value

    @field_validator("port_purposes", mode="before", json_schema_input_type=dict[str, Union[PortPurpose, list[PortPurpose]]])
    @classmethod
    def _one_purpose(cls, value: object) -> object:
        """A port serving a single purpose may name it as a plain string."""
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    def purposes(self, port: str) -> frozenset[str]:
        """The purposes of the port named ``port``: what ``portPurposes`` says, else `client`."""
        return frozenset(self.port_purposes.get(port) or ["client"])

    @model_validator(mode="after")
    def _ports_named(self) -> _ComponentBase:
        unknown_ports = sorted(set(self.port_purposes) - set(self.ports))
        if unknown_ports:
            raise ValueError(f"portPurposes names unknown ports {unknown_ports}; declared: {sorted(self.ports)}")
        stray_access = sorted(set(self.access) - set(self.depends_on) - set(self.uses))
        if stray_access:
            raise ValueError(f"access names {stray_access}, which are not among dependsOn/uses {sorted({*self.depends_on, *self.uses})}")
        unknown_raw = sorted(set(self.no_raw_exposure) - set(self.ports))
        if unknown_raw:
            raise ValueError(f"noRawExposure names unknown ports {unknown_raw}; declared: {sorted(self.ports)}")
        if self.host is not None and "http" not in self.ports:
            raise ValueError("a component with a host needs a port named `http` (routes point at it)")
        stray = sorted(set(self.own_credentials) - set(self.depends_on) - set(self.uses))
        if stray:
            raise ValueError(f"ownCredentials names {stray}, which are not among dependsOn/uses")
        if self.oidc_client is not None and not self.oidc:
            raise ValueError("oidcClient is only for a component with `oidc: true`")
        unknown_oidc = sorted(set(self.oidc_client.settings) - set(self.defaults.settings)) if self.oidc_client is not None else []
        if unknown_oidc:
            raise ValueError(f"oidcClient.settings names {unknown_oidc}, which are not among defaults.settings")
        if ("sso" in self.provides) != (self.sso is not None):
            raise ValueError("a component providing `sso` declares `sso.issuerPath` (and only such a component does)")
        if self.sso is not None and self.sso.port not in self.ports:
            raise ValueError(f"sso.port {self.sso.port!r} is not one of the declared ports {sorted(self.ports)}")
        for port, tls in self.tcp_tls.items():
            if port not in self.ports:
                raise ValueError(f"tcpTls names unknown port {port!r}; declared: {sorted(self.ports)}")
            if not isinstance(self.defaults.settings.get(tls.setting), bool):
                raise ValueError(f"tcpTls.{port}.setting: {tls.setting!r} is not a boolean among defaults.settings")
        for allow in self.network.allow:
            unknown = sorted(set(allow.ports) - set(self.ports))
            if unknown:
                raise ValueError(f"network.allow names unknown ports {unknown}; declared: {sorted(self.ports)}")
        named = [self.resource_settings.gpus] if self.resource_settings.gpus else []
        for setting in named + self.resource_settings.memory:
            if setting not in self.defaults.settings:
                raise ValueError(f"resourceSettings names {setting!r}, which is not one of defaults.settings")
        for setting, rule in self.setting_rules.items():
            if setting not in self.defaults.settings:
                raise ValueError(f"settingRules names {setting!r}, which is not one of defaults.settings")
            if (why := rule.problem(self.defaults.settings[setting])) is not None:
                raise ValueError(f"settingRules.{setting}: the default {why}")
        if self.storage_rule is not None and self.defaults.storage is not None:
            if (why := self.storage_rule.problem(self.defaults.storage)) is not None:
                raise ValueError(f"storageRule: the default {why}")
        if self.pod_security is not None and self.pod_security.when_setting not in (None, *self.defaults.settings):
            raise ValueError(f"podSecurity.whenSetting names {self.pod_security.when_setting!r}, which is not one of defaults.settings")
        unknown_when = sorted(set(self.login.when) - set(self.defaults.settings)) if self.login is not None else []
        if unknown_when:
            raise ValueError(f"login.when names {unknown_when}, which are not among defaults.settings")
        unknown_when = sorted(set(self.metrics_when) - set(self.defaults.settings))
        if unknown_when:
            raise ValueError(f"metricsWhen names {unknown_when}, which are not among defaults.settings")
        every = self.metrics + [m for names in self.metrics_when.values() for m in names]
        bad_metrics = sorted(m for m in every if not _METRIC_NAME.fullmatch(m))
        if bad_metrics:
            raise ValueError(f"metrics names {bad_metrics}, which are not Prometheus metric names")
        self._check_consumer_secrets()
        self._check_backup()
        if self.score is not None:
            exposed = {*self.expose.env, *self.expose.secret_env}
            unknown = sorted(v for v in self.score.outputs.values() if v not in exposed)
            if unknown:
                raise ValueError(f"score.outputs names {unknown}, which are not among expose.env/secretEnv {sorted(exposed)}")
        if self.scale.min is not None and self.scale.max is not None and self.scale.min > self.scale.max:
            raise ValueError("scale.min is above scale.max")
        return self

    def _check_backup(self) -> None:
        """A stateful component says how it is backed up; the names its backup facts use exist."""
        if self.stateful and self.backup is None:
            raise ValueError("a stateful component declares `backup` (a method, or `method: none` with a reason)")
        if self.backup is not None and self.backup.port is not None and self.backup.port not in self.ports:
            raise ValueError(f"backup.port {self.backup.port!r} is not one of the declared ports {sorted(self.ports)}")
        if self.backup is not None and self.backup.credentials is not None:
            own = {s.name: s for s in self.secrets}
            ref = self.backup.credentials
            if ref.secret not in own or ref.key not in own[ref.secret].keys:
                raise ValueError(f"backup.credentials names {ref.secret}/{ref.key}, which is not one of this component's secrets")
        store = self.backup_store
        if store is not None:
            if "object-store" not in self.provides:
                raise ValueError("backupStore is only for a provider of the `object-store` role")
            keys = next((s.keys for s in self.secrets if s.name == store.secret), None)
            if keys is None or not {"access-key-id", "secret-access-key"} <= set(keys):
                raise ValueError(f"backupStore.secret {store.secret!r} must be one of `secrets` with keys access-key-id and secret-access-key")
            if store.port not in self.ports:
                raise ValueError(f"backupStore.port {store.port!r} is not one of the declared ports {sorted(self.ports)}")
            if store.region_setting is not None and store.region_setting not in self.defaults.settings:
                raise ValueError(f"backupStore.regionSetting {store.region_setting!r} is not one of defaults.settings")

    def _check_consumer_secrets(self) -> None:
        """A templated ``expose.secretEnv`` Secret must be a declared consumer Secret, with that key."""
        consumer = {s.name: s for s in self.consumer_secrets}
        if len(consumer) != len(self.consumer_secrets):
            raise ValueError("consumerSecrets: two entries have the same name")
        clash = sorted(consumer.keys() & {s.name for s in self.secrets})
        if clash:
            raise ValueError(f"consumerSecrets {clash} are also under `secrets`")
        private = {s.name for s in self.secrets if s.private}
        for var, ref in self.expose.secret_env.items():
            if ref.secret in private:
                raise ValueError(f"expose.secretEnv.{var}: {ref.secret!r} is private (read only in this namespace), so no dependant may read it")
            if "{" not in ref.secret:
                continue
            secret = consumer.get(ref.secret)
            if secret is None:
                raise ValueError(f"expose.secretEnv.{var}: {ref.secret!r} is not one of consumerSecrets {sorted(consumer)}")
            if ref.key not in secret.keys:
                raise ValueError(f"expose.secretEnv.{var}: consumer Secret {ref.secret!r} has no key {ref.key!r}")
        scrape = self.scrape_credential
        if scrape is not None:
            if scrape.secret not in consumer or scrape.key not in consumer[scrape.secret].keys:
                raise ValueError(f"scrapeCredential: {scrape.secret!r} key {scrape.key!r} is not a key of one of consumerSecrets {sorted(consumer)}")
            if not isinstance(self.defaults.settings.get(scrape.setting), bool):
                raise ValueError(f"scrapeCredential.setting: {scrape.setting!r} is not a boolean setting under defaults.settings")

    @property
    def templates(self) -> list[Path]:
        """Manifest templates, sorted so output order never depends on the filesystem."""
        return sorted(p for p in self.folder.glob("*.yaml.j2") if p.name != "values.yaml.j2")


class KustomizeComponent(_ComponentBase):
    delivery: Literal["kustomize"]
    image: Image | None = None


class ChartComponent(_ComponentBase):
    delivery: Literal["chart"]
    chart: Chart
    chart_services: list[ChartService] = Field(default_factory=list, alias="chartServices")

    @property
    def values_template(self) -> Path:
        return self.folder / "values.yaml.j2"


class GitSource(_Meta):
    repo: str
    path: str
    revision: str
    """A tag (or commit): never a branch, so a render always means the same objects."""


class GitComponent(_ComponentBase):
    """Plain manifests Argo CD reads straight from an upstream repository at a pinned tag.

    For what upstream publishes as YAML only, neither a chart nor something bbgen
    should own (the Gateway API CRDs).
    """

    delivery: Literal["git"]
    git: GitSource


AnyComponent = KustomizeComponent | ChartComponent | GitComponent
Component = Annotated[Union[KustomizeComponent, ChartComponent, GitComponent], Field(discriminator="delivery")]


class _Wrapper(BaseModel):
    component: Component
