"""`bbgen validate` refuses a pod its Namespace's Pod Security level would refuse, located at the workload."""

from __future__ import annotations

from collections.abc import Callable

from bbgen.validate import Report

from treekit import Files, baseline, errors, needs_tools

pytestmark = needs_tools

Check = Callable[..., Report]
DEPLOYMENT = "components/web/base/deployment-web.yaml"


def _enforce(files: Files, level: str) -> Files:
    files["platform/prod/namespace-web.yaml"]["metadata"]["labels"] = {"pod-security.kubernetes.io/enforce": level}
    return files


def _harden(files: Files) -> Files:
    pod = files[DEPLOYMENT]["spec"]["template"]["spec"]
    pod["securityContext"] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    pod["containers"][0]["securityContext"] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    return files


def test_an_unhardened_pod_in_a_restricted_namespace_is_an_error(check_tree: Check) -> None:
    found = errors(check_tree(_enforce(baseline(), "restricted")), "pod-security")
    assert found, "the web Deployment sets no securityContext at all"
    assert all(f.startswith(f"{DEPLOYMENT}: Deployment/web/web: [pod-security] namespace web enforces restricted: ") for f in found), found
    assert any("allowPrivilegeEscalation=false" in f for f in found)
    assert any("seccompProfile" in f for f in found)


def test_the_same_pod_passes_baseline_and_a_hardened_one_restricted(check_tree: Check) -> None:
    assert errors(check_tree(_enforce(baseline(), "baseline")), "pod-security") == []
    assert errors(check_tree(_harden(_enforce(baseline(), "restricted"))), "pod-security") == []


def test_baseline_still_refuses_host_namespaces(check_tree: Check) -> None:
    files = _enforce(baseline(), "baseline")
    files[DEPLOYMENT]["spec"]["template"]["spec"]["hostNetwork"] = True
    (hit,) = errors(check_tree(files), "pod-security")
    assert "namespace web enforces baseline: host namespaces: the pod must not set hostNetwork=true" in hit


def test_an_unknown_level_is_an_error_on_the_namespace(check_tree: Check) -> None:
    (hit,) = errors(check_tree(_enforce(baseline(), "strict")), "pod-security")
    assert hit.startswith("platform/prod/namespace-web.yaml: Namespace/web: [pod-security] pod-security.kubernetes.io/enforce=strict is not a Pod Security level")


def test_a_namespace_without_a_level_is_not_judged(check_tree: Check) -> None:
    assert errors(check_tree(baseline()), "pod-security") == []
