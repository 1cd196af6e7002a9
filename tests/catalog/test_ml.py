"""ML domain: MLflow (Postgres backend, object-store artifacts), Label Studio and Jupyter, with the
oauth2-proxy sidecar that puts Keycloak in front of MLflow and Label Studio when `oidc` is set."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bbgen import api
from bbgen.render.build import build_tree
from bbgen.render.tree import Tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform

from support import MINIMAL_SPEC
from catalogkit import tree_base as _base

SPEC = MINIMAL_SPEC + """\
environments:
  prod: {}
  staging: {cluster: "https://staging.example.org:6443"}
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  postgres: {}
  keycloak: {}
  minio: {}
  qdrant: {}
  mlflow: {oidc: {}}
  label-studio: {oidc: {}}
  jupyter: {}
"""
NO_OIDC_SPEC = SPEC.replace("mlflow: {oidc: {}}", "mlflow: {public: true}").replace("label-studio: {oidc: {}}", "label-studio: {}")
# Jupyter alone with the object store: its optional flows to MLflow and Qdrant stay out.
JUPYTER_ONLY_SPEC = SPEC.replace("  mlflow: {oidc: {}}\n", "").replace("  label-studio: {oidc: {}}\n", "").replace("  qdrant: {}\n", "")

DOMAIN = "demo.example.org"
PG_HOST = "postgres.db.svc.cluster.local"
S3_ENDPOINT = "http://minio.storage.svc.cluster.local:9000"
Doc = dict[str, Any]


def _tree(write_spec: Callable[[str], Path], text: str = SPEC) -> Tree:
    return build_tree(load_platform(write_spec(text)))


def _workload(docs: dict[tuple[str, str], Doc], name: str) -> Doc:
    return next(d for (kind, n), d in docs.items() if n == name and kind in ("Deployment", "StatefulSet"))


def _containers(workload: Doc) -> dict[str, Doc]:
    return {c["name"]: c for c in workload["spec"]["template"]["spec"]["containers"]}


def _env(container: Doc) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _named_ports(workload: Doc) -> dict[str, int]:
    """Every named container port of the pod (names are unique across a pod's containers)."""
    out: dict[str, int] = {}
    for c in workload["spec"]["template"]["spec"]["containers"]:
        for p in c.get("ports", []):
            assert p["name"] not in out, f"port name {p['name']} used twice in the pod"
            out[p["name"]] = p["containerPort"]
    return out


def _args(container: Doc) -> dict[str, str]:
    return dict(a.removeprefix("--").split("=", 1) for a in container["args"] if a.startswith("--"))


def _check_ports(docs: dict[tuple[str, str], Doc], name: str, http_port: int) -> dict[str, int]:
    """Service ports lead to named container ports; probes name existing ports; `http` is the declared number."""
    workload = _workload(docs, name)
    ports = _named_ports(workload)
    service = docs[("Service", name)]
    for sp in service["spec"]["ports"]:
        assert sp["targetPort"] in ports, f"{name}: Service port {sp['name']} targets unknown {sp['targetPort']}"
    http = next(sp for sp in service["spec"]["ports"] if sp["name"] == "http")
    assert http["port"] == http_port and ports[http["targetPort"]] == http_port
    for c in workload["spec"]["template"]["spec"]["containers"]:
        own = {p["name"] for p in c.get("ports", [])}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if probe in c:
                port = c[probe].get("httpGet", c[probe].get("tcpSocket", {}))["port"]
                assert port in own, f"{name}/{c['name']} {probe} port {port} is not the container's"
    return ports


# --- the whole thing validates -------------------------------------------------------------


@pytest.mark.tools
@pytest.mark.parametrize("text", [SPEC, NO_OIDC_SPEC], ids=["oidc", "no-oidc"])
def test_ml_platform_validates(write_spec: Callable[[str], Path], tmp_path: Path, tools: dict[str, str], text: str) -> None:
    out = tmp_path / "out"
    write_tree(_tree(write_spec, text), out)
    report = api.validate(out)
    errors = [f for f in report.findings if f.severity == "error"]
    assert not errors, "\n".join(f"{f.check} {f.file} {f.resource}: {f.message}" for f in errors)


# --- MLflow -------------------------------------------------------------------------------


def test_mlflow_backend_store_and_artifacts(write_spec: Callable[[str], Path]) -> None:
    docs = _base(_tree(write_spec), "mlflow")
    mlflow = _containers(_workload(docs, "mlflow"))["mlflow"]
    env = _env(mlflow)
    # The backend store: the rendered Postgres Service, the database named after the unit, the password by reference.
    assert env["POSTGRES_HOST"] == PG_HOST and env["POSTGRES_DB"] == "mlflow" and env["POSTGRES_USER"] == "mlflow"
    assert env["POSTGRES_PASSWORD"] == {"secretKeyRef": {"name": "postgres-mlflow", "key": "password"}}
    script = mlflow["command"][-1]
    assert 'MLFLOW_BACKEND_STORE_URI="postgresql+psycopg2://${POSTGRES_USER}:${password}@${POSTGRES_HOST}:${POSTGRES_PORT}/${POSTGRES_DB}"' in script
    assert "--backend-store-uri" not in script  # the password never reaches argv
    # Artifacts: MLflow's own bucket on the object store (named after it), served through the tracking server.
    assert '--artifacts-destination "s3://${S3_BUCKET_ARTIFACTS}/${MLFLOW_ARTIFACTS_PATH}"' in script and "--serve-artifacts" in script
    assert env["S3_BUCKET_ARTIFACTS"] == env["S3_BUCKET"] == "mlflow" and env["MLFLOW_ARTIFACTS_PATH"] == "mlflow"
    assert env["MLFLOW_S3_ENDPOINT_URL"] == S3_ENDPOINT
    assert env["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "minio-mlflow", "key": "access-key-id"}}
    assert env["AWS_SECRET_ACCESS_KEY"] == {"secretKeyRef": {"name": "minio-mlflow", "key": "secret-access-key"}}
    # MLflow's Host check lets in the public host, the in-cluster name clients use, and the probes' Host.
    allowed = env["MLFLOW_ALLOWED_HOSTS"].split(",")
    assert {f"mlflow.{DOMAIN}", "mlflow.ml.svc.cluster.local:5000", "localhost"} <= set(allowed)
    assert mlflow["image"].startswith("ghcr.io/mlflow/mlflow:") and mlflow["image"].endswith("-full")


def test_mlflow_oauth2_proxy(write_spec: Callable[[str], Path]) -> None:
    docs = _base(_tree(write_spec), "mlflow")
    workload = _workload(docs, "mlflow")
    containers = _containers(workload)
    proxy = containers["oauth2-proxy"]
    args = _args(proxy)
    ports = _check_ports(docs, "mlflow", 4180)
    # The proxy owns the public port and forwards to MLflow on the loopback, at MLflow's own port.
    assert ports["http"] == 4180 and ports["tracking"] == 5000
    assert args["http-address"] == "0.0.0.0:4180"
    assert args["upstream"] == "http://127.0.0.1:5000/"
    assert _env(containers["mlflow"])["MLFLOW_PORT"] == "5000"
    assert args["provider"] == "keycloak-oidc"
    assert args["oidc-issuer-url"].startswith(f"https://auth.{DOMAIN}/realms/")
    assert args["login-url"] == args["oidc-issuer-url"] + "/protocol/openid-connect/auth"
    assert args["redeem-url"].startswith("http://keycloak.auth.svc.cluster.local:8080/realms/")
    assert args["redirect-url"] == f"https://mlflow.{DOMAIN}/oauth2/callback"
    assert args["client-id"] == "mlflow" and args["email-domain"] == "*" and args["reverse-proxy"] == "true"
    penv = _env(proxy)
    assert penv["OAUTH2_PROXY_CLIENT_SECRET"] == {"secretKeyRef": {"name": "oidc-mlflow", "key": "client-secret"}}
    assert penv["OAUTH2_PROXY_COOKIE_SECRET"] == {"secretKeyRef": {"name": "mlflow-oauth2-proxy", "key": "cookie-secret"}}
    assert not any(a.startswith(("--client-secret", "--cookie-secret")) for a in proxy["args"])
    # In-cluster clients reach MLflow itself through the Service's `tracking` port, never the login.
    svc = {p["name"]: p for p in docs[("Service", "mlflow")]["spec"]["ports"]}
    assert svc["tracking"]["targetPort"] == "tracking" and svc["http"]["targetPort"] == "http"


def test_mlflow_without_oidc_serves_the_http_port_itself(write_spec: Callable[[str], Path]) -> None:
    docs = _base(_tree(write_spec, NO_OIDC_SPEC), "mlflow")
    workload = _workload(docs, "mlflow")
    assert set(_containers(workload)) == {"mlflow"}
    ports = _check_ports(docs, "mlflow", 4180)
    assert ports == {"http": 4180}
    assert _env(_containers(workload)["mlflow"])["MLFLOW_PORT"] == "4180"
    svc = {p["name"]: p for p in docs[("Service", "mlflow")]["spec"]["ports"]}
    # Same Service ports in both modes, so MLFLOW_TRACKING_URI never changes.
    assert svc["tracking"]["port"] == 5000 and svc["tracking"]["targetPort"] == "http"


# --- Label Studio -------------------------------------------------------------------------


def test_label_studio_wiring(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec)
    docs = _base(tree, "label-studio")
    sts = _workload(docs, "label-studio")
    containers = _containers(sts)
    app = containers["label-studio"]
    env = _env(app)
    assert env["DJANGO_DB"] == "default"
    assert env["POSTGRE_HOST"] == PG_HOST and env["POSTGRE_NAME"] == "label-studio" and env["POSTGRE_PORT"] == "5432"
    assert env["POSTGRE_USER"] == "label-studio"
    assert env["POSTGRE_PASSWORD"] == {"secretKeyRef": {"name": "postgres-label-studio", "key": "password"}}
    assert env["LABEL_STUDIO_HOST"] == f"https://label.{DOMAIN}"
    assert env["LABEL_STUDIO_USERNAME"] == {"secretKeyRef": {"name": "label-studio-admin", "key": "username"}}
    assert env["LABEL_STUDIO_PASSWORD"] == {"secretKeyRef": {"name": "label-studio-admin", "key": "password"}}
    # The datasets bucket and endpoint for the per-project S3 storage connection.
    assert env["S3_ENDPOINT_URL"] == S3_ENDPOINT and env["S3_BUCKET_DATASETS"] == "datasets"
    # Migrations run once in the init container, with the same database settings.
    init = sts["spec"]["template"]["spec"]["initContainers"][0]
    assert init["args"] == ["label-studio-migrate"] and _env(init)["POSTGRE_NAME"] == "label-studio"
    assert env["SKIP_DB_MIGRATIONS"] == "true"
    # OIDC: the proxy owns `http` and forwards to the app port.
    ports = _check_ports(docs, "label-studio", 4180)
    assert ports == {"http": 4180, "app": 8000}
    args = _args(containers["oauth2-proxy"])
    assert args["upstream"] == "http://127.0.0.1:8000/"
    assert args["redirect-url"] == f"https://label.{DOMAIN}/oauth2/callback"
    assert _env(containers["oauth2-proxy"])["OAUTH2_PROXY_CLIENT_SECRET"]["secretKeyRef"]["name"] == "oidc-label-studio"
    assert "UWSGI_HTTP_SOCKET" not in env
    assert app["readinessProbe"]["httpGet"]["path"] == "/health"
    # State on the local-SSD class.
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == tree_storage_class(tree)
    mounts = {m["mountPath"] for m in app["volumeMounts"]}
    assert "/label-studio/data" in mounts


def test_label_studio_without_oidc(write_spec: Callable[[str], Path]) -> None:
    docs = _base(_tree(write_spec, NO_OIDC_SPEC), "label-studio")
    sts = _workload(docs, "label-studio")
    app = _containers(sts)["label-studio"]
    assert set(_containers(sts)) == {"label-studio"}
    ports = _check_ports(docs, "label-studio", 4180)
    assert ports == {"app": 8000, "http": 4180}
    assert _env(app)["UWSGI_HTTP_SOCKET"] == "0.0.0.0:4180"
    assert app["readinessProbe"]["httpGet"]["port"] == "http"  # the public port is what must answer


# --- Jupyter ------------------------------------------------------------------------------


def test_jupyter_optional_flows(write_spec: Callable[[str], Path]) -> None:
    docs = _base(_tree(write_spec), "jupyter")
    sts = _workload(docs, "jupyter")
    jupyter = _containers(sts)["jupyter"]
    env = _env(jupyter)
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow.ml.svc.cluster.local:5000"
    assert env["QDRANT_URL"].startswith("http://qdrant.vec.svc.cluster.local:")
    assert env["AWS_ENDPOINT_URL_S3"] == S3_ENDPOINT
    assert env["JUPYTER_TOKEN"] == {"secretKeyRef": {"name": "jupyter-token", "key": "token"}}
    _check_ports(docs, "jupyter", 8888)
    assert jupyter["readinessProbe"]["httpGet"]["path"] == "/api"
    pod = sts["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["runAsNonRoot"] is True
    assert {m["mountPath"] for m in jupyter["volumeMounts"]} == {"/home/jovyan/work"}
    assert not any(k == "Ingress" for k, _ in docs)  # no host by default

    alone = _containers(_workload(_base(_tree(write_spec, JUPYTER_ONLY_SPEC), "jupyter"), "jupyter"))["jupyter"]
    env = _env(alone)
    assert "MLFLOW_TRACKING_URI" not in env and "QDRANT_URL" not in env and env["S3_ENDPOINT_URL"] == S3_ENDPOINT


# --- across the three ---------------------------------------------------------------------


def test_security_and_no_secret_values(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec)
    for component in ("mlflow", "label-studio", "jupyter"):
        docs = _base(tree, component)
        for (kind, name), doc in docs.items():
            assert kind != "ConfigMap" or not any(
                w in str(doc.get("data", {})).lower() for w in ("password", "secret", "token")
            ), f"{component}: ConfigMap {name} carries something secret-looking"
            assert kind != "Secret", f"{component} renders a Secret"
        workload = next(d for (k, _), d in docs.items() if k in ("Deployment", "StatefulSet"))
        pod = workload["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for c in pod["containers"] + pod.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
            assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
            for e in c.get("env", []):
                if any(w in e["name"] for w in ("PASSWORD", "SECRET", "TOKEN")):
                    assert "valueFrom" in e, f"{component}/{c['name']}: {e['name']} given as a literal"
        for claim in workload["spec"].get("volumeClaimTemplates", []):
            assert claim["spec"]["storageClassName"] == tree_storage_class(tree)


def tree_storage_class(tree: Tree) -> str:
    sc = next(yaml.safe_load(d) for p, d in tree.files.items() if p.startswith("platform/prod/storageclass-"))
    return sc["metadata"]["name"]


def test_ml_network_paths(write_spec: Callable[[str], Path]) -> None:
    """The edge reaches the public port; Argo-style dependants outside `ml` would reach MLflow's tracking port."""
    tree = _tree(write_spec)
    policy = yaml.safe_load(tree.files["platform/prod/networkpolicy-ml-allow-mlflow.yaml"])
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 4180}]
    keycloak_policy = yaml.safe_load(tree.files["platform/prod/networkpolicy-auth-allow-keycloak.yaml"])
    sources = [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for r in keycloak_policy["spec"]["ingress"] for p in r.get("from", [])]
    assert "ml" in sources  # the proxies redeem codes at Keycloak's in-cluster address
