"""Cross-resource checks of workloads and what points at them: Service target ports, autoscalers, disruption budgets.

kubeconform proves a HorizontalPodAutoscaler or a PodDisruptionBudget well-formed;
whether it scales or protects anything depends on other objects: the Deployment
it names, the pods its selector matches, the container port a Service's named
`targetPort` means. A mistake in any of them is silent on the cluster (an HPA
reporting `FailedGetScale`, a budget covering no pod, a Service with no
endpoints), so it is an error here.
"""

from __future__ import annotations

from typing import Any

from bbgen.kube.objects import containers, pod_template
from bbgen.validate.checks import EnvView, finding
from bbgen.validate.findings import Finding
from bbgen.validate.resources import Resource, dicts, group_of, sub
from bbgen.validate.routing import selects


def _templates(view: EnvView, namespace: str | None) -> list[tuple[Resource, dict[str, str], dict[str, Any]]]:
    """Every workload of ``namespace``: the object, its pod labels and its pod spec."""
    out = []
    for res in view.resources:
        tpl = pod_template(res.doc)
        if tpl is not None and res.namespace == namespace:
            out.append((res, tpl.labels, tpl.spec))
    return out


def _port_names(pod_spec: dict[str, Any]) -> set[str]:
    return {str(p["name"]) for _, _, c in containers(pod_spec) for p in dicts(c.get("ports")) if p.get("name")}


def check_service_target_ports(view: EnvView) -> list[Finding]:
    """A Service's named `targetPort` is a container port name of some workload its selector matches (else it has no endpoints)."""
    out: list[Finding] = []
    for service in view.of("Service", ""):
        selector = service.spec.get("selector")
        if not isinstance(selector, dict) or not selector:
            continue
        want = {str(k): str(v) for k, v in selector.items()}
        matched = [(res, spec) for res, labels, spec in _templates(view, service.namespace) if want.items() <= labels.items()]
        for port in dicts(service.spec.get("ports")):
            target = port.get("targetPort")
            if not isinstance(target, str) or target.isdigit():
                continue
            # Endpoints come from the selected pods that name the port; a Job's pods beside them need not.
            if matched and not any(target in _port_names(spec) for _, spec in matched):
                shown = ", ".join(f"{res.kind} {res.name}" for res, _ in matched)
                message = f"port {port.get('name') or port.get('port')} targets {target!r}, which no container of the pods it selects names ({shown})"
                out.append(finding(service, "target-port", message))
    return out


def check_autoscalers(view: EnvView) -> list[Finding]:
    """A HorizontalPodAutoscaler scales an existing workload of its namespace, which leaves `replicas` to it, and
    whose containers request CPU when it scales on CPU utilisation (the kubelet's usage is compared with that)."""
    out: list[Finding] = []
    for hpa in view.of("HorizontalPodAutoscaler", "autoscaling"):
        ref = sub(hpa.spec, "scaleTargetRef")
        kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        target = view.find(kind, hpa.namespace, name, group_of(str(ref.get("apiVersion") or "apps/v1")))
        if target is None:
            out.append(finding(hpa, "hpa-target", f"scales {kind} {name!r}, which is not rendered in namespace {hpa.namespace}"))
            continue
        if target.spec.get("replicas") is not None:
            out.append(finding(hpa, "hpa-target", f"{kind} {name} sets replicas; Argo CD would reset what the autoscaler scales", "warning"))
        on_cpu = any(sub(sub(m, "resource"), "target").get("type") == "Utilization" and sub(m, "resource").get("name") == "cpu"
                     for m in dicts(hpa.spec.get("metrics")))
        tpl = pod_template(target.doc)
        if on_cpu and tpl is not None:
            for _, _, c in containers(tpl.spec):
                if sub(sub(c, "resources"), "requests").get("cpu") is None:
                    out.append(finding(hpa, "hpa-target", f"scales on CPU utilisation, but container {c.get('name')} of {kind} {name} requests no CPU"))
    return out


def check_disruption_budgets(view: EnvView) -> list[Finding]:
    """A PodDisruptionBudget's selector matches the pods of some workload in its namespace."""
    out: list[Finding] = []
    for pdb in view.of("PodDisruptionBudget", "policy"):
        selector = sub(pdb.spec, "selector")
        if not selector:
            continue  # an empty selector selects every pod of the namespace
        if not any(selects(selector, labels) for _, labels, _ in _templates(view, pdb.namespace)):
            out.append(finding(pdb, "pdb-selector", f"selector matches no pod template in namespace {pdb.namespace}"))
    return out


def _repeated(items: list[dict[str, Any]], key: str) -> list[str]:
    seen: set[str] = set()
    twice: list[str] = []
    for item in items:
        value = item.get(key)
        if value is None:
            continue
        if str(value) in seen and str(value) not in twice:
            twice.append(str(value))
        seen.add(str(value))
    return twice


def check_unique_entries(view: EnvView) -> list[Finding]:
    """A pod template names each container, volume, env var and mount path once.

    These lists are maps keyed by name (or path) on the API server: kubeconform passes a
    repeat, a strict server-side apply refuses it, and a client-side apply keeps
    whichever entry comes last, so a template that sets an env var twice says two
    things and the cluster hears one. Typically a template adds a variable its
    dependency's injected env already carries.
    """
    out: list[Finding] = []
    for res in view.resources:
        tpl = pod_template(res.doc)
        if tpl is None:
            continue
        every = [c for _, _, c in containers(tpl.spec)]
        for name in _repeated(every, "name"):
            out.append(finding(res, "duplicate-entry", f"two containers are named {name!r}"))
        for name in _repeated(dicts(tpl.spec.get("volumes")), "name"):
            out.append(finding(res, "duplicate-entry", f"two volumes are named {name!r}"))
        for c in every:
            for name in _repeated(dicts(c.get("env")), "name"):
                out.append(finding(res, "duplicate-entry", f"container {c.get('name')} sets env var {name} twice"))
            for path in _repeated(dicts(c.get("volumeMounts")), "mountPath"):
                out.append(finding(res, "duplicate-entry", f"container {c.get('name')} mounts two volumes at {path}"))
    return out
