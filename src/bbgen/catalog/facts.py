"""The facts a component.yaml states for code to ask: network, routes, SSO, scale, settings, Pod Security, login, Score."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from bbgen.catalog._base import _Meta

class ClusterResource(_Meta):
    group: str
    kind: str


class Allow(_Meta):
    """Ports of the component's pods reachable beyond its dependants (NetworkPolicy ingress)."""

    ports: list[str]
    """Names from the component's ``ports``."""
    source: Literal["world", "cluster"] = Field(alias="from")
    """``world``: any source, in or outside the cluster (an API server webhook, a node port); ``cluster``: any pod."""


PortPurpose = Literal["client", "admin", "metrics", "cluster"]
"""Who a port is for: `client` (dependants), `admin` (its own namespace and the spec's `adminFrom`), `metrics`
(the `metrics` role's scraper), `cluster` (the component's own pods only: peer traffic such as Raft or RPC)."""


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


class TcpTls(_Meta):
    """How a port keeps its traffic encrypted when the spec exposes it over raw TCP (`ingress.tcp`).

    A raw TCP exposure carries whatever the port speaks past the edge, so bbgen lets
    out only ports that can speak TLS themselves; a port without this fact cannot be
    exposed (a located spec error), since nothing would protect it on the way.
    """

    setting: str
    """The boolean setting that turns the TLS on; an exposure with it off is a located spec error."""
    how: str
    """One sentence on what the TLS is (a cert-manager certificate for the exposure's public name, ...), for errors and the README."""


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


class OidcClientFacts(_Meta):
    """How a component that signs users in natively is registered as a Keycloak client (with ``oidc: true``).

    Without it the client's redirect URIs allow any path of its host and its secret's Secret has no labels.
    """

    callback_paths: list[str] = Field(default_factory=list, alias="callbackPaths")
    """Paths of its OIDC callback under its host (`/auth/callback`): the only redirect URIs Keycloak accepts."""
    secret_labels: dict[str, str] = Field(default_factory=dict, alias="secretLabels")
    """Labels the client secret's Secret (`oidc-<clientId>`) must carry for the component to read it."""
    settings: dict[str, str | int | float | bool] = Field(default_factory=dict)
    """Values these settings (of defaults.settings) must keep while `oidc` is set: another value would let
    callers past the sign-in (the spec checks refuse it at the setting's line)."""

    @field_validator("callback_paths")
    @classmethod
    def _absolute(cls, value: list[str]) -> list[str]:
        bad = [p for p in value if not re.fullmatch(r"/[^\s*]*", p)]
        if bad:
            raise ValueError(f"callback paths start with `/` and hold no spaces or `*`: {bad}")
        return value


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
