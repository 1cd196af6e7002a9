"""NetworkPolicies per port purpose (component.yaml `portPurposes`): who may reach which port.

Dependants in other namespaces reach `client` ports only; `cluster` ports only the
component's own pods; `admin` ports the component's namespace and the spec's `adminFrom`;
the `metrics` role's scraper reaches `client` and `metrics` ports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bbgen.catalog import load_catalog
from bbgen.render.build import build_tree
from bbgen.spec import load_platform
from support import MINIMAL_SPEC, REFERENCE, bbgen

Objects = dict[tuple[str, str | None, str], dict[str, Any]]

SPEC = MINIMAL_SPEC + """\
components:
  garage: {}
  prometheus: {}
apps:
  api:
    image: registry.example.org/api:1.0.0
    namespace: hadith
    port: 8000
    dependsOn: [object-store]
  ops:
    image: registry.example.org/ops:1.0.0
    namespace: tools
    port: 8000
"""


def _policies(spec: Path, env: str = "prod") -> Objects:
    out: Objects = {}
    for path, data in build_tree(load_platform(spec)).files.items():
        if path.startswith(f"platform/{env}/") and not path.endswith("kustomization.yaml"):
            doc = yaml.safe_load(data)
            if doc["kind"] == "NetworkPolicy":
                out[(doc["kind"], doc["metadata"]["namespace"], doc["metadata"]["name"])] = doc
    return out


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        assert expr["operator"] == "NotIn"
        if labels.get(expr["key"]) in expr["values"]:
            return False
    return True


def reachable(objects: Objects, target_ns: str, target: dict[str, str], source_ns: str, source: dict[str, str]) -> set[int]:
    """Every port of pods labelled ``target`` in ``target_ns`` that pods labelled ``source`` in ``source_ns`` may reach.

    Evaluates the rendered policies the way Kubernetes does (the union of every rule of every
    policy selecting the target); a rule without ports admits every port (shown as -1).
    """
    ports: set[int] = set()
    for (_, ns, _), policy in objects.items():
        spec = policy["spec"]
        if ns != target_ns or not _selects(spec["podSelector"], target):
            continue
        for rule in spec.get("ingress") or []:
            peers = rule.get("from")
            admitted = peers is None or any(_peer_admits(p, ns, source_ns, source) for p in peers)
            if admitted:
                ports |= {p["port"] for p in rule["ports"]} if rule.get("ports") else {-1}
    return ports


def _peer_admits(peer: dict[str, Any], policy_ns: str, source_ns: str, source: dict[str, str]) -> bool:
    if "namespaceSelector" in peer:
        wanted = peer["namespaceSelector"].get("matchLabels", {}).get("kubernetes.io/metadata.name")
        if wanted is not None and wanted != source_ns:
            return False
    elif source_ns != policy_ns:
        return False
    return _selects(peer.get("podSelector") or {}, source)


def _pods(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}


def test_purposes_are_validated_against_the_ports() -> None:
    garage = load_catalog()["garage"]
    assert garage.purposes("s3") == {"client"} and garage.purposes("rpc") == {"cluster"}
    assert garage.purposes("admin") == {"admin", "metrics"}
    data = garage.model_dump(by_alias=True, exclude={"folder"})
    data["portPurposes"] = {"nope": "admin"}
    try:
        type(garage).model_validate(data)
    except ValueError as err:
        assert "portPurposes names unknown ports ['nope']" in str(err)
    else:
        raise AssertionError("a purpose for an undeclared port must be refused")


def test_a_dependant_reaches_exactly_the_client_ports(write_spec: Callable[[str], Path]) -> None:
    objects = _policies(write_spec(SPEC))
    garage = load_catalog()["garage"]
    client = {n for p, n in garage.ports.items() if garage.purposes(p) == {"client"}}
    assert reachable(objects, "storage", _pods("garage"), "hadith", _pods("api")) == client == {3900}
    # A pod that depends on nothing reaches nothing.
    assert reachable(objects, "storage", _pods("garage"), "tools", _pods("ops")) == set()


def test_cluster_ports_only_from_own_pods_admin_from_own_namespace(write_spec: Callable[[str], Path]) -> None:
    objects = _policies(write_spec(SPEC))
    own = reachable(objects, "storage", _pods("garage"), "storage", _pods("garage"))
    assert {3900, 3901, 3903} <= own
    neighbour = reachable(objects, "storage", _pods("garage"), "storage", _pods("garage-setup"))
    assert 3901 not in neighbour and {3900, 3903} <= neighbour  # same namespace: client and admin, never rpc


def test_metrics_ports_from_the_metrics_role(write_spec: Callable[[str], Path]) -> None:
    objects = _policies(write_spec(SPEC))
    scraper = reachable(objects, "storage", _pods("garage"), "observability", _pods("prometheus"))
    assert scraper == {3900, 3903}  # s3 (client) and admin (which also serves /metrics), not rpc


def test_admin_from_opens_the_admin_ports_only(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(SPEC.replace("  garage: {}", "  garage: {adminFrom: [ops, hadith]}"))
    objects = _policies(spec)
    assert reachable(objects, "storage", _pods("garage"), "tools", _pods("ops")) == {3903}
    assert reachable(objects, "storage", _pods("garage"), "hadith", _pods("other")) == {3903}
    assert reachable(objects, "storage", _pods("garage"), "hadith", _pods("api")) == {3900, 3903}


def test_admin_from_per_environment(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(SPEC + "environments:\n  prod: {}\n  dev:\n    cluster: https://dev.example.org:6443\n    components:\n      garage: {adminFrom: [ops]}\n")
    assert reachable(_policies(spec, "prod"), "storage", _pods("garage"), "tools", _pods("ops")) == set()
    assert reachable(_policies(spec, "dev"), "storage", _pods("garage"), "tools", _pods("ops")) == {3903}


def test_an_unknown_admin_from_is_a_located_error(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    spec = write_spec(SPEC.replace("  garage: {}", "  garage:\n    adminFrom: [opz]"))
    out = tmp_path / "out"
    result = bbgen("render", str(spec), "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert re.search(r"platform\.yaml:\d+:\d+: components\.garage\.adminFrom\[0\]: 'opz' is neither", result.stderr), result.stderr
    assert "did you mean 'ops'" in result.stderr
    assert not out.exists()


def test_reference_profile(tmp_path: Path) -> None:
    """On the reference profile: dependants get client ports; MinIO's console only from storage and the edge."""
    objects = _policies(REFERENCE)
    mlflow = _pods("mlflow")
    assert reachable(objects, "storage", _pods("minio"), "ml", mlflow) == {9000}
    assert reachable(objects, "broker", _pods("kafka"), "automation", _pods("n8n")) == {9092}
    assert 9093 not in reachable(objects, "broker", _pods("kafka"), "broker", _pods("kafka-ui"))
    assert 9300 not in reachable(objects, "elastic", _pods("elasticsearch"), "elastic", _pods("kibana"))
    assert reachable(objects, "broker", _pods("kafka"), "observability", _pods("prometheus")) == {9092}
    for (_, ns, _), policy in objects.items():
        for rule in policy["spec"].get("ingress") or []:
            for peer in rule.get("from") or []:
                if peer.get("podSelector", {}).get("matchLabels") == mlflow and ns == "storage":
                    assert [p["port"] for p in rule["ports"]] == [9000]
