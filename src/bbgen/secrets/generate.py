"""Make every value the inventory asks for, and write the Secret manifests.

The rules, in order, for each key that owns a value (copies just follow it):

1. an explicit value (``--from-file``, or the key's ``BBGEN_SECRET_...``
   variable for supplied keys) wins;
2. otherwise the value already in the directory is kept, unless the key is
   named by ``--rotate`` — re-running must never change live credentials;
3. otherwise bbgen generates it (Python :mod:`secrets`), or asks a person
   (``getpass``, only when a terminal is attached), or reports it missing.

Everything is for one environment (``inventory.environment``): the directory
must hold that environment's Secrets or none (store.check_environment), so values
are never carried from one environment to another.

Nothing is written while anything is missing. An htpasswd key is re-derived
only when its password changed or it is rotated, so its salt is stable too.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bbgen.errors import UsageError
from bbgen.secrets import htpasswd, store
from bbgen.render.inventory import Inventory, KeyPlan, KeyRef
from bbgen.secrets.rotation import guidance

Ask = Callable[[str], str]
PASSWORD_ALPHABET = string.ascii_letters + string.digits  # no symbols: safe in URLs, DSNs and config files


@dataclass(kw_only=True)
class GenerateResult:
    """What a run did; ``values`` is only for ``--show`` and is never printed otherwise."""

    out: Path
    environment: str = "prod"
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # ns/name written
    skipped: list[str] = field(default_factory=list)  # optional Secrets left out
    generated: list[str] = field(default_factory=list)  # ns/name/key newly made this run
    rotation: list[str] = field(default_factory=list)  # per rotated Secret: what the running service needs (bbgen.secrets.rotation)
    values: dict[KeyRef, str] = field(default_factory=dict)


def new_value(plan: KeyPlan) -> str:
    """A fresh random value for a generated (non-derived) key."""
    length = plan.length or 32
    if plan.generator == "hex":
        return (plan.prefix or "") + secrets.token_hex(length)
    return (plan.prefix or "") + "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))


def parse_from_files(inventory: Inventory, pairs: list[str]) -> dict[KeyRef, str]:
    """``SELECTOR=PATH`` pairs → values of the owning keys. A one-line file loses its final newline."""
    out: dict[KeyRef, str] = {}
    for pair in pairs:
        selector, sep, path = pair.partition("=")
        if not sep or not path:
            raise UsageError(message=f"--from-file {pair!r} is not KEY=PATH", hint="e.g. --from-file cert-manager/letsencrypt-prod-account/tls.key=account.pem")
        refs = {inventory.source(r) for r in inventory.select(selector)}
        if len(refs) != 1:
            raise UsageError(message=f"--from-file {selector!r} names {len(refs)} keys; name one as NAME/KEY or NAMESPACE/NAME/KEY")
        ref = refs.pop()
        if inventory.key(ref).generator == "htpasswd":
            raise UsageError(message=f"{'/'.join(ref)} is derived from its password; supply the password key instead")
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(message=f"--from-file {selector}: cannot read {path}: {exc}") from None
        if text.count("\n") == 1 and text.endswith("\n"):
            text = text[:-1]
        if not text:
            raise UsageError(message=f"--from-file {selector}: {path} is empty")
        out[ref] = text
    return out


def _existing(inventory: Inventory, ref: KeyRef, found: store.Values) -> str | None:
    """The value on disk for an owning key: its own, else the one its copies agree on."""
    if ref in found:
        return found[ref]
    copies = {found[r] for r in inventory.key_refs() if r != ref and inventory.source(r) == ref and r in found}
    return copies.pop() if len(copies) == 1 else None


def resolve(
    inventory: Inventory,
    found: store.Values,
    *,
    rotate: set[KeyRef],
    explicit: dict[KeyRef, str],
    environ: Mapping[str, str],
    ask: Ask | None,
) -> tuple[dict[KeyRef, str], list[str], list[str]]:
    """Values for every owning key; returns (values, newly generated refs, missing descriptions)."""
    values: dict[KeyRef, str] = {}
    generated: list[str] = []
    missing: list[str] = []
    owners = [r for r in inventory.key_refs() if inventory.source(r) == r]
    derived = [r for r in owners if inventory.key(r).generator == "htpasswd"]
    for ref in (r for r in owners if r not in derived):
        plan = inventory.key(ref)
        label = "/".join(ref)
        env_value = environ.get(plan.env or "", "") if plan.source == "supply" else ""
        current = None if ref in rotate else _existing(inventory, ref, found)
        if plan.source == "fixed":
            values[ref] = plan.value or ""
        elif ref in explicit:
            values[ref] = explicit[ref]
        elif env_value:
            values[ref] = env_value
        elif current is not None:
            values[ref] = current
        elif plan.source == "generate":
            values[ref] = new_value(plan)
            generated.append(label)
        elif plan.optional:
            continue
        elif ask is not None and (answer := ask(f"{label} ({plan.supply}): ")):
            values[ref] = answer
        else:
            missing.append(f"{label}: {plan.supply} (set ${plan.env} or pass --from-file {label}=PATH)")
    for ref in derived:
        plan = inventory.key(ref)
        password = values.get((ref[0], ref[1], plan.from_key or ""))
        if password is None:
            continue
        user = plan.user or "admin"
        current = found.get(ref)
        if ref not in rotate and current is not None and htpasswd.verify(current, user, password):
            values[ref] = current
        else:
            values[ref] = htpasswd.htpasswd_line(user, password)
            generated.append("/".join(ref))
    return values, generated, missing


def generate(
    inventory: Inventory,
    out: Path,
    *,
    rotate: list[str] | None = None,
    from_files: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
    ask: Ask | None = None,
) -> GenerateResult:
    """Write ``<namespace>.yaml`` Secret manifests into ``out``; see the module docstring for the rules.

    The whole read-decide-write runs under the directory's lock (store.exclusive): a second
    run at the same time waits, then keeps what the first one wrote.
    """
    target = store.check_destination(out)
    with store.exclusive(target):
        return _generate_locked(inventory, target, rotate=rotate, from_files=from_files, environ=environ, ask=ask)


def _generate_locked(
    inventory: Inventory,
    target: Path,
    *,
    rotate: list[str] | None,
    from_files: list[str] | None,
    environ: Mapping[str, str] | None,
    ask: Ask | None,
) -> GenerateResult:
    store.check_environment(target, inventory.environment)
    rotate_refs = {inventory.source(r) for sel in rotate or [] for r in inventory.select(sel)}
    explicit = parse_from_files(inventory, from_files or [])
    found = store.read_values(target)
    values, generated, missing = resolve(
        inventory, found, rotate=rotate_refs, explicit=explicit, environ=environ or {}, ask=ask,
    )
    if missing:
        raise UsageError(message="values that must be supplied are missing (nothing was written):\n  " + "\n  ".join(missing))
    result = GenerateResult(out=target, environment=inventory.environment, generated=generated)
    result.rotation = guidance(inventory, rotate_refs)
    per_namespace: dict[str, list[dict[str, object]]] = {}
    for plan in inventory.secrets:
        data = {}
        for key in sorted(plan.keys):
            ref = (plan.namespace, plan.name, key)
            value = values.get(inventory.source(ref))
            if value is not None:
                data[key] = value
                result.values[ref] = value
        if not data:
            result.skipped.append(plan.ref)
            continue
        per_namespace.setdefault(plan.namespace, []).append(store.secret_doc(
            plan.namespace, plan.name, inventory.platform, data, plan.labels, environment=inventory.environment,
        ))
        result.secrets.append(plan.ref)
    files = {f"{ns}.yaml": store.render_file(docs) for ns, docs in sorted(per_namespace.items())}
    files[".gitignore"] = store.GITIGNORE  # should the directory ever end up in a work tree, git skips it
    result.written, result.unchanged = store.write_files(target, files)
    result.stale = sorted(p.name for p in target.glob("*.yaml") if p.name not in files)
    return result
