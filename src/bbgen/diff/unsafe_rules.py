"""The changes Kubernetes refuses (or silently ignores) on an existing object, as data.

Each rule names a kind, the field, why an in-place update fails and what to do
instead. Argo CD syncs with ``kubectl apply`` (a patch) by default; the API server
validates the merged object exactly as it would a ``kubectl replace`` (PUT), so
``Replace=true`` alone never gets past these: only deleting and re-creating does
(by hand, or Argo CD's ``Force=true,Replace=true`` sync option). A rule compares
the object Argo CD applied before with the one it would apply now, both as
``kustomize build`` printed them, with the server's defaults filled in where
leaving a field out means the default.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

FORCE_REPLACE = "argocd.argoproj.io/sync-options: Force=true,Replace=true"
HOOK_ANNOTATIONS = ("argocd.argoproj.io/hook", "helm.sh/hook")
# provisioners that take a claim's size as accepted but have no resizer: a bigger request is stored, never applied
NO_RESIZER = ("rancher.io/local-path", "kubernetes.io/no-provisioner")


@dataclass(frozen=True, kw_only=True)
class Context:
    """What a rule may know besides the two objects: the environment's StorageClasses (name → object)."""

    storage_classes: dict[str, Obj]


@dataclass(frozen=True, kw_only=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True, kw_only=True)
class Rule:
    """``kinds`` (group/kind, core group empty) whose ``field`` cannot change in place; ``detect`` yields the differences."""

    kinds: tuple[str, ...]
    field: str
    why: str
    remedy: str  # {ns} (`-n NS ` or nothing), {namespace}, {name}, {resource} (kubectl's word for the kind) are filled in
    detect: Callable[[Obj, Obj, Context], Iterator[Change]]


_MISSING: Any = object()


def get(doc: Any, path: str, default: Any = None) -> Any:
    """``doc`` at a dotted path; ``default`` where any step is absent."""
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return default
        doc = doc[part]
    return doc


def differences(old: Any, new: Any, path: str) -> Iterator[Change]:
    """Leaf-level differences: descends dicts, and lists of equal length, so the field shown is the one that moved."""
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            yield from differences(old.get(key, _MISSING), new.get(key, _MISSING), f"{path}.{key}")
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from differences(a, b, f"{path}[{i}]")
        return
    yield Change(field=path, old=None if old is _MISSING else old, new=None if new is _MISSING else new)


def _field(path: str, default: Any = None, normalise: Callable[[Any], Any] = lambda v: v) -> Callable[[Obj, Obj, Context], Iterator[Change]]:
    """A field that may not change: absent means ``default``, both sides pass through ``normalise`` first."""

    def detect(old: Obj, new: Obj, ctx: Context) -> Iterator[Change]:
        yield from differences(normalise(get(old, path, default)), normalise(get(new, path, default)), path)

    return detect


def _claim_template(vct: Any) -> Any:
    """A volumeClaimTemplate as the server stores it: apiVersion/kind/volumeMode defaulted, status dropped."""
    if not isinstance(vct, dict):
        return vct
    out = {k: v for k, v in vct.items() if k != "status"}
    out.setdefault("apiVersion", "v1")
    out.setdefault("kind", "PersistentVolumeClaim")
    spec = dict(out.get("spec") or {})
    spec.setdefault("volumeMode", "Filesystem")
    out["spec"] = spec
    return out


def _templates(value: Any) -> Any:
    return [_claim_template(v) for v in value] if isinstance(value, list) else value


# StatefulSet spec fields the API lets an update change; any other spec field is frozen
STS_MUTABLE = {"replicas", "template", "updateStrategy", "minReadySeconds", "ordinals", "revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy"}
STS_NAMED = {"selector", "serviceName", "volumeClaimTemplates", "podManagementPolicy"}


def _sts_other(old: Obj, new: Obj, ctx: Context) -> Iterator[Change]:
    a, b = get(old, "spec", {}) or {}, get(new, "spec", {}) or {}
    for key in sorted((set(a) | set(b)) - STS_MUTABLE - STS_NAMED):
        yield from differences(a.get(key), b.get(key), f"spec.{key}")


def quantity(text: Any) -> float | None:
    """A Kubernetes quantity (``20Gi``, ``500M``, ``1.5T``) in bytes; None when unreadable."""
    match = re.fullmatch(r"([0-9.]+)\s*([KMGTPE]i?|k|m)?", str(text).strip())
    if not match:
        return None
    try:
        number = float(match.group(1))
    except ValueError:
        return None
    unit = match.group(2) or ""
    powers = {"": 1.0, "m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
    if unit.endswith("i"):
        return number * 1024.0 ** ("KMGTPE".index(unit[0]) + 1)
    return number * powers[unit]


STORAGE = "spec.resources.requests.storage"


def _shrink(old: Obj, new: Obj, ctx: Context) -> Iterator[Change]:
    a, b = get(old, STORAGE), get(new, STORAGE)
    qa, qb = quantity(a), quantity(b)
    if qa is not None and qb is not None and qb < qa:
        yield Change(field=STORAGE, old=a, new=b)


def _grow_without_resizer(old: Obj, new: Obj, ctx: Context) -> Iterator[Change]:
    """A bigger request on a class that cannot expand: refused (no allowVolumeExpansion) or stored and never applied."""
    a, b = get(old, STORAGE), get(new, STORAGE)
    qa, qb = quantity(a), quantity(b)
    if qa is None or qb is None or qb <= qa:
        return
    cls = ctx.storage_classes.get(str(get(new, "spec.storageClassName") or ""))
    if cls is None:
        return  # a class the render does not define: its capabilities are unknown here
    if get(cls, "allowVolumeExpansion") is not True or str(cls.get("provisioner")) in NO_RESIZER:
        yield Change(field=STORAGE, old=a, new=b)


# PVC spec fields an update may change (the rest is frozen at creation)
PVC_MUTABLE = {"resources", "volumeAttributesClassName"}
PVC_NAMED = {"storageClassName", "accessModes", "volumeName"}


def _pvc_other(old: Obj, new: Obj, ctx: Context) -> Iterator[Change]:
    a, b = dict(get(old, "spec", {}) or {}), dict(get(new, "spec", {}) or {})
    for side in (a, b):
        side.setdefault("volumeMode", "Filesystem")
    for key in sorted((set(a) | set(b)) - PVC_MUTABLE - PVC_NAMED):
        yield from differences(a.get(key), b.get(key), f"spec.{key}")


def _immutable_data(old: Obj, new: Obj, ctx: Context) -> Iterator[Change]:
    if old.get("immutable") is not True:
        return
    if new.get("immutable") is not True:
        yield Change(field="immutable", old=True, new=new.get("immutable"))
    for key in ("data", "binaryData"):
        a, b = old.get(key) or {}, new.get(key) or {}
        for name in sorted(set(a) | set(b)):  # which keys changed, never their values (a Secret's data)
            if a.get(name) != b.get(name):
                yield Change(field=f"{key}.{name}", old="(value)" if name in a else "(absent)", new="(new value)" if name in b else "(absent)")


def _ip(doc: Obj) -> str:
    ips = get(doc, "spec.clusterIPs")
    return str(get(doc, "spec.clusterIP") or (ips[0] if isinstance(ips, list) and ips else ""))


def _service_ip(old: Obj, new: Obj, ctx: Context) -> Iterator[Change]:
    """The cluster IP is fixed once allocated (None = headless included); a removed one is kept by the server."""
    t_old, t_new = get(old, "spec.type") or "ClusterIP", get(new, "spec.type") or "ClusterIP"
    if "ExternalName" in (t_old, t_new):
        return  # changing to or from ExternalName releases or allocates the address: allowed
    a, b = _ip(old), _ip(new)
    if a == b:
        return
    if a and not b and a != "None":
        return  # left out: the server keeps the allocated address, nothing changes
    yield Change(field="spec.clusterIP", old=a or "(allocated)", new=b or "(left out)")


def _ip_family(old: Obj, new: Obj, ctx: Context) -> Iterator[Change]:
    a, b = get(old, "spec.ipFamilies") or [], get(new, "spec.ipFamilies") or []
    if a and b and a[0] != b[0]:
        yield Change(field="spec.ipFamilies[0]", old=a[0], new=b[0])


def _job_completions(old: Obj, new: Obj, ctx: Context) -> Iterator[Change]:
    a, b = get(old, "spec.completions"), get(new, "spec.completions")
    if a == b:
        return
    elastic = get(new, "spec.completionMode") == "Indexed" and b == get(new, "spec.parallelism")
    if not elastic:  # an Indexed Job may change completions together with parallelism (elastic Indexed Jobs)
        yield Change(field="spec.completions", old=a, new=b)


RECREATE = (
    "delete it and let Argo CD re-create it (`kubectl {ns}delete {resource} {name}`, then sync), "
    f"or annotate it `{FORCE_REPLACE}` so each sync deletes and re-creates it; Replace=true alone is refused the same way"
)
STS_ORPHAN = (
    "orphan-delete the StatefulSet and sync: `kubectl {ns}delete statefulset {name} --cascade=orphan`; "
    "Argo CD re-creates it, and it adopts the running pods and their PVCs"
)
NEW_CLAIM = (
    "make a new PVC (new name) with the wanted spec, copy the data into it (a Job mounting both, or backup and restore), "
    "point the workload at it, then delete the old claim"
)

RULES: tuple[Rule, ...] = (
    Rule(
        kinds=("apps/StatefulSet",), field="spec.volumeClaimTemplates", detect=_field("spec.volumeClaimTemplates", [], _templates),
        why="a StatefulSet's volumeClaimTemplates cannot change after creation",
        remedy=(
            STS_ORPHAN + ". The new template only shapes PVCs created from then on: to resize existing ones, patch each "
            "`kubectl {ns}patch pvc <claim>-{name}-<ordinal>` if its StorageClass can expand; local-path cannot, so "
            + NEW_CLAIM
        ),
    ),
    Rule(
        kinds=("apps/StatefulSet",), field="spec.selector", detect=_field("spec.selector"),
        why="a StatefulSet's selector cannot change after creation",
        remedy=(
            "orphan-delete the StatefulSet and sync (`kubectl {ns}delete statefulset {name} --cascade=orphan`); the old pods "
            "do not match the new selector: delete them one at a time (`kubectl {ns}delete pod {name}-<ordinal>`) so the new "
            "StatefulSet re-creates them on the same PVCs"
        ),
    ),
    Rule(
        kinds=("apps/StatefulSet",), field="spec.serviceName", detect=_field("spec.serviceName", ""),
        why="a StatefulSet's serviceName cannot change after creation", remedy=STS_ORPHAN,
    ),
    Rule(
        kinds=("apps/StatefulSet",), field="spec.podManagementPolicy", detect=_field("spec.podManagementPolicy", "OrderedReady"),
        why="a StatefulSet's podManagementPolicy cannot change after creation", remedy=STS_ORPHAN,
    ),
    Rule(
        kinds=("apps/StatefulSet",), field="spec", detect=_sts_other,
        why="a StatefulSet update may change only replicas, template, updateStrategy, minReadySeconds, ordinals, "
        "revisionHistoryLimit and persistentVolumeClaimRetentionPolicy",
        remedy=STS_ORPHAN,
    ),
    Rule(
        kinds=("apps/Deployment", "apps/DaemonSet", "apps/ReplicaSet"), field="spec.selector", detect=_field("spec.selector"),
        why="the selector of an apps/v1 workload cannot change after creation",
        remedy=RECREATE + " (its pods go with it: a short outage)",
    ),
    Rule(
        kinds=("batch/Job",), field="spec.template", detect=_field("spec.template"),
        why="a Job's pod template cannot change after creation",
        remedy=RECREATE.replace("annotate it", "make it a hook (`argocd.argoproj.io/hook: Sync`, re-created each sync) or annotate it"),
    ),
    Rule(
        kinds=("batch/Job",), field="spec.selector", detect=_field("spec.selector"),
        why="a Job's selector cannot change after creation", remedy=RECREATE,
    ),
    *(
        Rule(kinds=("batch/Job",), field=f"spec.{key}", detect=_field(f"spec.{key}"), why=f"a Job's {key} cannot change after creation", remedy=RECREATE)
        for key in ("completionMode", "podFailurePolicy", "successPolicy", "backoffLimitPerIndex", "managedBy")
    ),
    Rule(
        kinds=("batch/Job",), field="spec.completions", detect=_job_completions,
        why="a Job's completions cannot change (except an Indexed Job's, together with parallelism)", remedy=RECREATE,
    ),
    Rule(
        kinds=("/Service",), field="spec.clusterIP", detect=_service_ip,
        why=(
            "a Service's cluster IP (or None, headless) is fixed once set: a new value is refused, a removed None is kept "
            "(it stays headless), and NodePort/LoadBalancer cannot be headless"
        ),
        remedy=RECREATE + " (clients see it vanish until then; a new cluster IP unless you set one)",
    ),
    Rule(
        kinds=("/Service",), field="spec.ipFamilies", detect=_ip_family,
        why="a Service's primary IP family cannot change", remedy=RECREATE,
    ),
    Rule(
        kinds=("/PersistentVolumeClaim",), field=STORAGE, detect=_shrink,
        why="volumes never shrink: a smaller storage request is refused", remedy=NEW_CLAIM,
    ),
    Rule(
        kinds=("/PersistentVolumeClaim",), field=STORAGE, detect=_grow_without_resizer,
        why=(
            "its StorageClass cannot expand volumes: without allowVolumeExpansion the request is refused; local-path has "
            "no resizer, so a bigger request is stored and never applied (local-path does not enforce the size either)"
        ),
        remedy=NEW_CLAIM,
    ),
    *(
        Rule(
            kinds=("/PersistentVolumeClaim",), field=f"spec.{key}", detect=_field(f"spec.{key}"),
            why=f"a PVC's {key} cannot change after creation" + (" (setting it is accepted only when it names the value the claim already has)" if key != "accessModes" else ""),
            remedy=NEW_CLAIM,
        )
        for key in ("storageClassName", "accessModes", "volumeName")
    ),
    Rule(
        kinds=("/PersistentVolumeClaim",), field="spec", detect=_pvc_other,
        why="a PVC's spec is frozen at creation except resources.requests and volumeAttributesClassName", remedy=NEW_CLAIM,
    ),
    Rule(
        kinds=("/ConfigMap", "/Secret"), field="data", detect=_immutable_data,
        why="it is `immutable: true`: its data cannot change and it cannot be made mutable again",
        remedy=(
            "give it a new name (a `-v2` suffix, or a kustomize generator whose hash suffix renames it on every change) and "
            "point its users at it; or delete it and sync (pods that mount it keep the old content until restarted)"
        ),
    ),
    Rule(
        kinds=("/Secret",), field="type", detect=_field("type", "Opaque"),
        why="a Secret's type cannot change after creation",
        remedy="delete it (`kubectl {ns}delete secret {name}`), re-create it (`bbgen secrets generate` then `kubectl apply`), restart its users",
    ),
    Rule(
        kinds=("rbac.authorization.k8s.io/RoleBinding", "rbac.authorization.k8s.io/ClusterRoleBinding"), field="roleRef",
        detect=_field("roleRef"), why="a binding's roleRef cannot change after creation", remedy=RECREATE,
    ),
    *(
        Rule(
            kinds=("storage.k8s.io/StorageClass",), field=key, detect=_field(key, default),
            why=f"a StorageClass's {key} cannot change after creation",
            remedy=RECREATE + "; existing volumes keep working, new claims get the new class",
        )
        for key, default in (("provisioner", None), ("parameters", {}), ("reclaimPolicy", "Delete"), ("volumeBindingMode", "Immediate"))
    ),
)


def group_kind(doc: Obj) -> str:
    api = str(doc.get("apiVersion") or "")
    return f"{api.rpartition('/')[0]}/{doc.get('kind')}"


def recreated_by_argo(doc: Obj) -> bool:
    """Argo CD deletes and re-creates hooks on every sync, and objects that opt in with Force=true,Replace=true."""
    notes = get(doc, "metadata.annotations") or {}
    if any(key in notes for key in HOOK_ANNOTATIONS):
        return True
    options = {o.strip() for o in str(notes.get("argocd.argoproj.io/sync-options", "")).split(",")}
    return {"Force=true", "Replace=true"} <= options


def show(value: Any, limit: int = 120) -> str:
    """A value on one line for people: scalars as they are, the rest as compact JSON, cut at ``limit``."""
    if value is None:
        return "(absent)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"
