"""The component catalog: one folder per component under ``templates/``.

A component is data (``component.yaml``) plus Jinja2 templates, so adding one
adds a folder and no Python. The metadata is a pydantic discriminated union on
``delivery``: Kustomize-delivered components own their manifests, chart-delivered
ones pin an upstream Helm chart and render only its values file.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from bbgen.errors import CatalogError
from bbgen.kube import yamlio

_SECRET_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


class _Meta(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=None, populate_by_name=True, frozen=True, use_attribute_docstrings=True)


class Image(_Meta):
    repository: str
    tag: str


class Chart(_Meta):
    repo: str
    name: str
    version: str
    release_name: str | None = Field(default=None, alias="releaseName")
    namespaces: list[str] = Field(default_factory=list)
    """Namespaces the chart creates and writes into itself, beside the component's own: its AppProject admits them
    (the Namespace kind itself goes in `clusterResources`). `bbgen validate` renders the chart and reports any other."""


class SecretRefMeta(_Meta):
    """A key of an out-of-band Secret the component reads (never rendered)."""

    secret: str
    key: str


class Expose(_Meta):
    """How dependants reach this component: env vars injected into every app depending on it."""

    env: dict[str, str] = Field(default_factory=dict)
    secret_env: dict[str, SecretRefMeta] = Field(default_factory=dict, alias="secretEnv")


class SecretKeyMeta(_Meta):
    """How one key of an out-of-band Secret gets its value.

    Exactly one of ``generate`` (bbgen makes it) and ``supply`` (a person must
    provide it; the text says what it is) is set, so ``bbgen secrets generate``
    never has to guess whether inventing a value is acceptable.
    """

    generate: Literal["password", "hex", "htpasswd"] | None = None
    length: int | None = Field(default=None, ge=12, le=256)
    """password: characters (default 32, at least 16); hex: random bytes (default 32, at least 12; twice as many digits)."""
    prefix: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,16}$")
    """Literal text before the random part, for formats that demand one (Garage key ids: `GK` + 24 hex digits)."""
    from_key: str | None = Field(default=None, alias="from")
    """htpasswd: the key of the same Secret holding the (generated) password."""
    user: str = "admin"
    """htpasswd: the user name of the line."""
    supply: str | None = None
    value: str | None = None
    """A fixed value that is not secret (Jinja over ``gitops.repoURL``, ``gitops.url``, ``platform.name``,
    ``platform.domain``), for Secrets whose consumer wants it beside the credential (Argo CD's `url`)."""
    optional: bool = False
    """Only with ``supply``: the Secret may be left out (the consumer creates it itself when absent)."""

    @model_validator(mode="after")
    def _one_source(self) -> SecretKeyMeta:
        if sum(x is not None for x in (self.generate, self.supply, self.value)) != 1:
            raise ValueError("set exactly one of `generate`, `supply` and `value`")
        if self.length is not None and self.generate not in ("password", "hex"):
            raise ValueError("`length` only applies to generate: password or hex")
        if self.generate == "password" and self.length is not None and self.length < 16:
            raise ValueError("a generated password has at least 16 characters")
        if self.prefix is not None and self.generate not in ("password", "hex"):
            raise ValueError("`prefix` only applies to generate: password or hex")
        if (self.from_key is not None) != (self.generate == "htpasswd"):
            raise ValueError("generate: htpasswd needs `from` (and `from` needs htpasswd)")
        if self.optional and self.supply is None:
            raise ValueError("`optional` only applies to supplied keys")
        if ":" in self.user or not self.user:
            raise ValueError("`user` must be non-empty and free of ':'")
        return self


class SecretMeta(_Meta):
    """A Secret the component reads, created out of band (``bbgen secrets``), never rendered.

    ``keys`` maps each key to how it is made; the short form, a list of key
    names, means every key must be supplied by a person.
    """

    name: str
    keys: dict[str, SecretKeyMeta]
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    """Labels the generated Secret carries (Argo CD finds repository Secrets by label)."""

    @field_validator("keys", mode="before")
    @classmethod
    def _list_form(cls, value: object) -> object:
        if isinstance(value, list):
            return {str(k): {"supply": "value for this key"} for k in value}
        return value

    @model_validator(mode="after")
    def _derived_keys(self) -> SecretMeta:
        if not self.keys:
            raise ValueError("a Secret needs at least one key")
        for key, spec in self.keys.items():
            if not _SECRET_KEY_RE.match(key):
                raise ValueError(f"key {key!r} is not a valid Secret key (letters, digits, '-', '_', '.')")
            if spec.from_key is not None:
                source = self.keys.get(spec.from_key)
                if source is None or source.generate != "password":
                    raise ValueError(f"key {key!r}: `from` must name a generate: password key of this Secret")
        return self


class ClusterResource(_Meta):
    group: str
    kind: str


class Allow(_Meta):
    """Ports of the component's pods reachable beyond its dependants (NetworkPolicy ingress)."""

    ports: list[str]
    """Names from the component's ``ports``."""
    source: Literal["world", "cluster"] = Field(alias="from")
    """``world``: any source, in or outside the cluster (an API server webhook, a node port); ``cluster``: any pod."""


class Network(_Meta):
    """How the generated NetworkPolicies treat the component's pods.

    Dependants, the ingress controller (for a public host or TCP exposure) and
    Prometheus are allowed without saying so here; this holds only what the
    dependency graph cannot know.
    """

    isolate: bool = True
    """False for a namespace that must never get a default-deny policy (kube-system: DNS lives there)."""
    allow: list[Allow] = Field(default_factory=list)
    pod_labels: dict[str, str] = Field(default_factory=dict, alias="podLabels")
    """Labels selecting the component's pods; default: bbgen's name/instance labels (chart: instance = release)."""


class ChartService(_Meta):
    """A Service the upstream chart creates, declared so validation can check references to it."""

    name: str
    ports: dict[str, int]


class Route(_Meta):
    """What the public route must allow beyond the edge's defaults (NGINX: 60 s reads, 1 MiB bodies)."""

    timeout: int | None = Field(default=None, ge=1, le=86400)
    """Seconds a request may take (LLM generations, long uploads); NGINX read/send timeouts, HTTPRoute `timeouts.request`."""
    max_body_size: str | None = Field(default=None, alias="maxBodySize", pattern=r"^(0|[1-9][0-9]*[kmg]?)$")
    """Largest request body NGINX accepts (`0`: unlimited; e.g. `512m` for git pushes and uploads). Envoy sets no limit."""


class SsoFacts(_Meta):
    """What a component providing the `sso` role declares, so OIDC clients can be pointed at it without code."""

    issuer_path: str = Field(alias="issuerPath", pattern=r"^/\S*\{realm\}\S*$")
    """Path of a realm's issuer under the component's host and Service, with `{realm}` for the realm
    (Keycloak: `/realms/{realm}`): the public issuer is `https://<host><path>`, the in-cluster one
    `http://<service>.<namespace>.svc.cluster.local:<port><path>`."""
    port: str = "http"
    """Name (from ``ports``) of the port serving OIDC inside the cluster (discovery, tokens, keys)."""


class Scale(_Meta):
    """Replica counts the component's templates can render, checked at the spec's `replicas` line."""

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    reason: str = ""
    """Why the bound exists, shown with the spec error (the templates keep a matching `fail()` as a guard)."""
    several_need: list[str] = Field(default_factory=list, alias="severalNeed")
    """Roles that must be filled by an enabled component when replicas > 1 (e.g. `certificates` for transport TLS)."""


class SettingRule(_Meta):
    """What one setting's value must be, checked at the spec's line (the templates keep a `fail()` guard)."""

    pattern: str | None = None
    """A regex the whole value (a string) must match."""
    one_of: list[str | int | float | bool] | None = Field(default=None, alias="oneOf")
    """The values the templates know."""
    required_for_provider: str | None = Field(default=None, alias="requiredForProvider")
    """The setting must be non-empty when `ingress.provider` is this value."""
    image: bool = False
    """The value is an image reference (`registry/repository:tag`), checked against the OCI reference grammar."""
    reason: str = ""
    """Why, shown with the spec error."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    def problem(self, value: object) -> str | None:
        """Why ``value`` breaks the pattern or the choices (None: it does not)."""
        if self.pattern is not None and isinstance(value, str) and not re.fullmatch(self.pattern, value):
            return f"{value!r} does not match {self.pattern}"
        if self.one_of is not None and value not in self.one_of:
            return f"{value!r} is not one of {', '.join(str(v) for v in self.one_of)}"
        return None


class ResourceSettings(_Meta):
    """Settings that ask for node resources, so the spec checks can compare them with what the nodes have."""

    gpus: str | None = None
    """The setting holding `nvidia.com/gpu` devices per replica; it must fit the GPU pool's `gpusPerNode`."""
    memory: list[str] = Field(default_factory=list)
    """Settings sizing memory-backed volumes (`/dev/shm`): counted against, so at most, the memory limit."""


class PodSecurity(_Meta):
    """Why the component's pods cannot pass the restricted Pod Security profile.

    Every Namespace enforces `restricted` unless a component in it declares this;
    a namespace shared by several takes the least strict level they declare, and
    says who needs it and why (the Namespace's `bbgen.dev/pod-security` annotation).
    """

    level: Literal["baseline", "privileged"]
    """The level the component's pods need (`privileged` for host namespaces, hostPath or host ports)."""
    why: str = Field(min_length=1)
    """What the pods do that the stricter level forbids, for the person reviewing the exception."""
    when_setting: str | None = Field(default=None, alias="whenSetting")
    """Only while this setting (one of defaults.settings) is true; otherwise the pods pass restricted."""


class Login(_Meta):
    """How the component authenticates callers of its public host by itself.

    Every public host needs an authentication decision (basic auth, OIDC through
    the platform's sign-in server, this, or the spec's `public: true`); a
    component declaring its own login is the one that needs nothing in front.
    """

    kind: Literal["builtin", "token"]
    """`builtin`: its own accounts and a sign-in page; `token`: every request must carry a key or bearer token."""
    what: str = Field(min_length=1)
    """What a caller signs in with, for whoever reviews the platform's exposure (where the credential lives)."""
    when: dict[str, str | int | float | bool] = Field(default_factory=dict)
    """Only while each named setting (of defaults.settings) has this value: otherwise the host has no login of its own."""


class ScoreResource(_Meta):
    """Which Score resource type depending on this component satisfies, and what that resource's outputs are.

    A Score workload (``apps.<name>.score``) names what it needs by type (`postgres`, `redis`, ...) and reads
    outputs as ``${resources.<name>.<output>}``; the catalog says which component fills a type and which of the
    variables it injects (its ``expose``) each output is, so the Score reader needs no component names.
    """

    type: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9]$")
    """The Score resource type (e.g. `postgres`)."""
    outputs: dict[str, str] = Field(default_factory=dict)
    """Score output key → the name of one of this component's ``expose`` variables holding that value."""


class Defaults(_Meta):
    replicas: int = 1
    resources: dict[str, dict[str, str]] = Field(default_factory=dict)
    storage: str | None = None
    settings: dict[str, object] = Field(default_factory=dict)


class _ComponentBase(_Meta):
    name: str
    description: str
    domain: str
    namespace: str
    host: str | None = None
    service: str | None = None
    ports: dict[str, int] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list, alias="dependsOn")
    uses: list[str] = Field(default_factory=list)
    """Optional dependencies (components or roles): wired exactly like ``dependsOn`` when enabled, ignored otherwise."""
    after: list[str] = Field(default_factory=list)
    """Ordering only: sync after these when they are enabled (no connection, no requirement)."""
    secrets: list[SecretMeta] = Field(default_factory=list)
    expose: Expose = Field(default_factory=Expose)
    defaults: Defaults = Field(default_factory=Defaults)
    cluster_resources: list[ClusterResource] = Field(default_factory=list, alias="clusterResources")
    stateful: bool = False
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
    folder: Path = Field(default=Path("."), exclude=True)

    @field_validator("provides", mode="before", json_schema_input_type=Union[str, list[str]])
    @classmethod
    def _one_role(cls, value: object) -> object:
        """A single role may be written as a plain string."""
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _ports_named(self) -> _ComponentBase:
        if self.host is not None and "http" not in self.ports:
            raise ValueError("a component with a host needs a port named `http` (routes point at it)")
        if ("sso" in self.provides) != (self.sso is not None):
            raise ValueError("a component providing `sso` declares `sso.issuerPath` (and only such a component does)")
        if self.sso is not None and self.sso.port not in self.ports:
            raise ValueError(f"sso.port {self.sso.port!r} is not one of the declared ports {sorted(self.ports)}")
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
        if self.score is not None:
            exposed = {*self.expose.env, *self.expose.secret_env}
            unknown = sorted(v for v in self.score.outputs.values() if v not in exposed)
            if unknown:
                raise ValueError(f"score.outputs names {unknown}, which are not among expose.env/secretEnv {sorted(exposed)}")
        if self.scale.min is not None and self.scale.max is not None and self.scale.min > self.scale.max:
            raise ValueError("scale.min is above scale.max")
        return self

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


SCHEMA_ID = "https://bbgen.dev/schema/component.json"
SCHEMA_COMMAND = "python -m bbgen.catalog > docs/component.schema.json"


def json_schema() -> dict[str, Any]:
    """JSON Schema of a templates/<name>/component.yaml, generated from the models above.

    Committed as docs/component.schema.json (a test keeps it current and checks every
    shipped component against it), so catalog authors get completion and checking in
    their editor; ``delivery`` picks which of the three kinds a file is.
    """
    schema: dict[str, Any] = TypeAdapter(Component).json_schema(by_alias=True)
    for definition in schema.get("$defs", {}).values():
        definition.get("properties", {}).pop("folder", None)  # set by the loader, never written
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "bbgen catalog component (templates/<name>/component.yaml)"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def _data_dir(name: str) -> Path:
    """A shipped data folder: inside the wheel (bbgen/_data/NAME), or the checkout's top-level NAME/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / name, here.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise CatalogError(file=here, message=f"{name}/ not found: is bbgen installed correctly?")


def templates_root() -> Path:
    return _data_dir("templates")


@functools.cache
def load_catalog(root: Path | None = None) -> dict[str, AnyComponent]:
    """Every component under ``root``, by name. Cached: the catalog never changes during a run."""
    root = root or templates_root()
    catalog: dict[str, AnyComponent] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        meta_file = folder / "component.yaml"
        if not meta_file.is_file():
            raise CatalogError(file=folder, message="component folder without component.yaml")
        try:
            raw = yamlio.load(meta_file.read_text(encoding="utf-8"))
        except yamlio.YAMLError as exc:
            raise CatalogError(file=meta_file, message=str(exc)) from None
        if not isinstance(raw, dict):
            raise CatalogError(file=meta_file, message="must be a mapping")
        try:
            component = _Wrapper.model_validate({"component": raw}).component
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'][2:])}: {err['msg']}" for err in exc.errors()
            )
            raise CatalogError(file=meta_file, message=detail) from None
        if component.name != folder.name:
            raise CatalogError(file=meta_file, message=f"name {component.name!r} must equal the folder name")
        catalog[component.name] = component.model_copy(update={"folder": folder})
    roles = catalog_roles(catalog)
    for component in catalog.values():
        for role in component.provides:
            if role in catalog:
                raise CatalogError(file=component.folder / "component.yaml", message=f"provides {role!r}, which is a component name")
        for dep in component.depends_on + component.uses:
            if dep not in catalog and dep not in roles:
                raise CatalogError(file=component.folder / "component.yaml", message=f"depends on unknown {dep!r}")
    return catalog


def catalog_roles(catalog: dict[str, AnyComponent]) -> dict[str, list[str]]:
    """Role name → the components that provide it, sorted."""
    roles: dict[str, list[str]] = {}
    for name in sorted(catalog):
        for role in catalog[name].provides:
            roles.setdefault(role, []).append(name)
    return roles


def role_home(catalog: dict[str, AnyComponent], role: str) -> str | None:
    """The namespace the catalog's first provider of ``role`` deploys to, enabled or not.

    For objects that must name a namespace even when the platform does not run the
    provider itself (Argo CD Applications live where Argo CD does).
    """
    providers = catalog_roles(catalog).get(role, [])
    return catalog[providers[0]].namespace if providers else None


def role_provider(catalog: dict[str, AnyComponent], role: str, enabled: Iterable[str]) -> str | None:
    """The enabled component filling ``role`` (the first by name when several are), or None.

    The one way code finds "the SSO server" or "the ingress controller": by the role
    a component declares in its component.yaml, never by its name.
    """
    on = set(enabled)
    return next((name for name in catalog_roles(catalog).get(role, []) if name in on), None)


if __name__ == "__main__":  # regenerate docs/component.schema.json (see SCHEMA_COMMAND)
    sys.stdout.write(json_schema_text())
