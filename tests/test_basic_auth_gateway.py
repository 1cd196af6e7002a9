"""Basic auth under both routing providers: NGINX annotations, or the auth proxy the HTTPRoute targets.

Under `ingress.provider: gateway` the host is served through an NGINX proxy in the
unit's namespace (render/basic_auth.py): the route's backend is the proxy, the proxy
mounts the htpasswd Secret by reference, and the edge's policy admits only the proxy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bbgen import api
from bbgen.kube import yamlio

from support import bbgen

pytestmark = pytest.mark.tools

UNIT = "text-embeddings-inference"
NS = "ai"
PROXY = f"{UNIT}-auth-proxy"
SECRET = f"{UNIT}-basic-auth"
BASE = f"components/{UNIT}/base"
COMMON = """\
name: demo
domain: example.org
kubernetesVersion: "1.34"
gitops: {url: https://git.example.org, owner: platform, repo: demo-gitops}
tls: {acmeEmail: ops@example.org}
storage: {className: local-ssd, provisioner: rancher.io/local-path}
nodePools: {node: {role: control-plane, count: 1}}
"""
GATEWAY = COMMON + f"""\
ingress: {{provider: gateway, className: cilium}}
components:
  cilium: {{settings: {{k8sServiceHost: "192.0.2.10", gatewayHostNetwork: true}}}}
  gateway-api: {{}}
  gateway: {{}}
  cert-manager: {{}}
  cluster-issuers: {{}}
  local-path-provisioner: {{}}
  {UNIT}:
    basicAuth: {{enabled: true, realm: 'Say "friend"'}}
"""
NGINX = COMMON + f"""\
components:
  cilium: {{}}
  ingress-nginx: {{}}
  cert-manager: {{}}
  cluster-issuers: {{}}
  local-path-provisioner: {{}}
  {UNIT}:
    basicAuth: {{enabled: true}}
"""


def _render(tmp_path: Path, text: str) -> tuple[Path, Path]:
    spec = tmp_path / "platform.yaml"
    spec.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    done = bbgen("render", str(spec), "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    return spec, out


def _load(path: Path) -> dict[str, Any]:
    doc = yamlio.load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _policies(out: Path) -> list[dict[str, Any]]:
    return [_load(p) for p in sorted((out / "platform" / "prod").glob("*policy-*.yaml"))]


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _edge_admits(policies: list[dict[str, Any]], labels: dict[str, str]) -> list[str]:
    """Ports Cilium's Gateway (the `ingress` entity) may reach on pods labelled ``labels`` in NS."""
    ports = []
    for pol in policies:
        if pol["kind"] != "CiliumNetworkPolicy" or pol["metadata"]["namespace"] != NS or not _selects(pol["spec"]["endpointSelector"], labels):
            continue
        for rule in pol["spec"]["ingress"]:
            if "ingress" in rule.get("fromEntities", []):
                ports += [p["port"] for tp in rule["toPorts"] for p in tp["ports"]]
    return ports


def _auth_findings(out: Path) -> list[str]:
    report = api.validate(out)
    errors = [str(f) for f in report.findings if f.severity == "error"]
    return errors


def test_gateway_basic_auth_goes_through_the_proxy_and_validates(tmp_path: Path, tools: dict[str, str]) -> None:
    spec, out = _render(tmp_path, GATEWAY)
    route = _load(out / BASE / f"httproute-{UNIT}.yaml")
    assert route["metadata"]["annotations"]["bbgen.dev/auth"] == "basic"
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": PROXY, "port": 8080}]

    service = _load(out / BASE / f"service-{PROXY}.yaml")
    deployment = _load(out / BASE / f"deployment-{PROXY}.yaml")
    pod = deployment["spec"]["template"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert all(pod["metadata"]["labels"].get(k) == v for k, v in service["spec"]["selector"].items())
    backend = _load(out / BASE / f"service-{UNIT}.yaml")
    assert not _selects({"matchLabels": backend["spec"]["selector"]}, pod["metadata"]["labels"])  # the unit's Service never picks the proxy
    # The Secret by reference only: a volume naming it, no value anywhere in the render.
    (volume,) = [v for v in pod["spec"]["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == SECRET
    (container,) = pod["spec"]["containers"]
    assert volume["name"] in {m["name"] for m in container["volumeMounts"]}
    assert not list(out.rglob("secret-*.yaml"))
    assert "$6$" not in "".join(p.read_text(encoding="utf-8") for p in out.rglob("*.yaml"))
    # Restricted Pod Security.
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    assert ":" in container["image"] and not container["image"].endswith(":latest")
    # The config forwards to the unit, checks the mounted file on every path, and quotes the realm.
    config = _load(out / BASE / f"configmap-{PROXY}.yaml")["data"]["nginx.conf"]
    assert f"proxy_pass http://{UNIT}.{NS}.svc.cluster.local:8080;" in config
    assert f"auth_basic_user_file {volume_path(container, volume['name'])}/auth;" in config
    assert 'auth_basic "Say \\"friend\\"";' in config

    # The edge reaches the proxy's port, never the unit's pods; the proxy reaches the unit inside the namespace.
    policies = _policies(out)
    assert _edge_admits(policies, pod["metadata"]["labels"]) == ["8080"]
    assert _edge_admits(policies, backend["spec"]["selector"]) == []
    same_ns = [p for p in policies if p["kind"] == "NetworkPolicy" and p["metadata"]["namespace"] == NS and p["metadata"]["name"] == "allow-same-namespace"]
    assert same_ns and same_ns[0]["spec"]["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert any(p["metadata"]["name"] == "default-deny-ingress" and p["metadata"]["namespace"] == NS for p in policies)

    assert _auth_findings(out) == []

    plan = bbgen("secrets", "plan", str(spec))
    assert plan.returncode == 0, plan.stderr
    rows = [line.split() for line in plan.stdout.splitlines() if SECRET in line]
    assert {(r[0], r[1], r[2], r[3]) for r in rows} == {("prod", NS, SECRET, "auth"), ("prod", NS, SECRET, "password")}


def volume_path(container: dict[str, Any], name: str) -> str:
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == name]
    return str(mount["mountPath"])


def test_nginx_basic_auth_still_uses_the_controller_and_validates(tmp_path: Path, tools: dict[str, str]) -> None:
    spec, out = _render(tmp_path, NGINX)
    ingress = _load(out / BASE / f"ingress-{UNIT}.yaml")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["bbgen.dev/auth"] == "basic"
    assert annotations["nginx.ingress.kubernetes.io/auth-type"] == "basic"
    assert annotations["nginx.ingress.kubernetes.io/auth-secret"] == SECRET
    assert not list(out.rglob(f"*{PROXY}*"))  # no proxy: the controller checks the Secret itself
    assert _auth_findings(out) == []
    plan = bbgen("secrets", "plan", str(spec))
    assert any(line.split()[:3] == ["prod", NS, SECRET] for line in plan.stdout.splitlines()), plan.stdout


def test_a_route_claiming_basic_that_bypasses_the_proxy_is_a_finding(tmp_path: Path, tools: dict[str, str]) -> None:
    _, out = _render(tmp_path, GATEWAY)
    path = out / BASE / f"httproute-{UNIT}.yaml"
    route = _load(path)
    route["spec"]["rules"][0]["backendRefs"] = [{"name": UNIT, "port": 8080}]
    path.write_text(yamlio.dump(route), encoding="utf-8")
    errors = [e for e in _auth_findings(out) if "[auth]" in e]
    assert len(errors) == 1, errors
    assert f"HTTPRoute/{NS}/{UNIT}" in errors[0]
    assert f"sends embeddings.example.org to {NS}/{UNIT}, not to a basic-auth proxy" in errors[0]


def test_a_service_merely_annotated_as_proxy_is_not_enough(tmp_path: Path, tools: dict[str, str]) -> None:
    """The backend Service carrying the proxy annotation does not count: its pods must mount the Secret."""
    _, out = _render(tmp_path, GATEWAY)
    path = out / BASE / f"httproute-{UNIT}.yaml"
    route = _load(path)
    route["spec"]["rules"][0]["backendRefs"] = [{"name": UNIT, "port": 8080}]
    path.write_text(yamlio.dump(route), encoding="utf-8")
    svc_path = out / BASE / f"service-{UNIT}.yaml"
    svc = _load(svc_path)
    svc["metadata"].setdefault("annotations", {})["bbgen.dev/auth-proxy"] = "basic"
    svc_path.write_text(yamlio.dump(svc), encoding="utf-8")
    assert any("[auth]" in e and "not to a basic-auth proxy" in e for e in _auth_findings(out))
