"""Gateway API, NGINX TCP, NetworkPolicy and deprecation checks: clean trees pass, each break is one located finding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bbgen.validate import Finding, Report

from treekit import AUTH, GATEWAY_API, Files, baseline, errors, meta, needs_tools, with_gateway, with_ingress_nginx

pytestmark = needs_tools

Check = Callable[..., Report]
WEB = "components/web/base"
GATEWAY = "components/gateway/base/gateway-public.yaml"
HTTPROUTE = f"{WEB}/httproute-web.yaml"
TCPROUTE = f"{WEB}/tcproute-web.yaml"


def only(report: Report, check: str, severity: str = "error") -> Finding:
    found = [f for f in report.findings if f.check == check and f.severity == severity]
    assert len(found) == 1, "\n".join(str(f) for f in report.findings) or "no findings at all"
    others = [f for f in report.findings if f.severity == "error" and f is not found[0]]
    assert not others, "\n".join(str(f) for f in others)
    return found[0]


def gateway_tree() -> Files:
    return with_gateway(baseline())


def listener(files: Files, name: str) -> dict[str, Any]:
    return next(item for item in files[GATEWAY]["spec"]["listeners"] if item["name"] == name)


# --- Gateway API -------------------------------------------------------------


def test_clean_gateway_tree_passes(check_tree: Check) -> None:
    report = check_tree(gateway_tree())
    assert report.findings == [], [str(f) for f in report.findings]
    assert report.required_secrets == ["web/web-db"]  # gateway/web-tls is issued through the annotation


def test_clean_gateway_tree_with_two_environments_passes(check_tree: Check) -> None:
    report = check_tree(with_gateway(baseline(("prod", "staging")), ("prod", "staging")))
    assert report.findings == [], [str(f) for f in report.findings]


def test_route_section_name_missing(check_tree: Check) -> None:
    files = gateway_tree()
    files[HTTPROUTE]["spec"]["parentRefs"][0]["sectionName"] = "https"
    hit = only(check_tree(files), "gateway-ref")
    assert hit.file == HTTPROUTE and hit.resource == "HTTPRoute/web/web"
    assert "Gateway gateway/public has no listener 'https'" in hit.message and "https-web (HTTPS/443)" in hit.message


def test_route_gateway_not_rendered(check_tree: Check) -> None:
    files = gateway_tree()
    files[TCPROUTE]["spec"]["parentRefs"][0]["name"] = "internal"
    hit = only(check_tree(files), "gateway-ref")
    assert hit.file == TCPROUTE and hit.resource == "TCPRoute/web/web"
    assert "Gateway gateway/internal is not rendered" in hit.message


def test_tcproute_on_https_listener(check_tree: Check) -> None:
    files = gateway_tree()
    files[TCPROUTE]["spec"]["parentRefs"][0]["sectionName"] = "https-web"
    hit = only(check_tree(files), "gateway-ref")
    assert hit.resource == "TCPRoute/web/web" and "do not accept a TCPRoute (needs protocol TCP)" in hit.message


def test_httproute_on_tcp_listener_without_kinds(check_tree: Check) -> None:
    files = gateway_tree()
    del listener(files, "tcp-web")["allowedRoutes"]["kinds"]
    listener(files, "tcp-web")["allowedRoutes"]["namespaces"] = {"from": "All"}
    files[HTTPROUTE]["spec"]["parentRefs"][0]["sectionName"] = "tcp-web"
    hit = only(check_tree(files), "gateway-ref")
    assert hit.resource == "HTTPRoute/web/web" and "needs protocol HTTP/HTTPS" in hit.message


def test_listener_does_not_admit_route_namespace(check_tree: Check) -> None:
    files = gateway_tree()
    del listener(files, "https-web")["allowedRoutes"]
    hit = only(check_tree(files), "gateway-ref")
    assert hit.resource == "HTTPRoute/web/web"
    assert "do not admit routes from namespace web (allowedRoutes.namespaces.from: Same)" in hit.message


def test_listener_selector_excludes_route_namespace(check_tree: Check) -> None:
    files = gateway_tree()
    listener(files, "tcp-web")["allowedRoutes"]["namespaces"]["selector"] = {"matchLabels": {"kubernetes.io/metadata.name": "db"}}
    hit = only(check_tree(files), "gateway-ref")
    assert hit.resource == "TCPRoute/web/web" and "from: Selector" in hit.message


def test_route_hostname_outside_listener_hostname(check_tree: Check) -> None:
    files = gateway_tree()
    files[HTTPROUTE]["spec"]["hostnames"] = ["shop.example.org"]
    hit = only(check_tree(files), "gateway-ref")
    assert "hostnames shop.example.org match no hostname" in hit.message


def test_route_without_section_name_attaches_to_any_fitting_listener(check_tree: Check) -> None:
    files = gateway_tree()
    del files[HTTPROUTE]["spec"]["parentRefs"][0]["sectionName"]
    del files[TCPROUTE]["spec"]["parentRefs"][0]["sectionName"]
    report = check_tree(files)
    assert report.findings == [], [str(f) for f in report.findings]


def test_tcproute_backend_port_missing(check_tree: Check) -> None:
    files = gateway_tree()
    files[TCPROUTE]["spec"]["rules"][0]["backendRefs"][0]["port"] = 5432
    hit = only(check_tree(files), "service-ref")
    assert hit.file == TCPROUTE and hit.resource == "TCPRoute/web/web"
    assert "Service 'web' has no port 5432" in hit.message


def test_tcproute_backend_service_missing(check_tree: Check) -> None:
    files = gateway_tree()
    files[TCPROUTE]["spec"]["rules"][0]["backendRefs"][0]["name"] = "postgres"
    hit = only(check_tree(files), "service-ref")
    assert hit.resource == "TCPRoute/web/web" and "'postgres' does not exist in namespace web" in hit.message


def test_gateway_issuer_not_rendered(check_tree: Check) -> None:
    files = gateway_tree()
    files[GATEWAY]["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] = "letsencrypt-staging"
    hit = only(check_tree(files), "tls-source")
    assert hit.file == GATEWAY and hit.resource == "Gateway/gateway/public"
    assert "ClusterIssuer 'letsencrypt-staging' is not rendered" in hit.message


def test_https_listener_without_certificate_refs(check_tree: Check) -> None:
    files = gateway_tree()
    del listener(files, "https-web")["tls"]["certificateRefs"]
    hit = only(check_tree(files), "tls-source")
    assert hit.resource == "Gateway/gateway/public" and "listener https-web (HTTPS) has no tls.certificateRefs" in hit.message


def test_annotated_listener_needs_hostname(check_tree: Check) -> None:
    files = gateway_tree()
    del listener(files, "https-web")["hostname"]
    hit = only(check_tree(files), "tls-source")
    assert "listener https-web has no hostname" in hit.message


def test_gateway_certificate_as_tls_source(check_tree: Check) -> None:
    files = gateway_tree()
    del files[GATEWAY]["metadata"]["annotations"]
    report = check_tree(files)
    hit = only(report, "tls-source")
    assert "listener https-web has no certificate source" in hit.message and "gateway/web-tls" in hit.message
    assert "gateway/web-tls" in report.required_secrets
    files["components/gateway/base/kustomization.yaml"]["resources"].append("certificate-web.yaml")
    files["components/gateway/base/certificate-web.yaml"] = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": meta("web", "gateway"),
        "spec": {"secretName": "web-tls", "dnsNames": ["web.example.org"], "issuerRef": {"name": "letsencrypt-prod", "kind": "ClusterIssuer"}},
    }
    report = check_tree(files)
    assert report.findings == [], [str(f) for f in report.findings]
    assert report.required_secrets == ["web/web-db"]
    files["components/gateway/base/certificate-web.yaml"]["spec"]["dnsNames"] = ["www.example.org"]
    hit = only(check_tree(files), "tls-source")
    assert "do not list web.example.org" in hit.message


def test_two_routes_claim_one_listener_host_and_path(check_tree: Check) -> None:
    files = gateway_tree()
    files[f"{WEB}/kustomization.yaml"]["resources"].append("httproute-web-admin.yaml")
    second = {**files[HTTPROUTE], "metadata": meta("web-admin", "web", annotations={AUTH: "builtin"})}
    files[f"{WEB}/httproute-web-admin.yaml"] = second
    hit = only(check_tree(files), "route-conflict")
    assert hit.resource in ("HTTPRoute/web/web", "HTTPRoute/web/web-admin")
    assert "host web.example.org path / is claimed also by" in hit.message


def test_same_host_on_http_and_https_listeners_is_no_conflict(check_tree: Check) -> None:
    """An HTTP→HTTPS redirect route on :80 next to the app route on :443 is the usual pattern."""
    files = gateway_tree()
    files[f"{WEB}/kustomization.yaml"]["resources"].append("httproute-web-redirect.yaml")
    files[f"{WEB}/httproute-web-redirect.yaml"] = {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "HTTPRoute",
        "metadata": meta("web-redirect", "web"),
        "spec": {
            "parentRefs": [{"name": "public", "namespace": "gateway", "sectionName": "http"}],
            "hostnames": ["web.example.org"],
            "rules": [
                {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
            ],
        },
    }
    report = check_tree(files)
    assert report.findings == [], [str(f) for f in report.findings]
    # ...but the same route without a sectionName also lands on https-web, next to the app's route
    del files[f"{WEB}/httproute-web-redirect.yaml"]["spec"]["parentRefs"][0]["sectionName"]
    hit = only(check_tree(files), "route-conflict")
    assert "host web.example.org path /" in hit.message


def test_cross_namespace_backend_needs_reference_grant(check_tree: Check) -> None:
    files = gateway_tree()
    route = files[HTTPROUTE]
    files["components/gateway/base/kustomization.yaml"]["resources"].append("httproute-web.yaml")
    files["components/gateway/base/httproute-web.yaml"] = {**route, "metadata": meta("web", "gateway", annotations={AUTH: "builtin"})}
    route["spec"]["rules"][0]["backendRefs"][0]["namespace"] = "web"
    files[f"{WEB}/kustomization.yaml"]["resources"].remove("httproute-web.yaml")
    gw_route = files["components/gateway/base/httproute-web.yaml"]
    gw_route["spec"] = {**route["spec"], "rules": [{"backendRefs": [{"name": "web", "namespace": "web", "port": 80}]}]}
    hit = only(check_tree(files), "reference-grant")
    assert hit.file == "components/gateway/base/httproute-web.yaml" and hit.resource == "HTTPRoute/gateway/web"
    assert "backendRef Service web/web is in another namespace" in hit.message
    files[f"{WEB}/kustomization.yaml"]["resources"].append("referencegrant-gateway.yaml")
    files[f"{WEB}/referencegrant-gateway.yaml"] = {
        "apiVersion": f"{GATEWAY_API}/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": meta("gateway-routes", "web"),
        "spec": {"from": [{"group": GATEWAY_API, "kind": "HTTPRoute", "namespace": "gateway"}], "to": [{"group": "", "kind": "Service", "name": "web"}]},
    }
    report = check_tree(files)
    assert report.findings == [], [str(f) for f in report.findings]


# --- NGINX TCP services --------------------------------------------------------

NGINX_VALUES = "values/ingress-nginx/prod.yaml"


def test_ingress_nginx_tcp_map_resolves(check_tree: Check) -> None:
    report = check_tree(with_ingress_nginx(baseline(), {"5432": "web/web:80", "8080": "web/web:http:PROXY"}))
    assert report.ok, errors(report)
    (warning,) = report.warnings
    assert warning.check == "deprecated" and warning.resource == "Application/argocd/prod-ingress-nginx"
    assert "retired upstream in March 2026" in warning.message and "ingress.provider: gateway" in warning.message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("web/web:5432", "Service 'web' has no port '5432'"),
        ("web/postgres:5432", "Service 'postgres' does not exist in namespace web"),
        ("postgres:5432", "is not namespace/service:port"),
    ],
)
def test_ingress_nginx_tcp_map_broken(check_tree: Check, entry: str, expected: str) -> None:
    hit = only(check_tree(with_ingress_nginx(baseline(), {"5432": entry})), "service-ref")
    assert hit.file == NGINX_VALUES and hit.resource == "Application/argocd/prod-ingress-nginx"
    assert hit.message.startswith("tcp 5432: ") and expected in hit.message


def test_ingress_nginx_tcp_map_sees_chart_services(check_tree: Check) -> None:
    """Services a chart creates (manifest chartServices) count as existing."""
    files = with_ingress_nginx(baseline(), {"5432": "web/postgres:5432"})
    files[".bbgen/manifest.json"] = (
        '{"kubernetesVersion": "1.34.0", "environments": ["prod"], "files": {}, '
        '"chartServices": [{"component": "postgres", "name": "postgres", "namespace": "web", "ports": [{"name": "tcp-postgresql", "port": 5432}]}]}'
    )
    assert check_tree(files).ok


def test_tcp_services_configmap_checked(check_tree: Check) -> None:
    files = with_ingress_nginx(baseline(), {})
    files["bootstrap/prod/tcp-services.yaml"] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta("tcp-services", "ingress-nginx"),
        "data": {"5432": "web/web:80", "6379": "web/redis:6379"},
    }
    hit = only(check_tree(files), "service-ref")
    assert hit.file == "bootstrap/prod/tcp-services.yaml" and hit.resource == "ConfigMap/ingress-nginx/tcp-services"
    assert hit.message.startswith("data 6379: ") and "'redis' does not exist" in hit.message


# --- NetworkPolicy --------------------------------------------------------------

POLICY = "platform/prod/networkpolicy-allow-web.yaml"


def policy_tree(peer_ns: str = "cert-manager", port: int | str = 8080) -> Files:
    files = baseline()
    files["platform/prod/kustomization.yaml"]["resources"].append("networkpolicy-allow-web.yaml")
    files["projects/appproject-platform.yaml"]["spec"]["namespaceResourceBlacklist"] = []
    files[POLICY] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta("allow-web", "web"),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": peer_ns}}, "podSelector": {}}],
                    "ports": [{"protocol": "TCP", "port": port}],
                }
            ],
        },
    }
    return files


def test_network_policy_clean(check_tree: Check) -> None:
    for files in (policy_tree(), policy_tree("kube-system", "http")):
        report = check_tree(files)
        assert report.findings == [], [str(f) for f in report.findings]


def test_network_policy_peer_namespace_not_rendered(check_tree: Check) -> None:
    hit = only(check_tree(policy_tree(peer_ns="ingres-nginx")), "network-policy")
    assert hit.file == POLICY and hit.resource == "NetworkPolicy/web/allow-web"
    assert "namespace 'ingres-nginx', which is not rendered" in hit.message


def test_network_policy_port_no_pod_exposes(check_tree: Check) -> None:
    report = check_tree(policy_tree(port=80))
    assert report.ok, errors(report)
    hit = only(report, "network-policy", "warning")
    assert hit.file == POLICY and hit.resource == "NetworkPolicy/web/allow-web"
    assert "ingress port(s) 80 are declared by no container" in hit.message


# --- deprecated software --------------------------------------------------------


def test_minio_image_warns(check_tree: Check) -> None:
    files = baseline()
    files[f"{WEB}/deployment-web.yaml"]["spec"]["template"]["spec"]["containers"][0]["image"] = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
    report = check_tree(files)
    assert report.ok, errors(report)
    hit = only(report, "deprecated", "warning")
    assert hit.file == f"{WEB}/deployment-web.yaml" and hit.resource == "Deployment/web/web"
    assert "October 2025" in hit.message and "maintenance mode" in hit.message
