"""Cross-checks of what a workload's pods mount, and of StatefulSets: names that must meet across objects, which no schema sees.

kubeconform proves a StatefulSet well-formed; it cannot see that a container mounts a
volume the pod does not declare (the API server refuses it at sync), that a
ConfigMap volume projects a key the rendered ConfigMap lacks (the pod never starts),
that a StatefulSet's governing Service is missing (its pods get no stable names) or
that a claim asks for a StorageClass nobody renders (it stays Pending). A patch or an
extra manifest can cause each of these, so they are checked on the final objects.
"""

from __future__ import annotations

from bbgen.kube.objects import containers, pod_template
from bbgen.validate.checks import EnvView, finding
from bbgen.validate.findings import Finding
from bbgen.validate.resources import Resource, dicts, sub


def _claims(res: Resource) -> list[dict[str, object]]:
    return dicts(res.spec.get("volumeClaimTemplates")) if res.is_a("StatefulSet", "apps") else []


def check_pod_volumes(view: EnvView) -> list[Finding]:
    """Every volumeMount names a pod volume (or a StatefulSet's claim template), and every key a ConfigMap volume
    projects is in that ConfigMap when it is rendered."""
    out: list[Finding] = []
    for res in view.resources:
        tpl = pod_template(res.doc)
        if tpl is None:
            continue
        volumes = {str(v.get("name")): v for v in dicts(tpl.spec.get("volumes"))}
        claims = {str(sub(c, "metadata").get("name")) for c in _claims(res)}
        for _, _, c in containers(tpl.spec):
            for mount in dicts(c.get("volumeMounts")):
                name = str(mount.get("name"))
                if name not in volumes and name not in claims:
                    message = f"container {c.get('name', '?')} mounts volume {name!r} at {mount.get('mountPath')}, which the pod does not declare"
                    out.append(finding(res, "volume-mount", message))
        for vname, volume in sorted(volumes.items()):
            source = sub(volume, "configMap")
            if not source.get("name") or source.get("optional"):
                continue
            config_map = view.find("ConfigMap", res.namespace, str(source["name"]), "")
            if config_map is None:
                continue  # check_config_refs reports a ConfigMap that is not rendered
            keys = set(sub(config_map.doc, "data")) | set(sub(config_map.doc, "binaryData"))
            for item in dicts(source.get("items")):
                if item.get("key") not in keys:
                    message = f"volume {vname} projects key {item.get('key')!r}, which ConfigMap {source['name']} does not hold"
                    out.append(finding(res, "configmap-key", message))
    return out


def check_stateful_sets(view: EnvView) -> list[Finding]:
    """A StatefulSet's `serviceName` is a Service in its namespace, and each claim template's StorageClass is rendered
    (when the environment renders any StorageClass: a cluster's own classes are not bbgen's to know)."""
    out: list[Finding] = []
    classes = {r.name for r in view.of("StorageClass", "storage.k8s.io")}
    for res in view.of("StatefulSet", "apps"):
        service = res.spec.get("serviceName")
        if service and view.find("Service", res.namespace, str(service), "") is None:
            out.append(finding(res, "statefulset-service", f"serviceName {service!r} is not a Service in namespace {res.namespace} (its pods get no stable names)"))
        for claim in _claims(res):
            wanted = sub(claim, "spec").get("storageClassName")
            if classes and wanted and wanted not in classes:
                name = sub(claim, "metadata").get("name")
                out.append(finding(res, "storage-class", f"claim template {name} asks for StorageClass {wanted!r}, which is not rendered (rendered: {', '.join(sorted(classes))})"))
    return out
