"""How a component is delivered and wired: its image or chart, its Secrets, what it exposes to dependants."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bbgen.catalog._base import _SECRET_KEY_RE, _Meta

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
    """A key of an out-of-band Secret the component reads (never rendered).

    ``secret`` may name one of the component's ``consumerSecrets`` by its template
    (``postgres-{{ dependant }}``): each dependant then reads its own Secret.
    """

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


class Rotation(_Meta):
    """What a new value of the Secret needs before the running service uses it; `bbgen secrets generate --rotate` prints it.

    A changed Secret rolls no pod (only rendered ConfigMaps carry a checksum on the pod
    template), and many services read a credential only when they initialise their data,
    so this is a fact about the component, written where the component is.
    """

    how: Literal["restart", "applied-by-job", "manual"] = "restart"
    """`restart`: the readers use it once restarted; `applied-by-job`: a setup Job sets it in the service on
    the next sync, then the readers restart; `manual`: the service keeps the old value until a person changes
    it there (``note`` says how)."""
    note: str = ""
    """The component-specific part, in a sentence or two: what to run, what must never be rotated
    (`<namespace>` is replaced by the Secret's namespace)."""

    @model_validator(mode="after")
    def _manual_says_how(self) -> Rotation:
        if self.how == "manual" and not self.note.strip():
            raise ValueError("rotation `manual` needs a `note` saying what to do")
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
    private: bool = False
    """Read only inside the component's own namespace (a superuser's password): never exposed to dependants
    nor copied to another namespace; an app elsewhere naming it is a spec error."""
    rotation: Rotation = Field(default_factory=Rotation)
    """What rotating it takes (a bare `restart` / `applied-by-job` / `manual` is the short form)."""

    @field_validator("rotation", mode="before")
    @classmethod
    def _short_rotation(cls, value: object) -> object:
        return {"how": value} if isinstance(value, str) else value

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


DEPENDANT_RE = re.compile(r"\{\{\s*dependant\s*\}\}")
"""The one variable a consumer Secret's name may use."""
_DNS_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def consumer_secret_name(template: str, dependant: str) -> str:
    """The Secret name ``template`` means for ``dependant`` (its only variable is ``{{ dependant }}``).

    Plain substitution, not Jinja: the model refuses every other variable, so the
    catalog can check the names it accepts, and the inventory (which Secrets exist)
    and the dependants' env (which Secret they read) use this one function and agree.
    """
    return DEPENDANT_RE.sub(lambda _: dependant, template)


class ConsumerSecretMeta(SecretMeta):
    """A Secret every dependant gets its own of: a credential per consumer (a database role, a user).

    ``name`` contains ``{{ dependant }}``. For each enabled dependant, ``bbgen secrets``
    plans the Secret in the dependant's namespace (it reads the credential) and in the
    component's own namespace (its setup Job creates the user from it), both holding the
    same value: generated once per dependant and environment, the second a copy.
    """

    @model_validator(mode="after")
    def _per_dependant(self) -> ConsumerSecretMeta:
        if self.private:
            raise ValueError(f"consumer Secret {self.name!r}: its dependant reads it, so it cannot be private")
        if not DEPENDANT_RE.search(self.name):
            raise ValueError(f"consumer Secret {self.name!r}: the name must contain `{{{{ dependant }}}}` (one Secret per dependant)")
        sample = consumer_secret_name(self.name, "x")
        if "{" in sample or "}" in sample:
            raise ValueError(f"consumer Secret {self.name!r}: `{{{{ dependant }}}}` is the only variable a name may use")
        if not _DNS_NAME_RE.match(sample) or len(sample) > 200:
            raise ValueError(f"consumer Secret {self.name!r}: not a Secret name (lowercase letters, digits, '-')")
        return self


class ScrapeCredential(_Meta):
    """`scrapeCredential:` the component's metrics need a credential while a setting is on (llama.cpp guards
    /metrics with its API key once `apiKey` is on).

    The metrics scraper (the unit filling the `metrics` role) then gets a consumer Secret of its own, exactly as
    a dependant does: the component accepts its key beside the dependants', and the scraper's job for this
    component sends it (`Authorization: Bearer`, read from a mounted file at every scrape).
    """

    setting: str
    """A boolean setting of the component: while it is true, the metrics need the credential."""
    secret: str
    """One of the component's `consumerSecrets`, by its name template (`<component>-{{ dependant }}`)."""
    key: str
    """The key of that Secret holding the credential."""
