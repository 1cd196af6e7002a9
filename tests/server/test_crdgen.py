"""CRDs generated from bbgen's bundled CRD schemas: structural, deterministic, and accepted by a real API server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from bbgen.validate.crdgen import bundled_crds, openapi_schema, plural
from bbgen.kube.schemas import crd_dir


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _schema(group: str, name: str) -> dict[str, Any]:
    return openapi_schema(json.loads((crd_dir() / group / name).read_text(encoding="utf-8")))


@pytest.mark.parametrize(("kind", "want"), [("GatewayClass", "gatewayclasses"), ("HTTPRoute", "httproutes"), ("CiliumNetworkPolicy", "ciliumnetworkpolicies"), ("Gateway", "gateways")])
def test_plural(kind: str, want: str) -> None:
    assert plural(kind) == want


def test_every_bundled_schema_is_a_served_version_and_output_is_deterministic() -> None:
    crds = bundled_crds()
    served = {(c["spec"]["group"], v["name"]) for c in crds for v in c["spec"]["versions"]}
    files = {(p.parent.name, p.stem.rpartition("_")[2]) for p in crd_dir().glob("*/*.json")}
    assert {g for g, _ in files} <= {g for g, _ in served}
    assert len(served) == len(files)
    assert json.dumps(crds, sort_keys=True) == json.dumps(bundled_crds(), sort_keys=True)
    for crd in crds:
        assert sum(v["storage"] for v in crd["spec"]["versions"]) == 1, crd["metadata"]["name"]
    stored = {c["metadata"]["name"]: [v["name"] for v in c["spec"]["versions"] if v["storage"]][0] for c in crds}
    assert stored["referencegrants.gateway.networking.k8s.io"] == "v1"
    assert stored["tcproutes.gateway.networking.k8s.io"] == "v1"


def test_no_json_schema_only_keywords_survive() -> None:
    for crd in bundled_crds():
        for node in _walk(crd["spec"]["versions"]):
            assert not {"$ref", "$defs", "const", "if", "then", "anyOf", "oneOf", "$schema"} & set(node), crd["metadata"]["name"]
            assert node.get("additionalProperties") is not False
            assert not isinstance(node.get("type"), list)


def test_conditions_become_cel_rules() -> None:
    route = _schema("gateway.networking.k8s.io", "httproute_v1.json")
    backend = route["properties"]["spec"]["properties"]["rules"]["items"]["properties"]["backendRefs"]["items"]
    (rule,) = backend["x-kubernetes-validations"]
    assert "has(self.port)" in rule["rule"] and "self.kind == \"Service\"" in rule["rule"]
    app = _schema("argoproj.io", "application_v1alpha1.json")
    dest = app["properties"]["spec"]["properties"]["destination"]
    assert dest["x-kubernetes-validations"][0]["rule"] == "(has(self.server)) || (has(self.name))"
    count = app["properties"]["spec"]["properties"]["source"]["properties"]["kustomize"]["properties"]["replicas"]["items"]["properties"]["count"]
    assert count == {"x-kubernetes-int-or-string": True}


def test_real_api_server_serves_every_generated_crd(kube_server: Any, kube_binaries: Path) -> None:
    """The fixture installed them; every kind and version is in discovery."""
    from bbgen.kube.apiclient import Cluster

    with Cluster(kubeconfig=kube_server.kubeconfig, kubectl=kube_binaries / "kubectl") as cluster:
        served = cluster.resources()
    for crd in bundled_crds():
        for version in crd["spec"]["versions"]:
            assert (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"]) in served


def test_generated_cel_rule_rejects_a_service_backend_without_port(kube_server: Any, kube_binaries: Path) -> None:
    from bbgen.kube.apiclient import Cluster

    route: dict[str, Any] = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "cel", "namespace": "default"},
        "spec": {"parentRefs": [{"name": "public"}], "rules": [{"backendRefs": [{"name": "web", "port": 80}]}]},
    }
    path = "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/cel"
    with Cluster(kubeconfig=kube_server.kubeconfig, kubectl=kube_binaries / "kubectl") as cluster:
        accepted = cluster.apply(path, route)
        del route["spec"]["rules"][0]["backendRefs"][0]["port"]
        refused = cluster.apply(path, route)
    assert accepted.ok, accepted.message
    assert refused.status == 422 and "port required when" in refused.message, refused.message
