"""Alert rules and Grafana dashboards, made as data from what the catalog knows of each component.

Nothing here is copied from a dashboard or rule collection: every expression is built
from the facts a component.yaml states (its `metrics` ports and metric names, whether it
is stateful, its namespace, whether it runs pods) and from the roles of the enabled units.
An expression only names metrics some scraped component declares (plus `up`, which
Prometheus records for every target), so a rule or panel for a series nobody exposes is
never written: the PVC rules need the kubelet's volume stats, the restart rules
kube-state-metrics' series, the certificate rule cert-manager's, each as a declared fact.

The results are texts (YAML rule files, JSON dashboards) because they go into ConfigMap
data; they are dumped canonically, so the same platform gives byte-identical files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bbgen.kube import yamlio
from bbgen.render.units import Unit

class Regex(str):
    """A label value matched as a (fully anchored) regular expression, `=~` in a selector."""


DATASOURCE_PLUGIN = "prometheus"
"""Grafana's datasource type for PromQL (a plugin id of Grafana's, not the catalog component)."""
DATASOURCE = {"type": DATASOURCE_PLUGIN, "uid": "${datasource}"}
"""Panels query the dashboard's `datasource` variable, which defaults to Grafana's default datasource of
that type: no dashboard needs to know the uid the datasources provisioning gives it."""

BACKUP_CRONJOBS = Regex(".+-backup")
"""CronJobs named `<component>-backup` are the platform's backups; their last success is watched."""
BACKUP_MAX_AGE_HOURS = 26
"""A daily backup plus two hours of slack: older than this, the last successful backup is too old."""
CERT_WARN_DAYS = 14
"""cert-manager renews 30 days (a third of 90) before expiry; two weeks left means renewal is failing."""
RESTARTS_PER_HOUR = 3
PVC_WARN_FREE = 0.15
PVC_CRITICAL_FREE = 0.05

GENERIC_METRICS = frozenset({"up"})
"""Series Prometheus itself records for every scrape target."""

_RESTARTS = "kube_pod_container_status_restarts_total"
_POD_LABELS = "kube_pod_labels"
_CRON_SUCCESS = "kube_cronjob_status_last_successful_time"
_CRON_INFO = "kube_cronjob_info"
_VOL_AVAIL = "kubelet_volume_stats_available_bytes"
_VOL_CAP = "kubelet_volume_stats_capacity_bytes"
_VOL_USED = "kubelet_volume_stats_used_bytes"
_CERT_EXPIRY = "certmanager_certificate_expiration_timestamp_seconds"
_CPU = "container_cpu_usage_seconds_total"
_MEM = "container_memory_working_set_bytes"
_NODE_CPU = "node_cpu_seconds_total"
_NODE_MEM_AVAIL = "node_memory_MemAvailable_bytes"
_NODE_MEM_TOTAL = "node_memory_MemTotal_bytes"
_NODE_FS_AVAIL = "node_filesystem_avail_bytes"
_NODE_FS_SIZE = "node_filesystem_size_bytes"

POD_LABEL = "label_app_kubernetes_io_instance"
"""kube_pod_labels' label for the pods' app.kubernetes.io/instance (the component, or its chart release):
kube-state-metrics exports it because its --metric-labels-allowlist names it."""


@dataclass(frozen=True, kw_only=True)
class Observed:
    """One enabled component as the rules and dashboards see it."""

    name: str
    namespace: str
    instance: str
    """The pods' app.kubernetes.io/instance: the component's name, or its chart's release."""
    scraped: bool
    stateful: bool
    runs_pods: bool
    metrics: tuple[str, ...]


def observed(units: dict[str, Unit]) -> list[Observed]:
    """The enabled catalog components, sorted by name (custom apps carry no metric facts)."""
    out = []
    for name in sorted(units):
        unit = units[name]
        comp = unit.component
        if comp is None:
            continue
        metrics_ports = [p for p in comp.ports if "metrics" in comp.purposes(p)]
        release = getattr(getattr(comp, "chart", None), "release_name", None)
        out.append(Observed(
            name=name,
            namespace=unit.namespace,
            instance=(release or name) if unit.delivery == "chart" else name,
            scraped=bool(metrics_ports or comp.metrics),
            stateful=comp.stateful,
            runs_pods=unit.delivery == "chart" or (unit.delivery == "kustomize" and unit.image is not None),
            metrics=tuple(comp.metrics) + tuple(m for setting, names in sorted(comp.metrics_when.items()) if unit.settings.get(setting) is True for m in names),
        ))
    return out


def known_metrics(components: Iterable[Observed]) -> frozenset[str]:
    """Every metric name some scrape target of the platform exposes, as far as bbgen knows."""
    names = set(GENERIC_METRICS)
    for comp in components:
        if comp.scraped:
            names.update(comp.metrics)
    return frozenset(names)


def _sel(**labels: str) -> str:
    """A label selector: equality, or `=~` for a :class:`Regex` value; values quoted as PromQL strings."""
    parts = [f'{key}{"=~" if isinstance(value, Regex) else "="}{json.dumps(value)}' for key, value in labels.items()]
    return "{" + ", ".join(parts) + "}"


def _pods_of(comp: Observed) -> str:
    """A factor selecting the component's pods: kube_pod_labels is 1, so multiplying keeps the value."""
    return f"on(namespace, pod) group_left() {_POD_LABELS}{_sel(namespace=comp.namespace, **{POD_LABEL: comp.instance})}"


def _pvc_regex(comp: Observed) -> Regex:
    """The component's claims: `<template>-<name>-<n>` of a StatefulSet, `<name>-<what>` of its own PVC."""
    name = re.escape(comp.name)
    return Regex(f".+-{name}-[0-9]+|{name}-.+")


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^a-zA-Z0-9]+", name) if part)


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str, **labels: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, **labels},
        "annotations": {"summary": summary, "description": description},
    }


def component_rules(comp: Observed, known: frozenset[str]) -> list[dict[str, Any]]:
    """The alerts of one component: target down, restarts, PVC filling (each when its metrics are known)."""
    rules = []
    camel = _camel(comp.name)
    where = f"{comp.name} in {comp.namespace}"
    if comp.scraped:
        rules.append(_alert(
            f"{camel}TargetDown", f"up{_sel(namespace=comp.namespace, app=comp.name)} == 0", "5m", "critical",
            f"{comp.name}: a metrics target is down", f"Prometheus cannot scrape {{{{ $labels.instance }}}} of {where}.",
            component=comp.name,
        ))
    if comp.runs_pods and {_RESTARTS, _POD_LABELS} <= known:
        rules.append(_alert(
            f"{camel}Restarting", f"increase({_RESTARTS}{_sel(namespace=comp.namespace)}[1h]) * {_pods_of(comp)} > {RESTARTS_PER_HOUR}",
            "5m", "warning", f"{comp.name}: a container restarts repeatedly",
            f"Container {{{{ $labels.container }}}} of pod {{{{ $labels.pod }}}} ({where}) restarted more than {RESTARTS_PER_HOUR} times in the last hour.",
            component=comp.name,
        ))
    if comp.stateful and {_VOL_AVAIL, _VOL_CAP} <= known:
        sel = _sel(namespace=comp.namespace, persistentvolumeclaim=_pvc_regex(comp))
        free = f"{_VOL_AVAIL}{sel} / {_VOL_CAP}{sel}"
        for severity, share in (("warning", PVC_WARN_FREE), ("critical", PVC_CRITICAL_FREE)):
            rules.append(_alert(
                f"{camel}VolumeFilling" if severity == "warning" else f"{camel}VolumeFull", f"{free} < {share}", "15m", severity,
                f"{comp.name}: a volume is {'filling' if severity == 'warning' else 'almost full'}",
                f"PVC {{{{ $labels.persistentvolumeclaim }}}} ({where}) has {{{{ $value | humanizePercentage }}}} free (below {share:.0%}).",
                component=comp.name,
            ))
    return rules


NODE_FS_WARN_FREE = 0.10
_NODE_FS_REAL = {"fstype": Regex("ext[234]|xfs|btrfs|zfs")}


def platform_rules(known: frozenset[str]) -> list[dict[str, Any]]:
    """Alerts not owned by one component: node disks, certificate expiry and backup age.

    The node filesystem rule matters on local SSDs: a hostPath volume (what local-path-provisioner
    creates) reports no kubelet volume stats, so the disk holding those volumes is watched instead.
    """
    rules = []
    if {_NODE_FS_AVAIL, _NODE_FS_SIZE} <= known:
        sel = _sel(**_NODE_FS_REAL)
        rules.append(_alert(
            "NodeFilesystemFilling", f"{_NODE_FS_AVAIL}{sel} / {_NODE_FS_SIZE}{sel} < {NODE_FS_WARN_FREE}", "15m", "warning",
            "A node's filesystem is filling",
            f"{{{{ $labels.mountpoint }}}} on {{{{ $labels.instance }}}} has {{{{ $value | humanizePercentage }}}} free (below {NODE_FS_WARN_FREE:.0%}); local volumes live on node disks.",
        ))
    if _CERT_EXPIRY in known:
        rules.append(_alert(
            "CertificateExpiresSoon", f"{_CERT_EXPIRY} - time() < {CERT_WARN_DAYS} * 86400", "1h", "warning",
            "A certificate expires soon",
            f"Certificate {{{{ $labels.namespace }}}}/{{{{ $labels.name }}}} expires in {{{{ $value | humanizeDuration }}}}; cert-manager renews well before {CERT_WARN_DAYS} days, so renewal is failing.",
        ))
    if _CRON_SUCCESS in known:
        sel = _sel(cronjob=BACKUP_CRONJOBS)
        rules.append(_alert(
            "BackupTooOld", f"time() - {_CRON_SUCCESS}{sel} > {BACKUP_MAX_AGE_HOURS} * 3600", "15m", "critical",
            "The last successful backup is too old",
            f"CronJob {{{{ $labels.namespace }}}}/{{{{ $labels.cronjob }}}} last succeeded {{{{ $value | humanizeDuration }}}} ago (more than {BACKUP_MAX_AGE_HOURS}h).",
        ))
        if _CRON_INFO in known:
            rules.append(_alert(
                "BackupNeverSucceeded", f"{_CRON_INFO}{sel} unless on(namespace, cronjob) {_CRON_SUCCESS}", f"{BACKUP_MAX_AGE_HOURS}h", "critical",
                "A backup has never succeeded",
                f"CronJob {{{{ $labels.namespace }}}}/{{{{ $labels.cronjob }}}} exists for {BACKUP_MAX_AGE_HOURS}h without one successful run.",
            ))
    return rules


PLATFORM_FILE = "platform.rules.yml"


def rule_files(units: dict[str, Unit]) -> dict[str, str]:
    """File name -> Prometheus rule file (YAML): one per component with rules, and one for the platform."""
    comps = observed(units)
    known = known_metrics(comps)
    files = {}
    for comp in comps:
        rules = component_rules(comp, known)
        if rules:
            files[f"{comp.name}.rules.yml"] = yamlio.dump({"groups": [{"name": comp.name, "rules": rules}]})
    rules = platform_rules(known)
    if rules:
        files[PLATFORM_FILE] = yamlio.dump({"groups": [{"name": "platform", "rules": rules}]})
    return files


# --- dashboards ---------------------------------------------------------------------------------

def _panel(title: str, exprs: list[tuple[str, str]], unit: str = "short", kind: str = "timeseries") -> dict[str, Any]:
    return {
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        # Targets inherit the panel's datasource.
        "targets": [{"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend} for i, (expr, legend) in enumerate(exprs)],
    }


def _metric_panel(name: str) -> dict[str, Any]:
    """A panel for a declared metric: a rate for counters, the sum for gauges (labels vary per exporter)."""
    if name.endswith(("_total", "_count", "_sum")):
        return _panel(name, [(f"sum(rate({name}[5m]))", "per second")], "ops")
    return _panel(name, [(f"sum({name})", name)])


def _layout(uid: str, title: str, panels: list[dict[str, Any]], tags: list[str]) -> dict[str, Any]:
    placed = []
    for i, panel in enumerate(panels):
        placed.append({"id": i + 1, "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)}, **panel})
    return {
        "uid": uid,
        "title": title,
        "tags": ["bbgen", *tags],
        "editable": False,
        "schemaVersion": 41,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "timezone": "utc",
        "panels": placed,
        "templating": {"list": [{"name": "datasource", "label": "Data source", "type": "datasource", "query": DATASOURCE_PLUGIN, "hide": 0}]},
    }


def overview(comps: list[Observed], known: frozenset[str]) -> dict[str, Any]:
    """The platform at a glance: targets, nodes, restarts, volumes, certificates, backups."""
    panels = [
        _panel("Scrape targets down", [("count(up == 0) or vector(0)", "down")], kind="stat"),
        _panel("Scrape targets up, by job", [("sum by (job) (up)", "{{job}}")]),
    ]
    if _NODE_CPU in known:
        panels.append(_panel("Node CPU busy", [(f'1 - avg by (instance) (rate({_NODE_CPU}{{mode="idle"}}[5m]))', "{{instance}}")], "percentunit"))
    if {_NODE_MEM_AVAIL, _NODE_MEM_TOTAL} <= known:
        panels.append(_panel("Node memory used", [(f"1 - {_NODE_MEM_AVAIL} / {_NODE_MEM_TOTAL}", "{{instance}}")], "percentunit"))
    if {_NODE_FS_AVAIL, _NODE_FS_SIZE} <= known:
        fs = '{fstype!~"tmpfs|overlay"}'
        panels.append(_panel("Node filesystem used", [(f"1 - {_NODE_FS_AVAIL}{fs} / {_NODE_FS_SIZE}{fs}", "{{instance}} {{mountpoint}}")], "percentunit"))
    if _RESTARTS in known:
        panels.append(_panel("Container restarts (1h), by namespace", [(f"sum by (namespace) (increase({_RESTARTS}[1h]))", "{{namespace}}")]))
    if {_VOL_USED, _VOL_CAP} <= known:
        panels.append(_panel("Volume used", [(f"{_VOL_USED} / {_VOL_CAP}", "{{namespace}}/{{persistentvolumeclaim}}")], "percentunit"))
    if _CERT_EXPIRY in known:
        panels.append(_panel("Certificate time left", [(f"{_CERT_EXPIRY} - time()", "{{namespace}}/{{name}}")], "s"))
    if _CRON_SUCCESS in known:
        panels.append(_panel("Backup age", [(f"time() - {_CRON_SUCCESS}{_sel(cronjob=BACKUP_CRONJOBS)}", "{{namespace}}/{{cronjob}}")], "s"))
    return _layout("bbgen-platform", "Platform overview", panels, ["platform"])


def component_dashboard(comp: Observed, known: frozenset[str]) -> dict[str, Any] | None:
    """One component: its targets, restarts, CPU and memory, volumes and the metrics it declares."""
    panels = []
    if comp.scraped:
        panels.append(_panel("Targets up", [(f"up{_sel(namespace=comp.namespace, app=comp.name)}", "{{pod}}")]))
    if comp.runs_pods:
        if {_RESTARTS, _POD_LABELS} <= known:
            panels.append(_panel("Container restarts (1h)", [(f"increase({_RESTARTS}{_sel(namespace=comp.namespace)}[1h]) * {_pods_of(comp)}", "{{pod}}/{{container}}")]))
        if {_CPU, _POD_LABELS} <= known:
            cpu = f'sum by (namespace, pod) (rate({_CPU}{{namespace="{comp.namespace}", container!=""}}[5m]))'
            panels.append(_panel("CPU", [(f"{cpu} * {_pods_of(comp)}", "{{pod}}")], "cores"))
        if {_MEM, _POD_LABELS} <= known:
            mem = f'sum by (namespace, pod) ({_MEM}{{namespace="{comp.namespace}", container!=""}})'
            panels.append(_panel("Memory working set", [(f"{mem} * {_pods_of(comp)}", "{{pod}}")], "bytes"))
    if comp.stateful and {_VOL_USED, _VOL_CAP} <= known:
        sel = _sel(namespace=comp.namespace, persistentvolumeclaim=_pvc_regex(comp))
        panels.append(_panel("Volume used", [(f"{_VOL_USED}{sel} / {_VOL_CAP}{sel}", "{{persistentvolumeclaim}}")], "percentunit"))
    if comp.scraped:
        panels += [_metric_panel(name) for name in comp.metrics if not name.endswith("_bucket")]
    if not panels:
        return None
    return _layout(f"bbgen-{comp.name}", comp.name, panels, [comp.namespace])


def _json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dashboards(units: dict[str, Unit]) -> dict[str, str]:
    """File name -> Grafana dashboard JSON: the platform overview and one per component that has panels."""
    comps = observed(units)
    known = known_metrics(comps)
    files = {"platform.json": _json(overview(comps, known))}
    for comp in comps:
        board = component_dashboard(comp, known)
        if board is not None:
            files[f"{comp.name}.json"] = _json(board)
    return files
