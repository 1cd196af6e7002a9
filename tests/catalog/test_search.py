"""Search catalog: Elasticsearch and Kibana.

Rendered for two environments (prod: a three-node cluster, staging: one node) and validated with
the real tools. The targeted checks follow Kibana's wiring back to the Elasticsearch Service
actually rendered, the passwords back to the Secrets the catalog declares, and the cluster
settings back to the pod names, headless Service and certificates of the same render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bbgen import api
from bbgen.catalog import load_catalog
from bbgen.errors import SpecError, TemplateError
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from bbgen.spec.loader import read_yaml, validate_model
from bbgen.spec.models import Platform

from support import MINIMAL_SPEC
from catalogkit import dir_base as _base, kustomize_build as _kustomize, load as _load, one as _one

NS = "elastic"
OURS = ["elasticsearch", "kibana"]
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")

SPEC = MINIMAL_SPEC + """\
environments:
  prod: {}
  staging:
    cluster: "https://staging.example.org:6443"
    components:
      elasticsearch:
        replicas: 1
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  elasticsearch:
    replicas: 3
    storage: 100Gi
    resources: {requests: {memory: 4Gi}, limits: {memory: 4Gi}}
    settings: {heap: 2g, clusterName: search}
  kibana: {}
apps:
  search-api:
    image: registry.example.org/search-api:1.0.0
    namespace: apps
    port: 8000
    dependsOn: [elasticsearch]
"""


def _of(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def _workload(docs: list[dict[str, Any]]) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] in WORKLOADS]
    assert len(found) == 1, [d["kind"] for d in found]
    return found[0]


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def _containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = _pod(workload)
    return spec.get("initContainers", []) + spec["containers"]


def _main(workload: dict[str, Any]) -> dict[str, Any]:
    return _pod(workload)["containers"][0]


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def _values(container: dict[str, Any]) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def _secret_ref(var: dict[str, Any]) -> dict[str, str]:
    assert "value" not in var, f"{var['name']} carries a literal value"
    return var["valueFrom"]["secretKeyRef"]


def _service_port(service: dict[str, Any], name: str) -> int:
    ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    assert name in ports, f"Service {service['metadata']['name']} has no port {name!r}: {sorted(ports)}"
    return ports[name]


def _container_port(container: dict[str, Any], name: str) -> int:
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    assert name in ports, f"container {container['name']} has no port {name!r}"
    return ports[name]


def _dns(service: dict[str, Any]) -> str:
    return f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("search")
    spec = root / "platform.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    target = root / "out"
    write_tree(build_tree(load_platform(spec)), target)
    return target


# --- the whole tree ---------------------------------------------------------------------------


@pytest.mark.tools
def test_validate_is_clean(out: Path, tools: dict[str, str]) -> None:
    report = api.validate(out)
    errors = [str(f) for f in report.findings if f.severity == "error"]
    assert not errors, "\n".join(errors)
    # Every Secret the pods read is one the catalog declares, so `bbgen secrets` creates it.
    declared = {s.name for c in OURS for s in load_catalog()[c].secrets}
    needed = {s.split("/", 1)[1] for s in report.required_secrets if s.startswith(f"{NS}/")}
    consumers = {"elasticsearch-search-api"}  # the app's own user (a consumer Secret), not one the catalog lists by name
    assert needed <= declared | {"elasticsearch-transport-tls"} | consumers, needed - declared
    assert {"elasticsearch-credentials", "kibana-system", "kibana-encryption-keys"} <= needed


def test_both_land_in_elastic(out: Path) -> None:
    for component in OURS:
        docs = _base(out, component)
        assert docs, component
        for doc in docs:
            assert doc["metadata"]["namespace"] == NS, (component, doc["kind"], doc["metadata"]["name"])
        assert not _of(docs, "Secret"), f"{component} renders a Secret"
        app = _load(out / "apps" / "prod" / f"{component}.yaml")
        assert app["spec"]["project"] == "prod-elastic"


def test_kibana_syncs_after_elasticsearch(out: Path) -> None:
    def wave(component: str) -> int:
        app = _load(out / "apps" / "prod" / f"{component}.yaml")
        return int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])

    assert wave("kibana") > wave("elasticsearch") > wave("cert-manager")


# --- Kibana → Elasticsearch ---------------------------------------------------------------------


def test_kibana_points_at_the_rendered_elasticsearch_service(out: Path) -> None:
    es_docs = _base(out, "elasticsearch")
    service = _one(es_docs, "Service", "elasticsearch")
    es_container = _main(_workload(es_docs))
    port = _service_port(service, "http")
    assert port == _container_port(es_container, "http") == 9200
    assert _values(es_container)["http.port"] == str(port)
    url = f"http://{_dns(service)}:{port}"

    kibana = _workload(_base(out, "kibana"))
    assert _values(_main(kibana))["ELASTICSEARCH_HOSTS"] == url
    init = _pod(kibana)["initContainers"][0]
    assert _values(init)["ES_URL"] == url
    # The Service selects the Elasticsearch pods.
    labels = _workload(es_docs)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_kibana_signs_in_as_kibana_system_with_a_password_it_sets(out: Path) -> None:
    kibana = _workload(_base(out, "kibana"))
    env = _env(_main(kibana))
    assert env["ELASTICSEARCH_USERNAME"]["value"] == "kibana_system"
    assert _secret_ref(env["ELASTICSEARCH_PASSWORD"]) == {"name": "kibana-system", "key": "password"}

    init = _pod(kibana)["initContainers"][0]
    init_env = _env(init)
    # The same Secret key Kibana uses is the one the init step sets as kibana_system's password...
    assert _secret_ref(init_env["KIBANA_SYSTEM_PASSWORD"]) == {"name": "kibana-system", "key": "password"}
    # ...authenticated as `elastic`, with the Secret Elasticsearch itself reads ELASTIC_PASSWORD from.
    es = _env(_main(_workload(_base(out, "elasticsearch"))))
    assert _secret_ref(init_env["ELASTIC_PASSWORD"]) == _secret_ref(es["ELASTIC_PASSWORD"])
    script = init["command"][-1]
    assert "${ES_URL}/_security/user/kibana_system/_password" in script
    assert "${ES_URL}/_security/_authenticate" in script
    # Passwords never appear on a command line: curl reads them from its config on stdin.
    assert "--config -" in script and "-u " not in script and "--user" not in script


def test_kibana_keys_public_url_and_probes(out: Path, tools: dict[str, str]) -> None:
    docs = _base(out, "kibana")
    container = _main(_workload(docs))
    env = _env(container)
    for var, key in (
        ("XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY", "encrypted-saved-objects"),
        ("XPACK_REPORTING_ENCRYPTIONKEY", "reporting"),
        ("XPACK_SECURITY_ENCRYPTIONKEY", "security"),
    ):
        assert _secret_ref(env[var]) == {"name": "kibana-encryption-keys", "key": key}
    keys = next(s for s in load_catalog()["kibana"].secrets if s.name == "kibana-encryption-keys").keys
    for spec in keys.values():  # hex of 32 bytes: 64 characters, over Kibana's 32-character minimum
        assert spec.generate == "hex" and (spec.length or 32) >= 16

    assert env["SERVER_PUBLICBASEURL"]["value"] == "https://kibana.demo.example.org"
    staging = _values(_main(_workload(_kustomize(tools, out, "kibana", "staging"))))
    assert staging["SERVER_PUBLICBASEURL"] == "https://kibana.staging.demo.example.org"

    port = _container_port(container, "http")
    service = _one(docs, "Service", "kibana")
    assert _service_port(service, "http") == port == 5601
    assert env["SERVER_PORT"]["value"] == str(port)
    assert container["readinessProbe"]["httpGet"] == {"path": "/api/status", "port": "http"}
    assert env["STATUS_ALLOWANONYMOUS"]["value"] == "true"  # the kubelet asks without credentials
    ingress = _one(docs, "Ingress", "kibana")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "kibana", "port": {"name": "http"}}
    assert ingress["spec"]["rules"][0]["host"] == "kibana.demo.example.org"


# --- Elasticsearch cluster shape ----------------------------------------------------------------


def test_prod_is_a_three_node_cluster_with_transport_tls(out: Path) -> None:
    docs = _base(out, "elasticsearch")
    sts = _workload(docs)
    assert sts["kind"] == "StatefulSet" and sts["spec"]["replicas"] == 3
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    values = _values(_main(sts))
    assert "discovery.type" not in values
    assert values["cluster.name"] == "search"

    headless = _one(docs, "Service", sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert _service_port(headless, "transport") == _container_port(_main(sts), "transport") == 9300
    assert values["discovery.seed_hosts"] == _dns(headless)
    # node.name is the pod name, and the initial masters are exactly the StatefulSet's pods.
    assert _env(_main(sts))["node.name"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    name = sts["metadata"]["name"]
    assert values["cluster.initial_master_nodes"] == ",".join(f"{name}-{i}" for i in range(3))

    assert values["xpack.security.enabled"] == "true"
    assert values["xpack.security.transport.ssl.enabled"] == "true"
    mounts = {m["name"]: m for m in _main(sts)["volumeMounts"]}
    volumes = {v["name"]: v for v in _pod(sts)["volumes"]}
    assert mounts["transport-tls"]["mountPath"] == "/usr/share/elasticsearch/config/certs"
    secret = volumes["transport-tls"]["secret"]["secretName"]
    for key in ("key", "certificate", "certificate_authorities"):
        assert values[f"xpack.security.transport.ssl.{key}"].startswith("certs/")

    cert = next(c for c in _of(docs, "Certificate") if c["spec"]["secretName"] == secret)
    assert f"*.{_dns(headless)}" in cert["spec"]["dnsNames"]
    assert {"server auth", "client auth"} <= set(cert["spec"]["usages"])
    assert cert["spec"]["privateKey"]["encoding"] == "PKCS8"
    ca_issuer = _one(docs, "Issuer", cert["spec"]["issuerRef"]["name"])
    ca_cert = next(c for c in _of(docs, "Certificate") if c["spec"]["secretName"] == ca_issuer["spec"]["ca"]["secretName"])
    assert ca_cert["spec"]["isCA"] is True
    assert "selfSigned" in _one(docs, "Issuer", ca_cert["spec"]["issuerRef"]["name"])["spec"]

    pdb = _one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= sts["spec"]["template"]["metadata"]["labels"].items()


def test_staging_is_a_single_node_without_certificates(out: Path, tools: dict[str, str]) -> None:
    docs = _kustomize(tools, out, "elasticsearch", "staging")
    sts = _workload(docs)
    assert sts["spec"]["replicas"] == 1
    values = _values(_main(sts))
    assert values["discovery.type"] == "single-node"
    assert "discovery.seed_hosts" not in values and "cluster.initial_master_nodes" not in values
    assert values["xpack.security.enabled"] == "true"
    assert values["xpack.security.transport.ssl.enabled"] == "false"
    assert not [d for d in docs if d["kind"] in ("Certificate", "Issuer", "PodDisruptionBudget")]
    assert "transport-tls" not in {v["name"] for v in _pod(sts)["volumes"]}


def test_multi_node_without_cert_manager_is_refused(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(MINIMAL_SPEC + "components:\n  elasticsearch: {replicas: 3}\n")
    with pytest.raises(SpecError) as caught:
        load_platform(spec)  # the catalog's `scale.severalNeed` refuses it at the replicas line
    (issue,) = caught.value.issues
    assert issue.path == "components.elasticsearch.replicas" and "need the certificates role" in issue.message
    with pytest.raises(TemplateError, match="cert_manager"):  # the template keeps its guard
        build_tree(validate_model(Platform, read_yaml(spec)))
    single = write_spec(MINIMAL_SPEC + "components:\n  elasticsearch: {}\n", name="single.yaml")
    build_tree(load_platform(single))  # one node needs no certificates


def test_elasticsearch_credentials_heap_storage_and_mmap(out: Path) -> None:
    docs = _base(out, "elasticsearch")
    sts = _workload(docs)
    env = _env(_main(sts))
    assert _secret_ref(env["ELASTIC_PASSWORD"]) == {"name": "elasticsearch-credentials", "key": "password"}
    assert env["ES_JAVA_OPTS"]["value"] == "-Xms2g -Xmx2g"
    assert _main(sts)["resources"]["limits"]["memory"] == "4Gi"  # the heap is half of it
    assert env["node.store.allow_mmap"]["value"] == "false"
    assert env["xpack.security.http.ssl.enabled"]["value"] == "false"  # plain HTTP in the cluster, by choice
    assert env["xpack.security.autoconfiguration.enabled"]["value"] == "false"
    [claim] = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "local-ssd"
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    data = next(m for m in _main(sts)["volumeMounts"] if m["name"] == claim["metadata"]["name"])
    assert data["mountPath"] == "/usr/share/elasticsearch/data"
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:9.")


def test_dependants_get_the_exposed_connection(out: Path) -> None:
    app = _workload(_base(out, "search-api"))
    env = _env(_main(app))
    service = _one(_base(out, "elasticsearch"), "Service", "elasticsearch")
    assert env["ELASTICSEARCH_URL"]["value"] == f"http://{_dns(service)}:{_service_port(service, 'http')}"
    # its own user (the PostSync Job creates it with a role on `search-api-*`), never the elastic superuser
    assert env["ELASTICSEARCH_USERNAME"]["value"] == "search-api"
    assert env["ELASTICSEARCH_INDEX_PREFIX"]["value"] == "search-api-"
    assert _secret_ref(env["ELASTICSEARCH_PASSWORD"]) == {"name": "elasticsearch-search-api", "key": "password"}


# --- quality bar ------------------------------------------------------------------------------


@pytest.mark.parametrize("component", OURS)
def test_containers_are_unprivileged_with_probes_and_resources(out: Path, component: str) -> None:
    workload = _workload(_base(out, component))
    pod = _pod(workload)
    assert pod["automountServiceAccountToken"] is False
    ctx = pod["securityContext"]
    assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] == 1000 and ctx["fsGroup"] == 1000
    assert ctx["seccompProfile"]["type"] == "RuntimeDefault"
    for container in _containers(workload):
        sec = container["securityContext"]
        assert sec["allowPrivilegeEscalation"] is False, container["name"]
        assert sec["readOnlyRootFilesystem"] is True, container["name"]
        assert sec["capabilities"]["drop"] == ["ALL"], container["name"]
        assert not sec.get("privileged"), container["name"]
        assert "add" not in sec["capabilities"], container["name"]
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], container["name"]
    main = _main(workload)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert probe in main, (component, probe)
        port = main[probe].get("tcpSocket", main[probe].get("httpGet", {})).get("port")
        if port is not None:
            _container_port(main, port)  # names a declared port


def test_elasticsearch_readiness_authenticates_on_the_http_port(out: Path) -> None:
    main = _main(_workload(_base(out, "elasticsearch")))
    script = main["readinessProbe"]["exec"]["command"][-1]
    assert f"http://127.0.0.1:{_container_port(main, 'http')}/_cluster/health" in script
    assert "${ELASTIC_PASSWORD}" in script and "--config -" in script


def test_settings_are_declared_with_types() -> None:
    settings = load_catalog()["elasticsearch"].defaults.settings
    assert settings["allowMmap"] is False and isinstance(settings["heap"], str)
