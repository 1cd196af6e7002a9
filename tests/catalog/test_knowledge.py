"""Knowledge catalog: Neo4j (graph) and Text Embeddings Inference (ai), rendered with Bolt exposed over TCP,
validated with the real tools, and checked for the wiring a consumer relies on."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bbgen import api
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform

from support import MINIMAL_SPEC
from catalogkit import one as _one

ENVS = """\
environments:
  prod: {}
  staging: {cluster: "https://staging.example.org:6443"}
"""

COMPONENTS = """\
components:
  cert-manager: {}
  cluster-issuers: {}
  local-path-provisioner: {}
  neo4j: {}
  text-embeddings-inference: {public: true}
apps:
  graph-api:
    image: registry.example.org/graph-api:1.0.0
    namespace: hadith
    port: 8000
    dependsOn: [neo4j, text-embeddings-inference]
"""

NGINX_SPEC = MINIMAL_SPEC + ENVS + """\
ingress:
  tcp: [{port: 7687, component: neo4j}]
""" + COMPONENTS.replace("  local-path-provisioner: {}\n", "  local-path-provisioner: {}\n  ingress-nginx: {}\n")

GATEWAY_SPEC = MINIMAL_SPEC + ENVS + """\
ingress:
  provider: gateway
  className: cilium
  tcp: [{port: 7687, component: neo4j}]
""" + COMPONENTS.replace(
    "  local-path-provisioner: {}\n",
    "  local-path-provisioner: {}\n  gateway-api: {}\n  gateway: {}\n  cilium: {settings: {k8sServiceHost: \"10.0.0.10\"}}\n",
)

# Bolt not exposed, settings overridden: they must reach the containers.
INTERNAL_SPEC = MINIMAL_SPEC + ENVS + """\
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  local-path-provisioner: {}
  neo4j: {settings: {heapSize: 2G, pageCacheSize: 4G}}
  text-embeddings-inference:
    public: true
    settings: {model: intfloat/multilingual-e5-small, revision: abc123, autoTruncate: false}
"""


def _render(write_spec: Callable[..., Path], text: str, out: Path, name: str) -> Path:
    write_tree(build_tree(load_platform(write_spec(text, name=name))), out)
    return out


def _docs(directory: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.yaml")) if p.name != "kustomization.yaml"]


def _errors(out: Path) -> list[str]:
    return [str(f) for f in api.validate(out).findings if f.severity == "error"]


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _container(sts: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == name)


@pytest.fixture
def nginx(write_spec: Callable[..., Path], tmp_path: Path) -> Path:
    return _render(write_spec, NGINX_SPEC, tmp_path / "nginx", "nginx.yaml")


@pytest.fixture
def gateway(write_spec: Callable[..., Path], tmp_path: Path) -> Path:
    return _render(write_spec, GATEWAY_SPEC, tmp_path / "gateway", "gateway.yaml")


@pytest.fixture
def internal(write_spec: Callable[..., Path], tmp_path: Path) -> Path:
    return _render(write_spec, INTERNAL_SPEC, tmp_path / "internal", "internal.yaml")


@pytest.mark.tools
@pytest.mark.parametrize("which", ["nginx", "gateway", "internal"])
def test_validates_clean(tools: dict[str, str], which: str, request: pytest.FixtureRequest) -> None:
    out = request.getfixturevalue(which)
    errors = _errors(out)
    assert errors == [], "\n".join(errors)


def _pod_security(sts: dict[str, Any], uid: int) -> None:
    pod = sts["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == uid
    assert pod["securityContext"]["fsGroup"] == uid
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for c in pod["containers"] + pod.get("initContainers", []):
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["readOnlyRootFilesystem"] is True, c["name"]
        assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]


def _ports_agree(docs: list[dict[str, Any]], sts: dict[str, Any], container: str) -> None:
    """Every Service targetPort names a container port; every probe port is a container port."""
    c = _container(sts, container)
    named = {p["name"]: p["containerPort"] for p in c["ports"]}
    for svc in (d for d in docs if d["kind"] == "Service"):
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in named and named[port["targetPort"]] == port["port"], (svc["metadata"]["name"], port)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        spec = c[probe]
        target = (spec.get("httpGet") or spec.get("tcpSocket") or {}).get("port")
        if target is not None:
            assert target in named, (probe, target)


# --- Neo4j ---------------------------------------------------------------------------------------


def test_neo4j_statefulset(nginx: Path) -> None:
    docs = _docs(nginx / "components/neo4j/base")
    sts = _one(docs, "StatefulSet", "neo4j")
    assert sts["metadata"]["namespace"] == "graph"
    _pod_security(sts, 7474)
    _ports_agree(docs, sts, "neo4j")
    c = _container(sts, "neo4j")
    assert c["image"].startswith("docker.io/library/neo4j:202") and not c["image"].endswith("-enterprise")
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"http": 7474, "bolt": 7687}
    assert c["startupProbe"]["tcpSocket"]["port"] == "bolt"
    assert c["readinessProbe"]["httpGet"]["port"] == "http"
    env = _env(c)
    # The plain password comes from the generated Secret; NEO4J_AUTH is assembled by the wrapper, never stored.
    assert env["ADMIN_PASSWORD"] == {"secretKeyRef": {"name": "neo4j-credentials", "key": "password"}}
    script = c["command"][-1]
    assert 'NEO4J_AUTH="neo4j/${ADMIN_PASSWORD}"' in script and "unset ADMIN_PASSWORD" in script
    assert script.rstrip().endswith("exec tini -g -- /startup/docker-entrypoint.sh neo4j")
    # A non-NEO4J_ name: the entrypoint turns every NEO4J_* variable into a neo4j.conf line.
    assert not any(k.startswith("NEO4J_") and "PASSWORD" in k.upper() for k in env)
    assert env["NEO4J_server_memory_heap_max__size"] == env["NEO4J_server_memory_heap_initial__size"] == "1G"
    assert env["NEO4J_server_memory_pagecache_size"] == "1G"
    # Read-only root: the entrypoint rewrites conf/, so it is an emptyDir seeded by the init container.
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts["/var/lib/neo4j/conf"] == "conf" and mounts["/data"] == "data" and mounts["/tmp"] == "tmp"
    init = sts["spec"]["template"]["spec"]["initContainers"][0]
    assert init["image"] == c["image"] and "/var/lib/neo4j/conf/." in init["command"][-1]
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["storageClassName"] == "local-ssd" and claim["spec"]["resources"]["requests"]["storage"] == "50Gi"


def test_neo4j_bolt_exposed_over_tcp(nginx: Path) -> None:
    docs = _docs(nginx / "components/neo4j/base")
    sts = _one(docs, "StatefulSet", "neo4j")
    env = _env(_container(sts, "neo4j"))
    # The Browser, loaded from https://neo4j.<domain>, connects to the advertised Bolt address.
    assert env["NEO4J_server_bolt_advertised__address"] == "neo4j.demo.example.org:7687"
    # The staging overlay advertises staging's host.
    staging = (nginx / "components/neo4j/overlays/staging/kustomization.yaml").read_text(encoding="utf-8")
    assert "neo4j.staging.demo.example.org:7687" in staging
    # The ingress controller's TCP map points at the Service's bolt port.
    values = yaml.safe_load((nginx / "values/ingress-nginx/prod.yaml").read_text(encoding="utf-8"))
    assert values["tcp"] == {"7687": "graph/neo4j:7687"}
    svc = _one(docs, "Service", "neo4j")
    assert {p["name"]: p["port"] for p in svc["spec"]["ports"]} == {"http": 7474, "bolt": 7687}
    # NetworkPolicies: the controller reaches Bolt (and the Browser) on the Neo4j pods, and its own 7687 is open.
    policy = yaml.safe_load((nginx / "platform/prod/networkpolicy-graph-allow-neo4j.yaml").read_text(encoding="utf-8"))
    from_nginx = [r for r in policy["spec"]["ingress"] if any(p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == "ingress-nginx" for p in r.get("from", []))]
    assert from_nginx and {p["port"] for p in from_nginx[0]["ports"]} >= {7474, 7687}
    nginx_policy = yaml.safe_load((nginx / "platform/prod/networkpolicy-ingress-nginx-allow-ingress-nginx.yaml").read_text(encoding="utf-8"))
    assert any({"protocol": "TCP", "port": 7687} in r.get("ports", []) and "from" not in r for r in nginx_policy["spec"]["ingress"])
    # The dependant (another namespace) reaches Bolt too.
    dependant_rule = [r for r in policy["spec"]["ingress"] if any(p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == "hadith" for p in r.get("from", []))]
    assert dependant_rule and {p["port"] for p in dependant_rule[0]["ports"]} == {7474, 7687}


def test_neo4j_bolt_tls_with_nginx(nginx: Path) -> None:
    docs = _docs(nginx / "components/neo4j/base")
    cert = _one(docs, "Certificate", "neo4j-tcp")
    assert cert["spec"]["dnsNames"] == ["neo4j.demo.example.org"]
    assert cert["spec"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt-prod"}
    assert cert["spec"]["privateKey"]["encoding"] == "PKCS8"
    sts = _one(docs, "StatefulSet", "neo4j")
    c = _container(sts, "neo4j")
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    secret = volumes["bolt-certificate"]["secret"]
    assert secret["secretName"] == cert["spec"]["secretName"] and secret["optional"] is True
    assert {i["path"] for i in secret["items"]} == {"private.key", "public.crt"}
    cert_dir = _env(c)["BOLT_CERT_DIR"]
    assert {m["mountPath"]: m["name"] for m in c["volumeMounts"]}[cert_dir] == "bolt-certificate"
    script = c["command"][-1]
    assert "NEO4J_server_bolt_tls__level=REQUIRED" in script and "NEO4J_dbms_ssl_policy_bolt_enabled=true" in script
    # A renewed (or first issued) certificate fails the liveness probe, and the restart loads it.
    assert "cmp -s" in c["livenessProbe"]["exec"]["command"][-1]


def test_neo4j_gateway_tcp_route_with_tls(gateway: Path) -> None:
    docs = _docs(gateway / "components/neo4j/base")
    route = _one(docs, "TCPRoute")
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "neo4j", "port": 7687}]
    # Bolt TLS under the gateway provider too: the certificate's HTTP-01 solver runs in graph, through the Gateway.
    cert = _one(docs, "Certificate", "neo4j-tcp")
    assert cert["spec"]["dnsNames"] == ["neo4j.demo.example.org"]
    env = _env(_container(_one(docs, "StatefulSet", "neo4j"), "neo4j"))
    assert env["NEO4J_server_bolt_advertised__address"] == "neo4j.demo.example.org:7687"
    assert env["BOLT_CERT_DIR"] == "/certificates/bolt"
    gateway_doc = next(d for d in _docs(gateway / "components/gateway/base") if d["kind"] == "Gateway")
    http = next(lst for lst in gateway_doc["spec"]["listeners"] if lst["name"] == "http")
    values = http["allowedRoutes"]["namespaces"]["selector"]["matchExpressions"][0]["values"]
    assert "graph" in values and gateway_doc["metadata"]["namespace"] in values
    solver = yaml.safe_load((gateway / "platform/prod/ciliumnetworkpolicy-graph-allow-acme-http01-solver.yaml").read_text(encoding="utf-8"))
    assert solver["spec"]["ingress"] == [{"fromEntities": ["ingress"], "toPorts": [{"ports": [{"port": "8089", "protocol": "TCP"}]}]}]
    # Cilium load-balances TCPRoutes in the datapath: Bolt admits the outside world, the Browser only the proxy.
    policy = yaml.safe_load((gateway / "platform/prod/ciliumnetworkpolicy-graph-allow-neo4j-from-gateway.yaml").read_text(encoding="utf-8"))
    by_port = {p["port"]: rule["fromEntities"] for rule in policy["spec"]["ingress"] for tp in rule["toPorts"] for p in tp["ports"]}
    assert "world" in by_port["7687"] and by_port["7474"] == ["ingress"]


def test_neo4j_internal_only(internal: Path) -> None:
    docs = _docs(internal / "components/neo4j/base")
    assert not [d for d in docs if d["kind"] == "Certificate"]
    c = _container(_one(docs, "StatefulSet", "neo4j"), "neo4j")
    env = _env(c)
    assert "NEO4J_server_bolt_advertised__address" not in env
    assert env["NEO4J_server_memory_heap_max__size"] == "2G" and env["NEO4J_server_memory_pagecache_size"] == "4G"
    assert "ssl" not in c["command"][-1]


# --- Text Embeddings Inference -------------------------------------------------------------------


def test_tei_statefulset(nginx: Path) -> None:
    docs = _docs(nginx / "components/text-embeddings-inference/base")
    sts = _one(docs, "StatefulSet", "text-embeddings-inference")
    assert sts["metadata"]["namespace"] == "ai"
    _pod_security(sts, 65532)
    _ports_agree(docs, sts, "tei")
    c = _container(sts, "tei")
    assert c["image"].startswith("ghcr.io/huggingface/text-embeddings-inference:cpu-")
    args = c["args"]

    def flag(name: str) -> str:
        return args[args.index(name) + 1]

    assert flag("--model-id") == "BAAI/bge-m3"
    assert int(flag("--port")) == next(p["containerPort"] for p in c["ports"] if p["name"] == "http")
    assert flag("--hostname") == "0.0.0.0"  # Kubernetes' HOSTNAME (the pod name) must not pick the listen address
    assert flag("--huggingface-hub-cache") == "/data"
    assert "--auto-truncate" in args and "--revision" not in args
    meta = sts["spec"]["template"]["metadata"]["annotations"]
    assert meta["prometheus.io/port"] == flag("--prometheus-port")
    # The HF token is optional: a missing Secret must not keep the pod from starting.
    assert _env(c)["HF_TOKEN"]["secretKeyRef"] == {"name": "text-embeddings-inference-hf", "key": "token", "optional": True}
    # Model download on first start: the startup probe allows well over ten minutes.
    startup = c["startupProbe"]
    assert startup["httpGet"]["path"] == "/health" and startup["periodSeconds"] * startup["failureThreshold"] >= 900
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts["/data"] == "data" and mounts["/tmp"] == "tmp"
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["storageClassName"] == "local-ssd" and claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    ingress = _one(docs, "Ingress")
    assert ingress["spec"]["rules"][0]["host"] == "embeddings.demo.example.org"


def test_tei_settings_flow_into_args(internal: Path) -> None:
    docs = _docs(internal / "components/text-embeddings-inference/base")
    args = _container(_one(docs, "StatefulSet", "text-embeddings-inference"), "tei")["args"]
    assert args[args.index("--model-id") + 1] == "intfloat/multilingual-e5-small"
    assert args[args.index("--revision") + 1] == "abc123"
    assert "--auto-truncate" not in args


# --- a consumer ----------------------------------------------------------------------------------


def test_dependant_gets_connection_env(nginx: Path) -> None:
    deployment = _one(_docs(nginx / "components/graph-api/base"), "Deployment")
    env = _env(deployment["spec"]["template"]["spec"]["containers"][0])
    # Bolt is exposed with TLS required: the dependant encrypts too (bolt+ssc: the certificate names the public host).
    assert env["NEO4J_URI"] == "bolt+ssc://neo4j.graph.svc.cluster.local:7687"
    assert env["NEO4J_USERNAME"] == "neo4j"
    assert env["NEO4J_PASSWORD"] == {"secretKeyRef": {"name": "neo4j-credentials", "key": "password"}}
    assert env["EMBEDDINGS_URL"] == "http://text-embeddings-inference.ai.svc.cluster.local:8080"
    assert env["EMBEDDINGS_MODEL"] == "BAAI/bge-m3"
