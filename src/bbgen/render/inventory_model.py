"""The shape of a Secrets inventory: each key's plan, each Secret's, one environment's whole.

Kept apart from how the inventory is built (render/inventory.py), which re-exports these,
so readers (`secrets generate`, the README, validate) depend on the data alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from bbgen.errors import UsageError

ENV_PREFIX = "BBGEN_SECRET_"
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
    consumer: str | None = None
    """The dependant whose own credential this is (a component's `consumerSecrets`), else none."""
    rotation: tuple[str, str] = ("restart", "")
    """(how, note) from the component's `rotation` (catalog); what `generate --rotate` says is needed."""

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
            "consumer": self.consumer,
            "copyOf": self.copy_of,
            # what rotating it takes (the owner's, from the catalog); a copy follows its owner
            "rotation": None if self.copy_of else {"how": self.rotation[0], "note": self.rotation[1]},
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
