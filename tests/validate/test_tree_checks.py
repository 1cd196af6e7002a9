"""Each cross-resource check: a clean tree passes, one deliberate break is a located finding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bbgen.validate import Finding, Report

from treekit import AUTH, CHARTS, REPO, Files, baseline, errors, kustomization, meta, needs_tools

pytestmark = needs_tools

Check = Callable[..., Report]
WEB = "components/web/base"


def only(report: Report, check: str) -> list[Finding]:
    found = [f for f in report.findings if f.check == check and f.severity == "error"]
    assert found, "\n".join(str(f) for f in report.findings) or "no findings at all"
    return found


def test_clean_tree_passes(check_tree: Check) -> None:
    report = check_tree(baseline())
    assert report.findings == [], [str(f) for f in report.findings]
    assert report.ok
    assert report.builds == [
        "apps/prod",
        "components/issuers/overlays/prod",
        "components/web/overlays/prod",
        "platform/prod",
    ]
    assert report.required_secrets == ["web/web-db"]


def test_clean_tree_with_two_environments_passes(check_tree: Check) -> None:
    report = check_tree(baseline(("prod", "staging")))
    assert report.ok, errors(report)
    assert "components/web/overlays/staging" in report.builds


def test_log_receives_every_command(check_tree: Check) -> None:
    lines: list[str] = []
    check_tree(baseline(), log=lines.append)
    assert sum(" build " in line for line in lines) == 4
    assert any("kubeconform" in line and "-strict" in line for line in lines)
    assert not any(" default" in line.split("-schema-location")[-1] for line in lines)


def test_ingress_backend_service_missing(check_tree: Check) -> None:
    files = baseline()
    rule = files[f"{WEB}/ingress-web.yaml"]["spec"]["rules"][0]
    rule["http"]["paths"][0]["backend"]["service"]["name"] = "webb"
    (hit,) = only(check_tree(files), "service-ref")
    assert hit.file == f"{WEB}/ingress-web.yaml"
    assert hit.resource == "Ingress/web/web"
    assert "'webb' does not exist in namespace web" in hit.message


@pytest.mark.parametrize("port", [{"name": "https"}, {"number": 8080}])
def test_ingress_backend_port_missing(check_tree: Check, port: dict[str, Any]) -> None:
    files = baseline()
    files[f"{WEB}/ingress-web.yaml"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] = port
    (hit,) = only(check_tree(files), "service-ref")
    assert hit.resource == "Ingress/web/web"
    assert "has no port" in hit.message and "http/80" in hit.message


def test_ingress_backend_port_by_number_passes(check_tree: Check) -> None:
    files = baseline()
    files[f"{WEB}/ingress-web.yaml"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] = {"number": 80}
    assert check_tree(files).ok


def test_httproute_backend_checked(check_tree: Check) -> None:
    files = baseline()
    files[f"{WEB}/kustomization.yaml"]["resources"].append("httproute-web.yaml")
    files[f"{WEB}/httproute-web.yaml"] = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": meta("web", "web"),
        "spec": {"hostnames": ["web.example.org"], "rules": [{"backendRefs": [{"name": "web", "port": 8080}]}]},
    }
    report = check_tree(files)
    (hit,) = only(report, "service-ref")
    assert hit.resource == "HTTPRoute/web/web" and "no port 8080" in hit.message
    assert not any(f.check == "kubeconform" for f in report.findings)  # bbgen ships the Gateway API schemas


def test_service_selector_matches_nothing(check_tree: Check) -> None:
    files = baseline()
    files[f"{WEB}/service-web.yaml"]["spec"]["selector"] = {"app.kubernetes.io/name": "wbe"}
    (hit,) = only(check_tree(files), "selector")
    assert hit.file == f"{WEB}/service-web.yaml"
    assert hit.resource == "Service/web/web"
    assert "app.kubernetes.io/name=wbe" in hit.message


def test_configmap_reference_missing(check_tree: Check) -> None:
    files = baseline()
    container = files[f"{WEB}/deployment-web.yaml"]["spec"]["template"]["spec"]["containers"][0]
    container["envFrom"][0]["configMapRef"]["name"] = "web-settings"
    (hit,) = only(check_tree(files), "configmap-ref")
    assert hit.file == f"{WEB}/deployment-web.yaml"
    assert hit.resource == "Deployment/web/web"
    assert "'web-settings'" in hit.message


def test_optional_configmap_and_volume_secrets(check_tree: Check) -> None:
    files = baseline()
    pod = files[f"{WEB}/deployment-web.yaml"]["spec"]["template"]["spec"]
    pod["containers"][0]["envFrom"].append({"configMapRef": {"name": "extra", "optional": True}})
    pod["volumes"] = [
        {"name": "tls", "secret": {"secretName": "web-client-cert"}},
        {"name": "ca", "configMap": {"name": "kube-root-ca.crt"}},
        {"name": "mounted-tls", "secret": {"secretName": "web-tls"}},
    ]
    report = check_tree(files)
    assert report.ok, errors(report)
    # web-tls is issued by cert-manager through the Ingress annotation: not an out-of-band secret
    assert report.required_secrets == ["web/web-client-cert", "web/web-db"]


def test_namespace_not_rendered(check_tree: Check) -> None:
    files = baseline()
    del files["platform/prod/namespace-web.yaml"]
    files["platform/prod/kustomization.yaml"]["resources"].remove("namespace-web.yaml")
    found = only(check_tree(files), "namespace")
    assert {f.file for f in found} == {"components/web/overlays/prod", "apps/prod/web.yaml"}
    assert all("'web'" in f.message for f in found)


def test_destination_namespace_fills_in_missing_namespace(check_tree: Check) -> None:
    files = baseline()
    del files[f"{WEB}/configmap-web.yaml"]["metadata"]["namespace"]
    assert check_tree(files).ok


def test_application_project_missing(check_tree: Check) -> None:
    files = baseline()
    files["apps/prod/web.yaml"]["spec"]["project"] = "applications"
    (hit,) = only(check_tree(files), "app-project")
    assert hit.file == "apps/prod/web.yaml"
    assert hit.resource == "Application/argocd/prod-web"
    assert "'applications' is not rendered" in hit.message


def test_application_destination_not_allowed(check_tree: Check) -> None:
    files = baseline()
    files["projects/appproject-apps.yaml"]["spec"]["destinations"][0]["namespace"] = "webapps"
    found = only(check_tree(files), "app-project")
    assert any(f.resource == "Application/argocd/prod-web" and "destination" in f.message for f in found)


def test_application_repo_not_allowed(check_tree: Check) -> None:
    files = baseline()
    files["projects/appproject-infra.yaml"]["spec"]["sourceRepos"] = [REPO]
    (hit,) = only(check_tree(files), "app-project")
    assert hit.resource == "Application/argocd/prod-cert-manager"
    assert CHARTS in hit.message


def test_project_glob_and_negation(check_tree: Check) -> None:
    files = baseline()
    files["projects/appproject-apps.yaml"]["spec"]["sourceRepos"] = ["https://git.example.org/acme/*"]
    files["projects/appproject-apps.yaml"]["spec"]["destinations"] = [{"server": "*", "namespace": "w*"}]
    assert check_tree(files).ok
    files["projects/appproject-apps.yaml"]["spec"]["sourceRepos"] = ["*", "!https://git.example.org/acme/*"]
    assert any("sourceRepos" in f.message for f in only(check_tree(files), "app-project"))


def test_cluster_scoped_kind_not_whitelisted(check_tree: Check) -> None:
    files = baseline()
    files["projects/appproject-infra.yaml"]["spec"]["clusterResourceWhitelist"] = []
    (hit,) = only(check_tree(files), "app-project")
    assert hit.file == "components/issuers/base/clusterissuer-letsencrypt-prod.yaml"
    assert hit.resource == "ClusterIssuer/letsencrypt-prod"
    assert "cert-manager.io/ClusterIssuer" in hit.message


def test_duplicate_host_and_path(check_tree: Check) -> None:
    files = baseline()
    second = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta("web-admin", "web"),
        "spec": {
            "ingressClassName": "nginx",
            "rules": [{"host": "web.example.org", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}],
        },
    }
    files[f"{WEB}/kustomization.yaml"]["resources"].append("ingress-web-admin.yaml")
    files[f"{WEB}/ingress-web-admin.yaml"] = second
    (hit,) = only(check_tree(files), "route-conflict")
    assert hit.resource in ("Ingress/web/web", "Ingress/web/web-admin")
    assert "host web.example.org path /" in hit.message


def test_cluster_issuer_not_rendered(check_tree: Check) -> None:
    files = baseline()
    files[f"{WEB}/ingress-web.yaml"]["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] = "letsencrypt-staging"
    (hit,) = only(check_tree(files), "tls-source")
    assert hit.file == f"{WEB}/ingress-web.yaml"
    assert "ClusterIssuer 'letsencrypt-staging' is not rendered" in hit.message


def test_tls_host_without_any_source(check_tree: Check) -> None:
    files = baseline()
    del files[f"{WEB}/ingress-web.yaml"]["metadata"]["annotations"]
    report = check_tree(files)
    (hit,) = only(report, "tls-source")
    assert "TLS host web.example.org has no certificate source" in hit.message
    assert "web/web-tls" in report.required_secrets


def test_certificate_resource_is_a_tls_source(check_tree: Check) -> None:
    files = baseline()
    files[f"{WEB}/ingress-web.yaml"]["metadata"]["annotations"] = {AUTH: "builtin"}  # no issuer annotation
    files[f"{WEB}/kustomization.yaml"]["resources"].append("certificate-web.yaml")
    files[f"{WEB}/certificate-web.yaml"] = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": meta("web", "web"),
        "spec": {
            "secretName": "web-tls",
            "dnsNames": ["*.example.org"],
            "issuerRef": {"name": "letsencrypt-prod", "kind": "ClusterIssuer"},
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        },
    }
    report = check_tree(files)
    assert report.ok, errors(report)
    assert report.required_secrets == ["web/web-db"]
    files[f"{WEB}/certificate-web.yaml"]["spec"]["issuerRef"] = {"name": "web-ca"}
    (hit,) = only(check_tree(files), "tls-source")
    assert hit.resource == "Certificate/web/web" and "Issuer 'web-ca' is not rendered in namespace web" in hit.message


def test_application_path_missing(check_tree: Check) -> None:
    files = baseline()
    files["apps/prod/web.yaml"]["spec"]["source"]["path"] = "components/web/overlays/production"
    (hit,) = only(check_tree(files), "application-path")
    assert hit.file == "apps/prod/web.yaml"
    assert hit.resource == "Application/argocd/prod-web"
    assert "does not exist" in hit.message


def test_application_path_does_not_build(check_tree: Check) -> None:
    files = baseline()
    files["components/web/overlays/prod/kustomization.yaml"]["resources"].append("missing.yaml")
    report = check_tree(files)
    (build,) = only(report, "kustomize")
    assert build.file == "components/web/overlays/prod" and "missing.yaml" in build.message
    (app,) = only(report, "application-path")
    assert app.file == "apps/prod/web.yaml" and "does not build" in app.message


def test_application_path_that_is_not_a_root_is_built(check_tree: Check) -> None:
    files = baseline()
    files["apps/prod/web.yaml"]["spec"]["source"]["path"] = "components/web/base"
    report = check_tree(files)
    assert "components/web/base" in report.builds
    assert report.ok, errors(report)


def test_helm_values_file_missing(check_tree: Check) -> None:
    files = baseline()
    del files["values/cert-manager/prod.yaml"]
    (hit,) = only(check_tree(files), "application-path")
    assert hit.resource == "Application/argocd/prod-cert-manager"
    assert "values/cert-manager/prod.yaml does not exist" in hit.message


def test_unbuildable_root_kustomization(check_tree: Check) -> None:
    files = baseline()
    files["platform/prod/kustomization.yaml"] = kustomization("namespace-web.yaml", "nope/")
    report = check_tree(files)
    (hit,) = only(report, "kustomize")
    assert hit.file == "platform/prod" and hit.resource == ""
    assert not report.ok


def test_env_var_and_mount_set_twice(check_tree: Check) -> None:
    """Repeats in a pod's name-keyed lists pass kubeconform; a strict server-side apply refuses them."""
    files = baseline()
    pod = files[f"{WEB}/deployment-web.yaml"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    container["env"].append({"name": "DB_PASSWORD", "value": "again"})
    pod["volumes"] = [{"name": "tmp", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}]
    container["volumeMounts"] = [{"name": "tmp", "mountPath": "/tmp"}, {"name": "cache", "mountPath": "/tmp"}]
    hits = only(check_tree(files), "duplicate-entry")
    assert sorted(h.message for h in hits) == ["container web mounts two volumes at /tmp", "container web sets env var DB_PASSWORD twice"]
    assert {h.resource for h in hits} == {"Deployment/web/web"}
