"""Every metrics port is a scrape target: the rendered prometheus.yml, run over the rendered pods and Services.

The render records each component's `metrics` ports (``portPurposes``) per environment in the
manifest. This check reads the rendered Prometheus configuration (a ConfigMap key
``prometheus.yml``), builds the discovery labels Prometheus' Kubernetes service discovery
would give each container port of the rendered pods (role ``pod``) and each port of the
rendered Services (roles ``endpointslice`` and ``endpoints``), and runs every job's relabelling
(keep, drop, replace) over them: a metrics port no job keeps, at its own port number, is an
error at the workload's file. An environment without a Prometheus configuration scrapes
nothing and is not checked; a chart whose pods bbgen does not render is checked only
through the Services it renders.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from bbgen.kube.objects import INSTANCE_LABEL, NAME_LABEL, POD_SPEC_PATHS, containers
from bbgen.validate.checks import EnvView, finding
from bbgen.validate.findings import Finding
from bbgen.validate.resources import Resource

CONFIG_KEY = "prometheus.yml"
_POD_IP = "10.0.0.1"  # any IPv4 address: the annotation relabelling rewrites the address from the pod IP
_ENDPOINT_ROLES = ("endpointslice", "endpoints")


@dataclass(frozen=True, kw_only=True)
class MetricsPort:
    component: str
    namespace: str
    port: str
    number: int


def metrics_ports(manifest: dict[str, Any], env: str) -> list[MetricsPort]:
    """The manifest's `metricsPorts` of ``env`` (written by the render); malformed entries are skipped."""
    table = manifest.get("metricsPorts")
    entries = table.get(env) if isinstance(table, dict) else None
    out = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("number"), int):
            out.append(MetricsPort(component=str(entry.get("component")), namespace=str(entry.get("namespace")), port=str(entry.get("port")), number=entry["number"]))
    return out


def _sanitize(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def _expand(replacement: str, match: re.Match[str]) -> str:
    """Prometheus' `$1` / `${1}` in a replacement, with Python's match groups."""
    def group(m: re.Match[str]) -> str:
        index = int(m.group(1) or m.group(2))
        return (match.group(index) or "") if index <= (match.re.groups or 0) else ""
    return re.sub(r"\$\{(\d+)\}|\$(\d+)", group, replacement)


def relabel(labels: dict[str, str], rules: list[Any]) -> dict[str, str] | None:
    """The target's labels after ``rules`` (keep, drop, replace), or None when it is dropped."""
    out = dict(labels)
    for rule in rules:
        if not isinstance(rule, dict):
            continue
        action = str(rule.get("action", "replace")).lower()
        sources = rule.get("source_labels") or []
        value = str(rule.get("separator", ";")).join(out.get(str(s), "") for s in sources)
        try:
            pattern = re.compile(f"(?:{rule.get('regex', '(.*)')})")
        except re.error:
            continue  # a Go-only construct: this rule cannot be judged here
        match = pattern.fullmatch(value)
        if action == "keep" and match is None:
            return None
        if action == "drop" and match is not None:
            return None
        if action == "replace" and match is not None and rule.get("target_label"):
            out[str(rule["target_label"])] = _expand(str(rule.get("replacement", "$1")), match)
    return out


def _jobs(view: EnvView) -> Iterator[tuple[Resource, dict[str, Any]]]:
    for res in view.of("ConfigMap", ""):
        data = res.doc.get("data")
        text = data.get(CONFIG_KEY) if isinstance(data, dict) else None
        if not isinstance(text, str):
            continue
        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        for job in (config or {}).get("scrape_configs") or []:
            if isinstance(job, dict):
                yield res, job


def _roles(job: dict[str, Any]) -> set[str]:
    return {str(sd.get("role")) for sd in job.get("kubernetes_sd_configs") or [] if isinstance(sd, dict)}


def _pod_targets(res: Resource) -> Iterator[tuple[dict[str, str], int]]:
    """Discovery labels of each container port of a workload's pods (role pod), with the port number."""
    path = POD_SPEC_PATHS.get(res.kind)
    holder: Any = res.doc
    for key in (path or ())[:-1]:
        holder = holder.get(key) if isinstance(holder, dict) else None
    if path is None or not isinstance(holder, dict):
        return
    meta = holder.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    base = {"__meta_kubernetes_namespace": res.namespace or "", "__meta_kubernetes_pod_ip": _POD_IP, "__meta_kubernetes_pod_phase": "Running"}
    for key, value in (meta.get("annotations") or {}).items():
        base[f"__meta_kubernetes_pod_annotation_{_sanitize(str(key))}"] = str(value)
    for key, value in (meta.get("labels") or {}).items():
        base[f"__meta_kubernetes_pod_label_{_sanitize(str(key))}"] = str(value)
    spec = holder.get(path[-1])
    spec = spec if isinstance(spec, dict) else {}
    for kind, _, container in containers(spec):
        for port in container.get("ports") or []:
            if isinstance(port, dict) and isinstance(port.get("containerPort"), int):
                labels = dict(base, __meta_kubernetes_pod_container_init="true" if kind == "initContainers" else "false")
                labels["__meta_kubernetes_pod_container_port_name"] = str(port.get("name", ""))
                labels["__address__"] = f"{_POD_IP}:{port['containerPort']}"
                yield labels, port["containerPort"]


def _service_targets(res: Resource) -> Iterator[tuple[dict[str, str], str]]:
    """Discovery labels of each port of a Service (roles endpointslice/endpoints), with the port name."""
    base = {"__meta_kubernetes_namespace": res.namespace or "", "__meta_kubernetes_service_name": res.name}
    for key, value in (res.metadata.get("labels") or {}).items():
        base[f"__meta_kubernetes_service_label_{_sanitize(str(key))}"] = str(value)
    for port in (res.doc.get("spec") or {}).get("ports") or []:
        if isinstance(port, dict):
            name = str(port.get("name", ""))
            labels = dict(base, __meta_kubernetes_endpointslice_port_name=name, __meta_kubernetes_endpoint_port_name=name)
            labels["__address__"] = f"{_POD_IP}:{port.get('targetPort', port.get('port'))}"
            yield labels, name


def _scraped_port(labels: dict[str, str] | None) -> str | None:
    return labels["__address__"].rsplit(":", 1)[-1] if labels and "__address__" in labels else None


def _owned(res: Resource, component: str) -> bool:
    labels = {**(res.metadata.get("labels") or {})}
    return component in (labels.get(NAME_LABEL), labels.get(INSTANCE_LABEL))


def check_scrape_targets(view: EnvView, ports: list[MetricsPort]) -> list[Finding]:
    """Each metrics port is kept by some Prometheus job at its own number (pod annotations or a dedicated job)."""
    jobs = list(_jobs(view))
    if not jobs or not ports:
        return []
    workloads = [r for r in view.resources if r.kind in POD_SPEC_PATHS]
    services = view.of("Service", "")
    out = []
    for mp in ports:
        mine = [w for w in workloads if w.namespace == mp.namespace and _owned(w, mp.component)]
        svcs = [s for s in services if s.namespace == mp.namespace and _owned(s, mp.component)]
        if not mine and not svcs:
            continue  # a chart's objects bbgen does not render: nothing to judge
        scraped = False
        for _, job in jobs:
            roles, rules = _roles(job), job.get("relabel_configs") or []
            if "pod" in roles:
                # One target per container port; the annotations may move any of them to the metrics port.
                scraped |= any(_scraped_port(relabel(labels, rules)) == str(mp.number) for w in mine for labels, _ in _pod_targets(w))
            if roles & set(_ENDPOINT_ROLES):
                scraped |= any(name == mp.port and relabel(labels, rules) is not None for s in svcs for labels, name in _service_targets(s))
        if not scraped:
            where = (mine or svcs)[0]
            out.append(finding(
                where, "scrape",
                f"metrics port {mp.port} ({mp.number}) of {mp.component} is not a scrape target of any Prometheus job: "
                f"annotate its pod template (prometheus.io/scrape: \"true\", prometheus.io/port: \"{mp.number}\") or add a job for it",
            ))
    return out
