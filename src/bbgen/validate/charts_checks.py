"""What a chart's output must satisfy beside its schemas, checked per environment.

The same rules bbgen's own objects meet: the Application's AppProject admits every
kind and namespace the chart creates (Argo CD refuses the whole sync otherwise); no
object is also rendered by bbgen or by another chart (two Applications would fight
over it); NetworkPolicies select pods that exist, now that the chart's pods are known;
and nothing in the output looks like a secret value (the leak guard's rules).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bbgen.kube.objects import pod_template
from bbgen.validate import argo, policy
from bbgen.validate.checks import ARGO, EnvView, finding
from bbgen.validate.findings import Finding
from bbgen.validate.resources import Resource, dicts, sub
from bbgen.validate.routing import selects


@dataclass(frozen=True, kw_only=True)
class ChartOutput:
    """The objects one chart source rendered for one Application, and what to say about the version."""

    app: Resource
    objects: list[Resource]
    note: str
    """Appended to every finding about this output: which chart and version rendered it."""


def _noted(items: Iterable[Finding], note: str) -> list[Finding]:
    return [Finding(check=f.check, file=f.file, resource=f.resource, message=f.message + note, severity=f.severity) for f in items]


def _of_env(resources: Iterable[Resource], env: str) -> list[Resource]:
    return [r for r in resources if r.env in (env, None)]


def check_environment(env: str, own: list[Resource], outputs: list[ChartOutput]) -> list[Finding]:
    """Every check of this module for the chart outputs deployed in ``env``."""
    mine = [o for o in outputs if o.app.env in (env, None)]
    if not mine:
        return []
    own_here = _of_env(own, env)
    out: list[Finding] = []
    out += _projects(env, own_here, mine)
    out += _collisions(own_here, mine)
    out += _network_policies(env, own_here, mine)
    return out


def _projects(env: str, own: list[Resource], outputs: list[ChartOutput]) -> list[Finding]:
    view = EnvView(env=env, resources=[r for r in own if r.is_a("AppProject", ARGO)] + [o.app for o in outputs])
    out: list[Finding] = []
    for item in outputs:
        refs = {r.ref for r in item.objects}
        found = argo.check_projects(view, {item.app.identity: item.objects})
        out += _noted((f for f in found if f.resource in refs), item.note)
    return out


def _collisions(own: list[Resource], outputs: list[ChartOutput]) -> list[Finding]:
    """A chart object bbgen (or another chart) also renders: same group, kind, namespace and name."""
    owners: dict[tuple[str, str, str, str], str] = {r.identity: f"bbgen's {r.source}" for r in own}
    out: list[Finding] = []
    for item in outputs:
        for res in item.objects:
            first = owners.setdefault(res.identity, f"chart of Application {item.app.name}")
            if first != f"chart of Application {item.app.name}":
                message = f"also rendered by {first}; two Applications would fight over it (Argo CD prunes or overwrites one)"
                out += _noted([finding(res, "chart-collision", message)], item.note)
    return out


def _network_policies(env: str, own: list[Resource], outputs: list[ChartOutput]) -> list[Finding]:
    """bbgen's policy checks over bbgen's objects plus the charts', and pod selectors in chart namespaces."""
    objects = [r for o in outputs for r in o.objects]
    view = EnvView(env=env, resources=own + objects)
    notes = {r.ref: o.note for o in outputs for r in o.objects}
    out = [f if f.resource not in notes else _noted([f], notes[f.resource])[0] for f in policy.check_network_policies(view)]
    pods: dict[str, list[dict[str, str]]] = {}
    for res in view.resources:
        tpl = pod_template(res.doc)
        if tpl is not None and res.namespace:
            pods.setdefault(res.namespace, []).append(tpl.labels)
    chart_pod_namespaces = {r.namespace for r in objects if pod_template(r.doc) is not None and r.namespace}
    for pol in view.of("NetworkPolicy", "networking.k8s.io"):
        selector = sub(pol.spec, "podSelector")
        here = pods.get(pol.namespace or "", [])
        if pol.namespace not in chart_pod_namespaces or not selector or not _speaks(selector, here):
            continue
        if not any(selects(selector, labels) for labels in here):
            message = f"podSelector {_shown(selector)} selects no pod in namespace {pol.namespace}, counting the charts' pods: the policy applies to nothing"
            out += _noted([finding(pol, "network-policy", message)], notes.get(pol.ref, ""))
    return out


def _speaks(selector: dict[str, Any], pods: list[dict[str, str]]) -> bool:
    """Does every label key the selector tests occur on some rendered pod of the namespace?

    A key no rendered pod carries names pods someone creates at run time (cert-manager's
    ACME solvers, workflow steps): the policy is for those, and cannot be judged here.
    """
    keys = set(selector.get("matchLabels") or {}) if isinstance(selector.get("matchLabels"), dict) else set()
    keys |= {str(e.get("key")) for e in dicts(selector.get("matchExpressions"))}
    carried = {k for labels in pods for k in labels}
    return bool(keys) and keys <= carried


def _shown(selector: dict[str, object]) -> str:
    labels = selector.get("matchLabels")
    parts = [f"{k}={v}" for k, v in sorted(labels.items())] if isinstance(labels, dict) else []
    exprs = selector.get("matchExpressions")
    if isinstance(exprs, list) and exprs:
        parts.append(f"{len(exprs)} expression(s)")
    return ", ".join(parts) or "{}"


def leaks(outputs: list[ChartOutput], scan: Callable[[str, list[Any]], list[Finding]] | None) -> list[Finding]:
    """The leak guard over each chart's output, located at the Application that renders it (no scanner: no check)."""
    if scan is None:
        return []
    out: list[Finding] = []
    for item in outputs:
        out += _noted(scan(item.app.source, [r.doc for r in item.objects]), item.note)
    return out
