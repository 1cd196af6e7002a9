"""bbgen's Gateway API and Cilium schemas through the real kubeconform: typical objects pass, typos fail located."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bbgen.validate import Finding, Report

from treekit import GATEWAY_API, Files, baseline, meta, needs_tools, with_gateway

pytestmark = needs_tools

Check = Callable[..., Report]
EXTRA = "components/gateway/base"


def _extras() -> dict[str, dict[str, Any]]:
    """One object of every other modelled kind, as a renderer or a person would write it."""
    return {
        "gatewayclass-cilium.yaml": {
            "apiVersion": f"{GATEWAY_API}/v1",
            "kind": "GatewayClass",
            "metadata": meta("cilium"),
            "spec": {"controllerName": "io.cilium/gateway-controller", "description": "Cilium Gateway API"},
        },
        "referencegrant-v1.yaml": {
            "apiVersion": f"{GATEWAY_API}/v1",
            "kind": "ReferenceGrant",
            "metadata": meta("routes-v1", "gateway"),
            "spec": {"from": [{"group": GATEWAY_API, "kind": "HTTPRoute", "namespace": "web"}], "to": [{"group": "", "kind": "Service"}]},
        },
        "referencegrant-v1beta1.yaml": {
            "apiVersion": f"{GATEWAY_API}/v1beta1",
            "kind": "ReferenceGrant",
            "metadata": meta("certs", "gateway"),
            "spec": {"from": [{"group": GATEWAY_API, "kind": "Gateway", "namespace": "gateway"}], "to": [{"group": "", "kind": "Secret", "name": "web-tls"}]},
        },
        "tcproute-v1alpha2.yaml": {
            "apiVersion": f"{GATEWAY_API}/v1alpha2",
            "kind": "TCPRoute",
            "metadata": meta("legacy", "web"),
            "spec": {"parentRefs": [{"name": "public", "namespace": "gateway", "sectionName": "tcp-web"}], "rules": [{"backendRefs": [{"name": "web", "port": 80}]}]},
        },
        "ciliumnetworkpolicy-web.yaml": {
            "apiVersion": "cilium.io/v2",
            "kind": "CiliumNetworkPolicy",
            "metadata": meta("allow-web-from-gateway", "web"),
            "spec": {
                "endpointSelector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
                "ingress": [
                    {"fromEntities": ["ingress"], "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]},
                    {"fromEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "gateway"}}]},
                    {"fromCIDRSet": [{"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}], "fromCIDR": ["192.168.0.0/24"]},
                ],
                "egress": [
                    {"toEndpoints": [{"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In", "values": ["postgres"]}]}]},
                    {"toEntities": ["kube-apiserver", "world"], "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}, {"port": "https"}]}]},
                    {"toFQDNs": [{"matchPattern": "*.example.org"}], "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}], "rules": {"dns": [{"matchPattern": "*"}]}}]},
                ],
            },
        },
        "ciliumnetworkpolicy-specs.yaml": {
            "apiVersion": "cilium.io/v2",
            "kind": "CiliumNetworkPolicy",
            "metadata": meta("two-rules", "gateway"),
            "specs": [
                {"endpointSelector": {}, "ingress": [{"fromEntities": ["cluster"]}]},
                {"endpointSelector": {}, "egress": [{"toEntities": ["all"]}]},
            ],
        },
    }


def schema_tree(**changed: dict[str, Any]) -> Files:
    files = with_gateway(baseline())
    infra = files["projects/appproject-infra.yaml"]["spec"]
    infra["clusterResourceWhitelist"].append({"group": GATEWAY_API, "kind": "GatewayClass"})
    infra["destinations"].append({"server": "*", "namespace": "web"})
    for name, doc in {**_extras(), **changed}.items():
        files[f"{EXTRA}/kustomization.yaml"]["resources"].append(name)
        files[f"{EXTRA}/{name}"] = doc
    return files


def conform(report: Report) -> list[Finding]:
    found = [f for f in report.findings if f.check == "kubeconform"]
    assert found, "\n".join(str(f) for f in report.findings) or "no findings at all"
    return found


def test_every_modelled_kind_passes(check_tree: Check) -> None:
    report = check_tree(schema_tree())
    assert not [f for f in report.findings if f.check == "kubeconform"], [str(f) for f in report.findings]
    assert report.ok, [str(f) for f in report.errors]


def _typo(files: Files, path: str, edit: Callable[[dict[str, Any]], None]) -> Files:
    edit(files[path])
    return files


BREAKS: list[tuple[str, str, Callable[[dict[str, Any]], None], str, str]] = [
    # (file, resource, edit, path in the message, offending text)
    (
        f"{EXTRA}/gateway-public.yaml", "Gateway/gateway/public",
        lambda d: d["spec"]["listeners"][0].update(protocl="HTTP"), "/spec/listeners/0", "protocl",
    ),
    (
        f"{EXTRA}/gateway-public.yaml", "Gateway/gateway/public",
        lambda d: d["spec"]["listeners"][1]["tls"].update(certificateRef=[{"name": "x"}]), "/spec/listeners/1/tls", "certificateRef",
    ),
    (
        f"{EXTRA}/gateway-public.yaml", "Gateway/gateway/public",
        lambda d: d["spec"]["listeners"][0]["allowedRoutes"]["namespaces"].update({"from": "Everywhere"}), "/spec/listeners/0/allowedRoutes/namespaces/from", "",
    ),
    (
        "components/web/base/httproute-web.yaml", "HTTPRoute/web/web",
        lambda d: d["spec"]["rules"][0].update(backendRef=d["spec"]["rules"][0].pop("backendRefs")), "/spec/rules/0", "backendRef",
    ),
    (
        "components/web/base/httproute-web.yaml", "HTTPRoute/web/web",
        lambda d: d["spec"]["rules"][0]["matches"][0]["path"].update(type="Prefix"), "/spec/rules/0/matches/0/path/type", "",
    ),
    (
        "components/web/base/httproute-web.yaml", "HTTPRoute/web/web",
        lambda d: d["spec"]["rules"][0]["backendRefs"][0].pop("port"), "/spec/rules/0/backendRefs/0", "port",
    ),
    (
        "components/web/base/tcproute-web.yaml", "TCPRoute/web/web",
        lambda d: d["spec"].update(hostnames=["web.example.org"]), "/spec", "hostnames",
    ),
    (
        f"{EXTRA}/tcproute-v1alpha2.yaml", "TCPRoute/web/legacy",
        lambda d: d["spec"].pop("rules"), "/spec", "rules",
    ),
    (
        f"{EXTRA}/gatewayclass-cilium.yaml", "GatewayClass/cilium",
        lambda d: d["spec"].update(controller=d["spec"].pop("controllerName")), "/spec", "controller",
    ),
    (
        f"{EXTRA}/referencegrant-v1.yaml", "ReferenceGrant/gateway/routes-v1",
        lambda d: d["spec"].update(form=d["spec"].pop("from")), "/spec", "form",
    ),
    (
        f"{EXTRA}/referencegrant-v1beta1.yaml", "ReferenceGrant/gateway/certs",
        lambda d: d["spec"]["from"][0].pop("namespace"), "/spec/from/0", "namespace",
    ),
    (
        f"{EXTRA}/ciliumnetworkpolicy-web.yaml", "CiliumNetworkPolicy/web/allow-web-from-gateway",
        lambda d: d["spec"]["ingress"][1].update(fromEndpoint=d["spec"]["ingress"][1].pop("fromEndpoints")), "/spec/ingress/1", "fromEndpoint",
    ),
    (
        f"{EXTRA}/ciliumnetworkpolicy-web.yaml", "CiliumNetworkPolicy/web/allow-web-from-gateway",
        lambda d: d["spec"]["ingress"][0]["toPorts"][0]["ports"][0].update(port=8080), "/spec/ingress/0/toPorts/0/ports/0/port", "",
    ),
    (
        f"{EXTRA}/ciliumnetworkpolicy-web.yaml", "CiliumNetworkPolicy/web/allow-web-from-gateway",
        lambda d: d["spec"]["ingress"][0].update(fromEntities=["ingres"]), "/spec/ingress/0/fromEntities/0", "",
    ),
    (
        f"{EXTRA}/ciliumnetworkpolicy-specs.yaml", "CiliumNetworkPolicy/gateway/two-rules",
        lambda d: d["specs"][0].update(endpointSelecter=d["specs"][0].pop("endpointSelector")), "/specs/0", "",
    ),
]


@pytest.mark.parametrize(("path", "resource", "edit", "where", "word"), BREAKS, ids=[f"{b[1]}:{b[3]}" for b in BREAKS])
def test_typo_is_a_located_finding(check_tree: Check, path: str, resource: str, edit: Callable[[dict[str, Any]], None], where: str, word: str) -> None:
    report = check_tree(_typo(schema_tree(), path, edit))
    hits = conform(report)
    assert {h.resource for h in hits} == {resource}, [str(h) for h in hits]
    assert all(h.severity == "error" for h in hits)
    text = " | ".join(h.message for h in hits)
    assert where in text and word in text, text
    origin = path.rsplit("/base/", 1)[0] + "/overlays/prod"
    assert {h.file for h in hits} == {origin}
