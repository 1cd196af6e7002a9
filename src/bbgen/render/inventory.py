"""Which Secrets the enabled platform needs, per namespace, and where each value comes from.

Built from the spec and the catalog only, so ``bbgen secrets plan``, ``bbgen
secrets generate`` and the generated README always agree. A Secret key is made
one of three ways: bbgen generates it, a person supplies it, or it is a *copy*
of a key owned by another namespace. Copies exist because a Pod can only read
Secrets of its own namespace: the Postgres password is declared once by the
postgres component and every dependant namespace gets a Secret of the same
name holding the same value.

The inventory is per environment: it is built from ``spec.merge.env_view`` (the
spec as that environment sees it), so a component enabled only in some
environments is planned only there, and ``bbgen secrets generate --env E`` makes
that environment's values and no other's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bbgen.catalog import SecretKeyMeta, load_catalog
from bbgen.errors import UsageError
from bbgen.render.context import variables
from bbgen.render.context_build import secret_value_context
from bbgen.render.engine import render_string
from bbgen.render.units import Unit, build_units, env_units, oidc_client_id, oidc_secret_name
from bbgen.spec.merge import env_view
from bbgen.spec.models import Platform

ENV_PREFIX = "BBGEN_SECRET_"
BASIC_AUTH_USER = "admin"
BASIC_AUTH_LENGTH = 24
DEFAULT_LENGTH = 32
DEFAULT_ENV = "prod"  # every spec has it (spec/models.py); the hub the generated README bootstraps first

Source = Literal["generate", "supply", "copy", "fixed"]
KeyRef = tuple[str, str, str]  # namespace, secret name, key


@dataclass(frozen=True, kw_only=True)
class KeyPlan:
    """One key of one Secret: how its value is made."""

    key: str
    source: Source
    generator: str | None = None  # password | hex | htpasswd
    length: int | None = None
    prefix: str | None = None  # literal text before the random part
    from_key: str | None = None  # htpasswd: the password key of the same Secret
    user: str | None = None  # htpasswd user
    supply: str | None = None  # what a person must provide
    value: str | None = None  # fixed: the value itself (never secret)
    optional: bool = False
    copy_of: KeyRef | None = None
    env: str | None = None  # environment variable read for supplied values

    def describe(self) -> str:
        """One human line: what the plan table shows in its HOW column."""
        if self.source == "copy":
            assert self.copy_of is not None
            return f"copy of {self.copy_of[0]}/{self.copy_of[1]}"
        if self.source == "fixed":
            return f"fixed: {self.value}"
        if self.source == "generate":
            if self.generator == "password":
                return f"generated: password, {self.length} chars"
            if self.generator == "hex":
                return f"generated: {self.prefix or ''}hex, {self.length} bytes"
            return f"generated: htpasswd (sha512-crypt) for user {self.user} from key {self.from_key}"
        return f"supply ${self.env}" + (" (optional)" if self.optional else "")

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "source": self.source}
        for name in ("generator", "length", "prefix", "from_key", "user", "supply", "value", "env"):
            value = getattr(self, name)
            if value is not None:
                out["from" if name == "from_key" else name] = value
        if self.source == "supply":
            out["optional"] = self.optional
        if self.copy_of is not None:
            out["copyOf"] = "/".join(self.copy_of)
        return out


@dataclass(frozen=True, kw_only=True)
class SecretPlan:
    """One Secret in one namespace."""

    namespace: str
    name: str
    description: str = ""
    used_by: tuple[str, ...] = ()
    keys: dict[str, KeyPlan] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def copy_of(self) -> str | None:
        """``ns/name`` when every key is a copy of the same Secret (the plan says so once)."""
        sources = {(k.copy_of[0], k.copy_of[1]) if k.copy_of else None for k in self.keys.values()}
        if len(sources) == 1 and None not in sources:
            (ns, name), = sources  # type: ignore[misc]
            return f"{ns}/{name}"
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "description": self.description,
            "usedBy": list(self.used_by),
            "copyOf": self.copy_of,
            "labels": dict(sorted(self.labels.items())),
            "keys": [self.keys[k].as_dict() for k in sorted(self.keys)],
        }


@dataclass(frozen=True, kw_only=True)
class Inventory:
    """Every Secret one environment of the platform needs, sorted by namespace and name."""

    platform: str
    secrets: tuple[SecretPlan, ...]
    environment: str = DEFAULT_ENV

    def key(self, ref: KeyRef) -> KeyPlan:
        return self._index()[(ref[0], ref[1])].keys[ref[2]]

    def source(self, ref: KeyRef) -> KeyRef:
        """The key that owns the value (itself unless it is a copy)."""
        plan = self.key(ref)
        return plan.copy_of if plan.copy_of is not None else ref

    def key_refs(self) -> list[KeyRef]:
        return [(s.namespace, s.name, k) for s in self.secrets for k in sorted(s.keys)]

    def select(self, selector: str) -> list[KeyRef]:
        """Keys named by ``NAME``, ``NAME/KEY`` or ``NAMESPACE/NAME/KEY`` (copies included)."""
        parts = selector.strip().split("/")
        if not all(parts) or len(parts) > 3:
            raise UsageError(message=f"{selector!r} is not NAME, NAME/KEY or NAMESPACE/NAME/KEY")
        found = [
            ref for ref in self.key_refs()
            if (len(parts) == 1 and ref[1] == parts[0])
            or (len(parts) == 2 and ref[1:] == (parts[0], parts[1]))
            or (len(parts) == 3 and ref == (parts[0], parts[1], parts[2]))
        ]
        if not found:
            raise UsageError(message=f"{selector!r} names no Secret key of this platform", hint="see `bbgen secrets plan SPEC`")
        return found

    def as_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "environment": self.environment, "secrets": [s.as_dict() for s in self.secrets]}

    def _index(self) -> dict[tuple[str, str], SecretPlan]:
        return {(s.namespace, s.name): s for s in self.secrets}


def env_var(namespace: str, name: str, key: str) -> str:
    """``BBGEN_SECRET_<NAMESPACE>_<NAME>_<KEY>``, upper snake case: predictable from the plan row."""
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]+", "_", f"{namespace}_{name}_{key}").strip("_").upper()


def _key_plan(key: str, meta: SecretKeyMeta, context: dict[str, Any], where: str) -> KeyPlan:
    """``context``: the secret-value dialect's variables (render/context.py SecretValueContext)."""
    if meta.value is not None:
        return KeyPlan(key=key, source="fixed", value=render_string(meta.value, context, where=where))
    if meta.generate is not None:
        length = None
        if meta.generate in ("password", "hex"):
            length = meta.length or DEFAULT_LENGTH
        return KeyPlan(
            key=key, source="generate", generator=meta.generate, length=length, prefix=meta.prefix,
            from_key=meta.from_key, user=meta.user if meta.generate == "htpasswd" else None,
        )
    return KeyPlan(key=key, source="supply", supply=meta.supply, optional=meta.optional)


class _Builder:
    """Accumulates Secrets; the first definition of a key wins, later readers only add users."""

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], SecretPlan] = {}

    def add(self, ns: str, name: str, keys: dict[str, KeyPlan], *, user: str, description: str = "", labels: dict[str, str] | None = None) -> None:
        current = self.secrets.get((ns, name)) or SecretPlan(namespace=ns, name=name, description=description, labels=dict(labels or {}))
        merged = dict(current.keys)
        for key, plan in keys.items():
            merged.setdefault(key, plan)
        users = tuple(sorted(set(current.used_by) | {user}))
        self.secrets[(ns, name)] = replace(current, keys=merged, used_by=users, description=current.description or description)

    def owner_of(self, name: str, key: str, owners: dict[str, tuple[str, str]]) -> KeyRef | None:
        where = owners.get(name)
        if where is None or key not in self.secrets[where].keys:
            return None
        plan = self.secrets[where].keys[key]
        return plan.copy_of if plan.copy_of is not None else (where[0], where[1], key)


def build_inventory(
    platform: Platform, units: dict[str, Unit], *, environment: str = DEFAULT_ENV, spokes: Mapping[str, str] | None = None
) -> Inventory:
    """Every Secret the enabled units read, with shared credentials copied per consumer namespace.

    ``platform`` and ``units`` should be one environment's view (see :func:`inventory_for`);
    ``environment`` only names it. ``spokes`` (environment -> API server) are the clusters
    this environment's Argo CD deploys to remotely: the hub's (render/layout.py `spoke_servers`).
    """
    b = _Builder()
    values = variables(secret_value_context(platform))
    owners: dict[str, tuple[str, str]] = {}  # secret name -> (namespace, name) of the declaring component
    for unit in sorted(units.values(), key=lambda u: u.name):
        if unit.component is None:
            continue
        for secret in unit.component.secrets:
            where = f"templates/{unit.name}/component.yaml: secrets.{secret.name}"
            keys = {k: _key_plan(k, m, values, f"{where}.{k}.value") for k, m in secret.keys.items()}
            b.add(unit.namespace, secret.name, keys, user=unit.name, description=secret.description, labels=secret.labels)
            owners.setdefault(secret.name, (unit.namespace, secret.name))
    for unit in sorted(units.values(), key=lambda u: u.name):
        _basic_auth(b, platform, unit)
        _oidc_client(b, units, unit)
    for unit in sorted(units.values(), key=lambda u: u.name):
        for dep in unit.depends_on:
            dep_unit = units.get(dep)
            if dep_unit is None or dep_unit.component is None:
                continue
            for ref in dep_unit.component.expose.secret_env.values():
                if (dep_unit.namespace, ref.secret) not in b.secrets or ref.key not in b.secrets[(dep_unit.namespace, ref.secret)].keys:
                    # exposed but not declared under `secrets:`: the owner still needs it, supplied by a person
                    supply = KeyPlan(key=ref.key, source="supply", supply=f"read by dependants of {dep_unit.name}")
                    b.add(dep_unit.namespace, ref.secret, {ref.key: supply}, user=dep_unit.name)
                    owners.setdefault(ref.secret, (dep_unit.namespace, ref.secret))
                _reach(b, unit, (dep_unit.namespace, ref.secret, ref.key))
        if unit.app is not None:
            # `secretEnv` and `env[].valueFrom.secretKeyRef` read a Secret the same way (the latter may be optional).
            refs = [(r.name, r.secret, r.key, False) for r in unit.app.secret_env]
            refs += [(v.name, v.value_from.secret_key_ref.name, v.value_from.secret_key_ref.key, v.value_from.secret_key_ref.optional)
                     for v in unit.app.env if v.value_from is not None and v.value_from.secret_key_ref is not None]
            for var, secret_name, key, optional in refs:
                source = b.owner_of(secret_name, key, owners)
                if source is not None:
                    _reach(b, unit, source)
                else:
                    plan = KeyPlan(key=key, source="supply", supply=f"value of {var} for {unit.name}", optional=optional)
                    b.add(unit.namespace, secret_name, {key: plan}, user=unit.name)
    _spoke_clusters(b, spokes or {}, units)
    return _finish(platform.name, b.secrets, environment)


CLUSTER_SECRET_LABEL = "argocd.argoproj.io/secret-type"


def cluster_secret_name(env: str) -> str:
    return f"cluster-{env}"


def _spoke_clusters(b: _Builder, spokes: Mapping[str, str], units: dict[str, Unit]) -> None:
    """Hub mode: each spoke is registered with the hub's Argo CD by a cluster Secret in its namespace.

    `name` and `server` are fixed; `config` (Argo CD's cluster-config JSON: a bearer
    token or client certificate plus the CA) is supplied out of band, never rendered.
    """
    from bbgen.render.layout import GITOPS, argocd_namespace  # lazy: layout reads the catalog

    controller = next((u.name for u in sorted(units.values(), key=lambda u: u.name) if u.provides(GITOPS)), "the hub Argo CD")
    for env, server in sorted(spokes.items()):
        keys = {
            "name": KeyPlan(key="name", source="fixed", value=env),
            "server": KeyPlan(key="server", source="fixed", value=server),
            "config": KeyPlan(key="config", source="supply", supply=f"Argo CD cluster config JSON for {env} (bearerToken or tlsClientConfig, and the CA)"),
        }
        b.add(argocd_namespace(), cluster_secret_name(env), keys, user=controller, description=f"registers environment {env}'s cluster with the hub Argo CD",
              labels={CLUSTER_SECRET_LABEL: "cluster"})


def _basic_auth(b: _Builder, platform: Platform, unit: Unit) -> None:
    if unit.app is not None:
        basic = unit.app.basic_auth
    else:
        settings = platform.components.get(unit.name)
        basic = settings.basic_auth if settings is not None else None
    if basic is None or not basic.enabled or not unit.host_label:
        return
    keys = {
        "password": KeyPlan(key="password", source="generate", generator="password", length=BASIC_AUTH_LENGTH),
        "auth": KeyPlan(key="auth", source="generate", generator="htpasswd", from_key="password", user=BASIC_AUTH_USER),
    }
    name = basic.secret_name or f"{unit.name}-basic-auth"
    b.add(unit.namespace, name, keys, user=unit.name, description=f"HTTP basic auth for {unit.name} (ingress-nginx or the auth proxy reads key auth)")


def _oidc_client(b: _Builder, units: dict[str, Unit], unit: Unit) -> None:
    """A confidential client's secret: generated in the client's namespace, copied to the `sso` provider's (its realm import reads it)."""
    client_id = oidc_client_id(unit)
    if client_id is None or unit.oidc is None or unit.oidc.public:
        return
    name = oidc_secret_name(client_id)
    key = KeyPlan(key="client-secret", source="generate", generator="hex", length=DEFAULT_LENGTH)
    b.add(unit.namespace, name, {"client-secret": key}, user=unit.name, description=f"OIDC client secret of {client_id}, shared with Keycloak")
    server = units.get(unit.sso_provider) if unit.sso_provider else None
    if server is not None:
        _reach(b, server, (unit.namespace, name, "client-secret"))


def _reach(b: _Builder, unit: Unit, source: KeyRef) -> None:
    """Make ``source`` readable from ``unit``'s namespace: the Secret itself, or a copy of it."""
    ns, name, key = source
    if unit.namespace == ns:
        b.add(ns, name, {}, user=unit.name)
        return
    copy = KeyPlan(key=key, source="copy", copy_of=source)
    b.add(unit.namespace, name, {key: copy}, user=unit.name, description=f"copy of {ns}/{name}")


def _finish(platform: str, secrets: dict[tuple[str, str], SecretPlan], environment: str) -> Inventory:
    seen: dict[str, KeyRef] = {}
    done: list[SecretPlan] = []
    for (ns, name), plan in sorted(secrets.items()):
        keys: dict[str, KeyPlan] = {}
        for key in sorted(plan.keys):
            kp = plan.keys[key]
            if kp.source == "supply":
                var = env_var(ns, name, key)
                if var in seen:
                    clash = "/".join(seen[var])
                    raise UsageError(message=f"{ns}/{name}/{key} and {clash} both map to ${var}", hint="rename one of the Secrets or keys")
                seen[var] = (ns, name, key)
                kp = replace(kp, env=var)
            keys[key] = kp
        done.append(replace(plan, keys=keys))
    return Inventory(platform=platform, secrets=tuple(done), environment=environment)


@dataclass(frozen=True, kw_only=True)
class SecretsPlan:
    """The inventories of several environments of one platform (what `bbgen secrets plan` prints)."""

    platform: str
    inventories: tuple[Inventory, ...]

    @property
    def environments(self) -> list[str]:
        return [i.environment for i in self.inventories]

    def env(self, name: str) -> Inventory:
        """One environment's inventory (a KeyError when the plan does not hold it)."""
        for inventory in self.inventories:
            if inventory.environment == name:
                return inventory
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        """One flat list, each Secret tagged with its environment: a column, easy to filter in jq."""
        return {
            "platform": self.platform,
            "environments": self.environments,
            "secrets": [{"environment": i.environment, **s.as_dict()} for i in self.inventories for s in i.secrets],
        }


def check_environment(platform: Platform, env: str) -> str:
    """``env`` when the spec defines it, else a usage error listing the environments it has."""
    if env not in platform.environments:
        known = ", ".join(sorted(platform.environments))
        raise UsageError(message=f"--env {env}: the spec has no environment {env!r}", hint=f"its environments: {known}")
    return env


def inventory_for(platform: Platform, env: str = DEFAULT_ENV) -> Inventory:
    """Environment ``env``'s inventory of a loaded spec, built from its view, against the installed catalog."""
    from bbgen.render.layout import spoke_servers  # lazy: layout reads the catalog

    view = env_view(platform, check_environment(platform, env))
    return build_inventory(view, env_units(platform, load_catalog(), env), environment=env, spokes=spoke_servers(platform, env))


def plan_for(platform: Platform, env: str | None = None) -> SecretsPlan:
    """Every environment's inventory (sorted by name), or only ``env``'s."""
    envs = [check_environment(platform, env)] if env is not None else sorted(platform.environments)
    return SecretsPlan(platform=platform.name, inventories=tuple(inventory_for(platform, e) for e in envs))
