"""NGINX ingress controller TCP services: every `port: ns/svc:port` entry reaches a real Service port.

The ingress-nginx chart takes a top-level ``tcp:`` map in its Helm values and
turns it into a ConfigMap the controller reads; hand-made ConfigMaps
(``tcp-services``, ``<release>-tcp``) carry the same entries. A typo there only
shows up as a dead port on the controller, so each entry is resolved here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbgen.kube import yamlio
from bbgen.validate.argo import sources
from bbgen.validate.checks import ARGO, EnvView, finding, service_ref
from bbgen.validate.findings import Finding
from bbgen.validate.resources import Resource, sub

CHART = "ingress-nginx"
DEFAULT_NAMESPACE = "ingress-nginx"
_ENTRY = re.compile(r"^(?P<ns>[^/\s]+)/(?P<svc>[^:\s]+):(?P<port>[^:\s]+)(?::PROXY){0,2}$")


@dataclass(frozen=True, kw_only=True)
class ChartValues:
    """Helm values an Application passes to a chart: from a tree file, or inline (file is the Application's)."""

    app: Resource
    file: str
    values: dict[str, Any]


def uses_chart(app: Resource, chart: str) -> bool:
    return any(src.get("chart") == chart for src in sources(app))


def load_values(apps: list[Resource], root: Path, chart: str = CHART) -> list[ChartValues]:
    """Every values document the Applications deploying ``chart`` read, as far as the tree holds them."""
    out: list[ChartValues] = []
    for app in apps:
        for src in sources(app):
            if src.get("chart") != chart:
                continue
            helm = sub(src, "helm")
            entries = helm.get("valueFiles")
            for entry in entries if isinstance(entries, list) else []:
                if not (isinstance(entry, str) and entry.startswith("$") and "/" in entry):
                    continue  # relative to the chart: not in this tree
                rel = "/".join(p for p in entry.partition("/")[2].split("/") if p not in ("", "."))
                data = _read(root / rel)
                if data is not None:
                    out.append(ChartValues(app=app, file=rel, values=data))
            inline = helm.get("valuesObject")
            if isinstance(inline, dict):
                out.append(ChartValues(app=app, file=app.source, values=inline))
            text = helm.get("values")
            if isinstance(text, str):
                try:
                    parsed = yamlio.load(text)
                except yamlio.YAMLError:
                    parsed = None
                if isinstance(parsed, dict):
                    out.append(ChartValues(app=app, file=app.source, values=parsed))
    return out


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = yamlio.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yamlio.YAMLError):
        return None  # missing or broken: application-path and yaml checks report it
    return data if isinstance(data, dict) else None


def _entry(view: EnvView, res: Resource, file: str, key: Any, value: Any, where: str) -> list[Finding]:
    def problem(message: str) -> Finding:
        return Finding(check="service-ref", file=file, resource=res.ref, message=f"{where} {key}: {message}")

    if not str(key).isdigit() or not 1 <= int(str(key)) <= 65535:
        return [problem("the key must be the port number the controller listens on")]
    match = _ENTRY.match(str(value).strip())
    if match is None:
        return [problem(f"{value!r} is not namespace/service:port[:PROXY[:PROXY]]")]
    ns, svc, port = match["ns"], match["svc"], match["port"]
    return [problem(f.message) for f in service_ref(view, res, ns, svc, port, "target")]


def check_tcp_services(view: EnvView, values: list[ChartValues]) -> list[Finding]:
    """The chart's ``tcp:`` map and any TCP-services ConfigMap resolve to existing Service ports."""
    out: list[Finding] = []
    apps = [v for v in values if v.app.env in (view.env, None) and v.app.is_a("Application", ARGO)]
    for item in apps:
        tcp = item.values.get("tcp")
        for key, value in tcp.items() if isinstance(tcp, dict) else []:
            out += _entry(view, item.app, item.file, key, value, "tcp")
    namespaces = {DEFAULT_NAMESPACE}
    for app in view.of("Application", ARGO):
        ns = sub(app.spec, "destination").get("namespace")
        if ns and uses_chart(app, CHART):
            namespaces.add(str(ns))
    for cm in view.of("ConfigMap", ""):
        if cm.namespace not in namespaces or not (cm.name == "tcp-services" or cm.name.endswith("-tcp")):
            continue
        data = cm.doc.get("data")
        for key, value in data.items() if isinstance(data, dict) else []:
            if str(key).isdigit():
                out += [finding(cm, f.check, f.message) for f in _entry(view, cm, cm.source, key, value, "data")]
    return out
