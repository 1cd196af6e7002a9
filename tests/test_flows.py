"""Every data flow of the reference architecture is wired twice: as config and as a network allowance.

The flows are the arrows of the seed's architecture drawing (shared/reference-architecture.txt),
listed here once. For each one the test reads the *rendered* repository, not bbgen's own data:

- config: the caller's manifests (or Helm values) name the callee's in-cluster Service DNS name
  (or, for OIDC, the realm's issuer) in an env var or a config file;
- network: a NetworkPolicy in the callee's namespace selects the callee's pods and admits the
  caller's pods on a port the callee's Service targets. Pod labels come from the rendered
  workloads, so a template that labels its pods differently from what the policy expects fails here.

A generic test then checks the same two properties for every dependency in the rendered platform.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen.catalog import load_catalog
from bbgen.render.build import build_tree
from bbgen.render.units import Unit, build_units, pod_labels
from bbgen.render.write import write_tree
from bbgen.spec import load_platform

from support import ROOT

PROFILE = ROOT / "profiles" / "betelgeuse.yaml"

# (caller, callee, what the drawing says) — callee `llm` and `object-store` are roles.
FLOWS = [
    ("orchestrator", "llm", "reasoning / JSON extraction"),
    ("orchestrator", "text-embeddings-inference", "embed queries/docs"),
    ("orchestrator", "qdrant", "vector search"),
    ("orchestrator", "neo4j", "graph read/write"),
    ("orchestrator", "postgres", "metadata/users/jobs"),
    ("orchestrator", "redis", "cache"),
    ("orchestrator", "elasticsearch", "full-text search"),
    ("orchestrator", "kafka", "events"),
    ("orchestrator", "ner", "entities"),
    ("orchestrator", "relation-extraction", "relations"),
    ("orchestrator", "keycloak", "validate JWT"),
    ("ner", "neo4j", "entities"),
    ("relation-extraction", "neo4j", "relations"),
    ("admin-ui", "keycloak", "OIDC login"),
    ("admin-ui", "orchestrator", "API"),
    ("label-studio", "keycloak", "OIDC"),
    ("label-studio", "object-store", "labeled datasets"),
    ("label-studio", "postgres", "metadata"),
    ("mlflow", "keycloak", "OIDC"),
    ("mlflow", "object-store", "model versions"),
    ("mlflow", "postgres", "backend store"),
    ("argo-workflows", "object-store", "training data / artifacts"),
    ("argo-workflows", "mlflow", "log metrics"),
    ("argo-workflows", "kafka", "consume triggers"),
    ("n8n", "kafka", "integrations/alerts"),
    ("n8n", "postgres", "workflows"),
    ("kibana", "elasticsearch", "UI"),
    ("kafka-ui", "kafka", "UI"),
    ("alloy", "loki", "logs"),
    ("alloy", "tempo", "traces"),
    ("grafana", "prometheus", "metrics"),
    ("grafana", "loki", "logs"),
    ("grafana", "tempo", "traces"),
    ("keycloak", "postgres", "realm store"),
    ("gitea", "postgres", "repositories' metadata"),
]
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet"}


@functools.cache  # the module's render is only read: parse each folder once, not once per flow
def _docs(folder: Path) -> tuple[dict[str, Any], ...]:
    return tuple(
        doc
        for path in sorted(folder.rglob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict)
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Unit]]:
    out = tmp_path_factory.mktemp("flows") / "out"
    platform = load_platform(PROFILE)
    write_tree(build_tree(platform), out)
    return out, build_units(platform, load_catalog())


def _resolve(units: dict[str, Unit], caller: str, callee: str) -> str:
    return units[caller].roles.get(callee, callee)


def _config_text(out: Path, unit: Unit) -> str:
    """Everything the caller's pods are configured with: its manifests and, for a chart, its Helm values."""
    texts = [p.read_text(encoding="utf-8") for p in sorted((out / "components" / unit.name / "base").glob("*.yaml"))]
    values = out / "values" / unit.name / "prod.yaml"
    if values.is_file():
        texts.append(values.read_text(encoding="utf-8"))
    assert texts, f"{unit.name}: nothing rendered"
    return "\n".join(texts)


def _service(out: Path, callee: Unit) -> tuple[str, list[int]]:
    """The callee's Service DNS name (rendered, or declared by its chart) and its pods' port numbers."""
    base = out / "components" / callee.name / "base"
    services = [d["metadata"]["name"] for d in _docs(base) if d["kind"] == "Service"] if base.is_dir() else []
    manifest = json.loads((out / ".bbgen" / "manifest.json").read_text(encoding="utf-8"))
    services += [s["name"] for s in manifest.get("chartServices", []) if s["component"] == callee.name]
    assert callee.service in services, f"{callee.name}: Service {callee.service} neither rendered nor declared ({services})"
    workload = _workload(out, callee)
    if workload is not None:
        return f"{callee.service}.{callee.namespace}.svc", sorted(set(_container_ports(workload).values()))
    assert callee.component is not None
    return f"{callee.service}.{callee.namespace}.svc", sorted(set(callee.component.ports.values()))


def _workload(out: Path, unit: Unit) -> dict[str, Any] | None:
    base = out / "components" / unit.name / "base"
    found = [d for d in _docs(base) if d["kind"] in WORKLOADS] if base.is_dir() else []
    main = [d for d in found if d["metadata"]["name"] == unit.service] or found
    return main[0] if main else None


def _container_ports(workload: dict[str, Any]) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for c in workload["spec"]["template"]["spec"]["containers"] for p in c.get("ports", []) if "name" in p}


def _pod_labels(out: Path, unit: Unit) -> dict[str, str]:
    workload = _workload(out, unit)
    if workload is not None:
        return dict(workload["spec"]["template"]["metadata"]["labels"])
    return pod_labels(unit)  # chart-rendered pods: the labels the chart's release gives them


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Kubernetes label selector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist) all hold."""
    assert set(selector) <= {"matchLabels", "matchExpressions"}, f"unknown selector fields: {selector}"
    if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        held = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not held:
            return False
    return True


def _admits(policies: list[dict[str, Any]], callee_ns: str, callee_labels: dict[str, str], caller_ns: str, caller_labels: dict[str, str], port: int) -> bool:
    for pol in policies:
        if pol["metadata"]["namespace"] != callee_ns or not _matches(pol["spec"]["podSelector"], callee_labels):
            continue
        for rule in pol["spec"].get("ingress", []):
            if "ports" in rule and not any(p.get("port") == port for p in rule["ports"]):
                continue
            if "from" not in rule:
                return True
            for peer in rule["from"]:
                ns_sel = peer.get("namespaceSelector")
                pod_sel = peer.get("podSelector")
                ns_ok = _matches(ns_sel, {"kubernetes.io/metadata.name": caller_ns}) if ns_sel is not None else caller_ns == callee_ns
                if ns_ok and (pod_sel is None or _matches(pod_sel, caller_labels)):
                    return True
    return False


def _policies(out: Path) -> list[dict[str, Any]]:
    return [d for d in _docs(out / "platform" / "prod") if d["kind"] == "NetworkPolicy"]


def _check_flow(out: Path, units: dict[str, Unit], caller_name: str, callee_name: str) -> list[str]:
    problems = []
    caller, callee = units[caller_name], units[callee_name]
    text = _config_text(out, caller)
    dns, ports = _service(out, callee)
    if callee.name == "keycloak":
        named = "/realms/" in text and (dns in text or "https://auth." in text)
    else:
        named = dns in text
    if not named:
        problems.append(f"{caller.name} -> {callee.name}: {dns} is not in {caller.name}'s config")
    policies = _policies(out)
    if not any(_admits(policies, callee.namespace, _pod_labels(out, callee), caller.namespace, _pod_labels(out, caller), port) for port in ports):
        problems.append(f"{caller.name} -> {callee.name}: no NetworkPolicy admits {caller.namespace}/{caller.name} to {callee.namespace}/{callee.name} ports {ports}")
    return problems


@pytest.mark.parametrize(("caller", "callee", "why"), FLOWS, ids=[f"{a}->{b}" for a, b, _ in FLOWS])
def test_architecture_flow_is_configured_and_allowed(rendered: tuple[Path, dict[str, Unit]], caller: str, callee: str, why: str) -> None:
    out, units = rendered
    assert caller in units, f"{caller} is not enabled in the reference profile"
    target = _resolve(units, caller, callee)
    assert target in units[caller].depends_on, f"{caller} -> {callee} ({why}) is not a dependency"
    assert not _check_flow(out, units, caller, target)


def test_every_dependency_is_configured_and_allowed(rendered: tuple[Path, dict[str, Unit]]) -> None:
    """Beyond the drawing: no dependency bbgen orders by is left without its config or its policy."""
    out, units = rendered
    problems: list[str] = []
    for unit in sorted(units.values(), key=lambda u: u.name):
        if unit.delivery == "kustomize" and _workload(out, unit) is None:
            continue  # no pods of its own (ClusterIssuers, the Gateway): the dependency only orders the sync
        for dep in unit.depends_on:
            if units[dep].component is not None and not units[dep].component.ports:  # type: ignore[union-attr]
                continue  # nothing to connect to (CRDs, issuers): ordering only
            problems.extend(_check_flow(out, units, unit.name, dep))
    assert not problems, "\n".join(problems)


def test_a_policy_does_not_admit_a_caller_that_is_not_a_dependant(rendered: tuple[Path, dict[str, Unit]]) -> None:
    """The evaluator above must be able to say no: ner does not call redis, so redis must not admit it."""
    out, units = rendered
    assert "redis" not in units["ner"].depends_on
    assert _check_flow(out, units, "ner", "redis")
