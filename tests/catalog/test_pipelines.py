"""Pipelines and automation: Argo Workflows (chart) with its artifact repository on the object store and
its steps wired to MLflow and Kafka; n8n on Postgres, wired to Kafka."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bbgen import api
from bbgen.catalog import load_catalog
from bbgen.errors import BbgenError
from bbgen.render.build import build_tree
from bbgen.render.tree import Tree
from bbgen.render.write import write_tree
from bbgen.render.inventory import inventory_for
from bbgen.spec import load_platform

from support import MINIMAL_SPEC
from catalogkit import tree_base as _base, tree_doc as _doc

HEAD = MINIMAL_SPEC + """\
environments:
  prod: {}
  staging: {cluster: "https://staging.example.org:6443"}
"""
SPEC = HEAD + """\
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  postgres: {}
  minio: {}
  kafka: {}
  mlflow: {public: true}
  argo-workflows: {}
  n8n: {}
"""
# Only the hard dependencies: MLflow and Kafka are optional (`uses`).
BARE_SPEC = HEAD + """\
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  postgres: {}
  minio: {}
  argo-workflows: {}
  n8n: {}
"""
PEER_LABEL = "bbgen.dev/component"
Doc = dict[str, Any]


def _tree(write_spec: Callable[[str], Path], text: str = SPEC) -> Tree:
    return build_tree(load_platform(write_spec(text)))


def _service_port(tree: Tree, component: str, name: str) -> tuple[str, int]:
    """(in-cluster DNS name, port number) of the component's rendered Service port called `name`."""
    for (kind, _), doc in _base(tree, component).items():
        if kind != "Service" or doc["spec"].get("clusterIP") == "None":
            continue
        for port in doc["spec"]["ports"]:
            if port["name"] == name:
                return f"{doc['metadata']['name']}.{doc['metadata']['namespace']}.svc.cluster.local", port["port"]
    raise AssertionError(f"{component}: no Service port named {name}")


def _env(container: Doc) -> dict[str, Any]:
    """name → value, or the valueFrom mapping for references."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _policies(tree: Tree, namespace: str) -> list[Doc]:
    out = []
    for path, data in tree.files.items():
        if path.startswith("platform/prod/networkpolicy-"):
            doc = yaml.safe_load(data)
            if doc["metadata"]["namespace"] == namespace:
                out.append(doc)
    return out


def _admits(tree: Tree, namespace: str, target: dict[str, str], caller_ns: str, caller: dict[str, str], port: int) -> bool:
    """Whether some policy in `namespace` selecting pods labelled `target` lets `caller` pods reach `port`."""
    for pol in _policies(tree, namespace):
        if not pol["spec"]["podSelector"].get("matchLabels", {}).items() <= target.items():
            continue
        for rule in pol["spec"].get("ingress", []):
            if "ports" in rule and port not in [p["port"] for p in rule["ports"]]:
                continue
            if "from" not in rule:
                return True
            for peer in rule["from"]:
                ns_sel = peer.get("namespaceSelector")
                ns_ok = ns_sel is not None and ns_sel.get("matchLabels", {}).get("kubernetes.io/metadata.name") == caller_ns
                pod_ok = peer.get("podSelector", {}).get("matchLabels", {}).items() <= caller.items()
                if ns_ok and pod_ok:
                    return True
    return False


def _pod_labels(workload: Doc) -> dict[str, str]:
    return dict(workload["spec"]["template"]["metadata"]["labels"])


# --- the whole thing validates -------------------------------------------------------------


@pytest.mark.tools
@pytest.mark.usefixtures("tools")
@pytest.mark.parametrize("text", [SPEC, BARE_SPEC], ids=["with-mlflow-kafka", "bare"])
def test_renders_and_validates_clean(write_spec: Callable[[str], Path], tmp_path: Path, text: str) -> None:
    out = tmp_path / "out"
    write_tree(_tree(write_spec, text), out)
    report = api.validate(out)
    errors = [f for f in report.findings if f.severity == "error"]
    assert not errors, "\n".join(f"{f.check} {f.file} {f.resource}: {f.message}" for f in errors)
    for needed in ("automation/postgres-n8n", "db/postgres-n8n", "automation/n8n-secrets"):
        assert needed in report.required_secrets


def test_secrets_reach_their_readers(write_spec: Callable[[str], Path]) -> None:
    """The artifact repository (Helm values, invisible to validate) reads Argo Workflows' own object-store key
    in `argo`; n8n reads Postgres' password in `automation` and generates its own encryption key."""
    plans = {s.ref: s for s in inventory_for(load_platform(write_spec(SPEC))).secrets}
    assert set(plans["argo/minio-argo-workflows"].keys) == {"access-key-id", "secret-access-key"}
    assert plans["argo/minio-argo-workflows"].keys["access-key-id"].copy_of == ("storage", "minio-argo-workflows", "access-key-id")
    assert plans["argo/minio-argo-workflows"].consumer == "argo-workflows" and not [r for r in plans if r.endswith("/minio-client")]
    assert plans["automation/postgres-n8n"].keys["password"].copy_of == ("db", "postgres-n8n", "password")
    assert plans["automation/postgres-n8n"].consumer == "n8n" and "automation/postgres-credentials" not in plans
    key = plans["automation/n8n-secrets"].keys["encryption-key"]
    assert key.source == "generate" and key.generator == "hex"


# --- Argo Workflows -------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_argo_application_is_the_pinned_chart_with_values(write_spec: Callable[[str], Path], env: str) -> None:
    tree = _tree(write_spec)
    app = _doc(tree, f"apps/{env}/argo-workflows.yaml")
    assert app["spec"]["project"] == f"{env}-argo"
    assert app["spec"]["destination"]["namespace"] == "argo"
    chart, values, companion = app["spec"]["sources"]
    assert chart["repoURL"] == "https://argoproj.github.io/argo-helm"
    assert chart["chart"] == "argo-workflows"
    assert chart["targetRevision"].split(".")[0] == "2"  # the Argo Workflows v4 line
    assert chart["helm"]["releaseName"] == "argo-workflows"
    assert chart["helm"]["valueFiles"] == [f"$values/values/argo-workflows/{env}.yaml"]
    assert values["ref"] == "values"
    assert companion["path"] == f"components/argo-workflows/overlays/{env}"
    # after the object store, MLflow and Kafka it talks to
    waves = {n: int(_doc(tree, f"apps/{env}/{n}.yaml")["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for n in ("minio", "mlflow", "kafka", "argo-workflows")}
    assert waves["argo-workflows"] > max(waves["minio"], waves["mlflow"], waves["kafka"])


def test_artifact_repository_is_its_own_bucket_on_the_object_store(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec)
    values = _doc(tree, "values/argo-workflows/prod.yaml")
    # artifactRepository is the default repository once set (the chart has no useDefaultArtifactRepo switch)
    assert "useDefaultArtifactRepo" not in values and values["useStaticCredentials"] is True
    s3 = values["artifactRepository"]["s3"]
    host, port = _service_port(tree, "minio", "s3")
    assert s3["endpoint"] == f"{host}:{port}"  # host:port, no scheme
    assert s3["insecure"] is True  # plain HTTP inside the cluster
    minio = load_catalog()["minio"]
    assert s3["bucket"] == "argo-workflows"  # its own bucket, named after it
    assert s3["region"] == minio.defaults.settings["region"]
    assert s3["accessKeySecret"] == {"name": "minio-argo-workflows", "key": "access-key-id"}
    assert s3["secretKeySecret"] == {"name": "minio-argo-workflows", "key": "secret-access-key"}
    assert values["artifactRepository"]["archiveLogs"] is True


def test_artifact_repository_follows_the_chosen_provider(write_spec: Callable[[str], Path]) -> None:
    """Nothing MinIO-specific: with Garage filling the object-store role the same wiring points at it."""
    tree = _tree(write_spec, BARE_SPEC.replace("minio: {}", "garage: {}"))
    s3 = _doc(tree, "values/argo-workflows/prod.yaml")["artifactRepository"]["s3"]
    host, port = _service_port(tree, "garage", "s3")
    assert s3["endpoint"] == f"{host}:{port}"
    assert s3["accessKeySecret"] == {"name": "garage-argo-workflows", "key": "access-key-id"}
    assert s3["bucket"] == "argo-workflows"
    garage = next(d for (k, _), d in _base(tree, "garage").items() if k == "StatefulSet")
    assert _admits(tree, "storage", _pod_labels(garage), "argo", {PEER_LABEL: "argo-workflows"}, port)


def test_workflow_steps_get_mlflow_kafka_and_object_store_env(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec)
    values = _doc(tree, "values/argo-workflows/prod.yaml")
    env = _env(values["mainContainer"])
    mlflow_host, mlflow_port = _service_port(tree, "mlflow", "tracking")
    assert env["MLFLOW_TRACKING_URI"] == f"http://{mlflow_host}:{mlflow_port}"
    kafka_host, kafka_port = _service_port(tree, "kafka", "kafka")
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == f"{kafka_host}:{kafka_port}"
    s3_host, s3_port = _service_port(tree, "minio", "s3")
    assert env["S3_ENDPOINT_URL"] == f"http://{s3_host}:{s3_port}"
    assert env["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "minio-argo-workflows", "key": "access-key-id"}}
    assert len(values["mainContainer"]["env"]) == len(env)  # each variable once
    assert values["mainContainer"]["securityContext"]["allowPrivilegeEscalation"] is False


def test_optional_dependencies_are_left_out_when_not_enabled(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec, BARE_SPEC)
    env = _env(_doc(tree, "values/argo-workflows/prod.yaml")["mainContainer"])
    assert "MLFLOW_TRACKING_URI" not in env and "KAFKA_BOOTSTRAP_SERVERS" not in env
    assert "S3_ENDPOINT_URL" in env
    n8n = _base(tree, "n8n")[("StatefulSet", "n8n")]
    assert "KAFKA_BOOTSTRAP_SERVERS" not in _env(n8n["spec"]["template"]["spec"]["containers"][0])


def test_argo_pods_share_the_label_the_policies_select(write_spec: Callable[[str], Path]) -> None:
    """Controller, server and every workflow pod carry the peer label: the object store, MLflow and
    Kafka admit exactly those, on their pods' ports."""
    tree = _tree(write_spec)
    values = _doc(tree, "values/argo-workflows/prod.yaml")
    peer = {PEER_LABEL: "argo-workflows"}
    assert load_catalog()["argo-workflows"].network.pod_labels == peer
    assert values["controller"]["podLabels"] == peer
    assert values["server"]["podLabels"] == peer
    assert values["controller"]["workflowDefaults"]["spec"]["podMetadata"]["labels"] == peer
    minio = _base(tree, "minio")[("StatefulSet", "minio")]
    _, s3_port = _service_port(tree, "minio", "s3")
    assert _admits(tree, "storage", _pod_labels(minio), "argo", peer, s3_port)
    kafka = _base(tree, "kafka")[("StatefulSet", "kafka")]
    assert _admits(tree, "broker", _pod_labels(kafka), "argo", peer, 9092)
    mlflow = next(d for (k, _), d in _base(tree, "mlflow").items() if k in ("Deployment", "StatefulSet"))
    assert _admits(tree, "ml", _pod_labels(mlflow), "argo", peer, 5000)
    # and a pod without the label is not admitted
    assert not _admits(tree, "storage", _pod_labels(minio), "argo", {"app": "other"}, s3_port)


def test_argo_route_reaches_the_charts_server_service(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec)
    values = _doc(tree, "values/argo-workflows/prod.yaml")
    # the chart's names follow fullnameOverride: argo-workflows-server, port named http
    assert values["fullnameOverride"] == "argo-workflows"
    assert values["server"]["servicePortName"] == "http"
    ingress = _base(tree, "argo-workflows")[("Ingress", "argo-workflows")]
    assert ingress["spec"]["rules"][0]["host"] == "argo.demo.example.org"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "argo-workflows-server", "port": {"name": "http"}}
    declared = next(s for s in tree.meta["chartServices"] if s["name"] == "argo-workflows-server")
    assert declared["namespace"] == "argo"
    assert {p["name"]: p["port"] for p in declared["ports"]} == {"http": values["server"]["servicePort"]}
    # the edge reaches the server pods' port 2746
    assert _admits(tree, "argo", {PEER_LABEL: "argo-workflows"}, "ingress-nginx", {"app.kubernetes.io/instance": "ingress-nginx"}, 2746)


def test_argo_values_are_namespaced_and_hardened(write_spec: Callable[[str], Path]) -> None:
    values = _doc(_tree(write_spec), "values/argo-workflows/prod.yaml")
    assert values["singleNamespace"] is True
    assert values["controller"]["workflowNamespaces"] == ["argo"]
    assert values["createAggregateRoles"] is False
    assert values["controller"]["clusterWorkflowTemplates"]["enabled"] is False
    assert values["server"]["clusterWorkflowTemplates"]["enabled"] is False
    assert values["crds"] == {"install": True, "full": False, "keep": True}
    assert values["server"]["authModes"] == ["client"]
    assert values["server"]["secure"] is False  # TLS ends at the edge
    assert values["server"]["ingress"]["enabled"] is False  # bbgen renders the route
    assert values["server"]["securityContext"]["readOnlyRootFilesystem"] is True
    defaults = values["controller"]["workflowDefaults"]["spec"]
    assert defaults["serviceAccountName"] == values["workflow"]["serviceAccount"]["name"]
    assert values["workflow"]["serviceAccount"]["create"] is True and values["workflow"]["rbac"]["create"] is True
    assert defaults["securityContext"]["runAsNonRoot"] is True
    assert defaults["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert values["controller"]["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}


def test_argo_auth_mode_is_checked(write_spec: Callable[[str], Path]) -> None:
    values = _doc(_tree(write_spec, SPEC.replace("argo-workflows: {}", "argo-workflows: {settings: {authMode: server}, public: true}")), "values/argo-workflows/prod.yaml")
    assert values["server"]["authModes"] == ["server"]
    with pytest.raises(BbgenError, match="authMode"):
        _tree(write_spec, SPEC.replace("argo-workflows: {}", "argo-workflows: {settings: {authMode: sso}}"))


# --- n8n --------------------------------------------------------------------------------------


def _n8n(tree: Tree) -> tuple[Doc, Doc]:
    sts = _base(tree, "n8n")[("StatefulSet", "n8n")]
    return sts, sts["spec"]["template"]["spec"]["containers"][0]


def test_n8n_database_is_its_own_postgres_database(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec)
    sts, container = _n8n(tree)
    env = _env(container)
    pg_host, pg_port = _service_port(tree, "postgres", "postgres")
    assert env["DB_TYPE"] == "postgresdb"
    assert env["DB_POSTGRESDB_HOST"] == pg_host
    assert env["DB_POSTGRESDB_PORT"] == str(pg_port)
    assert env["DB_POSTGRESDB_DATABASE"] == "n8n"  # the Postgres Job makes one database per dependant
    assert env["DB_POSTGRESDB_USER"] == "n8n"  # and a role of its own, owning only that database
    # no secret in the environment (workflows may read $env): password and key are mounted files
    assert not [e for e in container["env"] if "valueFrom" in e]
    assert env["N8N_BLOCK_ENV_ACCESS_IN_NODE"] == "false"
    mount = next(m for m in container["volumeMounts"] if m["name"] == "secrets")
    volume = next(v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "secrets")
    files = {item["path"]: (src["secret"]["name"], item["key"]) for src in volume["projected"]["sources"] for item in src["secret"]["items"]}
    pg_secret = load_catalog()["postgres"].expose.secret_env["POSTGRES_PASSWORD"]
    assert env["DB_POSTGRESDB_PASSWORD_FILE"] == f"{mount['mountPath']}/db-password"
    assert files["db-password"] == ("postgres-n8n", pg_secret.key)
    assert env["N8N_ENCRYPTION_KEY_FILE"] == f"{mount['mountPath']}/encryption-key"
    assert files["encryption-key"] == ("n8n-secrets", "encryption-key")
    assert "encryption-key" in next(s for s in load_catalog()["n8n"].secrets if s.name == "n8n-secrets").keys


def test_n8n_ports_probes_and_service_agree(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec)
    _, container = _n8n(tree)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 5678}
    assert _env(container)["N8N_PORT"] == "5678"
    service = _base(tree, "n8n")[("Service", "n8n")]
    assert service["spec"]["ports"] == [{"name": "http", "port": 5678, "targetPort": "http", "protocol": "TCP"}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == "http"
        assert container[probe]["httpGet"]["path"].startswith("/healthz")


def test_n8n_runs_non_root_read_only_on_the_ssd_class(write_spec: Callable[[str], Path]) -> None:
    sts, container = _n8n(_tree(write_spec))
    pod = sts["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sec = container["securityContext"]
    assert sec["readOnlyRootFilesystem"] is True and sec["allowPrivilegeEscalation"] is False
    assert sec["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/home/node/.n8n", "/home/node/.cache", "/tmp"} <= mounts  # everything n8n writes
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["storageClassName"] == "local-ssd"
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert container["image"].startswith("docker.io/n8nio/n8n:")
    assert container["resources"]["limits"]["memory"] == "1Gi"


def test_n8n_reaches_kafka_and_postgres(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec)
    sts, container = _n8n(tree)
    kafka_host, kafka_port = _service_port(tree, "kafka", "kafka")
    assert _env(container)["KAFKA_BOOTSTRAP_SERVERS"] == f"{kafka_host}:{kafka_port}"
    labels = _pod_labels(sts)
    kafka = _base(tree, "kafka")[("StatefulSet", "kafka")]
    assert _admits(tree, "broker", _pod_labels(kafka), "automation", labels, kafka_port)
    postgres = _base(tree, "postgres")[("StatefulSet", "postgres")]
    assert _admits(tree, "db", _pod_labels(postgres), "automation", labels, 5432)


def test_n8n_without_host_serves_webhooks_in_cluster(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec)
    env = _env(_n8n(tree)[1])
    assert env["WEBHOOK_URL"] == "http://n8n.automation.svc.cluster.local:5678/"
    assert env["N8N_SECURE_COOKIE"] == "false"
    assert "N8N_HOST" not in env
    assert not [k for k in _base(tree, "n8n") if k[0] == "Ingress"]


@pytest.mark.tools
def test_n8n_with_a_host_uses_the_public_url_per_environment(write_spec: Callable[[str], Path], tmp_path: Path, tools: dict[str, str]) -> None:
    tree = _tree(write_spec, SPEC.replace("n8n: {}", "n8n: {host: automation, public: true}"))
    env = _env(_n8n(tree)[1])
    assert env["N8N_HOST"] == "automation.demo.example.org"
    assert env["WEBHOOK_URL"] == "https://automation.demo.example.org/"
    assert env["N8N_PROTOCOL"] == "https" and "N8N_SECURE_COOKIE" not in env
    out = tmp_path / "out"
    write_tree(tree, out)
    done = subprocess.run([tools["kustomize"], "build", str(out / "components/n8n/overlays/staging")], capture_output=True, text=True, check=True)
    staging = next(d for d in yaml.safe_load_all(done.stdout) if d and d["kind"] == "StatefulSet")
    assert _env(staging["spec"]["template"]["spec"]["containers"][0])["WEBHOOK_URL"] == "https://automation.staging.demo.example.org/"


def test_n8n_refuses_more_than_one_replica(write_spec: Callable[[str], Path]) -> None:
    with pytest.raises(BbgenError, match="one replica"):
        _tree(write_spec, SPEC.replace("n8n: {}", "n8n: {replicas: 2}"))
