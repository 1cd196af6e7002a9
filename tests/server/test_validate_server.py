"""`bbgen validate --server` against a real kube-apiserver: every profile passes, rejections are located findings.

The server is the session fixture `kube_server` (kine storage, CRDs generated from the
bundled schemas). `--previous` starts its own scratch server, as a user's run would.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from kubetest import PROFILES, copy_render, edit_yaml, first_file, render, server_findings, validate_server

_CHECKED = re.compile(r"server dry-run: (\d+) objects")


@pytest.fixture(scope="module")
def renders(tools: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("renders")
    return {name: render(name, base / name) for name in PROFILES}


def _kubeconfig(server: Any) -> str:
    return f"--kubeconfig={server.kubeconfig}"


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_passes_a_server_dry_run(profile: str, renders: dict[str, Path], kube_server: Any) -> None:
    code, payload, err = validate_server(renders[profile], _kubeconfig(kube_server), charts=True)
    assert server_findings(payload) == [], err
    assert code == 0, err
    checked = _CHECKED.search(err)
    assert checked, err
    assert int(checked.group(1)) >= payload["summary"]["objects"] > 50
    # every kind is served and every namespace known or created: nothing left unchecked, and the
    # server warns about nothing (Applications use the finalizer's path form, which it accepts silently)
    assert server_findings(payload, "warning") == []


def test_server_run_is_read_only(renders: dict[str, Path], kube_server: Any, kube_binaries: Path) -> None:
    from bbgen.kube.apiclient import Cluster

    with Cluster(kubeconfig=kube_server.kubeconfig, kubectl=kube_binaries / "kubectl") as cluster:
        before = cluster.namespaces()
        code, _payload, err = validate_server(renders["minimal"], _kubeconfig(kube_server))
        assert code == 0, err
        assert cluster.namespaces() == before
        for path in ("/apis/apps/v1/deployments", "/apis/apps/v1/statefulsets", "/apis/argoproj.io/v1alpha1/applications", "/api/v1/services"):
            items = cluster.get(path)["items"]
            assert [i for i in items if i["metadata"]["name"] != "kubernetes"] == [], path


def test_unknown_field_is_a_finding_naming_file_and_object(renders: dict[str, Path], kube_server: Any, tmp_path: Path) -> None:
    tree = copy_render(renders["minimal"], tmp_path / "tree")
    target = first_file(tree, "components/*/base/deployment-*.yaml", "Deployment")
    edit_yaml(target, lambda d: d["spec"]["template"]["spec"].update(bogusField=True))
    code, payload, err = validate_server(tree, _kubeconfig(kube_server))
    assert code == 1, err
    (finding,) = {(f["file"], f["resource"], f["message"]) for f in server_findings(payload)}
    assert finding[0] == str(target.relative_to(tree))
    assert finding[1].startswith("Deployment/") and finding[1].endswith("/" + target.stem.removeprefix("deployment-"))
    assert "bogusField" in finding[2] and "field not declared in schema" in finding[2]


def test_crd_cel_rule_is_a_finding(renders: dict[str, Path], kube_server: Any, tmp_path: Path) -> None:
    """HTTPRoute: a Service backendRef needs a port (the bundled schema's if/then, a CEL rule in the generated CRD)."""
    tree = copy_render(renders["minimal"], tmp_path / "tree")
    target = first_file(tree, "components/*/base/httproute-*.yaml", "HTTPRoute")
    edit_yaml(target, lambda d: d["spec"]["rules"][0]["backendRefs"][0].pop("port"))
    code, payload, err = validate_server(tree, _kubeconfig(kube_server))
    assert code == 1, err
    found = server_findings(payload)
    assert {f["file"] for f in found} == {str(target.relative_to(tree))}, found
    assert all(f["resource"].startswith("HTTPRoute/") and "port required when" in f["message"] for f in found), found


def test_admission_policy_cel_rule_is_a_finding(renders: dict[str, Path], kube_server: Any, kube_binaries: Path, tmp_path: Path) -> None:
    """A ValidatingAdmissionPolicy on the cluster (CEL) rejects what the render would apply, in a dry run too."""
    from bbgen.kube.apiclient import Cluster

    label = "bbgen-test/deny"
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "bbgen-test-deny"},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}]},
            "validations": [{"expression": f"!has(object.metadata.labels) || !('{label}' in object.metadata.labels)", "message": "denied by the bbgen test policy"}],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "bbgen-test-deny"},
        "spec": {"policyName": "bbgen-test-deny", "validationActions": ["Deny"]},
    }
    tree = copy_render(renders["minimal"], tmp_path / "tree")
    target = first_file(tree, "components/*/base/deployment-*.yaml", "Deployment")
    edit_yaml(target, lambda d: d["metadata"].setdefault("labels", {}).update({label: "yes"}))
    paths = {
        "policy": "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/bbgen-test-deny",
        "binding": "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/bbgen-test-deny",
    }
    with Cluster(kubeconfig=kube_server.kubeconfig, kubectl=kube_binaries / "kubectl") as cluster:
        try:
            assert cluster.apply(paths["policy"], policy, persist=True).ok
            assert cluster.apply(paths["binding"], binding, persist=True).ok
            probe = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "probe", "namespace": "default", "labels": {label: "x"}},
                     "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
            deadline = time.monotonic() + 30  # the policy takes effect once the API server's informer has it
            while cluster.apply("/apis/apps/v1/namespaces/default/deployments/probe", probe).ok:
                assert time.monotonic() < deadline, "the test policy never took effect"
                time.sleep(0.5)
            code, payload, err = validate_server(tree, _kubeconfig(kube_server))
        finally:
            for path in paths.values():
                cluster.request("DELETE", path)
    assert code == 1, err
    found = server_findings(payload)
    assert {f["file"] for f in found} == {str(target.relative_to(tree))}, found
    assert all("denied by the bbgen test policy" in f["message"] for f in found), found


def test_previous_catches_an_immutable_statefulset_change(renders: dict[str, Path], kube_binaries: Path, tmp_path: Path) -> None:
    previous = renders["minimal"]
    tree = copy_render(previous, tmp_path / "tree")
    target = first_file(tree, "components/*/base/statefulset-*.yaml", "StatefulSet")

    def bump(doc: dict[str, Any]) -> None:
        storage = doc["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]
        storage["storage"] = str(int(storage["storage"].removesuffix("Gi")) + 10) + "Gi"

    edit_yaml(target, bump)
    code, payload, err = validate_server(previous, f"--previous={previous}")
    assert code == 0 and server_findings(payload) == [], err  # the same render again changes nothing immutable
    assert server_findings(payload, "warning", "server-previous") == [], err  # and all of it was stored
    code, payload, err = validate_server(tree, f"--previous={previous}")
    assert code == 1, err
    found = server_findings(payload)
    assert {(f["file"], f["resource"].split("/")[0]) for f in found} == {(str(target.relative_to(tree)), "StatefulSet")}, found
    assert all("spec.volumeClaimTemplates" in f["message"] and "field is immutable" in f["message"] for f in found), found
