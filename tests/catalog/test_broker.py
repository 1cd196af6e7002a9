"""The broker domain: Kafka 4 (KRaft, combined broker+controller StatefulSet) and Kafbat UI on it,
signing in through Keycloak when the spec asks for it."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bbgen import api
from bbgen.render.build import build_tree
from bbgen.render.tree import Tree
from bbgen.render.write import write_tree
from bbgen.render.inventory import inventory_for
from bbgen.spec import load_platform

from support import MINIMAL_SPEC
from catalogkit import tree_base as _base, tree_doc as _doc

BASE = MINIMAL_SPEC + """\
environments:
  prod: {}
  staging: {cluster: "https://staging.example.org:6443"}
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  kafka: {}
  kafka-ui: {public: true}
"""

# Three nodes, a custom heap, and Kafbat UI signing in through Keycloak.
SSO = MINIMAL_SPEC + """\
environments:
  prod: {}
  staging: {cluster: "https://staging.example.org:6443"}
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  postgres: {}
  keycloak: {}
  kafka:
    replicas: 3
    storage: 200Gi
    settings: {heapOpts: "-Xms2g -Xmx2g", logRetentionHours: 72}
  kafka-ui: {oidc: {}}
"""

Doc = dict[str, Any]
HEADLESS = "kafka-headless.broker.svc.cluster.local"


def _tree(write_spec: Callable[[str], Path], text: str) -> Tree:
    return build_tree(load_platform(write_spec(text)))


def _container(workload: Doc) -> Doc:
    return workload["spec"]["template"]["spec"]["containers"][0]


def _env(container: Doc) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def _service_ports(svc: Doc) -> dict[str, Doc]:
    return {p["name"]: p for p in svc["spec"]["ports"]}


# --- the whole thing validates -------------------------------------------------------------


@pytest.mark.tools
@pytest.mark.usefixtures("tools")
@pytest.mark.parametrize("spec", [BASE, SSO], ids=["single", "three-nodes-sso"])
def test_renders_and_validates_clean(write_spec: Callable[[str], Path], tmp_path: Path, spec: str) -> None:
    out = tmp_path / "out"
    write_tree(_tree(write_spec, spec), out)
    report = api.validate(out)
    errors = [f for f in report.findings if f.severity == "error"]
    assert not errors, "\n".join(f"{f.check} {f.file} {f.resource}: {f.message}" for f in errors)
    if spec is SSO:
        assert "broker/oidc-kafka-ui" in report.required_secrets


# --- Kafka ---------------------------------------------------------------------------------


def test_bootstrap_address_is_the_rendered_service(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec, BASE)
    kafka = _base(tree, "kafka")
    svc = kafka[("Service", "kafka")]
    port = _service_ports(svc)["kafka"]
    sts = kafka[("StatefulSet", "kafka")]
    container = _container(sts)
    container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port["targetPort"] == "kafka" and container_ports["kafka"] == port["port"] == 9092
    assert svc["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"]
    expected = f"{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc.cluster.local:{port['port']}"
    assert expected == "kafka.broker.svc.cluster.local:9092"
    # what Kafbat UI (and every other dependant) is given
    ui = _env(_container(_base(tree, "kafka-ui")[("Deployment", "kafka-ui")]))
    assert ui["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == expected
    assert ui["KAFKA_CLUSTERS_0_NAME"] == "demo-prod"
    # the listeners the brokers open are the ports the Services name
    props = _properties(_env(container)["SERVER_PROPERTIES"])
    assert props["listeners"] == f"CLIENT://:{container_ports['kafka']},CONTROLLER://:{container_ports['controller']}"
    assert props["process.roles"] == "broker,controller"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert "zookeeper.connect" not in props


def test_single_node_defaults(write_spec: Callable[[str], Path]) -> None:
    sts = _base(_tree(write_spec, BASE), "kafka")[("StatefulSet", "kafka")]
    assert sts["spec"]["replicas"] == 1
    props = _properties(_env(_container(sts))["SERVER_PROPERTIES"])
    assert props["controller.quorum.voters"] == f"0@kafka-0.{HEADLESS}:9093"
    for key in ("default.replication.factor", "offsets.topic.replication.factor", "transaction.state.log.replication.factor", "min.insync.replicas"):
        assert props[key] == "1", key


def test_three_nodes_form_a_quorum_from_pod_dns_names(write_spec: Callable[[str], Path]) -> None:
    kafka = _base(_tree(write_spec, SSO), "kafka")
    sts = kafka[("StatefulSet", "kafka")]
    headless = kafka[("Service", "kafka-headless")]
    assert sts["spec"]["replicas"] == 3
    assert sts["spec"]["serviceName"] == "kafka-headless"
    assert sts["spec"]["podManagementPolicy"] == "Parallel"  # ordered start would wait forever for a quorum
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert _service_ports(headless)["controller"]["port"] == 9093
    env = _env(_container(sts))
    props = _properties(env["SERVER_PROPERTIES"])
    voters = props["controller.quorum.voters"].split(",")
    assert voters == [f"{i}@kafka-{i}.{HEADLESS}:9093" for i in range(3)]
    assert props["default.replication.factor"] == props["offsets.topic.replication.factor"] == "3"
    assert props["min.insync.replicas"] == props["transaction.state.log.min.isr"] == "2"
    # each pod advertises its own stable name; node.id is the ordinal (the pod-name suffix)
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["ADVERTISED_HOST"] == f"$(POD_NAME).{HEADLESS}"
    script = _container(sts)["command"][-1]
    assert 'node_id="${POD_NAME##*-}"' in script
    assert "advertised.listeners=CLIENT://%s:%s,CONTROLLER://%s:%s" in script
    assert "kafka-storage.sh format" in script and "--ignore-formatted" in script
    pdb = kafka[("PodDisruptionBudget", "kafka")]
    assert pdb["spec"]["maxUnavailable"] == 1 and pdb["spec"]["selector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"]


def test_settings_flow_into_the_broker(write_spec: Callable[[str], Path]) -> None:
    sts = _base(_tree(write_spec, SSO), "kafka")[("StatefulSet", "kafka")]
    env = _env(_container(sts))
    assert env["KAFKA_HEAP_OPTS"] == "-Xms2g -Xmx2g"
    assert _properties(env["SERVER_PROPERTIES"])["log.retention.hours"] == "72"
    assert env["KAFKA_LOG4J_OPTS"] == "-Dlog4j2.configurationFile=/tmp/kafka/log4j2.properties"
    assert "rootLogger.level = INFO" in env["LOG4J2_PROPERTIES"]


def _cluster_id_ok(value: str) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", value), value
    raw = base64.urlsafe_b64decode(value + "==")
    assert len(raw) == 16
    assert base64.urlsafe_b64encode(raw).decode().rstrip("=") == value  # Kafka's Uuid round-trips it unchanged


def test_cluster_id_is_fixed_and_valid(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec, BASE)
    env = _env(_container(_base(tree, "kafka")[("StatefulSet", "kafka")]))
    _cluster_id_ok(env["CLUSTER_ID"])
    assert env["CLUSTER_ID"] == _env(_container(_base(_tree(write_spec, BASE), "kafka")[("StatefulSet", "kafka")]))["CLUSTER_ID"]
    # staging formats its own cluster: the overlay patches a different id in
    patches = _doc(tree, "components/kafka/overlays/staging/kustomization.yaml").get("patches", [])
    staging_ids = [op["value"] for p in patches for op in yaml.safe_load(p["patch"]) if isinstance(op.get("value"), str) and op["value"].startswith("staging-")]
    assert len(staging_ids) == 1 and staging_ids[0] != env["CLUSTER_ID"]
    _cluster_id_ok(staging_ids[0])
    override = BASE.replace("kafka: {}", "kafka: {settings: {clusterId: MkU3OEVBNTcwNTJENDM2Qk}}")
    env = _env(_container(_base(_tree(write_spec, override), "kafka")[("StatefulSet", "kafka")]))
    assert env["CLUSTER_ID"] == "MkU3OEVBNTcwNTJENDM2Qk"


def test_kafka_pod_is_locked_down_with_logs_on_local_ssd(write_spec: Callable[[str], Path]) -> None:
    sts = _base(_tree(write_spec, SSO), "kafka")[("StatefulSet", "kafka")]
    pod = sts["spec"]["template"]["spec"]
    c = _container(sts)
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    assert c["resources"]["limits"]["memory"] and c["resources"]["requests"]["cpu"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["tcpSocket"]["port"] == "kafka"
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["data"] == "/var/lib/kafka/data" and mounts["tmp"] == "/tmp"
    log_dirs = _properties(_env(c)["SERVER_PROPERTIES"])["log.dirs"]
    assert log_dirs.startswith(mounts["data"] + "/")  # a subdirectory: never the volume root with its lost+found
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["storageClassName"] == "local-ssd"
    assert claim["spec"]["resources"]["requests"]["storage"] == "200Gi"


# --- Kafbat UI -----------------------------------------------------------------------------


def test_ui_without_oidc_has_no_login_wiring(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec, BASE)
    ui = _base(tree, "kafka-ui")
    env = _env(_container(ui[("Deployment", "kafka-ui")]))
    assert env["AUTH_TYPE"] == "DISABLED"
    assert not [k for k in env if k.startswith("AUTH_OAUTH2_")]
    ingress = ui[("Ingress", "kafka-ui")]
    assert ingress["spec"]["rules"][0]["host"] == "broker.demo.example.org"
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"] == {"name": "kafka-ui", "port": {"name": "http"}}


def test_ui_signs_in_through_keycloak(write_spec: Callable[[str], Path]) -> None:
    path = write_spec(SSO)
    platform = load_platform(path)
    tree = build_tree(platform)
    env = _env(_container(_base(tree, "kafka-ui")[("Deployment", "kafka-ui")]))
    assert env["AUTH_TYPE"] == "OAUTH2"
    assert env["AUTH_OAUTH2_CLIENT_KEYCLOAK_CLIENTID"] == "kafka-ui"
    assert env["AUTH_OAUTH2_CLIENT_KEYCLOAK_CLIENTSECRET"] == {"secretKeyRef": {"name": "oidc-kafka-ui", "key": "client-secret"}}
    assert env["AUTH_OAUTH2_CLIENT_KEYCLOAK_ISSUERURI"] == f"https://auth.demo.example.org/realms/{platform.sso_realm()}"
    assert env["AUTH_OAUTH2_CLIENT_KEYCLOAK_REDIRECTURI"] == "https://broker.demo.example.org/login/oauth2/code/keycloak"
    assert "openid" in env["AUTH_OAUTH2_CLIENT_KEYCLOAK_SCOPE"].split(",")
    assert env["SERVER_FORWARDHEADERSSTRATEGY"] == "framework"
    # Keycloak's realm knows the client and redirects back to the broker host
    realm_files = [p for p in tree.files if p.startswith("components/keycloak/base/") and "realm" in p]
    realms = [yaml.safe_load(tree.files[p]) for p in realm_files]
    assert realms and any("kafka-ui" in str(r) and "https://broker.demo.example.org/*" in str(r) for r in realms)
    # the client secret is generated in the UI's namespace (and Keycloak's)
    refs = {s.ref for s in inventory_for(platform).secrets}
    assert "broker/oidc-kafka-ui" in refs
    # keycloak joins the UI's dependencies: it syncs after both
    waves = {n: int(_doc(tree, f"apps/prod/{n}.yaml")["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for n in ("kafka", "kafka-ui", "keycloak")}
    assert waves["kafka-ui"] > waves["kafka"] and waves["kafka-ui"] > waves["keycloak"]


def test_ui_pod_is_locked_down_and_probes_actuator(write_spec: Callable[[str], Path]) -> None:
    ui = _base(_tree(write_spec, BASE), "kafka-ui")
    dep = ui[("Deployment", "kafka-ui")]
    pod = dep["spec"]["template"]["spec"]
    c = _container(dep)
    svc = ui[("Service", "kafka-ui")]
    assert _service_ports(svc)["http"]["targetPort"] == "http"
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"http": 8080}
    assert _env(c)["SERVER_PORT"] == "8080"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/actuator/health", "port": "http"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False  # the `kafka` Service's KAFKA_* link variables would reach Spring
    assert pod["securityContext"]["runAsNonRoot"] is True and isinstance(pod["securityContext"]["runAsUser"], int)
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["capabilities"] == {"drop": ["ALL"]}
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/tmp"}


def test_network_policies_admit_the_ui_and_the_edge(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec, BASE)
    policies = [yaml.safe_load(d) for p, d in tree.files.items() if p.startswith("platform/prod/networkpolicy-broker-")]
    names = {p["metadata"]["name"] for p in policies}
    assert {"default-deny-ingress", "allow-same-namespace", "allow-kafka-ui"} <= names  # kafka-ui -> kafka stays inside `broker`
    edge = next(p for p in policies if p["metadata"]["name"] == "allow-kafka-ui")
    assert [port["port"] for rule in edge["spec"]["ingress"] for port in rule["ports"]] == [8080]


@pytest.mark.tools
def test_staging_overlay_builds_with_staging_host_and_id(write_spec: Callable[[str], Path], tmp_path: Path, tools: dict[str, str]) -> None:
    out = tmp_path / "out"
    write_tree(_tree(write_spec, SSO), out)

    def build(component: str) -> list[Doc]:
        done = subprocess.run([tools["kustomize"], "build", str(out / f"components/{component}/overlays/staging")], capture_output=True, text=True, check=True)
        return [d for d in yaml.safe_load_all(done.stdout) if d]

    sts = next(d for d in build("kafka") if d["kind"] == "StatefulSet")
    cid = _env(_container(sts))["CLUSTER_ID"]
    _cluster_id_ok(cid)
    assert cid.startswith("staging-")
    ui = next(d for d in build("kafka-ui") if d["kind"] == "Deployment")
    env = _env(_container(ui))
    assert env["AUTH_OAUTH2_CLIENT_KEYCLOAK_ISSUERURI"].startswith("https://auth.staging.demo.example.org/realms/")
    assert env["AUTH_OAUTH2_CLIENT_KEYCLOAK_REDIRECTURI"] == "https://broker.staging.demo.example.org/login/oauth2/code/keycloak"
    assert env["KAFKA_CLUSTERS_0_NAME"] == "demo-staging"
