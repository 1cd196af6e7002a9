"""Edge catalog: ingress-nginx, the Gateway API (CRDs + the platform Gateway), cert-manager's routing,
Cilium, and the local-path provisioner, rendered for both routing providers and validated with the real tools."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bbgen import api
from bbgen.errors import SpecError, TemplateError
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from bbgen.spec.loader import read_yaml, validate_model
from bbgen.spec.models import Platform

from support import MINIMAL_SPEC
from catalogkit import load as _load, one as _one

ENVS = """\
environments:
  prod: {}
  staging: {cluster: "https://staging.example.org:6443"}
"""

NGINX_SPEC = MINIMAL_SPEC + ENVS + """\
ingress:
  tcp: [{port: 5432, component: postgres}]
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  cilium: {}
  local-path-provisioner: {}
  postgres: {}
  qdrant: {}
"""

GATEWAY_SPEC = MINIMAL_SPEC + ENVS + """\
ingress:
  provider: gateway
  className: cilium
  tcp: [{port: 5432, component: postgres}]
components:
  cert-manager: {}
  cluster-issuers: {}
  gateway-api: {}
  gateway: {}
  cilium: {settings: {k8sServiceHost: "10.0.0.10"}}
  local-path-provisioner: {}
  postgres: {}
  qdrant: {}
"""


def _render(write_spec: Callable[[str], Path], text: str, out: Path) -> Path:
    write_tree(build_tree(load_platform(write_spec(text))), out)
    return out


def _docs(directory: Path) -> list[dict[str, Any]]:
    return [_load(p) for p in sorted(directory.glob("*.yaml")) if p.name != "kustomization.yaml"]


def _errors(out: Path) -> list[str]:
    report = api.validate(out)
    return [str(f) for f in report.findings if f.severity == "error"]


@pytest.fixture
def nginx(write_spec: Callable[[str], Path], tmp_path: Path) -> Path:
    return _render(write_spec, NGINX_SPEC, tmp_path / "nginx")


@pytest.fixture
def gateway(write_spec: Callable[[str], Path], tmp_path: Path) -> Path:
    return _render(write_spec, GATEWAY_SPEC, tmp_path / "gateway")


# --- nginx ---------------------------------------------------------------------------------------


@pytest.mark.tools
def test_nginx_platform_validates_clean(tools: dict[str, str], nginx: Path) -> None:
    errors = _errors(nginx)
    assert errors == [], "\n".join(errors)


def test_nginx_values_follow_spec(nginx: Path) -> None:
    for env in ("prod", "staging"):
        values = _load(nginx / f"values/ingress-nginx/{env}.yaml")
        assert values["tcp"] == {"5432": "db/postgres:5432"}
        ctl = values["controller"]
        assert ctl["ingressClassResource"]["name"] == "nginx" and ctl["ingressClassResource"]["default"] is True
        assert ctl["admissionWebhooks"]["enabled"] is True
        assert ctl["metrics"]["enabled"] is True
        assert ctl["podAnnotations"]["prometheus.io/port"] == str(ctl["metrics"]["port"])
        assert ctl["service"]["type"] == "LoadBalancer" and ctl["kind"] == "Deployment"
        assert ctl["resources"]["requests"] and ctl["resources"]["limits"]["memory"]
    app = _load(nginx / "apps/prod/ingress-nginx.yaml")
    assert app["spec"]["sources"][0]["targetRevision"] == "4.15.1"
    # The Ingress of a public host uses the class the controller registers.
    ingress = _one(_docs(nginx / "components/qdrant/base"), "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    # HTTP-01 is solved through the same class.
    issuer = _one(_docs(nginx / "components/cluster-issuers/base"), "ClusterIssuer", "letsencrypt-prod")
    assert issuer["spec"]["acme"]["solvers"] == [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]
    # No Gateway API in nginx mode: neither in cert-manager nor in Cilium.
    assert "config" not in _load(nginx / "values/cert-manager/prod.yaml")
    assert _load(nginx / "values/cilium/prod.yaml")["gatewayAPI"] == {"enabled": False}


def test_nginx_host_port_mode(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    text = NGINX_SPEC.replace("  ingress-nginx: {}", "  ingress-nginx: {settings: {hostPort: true}}")
    out = _render(write_spec, text, tmp_path / "hp")
    ctl = _load(out / "values/ingress-nginx/prod.yaml")["controller"]
    assert ctl["kind"] == "DaemonSet" and ctl["hostPort"]["enabled"] is True
    assert ctl["service"]["type"] == "ClusterIP" and ctl["publishService"]["enabled"] is False


def test_nginx_controller_policy_admits_world_and_webhook(nginx: Path) -> None:
    policy = _load(nginx / "platform/prod/networkpolicy-ingress-nginx-allow-ingress-nginx.yaml")
    open_ports = {p["port"] for rule in policy["spec"]["ingress"] if "from" not in rule for p in rule["ports"]}
    assert {80, 443, 8443} <= open_ports
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/instance": "ingress-nginx"}


# --- gateway -------------------------------------------------------------------------------------


def _gateway(out: Path, env: str = "prod", kustomize: str | None = None) -> dict[str, Any]:
    """The environment's Gateway: the base for prod, the built overlay otherwise."""
    if kustomize is None:
        return _one(_docs(out / "components/gateway/base"), "Gateway", "public")
    built = subprocess.run([kustomize, "build", str(out / f"components/gateway/overlays/{env}")], capture_output=True, text=True, check=True).stdout
    return _one(list(yaml.safe_load_all(built)), "Gateway", "public")


def test_gateway_listeners_follow_hosts_and_tcp(gateway: Path) -> None:
    gw = _gateway(gateway)
    assert gw["spec"]["gatewayClassName"] == "cilium"
    assert gw["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    listeners = {item["name"]: item for item in gw["spec"]["listeners"]}
    assert set(listeners) == {"http", "https-qdrant", "tcp-5432"}
    https = listeners["https-qdrant"]
    assert https["hostname"] == "vector.demo.example.org" and https["port"] == 443 and https["protocol"] == "HTTPS"
    assert https["tls"]["mode"] == "Terminate"
    assert https["tls"]["certificateRefs"] == [{"group": "", "kind": "Secret", "name": "qdrant-tls"}]
    assert https["allowedRoutes"]["namespaces"]["selector"]["matchLabels"] == {"kubernetes.io/metadata.name": "vec"}
    tcp = listeners["tcp-5432"]
    assert tcp["protocol"] == "TCP" and tcp["port"] == 5432
    assert tcp["allowedRoutes"]["kinds"] == [{"group": "gateway.networking.k8s.io", "kind": "TCPRoute"}]
    assert tcp["allowedRoutes"]["namespaces"]["selector"]["matchLabels"] == {"kubernetes.io/metadata.name": "db"}
    # Port 80 admits the solver routes of the PostgreSQL certificate (its TLS TCP exposure) beside the Gateway's own.
    http = listeners["http"]["allowedRoutes"]["namespaces"]
    assert listeners["http"]["port"] == 80 and http["from"] == "Selector"
    assert http["selector"]["matchExpressions"] == [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["gateway", "db"]}]


def test_every_route_attaches_to_an_existing_listener(gateway: Path) -> None:
    gw = _gateway(gateway)
    by_name = {item["name"]: item for item in gw["spec"]["listeners"]}
    routes = [d for c in (gateway / "components").iterdir() for d in _docs(c / "base") if d["kind"] in ("HTTPRoute", "TCPRoute")]
    kinds = {d["kind"] for d in routes}
    assert kinds == {"HTTPRoute", "TCPRoute"}
    for route in routes:
        for ref in route["spec"]["parentRefs"]:
            assert (ref["name"], ref["namespace"]) == ("public", "gateway")
            listener = by_name[ref["sectionName"]]  # KeyError: a route to a listener that does not exist
            allowed = listener["allowedRoutes"]
            assert {"group": "gateway.networking.k8s.io", "kind": route["kind"]} in allowed["kinds"]
            if allowed["namespaces"]["from"] == "Selector" and "matchLabels" in allowed["namespaces"]["selector"]:
                assert allowed["namespaces"]["selector"]["matchLabels"]["kubernetes.io/metadata.name"] == route["metadata"]["namespace"]
            elif allowed["namespaces"]["from"] == "Selector":
                assert route["metadata"]["namespace"] in allowed["namespaces"]["selector"]["matchExpressions"][0]["values"]
            else:
                assert route["metadata"]["namespace"] == "gateway"
        if route["kind"] == "HTTPRoute" and route["metadata"]["name"] != "https-redirect":
            listener = by_name[route["spec"]["parentRefs"][0]["sectionName"]]
            assert route["spec"]["hostnames"] == [listener["hostname"]]
    redirect = _one(_docs(gateway / "components/gateway/base"), "HTTPRoute", "https-redirect")
    assert redirect["spec"]["rules"][0]["filters"][0]["requestRedirect"] == {"scheme": "https", "statusCode": 301}


@pytest.mark.tools
def test_staging_gateway_uses_staging_hosts_and_issuer(tools: dict[str, str], gateway: Path) -> None:
    gw = _gateway(gateway, "staging", tools["kustomize"])
    assert gw["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    hosts = {item["name"]: item.get("hostname") for item in gw["spec"]["listeners"]}
    assert hosts["https-qdrant"] == "vector.staging.demo.example.org"


def test_gateway_mode_wires_cert_manager_and_cilium(gateway: Path) -> None:
    for name in ("letsencrypt-prod", "letsencrypt-staging"):
        issuer = _one(_docs(gateway / "components/cluster-issuers/base"), "ClusterIssuer", name)
        (solver,) = issuer["spec"]["acme"]["solvers"]
        refs = solver["http01"]["gatewayHTTPRoute"]["parentRefs"]
        assert refs == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "gateway", "sectionName": "http"}]
    config = _load(gateway / "values/cert-manager/prod.yaml")["config"]
    assert config["enableGatewayAPI"] is True and config["kind"] == "ControllerConfiguration"
    cilium = _load(gateway / "values/cilium/prod.yaml")
    assert cilium["gatewayAPI"]["enabled"] is True
    assert cilium["kubeProxyReplacement"] is True and cilium["k8sServiceHost"] == "10.0.0.10" and cilium["k8sServicePort"] == 6443
    # The Gateway TLS Secrets Cilium syncs stay in kube-system, beside the agent (not in cilium-secrets).
    assert cilium["gatewayAPI"]["secretsNamespace"] == {"create": False, "name": "kube-system", "sync": True}


def test_gateway_api_crds_come_from_upstream_git(gateway: Path) -> None:
    app = _load(gateway / "apps/prod/gateway-api.yaml")
    assert app["spec"]["source"] == {"repoURL": "https://github.com/kubernetes-sigs/gateway-api", "path": "config/crd/standard", "targetRevision": "v1.6.1"}
    assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"]
    gw_app = _load(gateway / "apps/prod/gateway.yaml")
    assert int(gw_app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) > int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
    edge = _one(_docs(gateway / "projects" / "prod"), "AppProject", "prod-edge")
    assert "https://github.com/kubernetes-sigs/gateway-api" in edge["spec"]["sourceRepos"]
    whitelisted = {(w["group"], w["kind"]) for w in edge["spec"]["clusterResourceWhitelist"]}
    assert ("apiextensions.k8s.io", "CustomResourceDefinition") in whitelisted
    assert ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") in whitelisted


def test_gateway_provider_without_api_server_address_is_an_error(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    text = GATEWAY_SPEC.replace('  cilium: {settings: {k8sServiceHost: "10.0.0.10"}}', "  cilium: {}")
    with pytest.raises(SpecError) as caught:  # the catalog's settingRules refuse it at the spec line
        _render(write_spec, text, tmp_path / "x")
    (issue,) = caught.value.issues
    assert issue.path == "components.cilium" and "needs settings.k8sServiceHost of 'cilium'" in issue.message
    with pytest.raises(TemplateError, match="k8sServiceHost"):  # the template keeps its guard
        build_tree(validate_model(Platform, read_yaml(write_spec(text))))


@pytest.mark.tools
def test_gateway_platform_validates_clean(tools: dict[str, str], gateway: Path) -> None:
    errors = _errors(gateway)
    assert errors == [], "\n".join(errors)


# --- TCP exposures follow the spec everywhere ------------------------------------------------------


def test_tcp_port_change_moves_listener_route_and_configmap(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    moved = "  tcp: [{port: 15432, component: postgres, targetPort: 5432}]"
    gw = _render(write_spec, GATEWAY_SPEC.replace("  tcp: [{port: 5432, component: postgres}]", moved), tmp_path / "g")
    listeners = {item["name"]: item for item in _gateway(gw)["spec"]["listeners"]}
    assert "tcp-5432" not in listeners and listeners["tcp-15432"]["port"] == 15432
    route = _one(_docs(gw / "components/postgres/base"), "TCPRoute")
    assert route["spec"]["parentRefs"][0]["sectionName"] == "tcp-15432"
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "postgres", "port": 5432}]

    ng = _render(write_spec, NGINX_SPEC.replace("  tcp: [{port: 5432, component: postgres}]", moved), tmp_path / "n")
    assert _load(ng / "values/ingress-nginx/prod.yaml")["tcp"] == {"15432": "db/postgres:5432"}

    none = _render(write_spec, GATEWAY_SPEC.replace("  tcp: [{port: 5432, component: postgres}]\n", ""), tmp_path / "none")
    assert [item["name"] for item in _gateway(none)["spec"]["listeners"]] == ["http", "https-qdrant"]
    assert not [d for d in _docs(none / "components/postgres/base") if d["kind"] == "TCPRoute"]


# --- Cilium ------------------------------------------------------------------------------------


def test_cilium_values(nginx: Path) -> None:
    values = _load(nginx / "values/cilium/prod.yaml")
    assert values["encryption"] == {"enabled": True, "type": "wireguard", "nodeEncryption": True}
    assert values["hubble"]["relay"]["enabled"] is True and values["hubble"]["ui"]["enabled"] is False
    assert values["hubble"]["tls"]["auto"]["method"] == "cronJob"  # helm-generated certs would churn under Argo CD
    assert values["kubeProxyReplacement"] is False and "k8sServiceHost" not in values
    assert values["prometheus"]["enabled"] is True and values["operator"]["prometheus"]["enabled"] is True
    assert values["operator"]["replicas"] == 1
    # kube-system is never default-denied.
    assert not list((nginx / "platform/prod").glob("networkpolicy-kube-system-*"))
    app = _load(nginx / "apps/prod/cilium.yaml")
    assert app["spec"]["project"] == "prod-networking" and app["spec"]["destination"]["namespace"] == "kube-system"
    # The chart's own secrets namespace (tls.secretsNamespace, with its Roles) is admitted, or Argo CD refuses the sync.
    project = _one(_docs(nginx / "projects" / "prod"), "AppProject", "prod-networking")
    assert {d["namespace"] for d in project["spec"]["destinations"]} == {"kube-system", "cilium-secrets"}
    assert {"group": "", "kind": "Namespace"} in project["spec"]["clusterResourceWhitelist"]
    readme = (nginx / "README.md").read_text(encoding="utf-8")
    assert "helm upgrade --install cilium cilium --repo https://helm.cilium.io --version 1.20.2" in readme


# --- local-path-provisioner ------------------------------------------------------------------------


def test_local_path_provisioner(nginx: Path) -> None:
    docs = _docs(nginx / "components/local-path-provisioner/base")
    assert not [d for d in docs if d["kind"] == "StorageClass"]  # the platform renders the class
    deploy = _one(docs, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "docker.io/rancher/local-path-provisioner:v0.0.37"
    args = container["command"]
    assert args[args.index("--provisioner-name") + 1] == "rancher.io/local-path"
    assert args[args.index("--configmap-name") + 1] == "local-path-config"
    sa = args[args.index("--service-account-name") + 1]
    assert pod["serviceAccountName"] == sa and _one(docs, "ServiceAccount", sa)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["limits"]["memory"]

    cm = _one(docs, "ConfigMap", "local-path-config")
    config = json.loads(cm["data"]["config.json"])
    assert config == {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["/mnt/local-ssd"]}]}
    assert cm["data"]["setup"].startswith("#!/bin/sh") and '"$VOL_DIR"' in cm["data"]["setup"]
    assert 'rm -rf "$VOL_DIR"' in cm["data"]["teardown"]
    helper = yaml.safe_load(cm["data"]["helperPod.yaml"])
    assert helper["kind"] == "Pod" and helper["spec"]["containers"][0]["image"] == args[args.index("--helper-image") + 1]
    assert helper["spec"]["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/etc/config/"]["name"] in {v["name"] for v in pod["volumes"] if v.get("configMap", {}).get("name") == "local-path-config"}

    cluster_role = _one(docs, "ClusterRole")
    writable = {r for rule in cluster_role["rules"] if "create" in rule["verbs"] for r in rule["resources"]}
    assert writable == {"persistentvolumes", "events"}  # pods are written only in its own namespace
    assert all("*" not in rule["verbs"] for rule in cluster_role["rules"])
    role = _one(docs, "Role")
    assert role["metadata"]["namespace"] == "local-path-storage" and role["rules"][0]["resources"] == ["pods"]
    sc = _load(nginx / "platform/prod/storageclass-local-ssd.yaml")
    assert sc["provisioner"] == "rancher.io/local-path"


def test_local_path_settings_flow_into_config(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    text = NGINX_SPEC.replace("  local-path-provisioner: {}", '  local-path-provisioner: {settings: {path: "/data/ssd"}}')
    out = _render(write_spec, text, tmp_path / "lp")
    cm = _one(_docs(out / "components/local-path-provisioner/base"), "ConfigMap", "local-path-config")
    assert '"/data/ssd"' in cm["data"]["config.json"]
