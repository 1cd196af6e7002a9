"""Schema validation through the real kubeconform, offline, with findings mapped to file and object."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bbgen.errors import UsageError
from bbgen.validate import Finding, Report

from treekit import Files, baseline, errors, meta, needs_tools

pytestmark = needs_tools

Check = Callable[..., Report]
WEB = "components/web/base"


def conform(report: Report) -> list[Finding]:
    found = [f for f in report.findings if f.check == "kubeconform"]
    assert found, "\n".join(str(f) for f in report.findings) or "no findings at all"
    return found


def test_wrong_type_in_deployment(check_tree: Check) -> None:
    files = baseline()
    files[f"{WEB}/deployment-web.yaml"]["spec"]["replicas"] = "three"
    (hit,) = conform(check_tree(files))
    assert hit.file == "components/web/overlays/prod"
    assert hit.resource == "Deployment/web/web"
    assert hit.message.startswith("/spec/replicas:") and "integer" in hit.message
    assert str(hit) == f"components/web/overlays/prod: Deployment/web/web: [kubeconform] {hit.message}"


def test_unknown_nested_field_proves_definitions_resolve(check_tree: Check) -> None:
    """The error is deep inside a $ref'd definition: the rewritten refs really resolve offline."""
    files = baseline()
    files[f"{WEB}/deployment-web.yaml"]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    (hit,) = conform(check_tree(files))
    assert hit.resource == "Deployment/web/web"
    assert "/spec/template/spec/containers/0" in hit.message and "imagePullPolicyy" in hit.message


def test_wrong_field_in_application(check_tree: Check) -> None:
    files = baseline()
    files["apps/prod/web.yaml"]["spec"]["syncPolicy"]["automated"]["prunee"] = True
    (hit,) = conform(check_tree(files))
    assert hit.file == "apps/prod"
    assert hit.resource == "Application/argocd/prod-web"
    assert "/spec/syncPolicy/automated" in hit.message and "prunee" in hit.message


def test_wrong_field_in_plain_bootstrap_file(check_tree: Check) -> None:
    files = baseline()
    files["bootstrap/prod/root-app.yaml"]["spec"]["destination"]["cluster"] = "in-cluster"
    (hit,) = conform(check_tree(files))
    assert hit.file == "bootstrap/prod/root-app.yaml"
    assert hit.resource == "Application/argocd/prod-root"


def test_application_needs_server_or_name(check_tree: Check) -> None:
    files = baseline()
    del files["apps/prod/web.yaml"]["spec"]["destination"]["server"]
    report = check_tree(files)
    assert any(f.resource == "Application/argocd/prod-web" for f in conform(report))


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("projects/appproject-apps.yaml", "clusterResourceWhitelist", [{"group": "", "kinds": "Namespace"}]),
        ("components/issuers/base/clusterissuer-letsencrypt-prod.yaml", "acme", {"email": "ops@example.org"}),
    ],
)
def test_wrong_crd_fields(check_tree: Check, path: str, field: str, value: object) -> None:
    files = baseline()
    files[path]["spec"][field] = value
    hits = conform(check_tree(files))
    assert all(h.severity == "error" for h in hits)


def test_certificate_enum_checked(check_tree: Check) -> None:
    files = baseline()
    files[f"{WEB}/kustomization.yaml"]["resources"].append("certificate-web.yaml")
    files[f"{WEB}/certificate-web.yaml"] = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": meta("web", "web"),
        "spec": {"secretName": "web-tls", "issuerRef": {"name": "letsencrypt-prod", "kind": "ClusterIssuer"}, "privateKey": {"algorithm": "DSA"}},
    }
    (hit,) = conform(check_tree(files))
    assert hit.resource == "Certificate/web/web" and "/spec/privateKey/algorithm" in hit.message


def test_kind_without_schema_is_a_finding(check_tree: Check) -> None:
    files = baseline()
    files[f"{WEB}/kustomization.yaml"]["resources"].append("widget.yaml")
    files[f"{WEB}/widget.yaml"] = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": meta("w", "web")}
    (hit,) = conform(check_tree(files))
    assert hit.resource == "Widget/web/w"
    assert "no schema for example.com/v1 Widget" in hit.message


def test_helm_values_are_not_schema_checked(check_tree: Check) -> None:
    files = baseline()
    files["values/cert-manager/prod.yaml"] = {"kind": "not-a-kubernetes-object", "replicas": "three"}
    assert check_tree(files).ok


def test_broken_plain_yaml(check_tree: Check) -> None:
    files = baseline()
    files["bootstrap/prod/extra.yaml"] = "apiVersion: v1\nkind: [unclosed\n"
    (hit,) = [f for f in check_tree(files).findings if f.check == "yaml"]
    assert hit.file == "bootstrap/prod/extra.yaml"


def test_kubernetes_version_from_manifest_and_override(check_tree: Check) -> None:
    """Service.spec.trafficDistribution exists from Kubernetes 1.30 on."""
    files: Files = baseline()
    files[f"{WEB}/service-web.yaml"]["spec"]["trafficDistribution"] = "PreferClose"
    assert check_tree(files).ok
    (hit,) = conform(check_tree(files, kubernetes_version="1.29.0"))
    assert "trafficDistribution" in hit.message
    files[".bbgen/manifest.json"] = '{"kubernetesVersion": "1.29.0", "environments": ["prod"]}'
    assert any("trafficDistribution" in f.message for f in conform(check_tree(files)))


def test_missing_manifest_warns_and_uses_default(check_tree: Check) -> None:
    files = baseline()
    del files[".bbgen/manifest.json"]
    report = check_tree(files)
    assert report.ok, errors(report)
    (warning,) = report.warnings
    assert warning.check == "manifest" and "1.34.0" in warning.message


def test_unbundled_version_warns(check_tree: Check) -> None:
    report = check_tree(baseline(), kubernetes_version="1.99")
    assert report.ok
    assert any(w.check == "schema" and "1.37" in w.message for w in report.warnings)


def test_malformed_version_is_usage_error(check_tree: Check) -> None:
    with pytest.raises(UsageError):
        check_tree(baseline(), kubernetes_version="latest")


def test_referenced_values_file_is_never_an_object(check_tree: Check) -> None:
    """Even values shaped like a manifest are Helm data when an Application reads them as values."""
    files = baseline()
    files["values/cert-manager/prod.yaml"] = {"apiVersion": "v1", "kind": "Widget", "metadata": {"name": "x"}}
    assert check_tree(files).ok
