"""Pod Security Admission: every Namespace is labelled, and every rendered pod passes what its Namespace enforces.

The profiles are rendered, each overlay is built with the real kustomize, and
every pod template (Deployment, StatefulSet, DaemonSet, Job, CronJob) is checked
with the rules `bbgen validate` uses; hand-made pods prove each rule can fail.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bbgen.catalog import load_catalog
from bbgen.kube import yamlio
from bbgen.kube.objects import pod_template
from bbgen.kube.podsecurity import AUDIT, ENFORCE, ENFORCE_VERSION, WARN, violations
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform

from support import ROOT

PROFILES = sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml"))

RESTRICTED_POD: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        {
            "name": "app",
            "image": "registry.example.org/app:1",
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}},
        }
    ],
    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}, {"name": "tmp", "emptyDir": {}}],
}


def _set(pod: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path (`containers.0.securityContext.privileged`) in a pod spec, creating mappings on the way."""
    keys = path.split(".")
    holder: Any = pod
    for key in keys[:-1]:
        holder = holder[int(key)] if isinstance(holder, list) else holder.setdefault(key, {})
    if isinstance(holder, list):
        holder[int(keys[-1])] = value
    else:
        holder[keys[-1]] = value


# (what is changed, its value, the words the violation must contain, whether baseline refuses it too)
BREAKS = [
    ("hostNetwork", True, "hostNetwork=true", True),
    ("hostPID", True, "hostPID=true", True),
    ("hostIPC", True, "hostIPC=true", True),
    ("containers.0.securityContext.privileged", True, "privileged=true", True),
    ("containers.0.securityContext.capabilities.add", ["SYS_ADMIN"], "SYS_ADMIN", True),
    ("containers.0.securityContext.capabilities.add", ["CHOWN"], "CHOWN", False),
    ("containers.0.securityContext.capabilities.drop", ["NET_RAW"], 'drop=["ALL"]', False),
    ("volumes.1", {"name": "host", "hostPath": {"path": "/var/log"}}, "hostPath", True),
    ("volumes.1", {"name": "share", "nfs": {"server": "nfs", "path": "/"}}, "nfs", False),
    ("containers.0.ports", [{"containerPort": 80, "hostPort": 80}], "hostPort 80", True),
    ("containers.0.securityContext.allowPrivilegeEscalation", True, "allowPrivilegeEscalation=false", False),
    ("securityContext.runAsNonRoot", False, "runAsNonRoot=false", False),
    ("securityContext.runAsUser", 0, "runAsUser=0", False),
    ("containers.0.securityContext.runAsUser", 0, "runAsUser=0", False),
    ("securityContext.seccompProfile", {"type": "Unconfined"}, "Unconfined", True),
    ("containers.0.securityContext.seccompProfile", {"type": "Unconfined"}, "Unconfined", True),
    ("securityContext.sysctls", [{"name": "kernel.msgmax", "value": "1"}], "kernel.msgmax", True),
    ("securityContext.sysctls", [{"name": "net.ipv4.tcp_syncookies", "value": "1"}], None, False),
    ("containers.0.securityContext.appArmorProfile", {"type": "Unconfined"}, "appArmorProfile.type=Unconfined", True),
    ("securityContext.seLinuxOptions", {"type": "spc_t"}, "seLinuxOptions.type=spc_t", True),
    ("securityContext.seLinuxOptions", {"user": "system_u"}, "seLinuxOptions.user", True),
    ("containers.0.securityContext.procMount", "Unmasked", "procMount", True),
    ("containers.0.livenessProbe", {"httpGet": {"host": "10.0.0.1", "port": 80}}, "livenessProbe.httpGet.host", True),
    ("securityContext.windowsOptions", {"hostProcess": True}, "hostProcess=true", True),
]


def test_a_hardened_pod_passes_restricted() -> None:
    assert violations(copy.deepcopy(RESTRICTED_POD), "restricted") == []


@pytest.mark.parametrize(("path", "value", "words", "baseline_too"), BREAKS, ids=[f"{b[0]}={b[1]}" for b in BREAKS])
def test_each_rule_refuses_its_break(path: str, value: Any, words: str | None, baseline_too: bool) -> None:
    pod = copy.deepcopy(RESTRICTED_POD)
    _set(pod, path, value)
    restricted = violations(pod, "restricted")
    if words is None:
        assert restricted == []
        return
    assert any(words in v for v in restricted), restricted
    assert bool(violations(pod, "baseline")) == baseline_too, violations(pod, "baseline")
    assert violations(pod, "privileged") == []


def test_restricted_needs_every_container_hardened_unless_the_pod_is() -> None:
    pod = copy.deepcopy(RESTRICTED_POD)
    pod["initContainers"] = [{"name": "init", "image": "busybox"}]
    found = violations(pod, "restricted")
    assert any('"init" must set securityContext.allowPrivilegeEscalation=false' in v for v in found), found
    assert any('"init" must set securityContext.capabilities.drop' in v for v in found), found
    assert not any("runAsNonRoot" in v or "seccomp" in v for v in found), "the pod-level settings cover the init container"
    del pod["securityContext"]
    found = violations(pod, "restricted")
    assert any('"init", "app" must set securityContext.runAsNonRoot=true' in v for v in found), found
    assert any("seccompProfile.type to RuntimeDefault" in v for v in found), found
    assert violations(pod, "baseline") == []  # a default, unhardened pod is what baseline admits


def test_apparmor_annotation_other_than_the_runtime_default_is_refused() -> None:
    pod = copy.deepcopy(RESTRICTED_POD)
    bad = {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}
    assert any("unconfined" in v for v in violations(pod, "baseline", bad))
    assert violations(pod, "restricted", {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}) == []


def _kustomize(tools: dict[str, str], path: Path) -> list[dict[str, Any]]:
    done = subprocess.run([tools["kustomize"], "build", str(path)], capture_output=True, text=True, timeout=120, check=True)
    return [d for d in yamlio.load_all(done.stdout) if isinstance(d, dict)]


@pytest.mark.tools
@pytest.mark.parametrize("profile", PROFILES)
def test_every_rendered_pod_passes_its_namespace_level(tmp_path: Path, tools: dict[str, str], profile: str) -> None:
    platform = load_platform(ROOT / "profiles" / f"{profile}.yaml")
    write_tree(build_tree(platform), tmp_path / "out")
    tmp_path = tmp_path / "out"
    minor = "v" + ".".join(platform.kubernetes_version.split(".")[:2])
    catalog = load_catalog()
    declared = {c.namespace for c in catalog.values() if c.pod_security is not None}
    checked = 0
    for env_dir in sorted((tmp_path / "platform").iterdir()):
        env = env_dir.name
        namespaces = {d["metadata"]["name"]: d["metadata"] for d in _kustomize(tools, env_dir) if d["kind"] == "Namespace"}
        assert namespaces
        levels: dict[str, str] = {}
        for name, meta in namespaces.items():
            labels = meta["labels"]
            assert labels[WARN] == labels[AUDIT] == "restricted", name
            assert labels[ENFORCE_VERSION].startswith("v1.")
            levels[name] = labels[ENFORCE]
            if labels[ENFORCE] != "restricted":
                assert name in declared, f"{name} enforces {labels[ENFORCE]} but no component living there declares podSecurity"
                assert meta["annotations"]["bbgen.dev/pod-security"], name
        if env == "prod":
            assert {labels for labels in (m["labels"][ENFORCE_VERSION] for m in namespaces.values())} == {minor}
        for overlay in sorted((tmp_path / "components").glob(f"*/overlays/{env}")):
            for doc in _kustomize(tools, overlay):
                tpl = pod_template(doc)
                if tpl is None:
                    continue
                ns = doc["metadata"].get("namespace")
                assert ns in levels, f"{doc['kind']}/{doc['metadata']['name']} in {ns}: no rendered Namespace"
                found = violations(tpl.spec, levels[ns])  # type: ignore[arg-type]
                assert found == [], f"{overlay.relative_to(tmp_path)}: {doc['kind']}/{ns}/{doc['metadata']['name']} under {levels[ns]}: {found}"
                checked += 1
    assert checked > 5


def test_only_declared_components_lower_their_namespace(tmp_path: Path) -> None:
    """In the reference profile: observability (node-exporter), kube-system (Cilium) and local-path-storage, nothing else."""
    platform = load_platform(ROOT / "profiles" / "betelgeuse.yaml")
    files = build_tree(platform).with_manifest()
    lowered = {}
    for rel, text in files.items():
        if rel.startswith("platform/prod/namespace-"):
            doc = yamlio.load(text.decode())
            if doc["metadata"]["labels"][ENFORCE] != "restricted":
                lowered[doc["metadata"]["name"]] = doc["metadata"]["labels"][ENFORCE]
    assert lowered == {"observability": "privileged", "kube-system": "privileged", "local-path-storage": "privileged"}


def test_a_declaration_hinging_on_a_setting_applies_only_while_it_is_on(tmp_path: Path) -> None:
    """ingress-nginx passes restricted behind a load balancer; binding the nodes' ports (hostPort) needs privileged."""
    text = (ROOT / "profiles" / "betelgeuse.yaml").read_text(encoding="utf-8")
    assert "  ingress-nginx: {}\n" in text
    spec = tmp_path / "platform.yaml"
    spec.write_text(text.replace("  ingress-nginx: {}\n", "  ingress-nginx: {settings: {hostPort: true}}\n"), encoding="utf-8")
    doc = yamlio.load(build_tree(load_platform(spec)).files["platform/prod/namespace-ingress-nginx.yaml"].decode())
    assert doc["metadata"]["labels"][ENFORCE] == "privileged"
    assert doc["metadata"]["annotations"]["bbgen.dev/pod-security"].startswith("ingress-nginx: with settings.hostPort")


def test_the_catalog_refuses_a_declaration_on_an_unknown_setting() -> None:
    from pydantic import ValidationError

    from bbgen.catalog import KustomizeComponent

    base = {"name": "x", "description": "x", "delivery": "kustomize", "domain": "x", "namespace": "x"}
    with pytest.raises(ValidationError, match="podSecurity.whenSetting names 'hostPort'"):
        KustomizeComponent.model_validate({**base, "podSecurity": {"level": "privileged", "why": "binds ports", "whenSetting": "hostPort"}})
    with pytest.raises(ValidationError, match="why"):
        KustomizeComponent.model_validate({**base, "podSecurity": {"level": "baseline", "why": ""}})
