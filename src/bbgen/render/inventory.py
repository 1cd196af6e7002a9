"""Which Secrets the enabled platform needs, per namespace, and where each value comes from.

Built from the spec and the catalog only, so ``bbgen secrets plan``, ``bbgen
secrets generate`` and the generated README always agree. A Secret key is made
one of three ways: bbgen generates it, a person supplies it, or it is a *copy*
of a key owned by another namespace. Copies exist because a Pod can only read
Secrets of its own namespace: the Redis password is declared once by the
redis component and every dependant namespace gets a Secret of the same
name holding the same value.

A component's ``consumerSecrets`` are per dependant: each dependant (its
*consumer*) gets its own Secret, generated in the component's namespace (its
setup Job reads it there, e.g. to create a database role) and copied to the
dependant's. Both carry ``consumer``, so the plan names whose credential it is. The
metrics scraper is a consumer too where a component guards its metrics with a key
(component.yaml `scrapeCredential`).

The inventory is per environment: it is built from ``spec.merge.env_view`` (the
spec as that environment sees it), so a component enabled only in some
environments is planned only there, and ``bbgen secrets generate --env E`` makes
that environment's values and no other's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bbgen.catalog import SecretKeyMeta, consumer_secret_name, load_catalog
from bbgen.errors import UsageError
from bbgen.render import backups
from bbgen.render.context import variables
from bbgen.render.context_build import secret_value_context
from bbgen.render.engine import render_string
from bbgen.render.inventory_model import DEFAULT_ENV, ENV_PREFIX, Inventory, KeyPlan, KeyRef, SecretPlan, Source, env_var
from bbgen.render.units import Unit, build_units, credential_holders, env_units, oidc_client_id, oidc_secret_name
from bbgen.spec.merge import env_view
from bbgen.spec.models import Platform

__all__ = [  # the model's names, re-exported: readers import them from here
    "DEFAULT_ENV", "ENV_PREFIX", "Inventory", "KeyPlan", "KeyRef", "SecretPlan", "SecretsPlan", "Source",
    "build_inventory", "check_environment", "cluster_secret_name", "env_var", "inventory_for", "plan_for",
]

BASIC_AUTH_USER = "admin"
BASIC_AUTH_LENGTH = 24
DEFAULT_LENGTH = 32


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

    def add(
        self, ns: str, name: str, keys: dict[str, KeyPlan], *, user: str, description: str = "", labels: dict[str, str] | None = None,
        consumer: str | None = None, rotation: tuple[str, str] | None = None,
    ) -> None:
        current = self.secrets.get((ns, name)) or SecretPlan(
            namespace=ns, name=name, description=description, labels=dict(labels or {}), consumer=consumer,
        )
        if rotation is not None:
            current = replace(current, rotation=rotation)
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
            b.add(unit.namespace, secret.name, keys, user=unit.name, description=secret.description, labels=secret.labels,
                  rotation=(secret.rotation.how, secret.rotation.note))
            owners.setdefault(secret.name, (unit.namespace, secret.name))
    for unit in sorted(units.values(), key=lambda u: u.name):
        _consumer_secrets(b, units, unit, values)
    for unit in sorted(units.values(), key=lambda u: u.name):
        _basic_auth(b, platform, unit)
        _oidc_client(b, units, unit)
    for unit in sorted(units.values(), key=lambda u: u.name):
        for dep in unit.depends_on:
            dep_unit = units.get(dep)
            if dep_unit is None or dep_unit.component is None:
                continue
            if not unit.credential_from(dep):
                # It sets its own identity up itself (Kibana's kibana_system), as the dependency's superuser,
                # whose private Secrets it can read only when they share a namespace: list it among their users.
                if dep_unit.namespace == unit.namespace:
                    for secret in dep_unit.component.secrets:
                        if secret.private:
                            b.add(unit.namespace, secret.name, {}, user=unit.name)
                continue
            for ref in dep_unit.component.expose.secret_env.values():
                read = consumer_secret_name(ref.secret, unit.name)  # a consumer Secret: this dependant's own
                if (dep_unit.namespace, read) not in b.secrets or ref.key not in b.secrets[(dep_unit.namespace, read)].keys:
                    # exposed but not declared under `secrets:`: the owner still needs it, supplied by a person
                    supply = KeyPlan(key=ref.key, source="supply", supply=f"read by dependants of {dep_unit.name}")
                    b.add(dep_unit.namespace, read, {ref.key: supply}, user=dep_unit.name)
                    owners.setdefault(read, (dep_unit.namespace, read))
                _reach(b, unit, (dep_unit.namespace, read, ref.key))
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
    _backup_keys(b, platform, units, environment)
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


def _consumer_secrets(b: _Builder, units: dict[str, Unit], unit: Unit, values: dict[str, Any]) -> None:
    """Each dependant's own Secrets of ``unit``: generated in ``unit``'s namespace, copied to the dependant's.

    The owner sits with the component so its setup Job (same namespace) can read every
    consumer's credential; the dependant reads the copy. One owner per dependant and
    environment means one value, which `secrets generate` writes to both namespaces.
    """
    if unit.component is None or not unit.component.consumer_secrets:
        return
    for dependant in credential_holders(units, unit):
        for secret in unit.component.consumer_secrets:
            name = consumer_secret_name(secret.name, dependant)
            where = f"templates/{unit.name}/component.yaml: consumerSecrets.{secret.name}"
            keys = {k: _key_plan(k, m, values, f"{where}.{k}.value") for k, m in secret.keys.items()}
            description = f"{dependant}'s own credential for {unit.name}" + (f": {secret.description}" if secret.description else "")
            b.add(unit.namespace, name, keys, user=unit.name, description=description, labels=secret.labels, consumer=dependant,
                  rotation=(secret.rotation.how, secret.rotation.note))
            consumer = units[dependant]
            for key in sorted(keys):
                _reach(b, consumer, (unit.namespace, name, key), consumer=dependant)


def _backup_keys(b: _Builder, platform: Platform, units: dict[str, Unit], environment: str) -> None:
    """The object store's backups key, copied to every namespace whose backup CronJob writes with it."""
    found = backups.store_of(units)
    if found is None:
        return
    store, facts = found
    for unit in sorted(units.values(), key=lambda u: u.name):
        if backups.plan(platform, units, unit, environment) is None:
            continue
        for key in ("access-key-id", "secret-access-key"):
            _reach(b, unit, (store.namespace, facts.secret, key))
    offsite = backups.offsite_plan(platform, units, store, environment)
    if offsite is not None and platform.backups.offsite is not None:
        where = f"{offsite.endpoint}, bucket {platform.backups.offsite.bucket}"
        keys = {k: KeyPlan(key=k, source="supply", supply=f"the {k} of a key that may write to {where}") for k in ("access-key-id", "secret-access-key")}
        b.add(store.namespace, offsite.secret, keys, user=store.name,
              description=f"the other site's S3 key the {offsite.cronJob} CronJob copies this environment's backups with (spec backups.offsite)")


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
    # The id beside the secret: a client that reads both from a Secret (Argo Workflows) needs no other.
    ident = KeyPlan(key="client-id", source="fixed", value=client_id)
    facts = unit.component.oidc_client if unit.component is not None else None
    labels = dict(facts.secret_labels) if facts is not None else {}
    b.add(unit.namespace, name, {"client-id": ident, "client-secret": key}, user=unit.name, description=f"OIDC client secret of {client_id}, shared with Keycloak", labels=labels)
    server = units.get(unit.sso_provider) if unit.sso_provider else None
    if server is not None:
        _reach(b, server, (unit.namespace, name, "client-secret"))


def _reach(b: _Builder, unit: Unit, source: KeyRef, *, consumer: str | None = None) -> None:
    """Make ``source`` readable from ``unit``'s namespace: the Secret itself, or a copy of it."""
    ns, name, key = source
    if unit.namespace == ns:
        b.add(ns, name, {}, user=unit.name)
        return
    copy = KeyPlan(key=key, source="copy", copy_of=source)
    b.add(unit.namespace, name, {key: copy}, user=unit.name, description=f"copy of {ns}/{name}", consumer=consumer)


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
