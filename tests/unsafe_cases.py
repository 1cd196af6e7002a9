"""Changes for `bbgen diff`'s in-place check: each an object before and after, and what the check must say.

Shared by tests/test_diff_unsafe.py (the diff names each flagged change, and no other) and
tests/server/test_unsafe_server.py (a real API server refuses each flagged change after
accepting the old object, and accepts the others). Objects enter the rendered repository
as an app's extra `manifests`, so they go through the renderer and kustomize like any other.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform

SPEC = """\
name: imm
domain: example.org
gitops: {url: https://git.example.org, owner: platform, repo: imm-gitops}
tls: {acmeEmail: ops@example.org}
storage: {className: local-ssd, provisioner: rancher.io/local-path}
environments:
  prod: {}
apps:
  web:
    image: registry.example.org/web:1.0.0
    manifests: [extra.yaml]
"""

NS = "apps"
POD = {"containers": [{"name": "main", "image": "registry.example.org/tool:1.0.0"}], "restartPolicy": "Never"}


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": NS, **extra}


def sts(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "serviceName": "db",
        "replicas": 1,
        "selector": {"matchLabels": {"app": "db"}},
        "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "registry.example.org/db:1.0.0"}]}},
        "volumeClaimTemplates": [
            {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
        ],
    }
    base.update(spec)
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": _meta("db"), "spec": base}


def workload(kind: str, labels: dict[str, str], image: str = "registry.example.org/agent:1.0.0", replicas: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": image}]}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": _meta(kind.lower()), "spec": spec}


def job(image: str = "registry.example.org/tool:1.0.0", annotations: dict[str, str] | None = None) -> dict[str, Any]:
    pod = copy.deepcopy(POD)
    pod["containers"][0]["image"] = image
    meta = _meta("migrate", **({"annotations": annotations} if annotations else {}))
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": {"template": {"spec": pod}}}


def service(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"selector": {"app": "db"}, "ports": [{"name": "db", "port": 5432, "targetPort": 5432}]}
    body.update(spec)
    if body.get("type") == "ExternalName":
        body.pop("selector")
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta("db"), "spec": body}


def pvc(storage: str = "2Gi", access: str = "ReadWriteOnce", cls: str = "fast") -> dict[str, Any]:
    spec = {"accessModes": [access], "storageClassName": cls, "resources": {"requests": {"storage": storage}}}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _meta("scratch"), "spec": spec}


def config(data: dict[str, str], immutable: bool | None = True) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("settings"), "data": data}
    if immutable is not None:
        doc["immutable"] = immutable
    return doc


def secret(kind: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta("token"), "type": kind}


def binding(role: str) -> dict[str, Any]:
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role}
    subjects = [{"kind": "ServiceAccount", "name": "default", "namespace": NS}]
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": _meta("readers"), "roleRef": ref, "subjects": subjects}


@dataclass(frozen=True, kw_only=True)
class Case:
    id: str
    old: dict[str, Any]
    new: dict[str, Any]
    field: str = ""  # the field the finding names; "" = nothing may be flagged
    remedy: str = ""  # a phrase the remedy must contain
    server: str = "refused"  # what a real API server does with `kubectl apply` old then new: refused | accepted | kept | skip
    kept: dict[str, Any] = dataclasses.field(default_factory=dict)  # server == "kept": dotted path → the value the live object keeps

    @property
    def flagged(self) -> bool:
        return bool(self.field)


ORPHAN = "delete statefulset db --cascade=orphan"
RECREATE = "-n apps delete"
CLAIM = "make a new PVC"

CASES: tuple[Case, ...] = (
    Case(id="sts-volume-claim-templates", old=sts(), new=sts(volumeClaimTemplates=[
        {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}}
    ]), field="spec.volumeClaimTemplates[0].spec.resources.requests.storage", remedy=ORPHAN),
    Case(id="sts-selector", old=sts(), new=sts(
        selector={"matchLabels": {"app": "db", "tier": "data"}},
        template={"metadata": {"labels": {"app": "db", "tier": "data"}}, "spec": {"containers": [{"name": "db", "image": "registry.example.org/db:1.0.0"}]}},
    ), field="spec.selector.matchLabels.tier", remedy="do not match the new selector"),
    Case(id="sts-service-name", old=sts(), new=sts(serviceName="db-headless"), field="spec.serviceName", remedy=ORPHAN),
    Case(id="sts-pod-management-policy", old=sts(), new=sts(podManagementPolicy="Parallel"), field="spec.podManagementPolicy", remedy=ORPHAN),
    Case(id="deployment-selector", old=workload("Deployment", {"app": "agent"}), new=workload("Deployment", {"app": "agent", "v": "2"}),
         field="spec.selector.matchLabels.v", remedy="delete deployment deployment"),
    Case(id="daemonset-selector", old=workload("DaemonSet", {"app": "agent"}), new=workload("DaemonSet", {"app": "agent", "v": "2"}),
         field="spec.selector.matchLabels.v", remedy="delete daemonset daemonset"),
    Case(id="job-template", old=job(), new=job("registry.example.org/tool:1.1.0"), field="spec.template.spec.containers[0].image",
         remedy="delete job migrate"),
    Case(id="service-to-headless", old=service(), new=service(clusterIP="None"), field="spec.clusterIP", remedy="delete service db"),
    Case(id="service-cluster-ip-change", old=service(clusterIP="10.96.10.50"), new=service(clusterIP="10.96.10.60"), field="spec.clusterIP",
         remedy="delete service db"),
    Case(id="service-headless-dropped", old=service(clusterIP="None"), new=service(), field="spec.clusterIP", remedy="delete service db",
         server="kept", kept={"spec.clusterIP": "None"}),
    Case(id="service-headless-to-nodeport", old=service(clusterIP="None"), new=service(type="NodePort"), field="spec.clusterIP",
         remedy="delete service db"),
    Case(id="pvc-shrink", old=pvc("2Gi"), new=pvc("1Gi"), field="spec.resources.requests.storage", remedy=CLAIM),
    Case(id="pvc-storage-class", old=pvc(cls="fast"), new=pvc(cls="slow"), field="spec.storageClassName", remedy=CLAIM),
    Case(id="pvc-access-modes", old=pvc(), new=pvc(access="ReadWriteMany"), field="spec.accessModes[0]", remedy=CLAIM),
    # the platform's own class is local-path: a bigger claim is stored and never applied (a scratch server has no resizer to show it)
    Case(id="pvc-grow-on-local-path", old=pvc("2Gi", cls="local-ssd"), new=pvc("4Gi", cls="local-ssd"), field="spec.resources.requests.storage",
         remedy=CLAIM, server="skip"),
    Case(id="configmap-immutable-data", old=config({"mode": "a"}), new=config({"mode": "b"}), field="data.mode", remedy="give it a new name"),
    Case(id="configmap-made-mutable", old=config({"mode": "a"}), new=config({"mode": "a"}, immutable=False), field="immutable",
         remedy="give it a new name"),
    Case(id="secret-type", old=secret("example.org/token"), new=secret("example.org/other"), field="type", remedy="delete secret token"),
    Case(id="rolebinding-role-ref", old=binding("reader"), new=binding("writer"), field="roleRef.name", remedy="delete rolebinding readers"),
    # not flagged: mutable fields, and objects Argo CD re-creates itself
    Case(id="deployment-replicas-and-image", old=workload("Deployment", {"app": "agent"}, replicas=1),
         new=workload("Deployment", {"app": "agent"}, image="registry.example.org/agent:1.1.0", replicas=3), server="accepted"),
    Case(id="sts-replicas-and-template", old=sts(), new=sts(replicas=3, template={"metadata": {"labels": {"app": "db"}}, "spec": {
        "containers": [{"name": "db", "image": "registry.example.org/db:1.1.0"}]}}), server="accepted"),
    Case(id="mutable-configmap-data", old=config({"mode": "a"}, immutable=None), new=config({"mode": "b"}, immutable=None), server="accepted"),
    Case(id="service-to-external-name", old=service(), new=service(type="ExternalName", externalName="db.example.org"), server="accepted"),
    Case(id="service-fixed-ip-left-out", old=service(clusterIP="10.96.10.70"), new=service(), server="kept", kept={"spec.clusterIP": "10.96.10.70"}),
    Case(id="hook-job-template", old=job(annotations={"argocd.argoproj.io/hook": "PostSync"}),
         new=job("registry.example.org/tool:1.1.0", annotations={"argocd.argoproj.io/hook": "PostSync"}), server="skip"),
    Case(id="force-replace-job-template", old=job(annotations={"argocd.argoproj.io/sync-options": "Force=true,Replace=true"}),
         new=job("registry.example.org/tool:1.1.0", annotations={"argocd.argoproj.io/sync-options": "Force=true,Replace=true"}), server="skip"),
)


def write_spec(directory: Path, extra: dict[str, Any], spec: str = SPEC) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "extra.yaml").write_text(yaml.safe_dump(extra, sort_keys=False), encoding="utf-8")
    path = directory / "platform.yaml"
    path.write_text(spec, encoding="utf-8")
    return path


def rendered(spec: Path, out: Path) -> Path:
    write_tree(build_tree(load_platform(spec)), out)
    return out
