"""Observability catalog: Prometheus, kube-state-metrics, node-exporter, Loki, Tempo, Alloy, Grafana.

Rendered for two environments and validated with the real tools; the targeted checks follow the
wiring between the components (datasource URLs, log push and OTLP addresses, scrape jobs) back to
the Services and ports actually rendered, so a renamed port or Service breaks a test, not a cluster.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bbgen import api
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform

from support import MINIMAL_SPEC
from catalogkit import dir_base as _base, kustomize_build as _kustomize, load as _load, one as _one

OURS = ["prometheus", "kube-state-metrics", "node-exporter", "loki", "tempo", "alloy", "grafana"]
NS = "observability"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
READ_VERBS = {"get", "list", "watch"}

SPEC = MINIMAL_SPEC + """\
environments:
  prod: {}
  staging:
    cluster: "https://staging.example.org:6443"
    components:
      prometheus:
        resources: {requests: {cpu: 250m, memory: 1Gi}, limits: {memory: 3Gi}}
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  prometheus: {storage: 80Gi, settings: {retention: 30d, retentionSize: 70GB}}
  kube-state-metrics: {}
  node-exporter: {}
  loki: {settings: {retention: 168h}}
  tempo: {settings: {retention: 72h}}
  alloy: {}
  grafana: {}
"""


def _workload(docs: list[dict[str, Any]]) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] in WORKLOADS]
    assert len(found) == 1, [d["kind"] for d in found]
    return found[0]


def _containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def _service_port(service: dict[str, Any], name: str) -> int:
    ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    assert name in ports, f"Service {service['metadata']['name']} has no port {name!r}: {sorted(ports)}"
    return ports[name]


def _dns(service: dict[str, Any]) -> str:
    return f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"


def _config(docs: list[dict[str, Any]], name: str, key: str) -> str:
    return _one(docs, "ConfigMap", name)["data"][key]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("observability")
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


def test_every_component_lands_in_observability(out: Path) -> None:
    for component in OURS:
        docs = _base(out, component)
        assert docs, component
        for doc in docs:
            if doc["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
                assert doc["metadata"]["namespace"] == NS, (component, doc["kind"], doc["metadata"]["name"])
        app = _load(out / "apps" / "prod" / f"{component}.yaml")
        assert app["spec"]["project"] == "prod-observability"


# --- wiring between the components ------------------------------------------------------------


def test_grafana_datasources_point_at_rendered_services(out: Path) -> None:
    text = _config(_base(out, "grafana"), "grafana-datasources", "datasources.yaml")
    sources = {d["type"]: d for d in yaml.safe_load(text)["datasources"]}
    assert set(sources) == {"prometheus", "loki", "tempo"}
    for kind in sources:
        service = _one(_base(out, kind), "Service", kind)
        assert sources[kind]["url"] == f"http://{_dns(service)}:{_service_port(service, 'http')}", kind
    assert sources["prometheus"]["isDefault"] is True
    # Cross-links name datasources by uid: every uid referenced must exist.
    uids = {d["uid"] for d in sources.values()}
    tempo = sources["tempo"]["jsonData"]
    assert {tempo["tracesToLogsV2"]["datasourceUid"], tempo["serviceMap"]["datasourceUid"], tempo["lokiSearch"]["datasourceUid"]} <= uids
    assert {f["datasourceUid"] for f in sources["loki"]["jsonData"]["derivedFields"]} <= uids


def test_grafana_admin_secret_root_url_and_storage(out: Path, tools: dict[str, str]) -> None:
    docs = _base(out, "grafana")
    container = _containers(_workload(docs))[0]
    env = {e["name"]: e for e in container["env"]}
    assert env["GF_SECURITY_ADMIN_USER"]["value"] == "admin"
    assert env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "grafana-admin", "key": "password"}
    assert env["GF_SECURITY_SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "grafana-admin", "key": "secret-key"}
    assert env["GF_SERVER_ROOT_URL"]["value"] == "https://grafana.demo.example.org/"
    assert not [d for d in docs if d["kind"] == "Secret"]
    pvc = _one(docs, "PersistentVolumeClaim", "grafana-data")
    assert pvc["spec"]["storageClassName"] == "local-ssd"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "5Gi"
    claims = [v["persistentVolumeClaim"]["claimName"] for v in _workload(docs)["spec"]["template"]["spec"]["volumes"] if "persistentVolumeClaim" in v]
    assert claims == ["grafana-data"]
    assert _workload(docs)["spec"]["strategy"]["type"] == "Recreate"  # RWO volume: never two pods at once
    staging = _kustomize(tools, out, "grafana", "staging")
    staged = {e["name"]: e.get("value") for e in _containers(_workload(staging))[0]["env"]}
    assert staged["GF_SERVER_ROOT_URL"] == "https://grafana.staging.demo.example.org/"


def test_alloy_ships_logs_to_loki_and_traces_to_tempo(out: Path) -> None:
    config = _config(_base(out, "alloy"), "alloy-config", "config.alloy")
    loki = _one(_base(out, "loki"), "Service", "loki")
    tempo = _one(_base(out, "tempo"), "Service", "tempo")
    assert f'url = "http://{_dns(loki)}:{_service_port(loki, "http")}/loki/api/v1/push"' in config
    assert f'endpoint = "{_dns(tempo)}:{_service_port(tempo, "otlp-grpc")}"' in config
    assert "loki.source.kubernetes" in config and "forward_to = [loki.write.default.receiver]" in config
    assert "traces = [otelcol.exporter.otlp.tempo.input]" in config
    # Receivers listen on every interface, on the ports the container and Service declare.
    workload = _workload(_base(out, "alloy"))
    ports = {p["name"]: p["containerPort"] for p in _containers(workload)[0]["ports"]}
    assert f'endpoint = "0.0.0.0:{ports["otlp-grpc"]}"' in config
    assert f'endpoint = "0.0.0.0:{ports["otlp-http"]}"' in config
    # Each DaemonSet pod tails only its own node's pods.
    assert 'field = "spec.nodeName=" + sys.env("NODE_NAME")' in config
    env = {e["name"]: e for e in _containers(workload)[0]["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"


def test_tempo_receivers_bind_all_interfaces_and_retention_flows(out: Path) -> None:
    config = yaml.safe_load(_config(_base(out, "tempo"), "tempo-config", "tempo.yaml"))
    protocols = config["distributor"]["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    assert config["compactor"]["compaction"]["block_retention"] == "72h"
    assert config["storage"]["trace"]["backend"] == "local"
    image = _containers(_workload(_base(out, "tempo")))[0]["image"]
    assert image.startswith("docker.io/grafana/tempo:2.10."), "the config is Tempo 2.x; Tempo 3 needs a rewrite"


def test_loki_config_retention_and_storage(out: Path) -> None:
    config = yaml.safe_load(_config(_base(out, "loki"), "loki-config", "config.yaml"))
    assert config["auth_enabled"] is False
    assert config["limits_config"]["retention_period"] == "168h"
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "filesystem"
    assert [c["schema"] for c in config["schema_config"]["configs"]] == ["v13"]
    assert config["schema_config"]["configs"][0]["store"] == "tsdb"
    # Every path Loki writes is on the volume mounted at /loki.
    mounts = {m["mountPath"]: m["name"] for m in _containers(_workload(_base(out, "loki")))[0]["volumeMounts"]}
    assert mounts["/loki"] == "data"
    assert config["common"]["path_prefix"].startswith("/loki")
    assert config["compactor"]["working_directory"].startswith("/loki/")


def test_prometheus_scrape_jobs(out: Path) -> None:
    config = yaml.safe_load(_config(_base(out, "prometheus"), "prometheus-config", "prometheus.yml"))
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert {"kubernetes-pods", "kube-state-metrics", "node-exporter", "kubelet", "cadvisor"} <= set(jobs)
    pods = jobs["kubernetes-pods"]["relabel_configs"]
    keep = [r for r in pods if r.get("action") == "keep"]
    assert keep == [{"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], "action": "keep", "regex": "true"}]
    sources = {tuple(r["source_labels"]) for r in pods}
    assert ("__meta_kubernetes_pod_annotation_prometheus_io_path",) in sources
    assert ("__meta_kubernetes_pod_annotation_prometheus_io_port", "__meta_kubernetes_pod_ip") in sources
    assert jobs["kube-state-metrics"]["honor_labels"] is True
    # The keep rules of the dedicated jobs must match the rendered Services' labels and port names.
    # Prometheus anchors relabel regexes, so a full match is what keeps a target.
    for job, port in (("kube-state-metrics", "http-metrics"), ("kube-state-metrics", "telemetry"), ("node-exporter", "metrics")):
        service = _one(_base(out, job), "Service", job)
        labels = service["metadata"]["labels"]
        _service_port(service, port)
        rule = jobs[job]["relabel_configs"][0]
        assert rule["action"] == "keep"
        assert re.fullmatch(rule["regex"], f"{labels['app.kubernetes.io/name']};{labels['app.kubernetes.io/managed-by']};{port}")
        assert not re.fullmatch(rule["regex"], f"{labels['app.kubernetes.io/name']};{labels['app.kubernetes.io/managed-by']};other")


def test_prometheus_settings_storage_and_staging_resources(out: Path, tools: dict[str, str]) -> None:
    workload = _workload(_base(out, "prometheus"))
    args = _containers(workload)[0]["args"]
    assert "--storage.tsdb.retention.time=30d" in args
    assert "--storage.tsdb.retention.size=70GB" in args
    claim = workload["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["resources"]["requests"]["storage"] == "80Gi"
    staging = _workload(_kustomize(tools, out, "prometheus", "staging"))
    assert _containers(staging)[0]["resources"] == {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"memory": "3Gi"}}
    assert staging["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "80Gi"
    staged = yaml.safe_load(_config(_kustomize(tools, out, "prometheus", "staging"), "prometheus-config", "prometheus.yml"))
    assert staged["global"]["external_labels"]["environment"] == "staging"


def test_prometheus_jobs_follow_enabled_components(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    spec = write_spec(MINIMAL_SPEC + "components:\n  prometheus: {settings: {retentionSize: \"\", scrapeKubelet: false}}\n")
    target = tmp_path / "out"
    write_tree(build_tree(load_platform(spec)), target)
    config = yaml.safe_load(_config(_base(target, "prometheus"), "prometheus-config", "prometheus.yml"))
    assert [j["job_name"] for j in config["scrape_configs"]] == ["kubernetes-pods"]
    args = _containers(_workload(_base(target, "prometheus")))[0]["args"]
    assert not [a for a in args if a.startswith("--storage.tsdb.retention.size")]


# --- hardening ------------------------------------------------------------------------------


@pytest.mark.parametrize("component", OURS)
def test_containers_have_probes_resources_and_security(out: Path, component: str) -> None:
    workload = _workload(_base(out, component))
    pod = workload["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in _containers(workload):
        where = f"{component}/{container['name']}"
        ports = {p["name"] for p in container.get("ports", [])}
        for probe in ("readinessProbe", "livenessProbe"):
            assert probe in container, f"{where}: no {probe}"
            action = container[probe].get("httpGet") or container[probe].get("tcpSocket")
            assert action and action["port"] in ports, f"{where}: {probe} port {action} not in {ports}"
        assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"], where
        assert container["resources"]["limits"]["memory"], where
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, where
        assert sc["readOnlyRootFilesystem"] is True, where
        assert sc["capabilities"]["drop"] == ["ALL"], where
        assert not sc.get("capabilities", {}).get("add"), where
        assert not sc.get("privileged"), where
    # Pods talk to the API only when they need to, and then with their own ServiceAccount.
    if pod.get("automountServiceAccountToken") is not False:
        sa = pod["serviceAccountName"]
        assert sa != "default"
        _one(_base(out, component), "ServiceAccount", sa)


@pytest.mark.parametrize("component", OURS)
def test_services_select_pods_and_name_real_ports(out: Path, component: str) -> None:
    docs = _base(out, component)
    workload = _workload(docs)
    template = workload["spec"]["template"]
    ports = {p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
    services = [d for d in docs if d["kind"] == "Service"]
    assert services
    for service in services:
        selector = service["spec"]["selector"]
        assert selector.items() <= template["metadata"]["labels"].items()
        assert selector == workload["spec"]["selector"]["matchLabels"]
        for port in service["spec"]["ports"]:
            assert port["targetPort"] == port["name"] and port["name"] in ports, (component, port)
            assert port["port"] == ports[port["name"]]
    annotations = template["metadata"].get("annotations", {})
    if annotations.get("prometheus.io/scrape") == "true":
        assert int(annotations["prometheus.io/port"]) in ports.values()


@pytest.mark.parametrize("component", ["prometheus", "loki", "tempo"])
def test_state_lives_on_local_ssd(out: Path, component: str) -> None:
    workload = _workload(_base(out, component))
    assert workload["kind"] == "StatefulSet"
    claims = workload["spec"]["volumeClaimTemplates"]
    assert [c["spec"]["storageClassName"] for c in claims] == ["local-ssd"]
    mounted = {m["name"] for m in _containers(workload)[0]["volumeMounts"]}
    assert {c["metadata"]["name"] for c in claims} <= mounted


def test_cluster_roles_are_read_only_and_bound_to_own_accounts(out: Path) -> None:
    seen = 0
    for component in OURS:
        docs = _base(out, component)
        for role in (d for d in docs if d["kind"] == "ClusterRole"):
            seen += 1
            for rule in role["rules"]:
                assert set(rule["verbs"]) <= READ_VERBS, (component, rule)
                assert "secrets" not in rule.get("resources", []), (component, rule)
                assert "*" not in rule.get("resources", []) and "*" not in rule.get("apiGroups", []), (component, rule)
            binding = _one(docs, "ClusterRoleBinding", role["metadata"]["name"])
            assert binding["roleRef"]["name"] == role["metadata"]["name"]
            for subject in binding["subjects"]:
                _one(docs, "ServiceAccount", subject["name"])
                assert subject["namespace"] == NS
    assert seen == 3  # prometheus, kube-state-metrics, alloy


def test_node_exporter_reads_the_host_read_only_on_every_node(out: Path) -> None:
    workload = _workload(_base(out, "node-exporter"))
    assert workload["kind"] == "DaemonSet"
    pod = workload["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and pod["hostPID"] is True
    assert {"operator": "Exists"} in pod["tolerations"]
    container = _containers(workload)[0]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert set(mounts) == {"/host/proc", "/host/sys", "/host/root"}
    assert all(m["readOnly"] is True for m in mounts.values())
    for flag in ("--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root"):
        assert flag in container["args"]
    assert pod["automountServiceAccountToken"] is False


def test_otlp_reachable_from_the_whole_cluster(out: Path) -> None:
    for env in ("prod", "staging"):
        for component in ("tempo", "alloy"):
            policy = _load(out / "platform" / env / f"networkpolicy-observability-allow-{component}.yaml")
            rules = [r for r in policy["spec"]["ingress"] if r.get("from") == [{"namespaceSelector": {}}]]
            assert rules, (env, component)
            assert {p["port"] for p in rules[0]["ports"]} == {4317, 4318}


def test_sync_order_follows_dependencies(out: Path) -> None:
    def wave(component: str) -> int:
        app = _load(out / "apps" / "prod" / f"{component}.yaml")
        return int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])

    assert wave("alloy") > max(wave("loki"), wave("tempo"))
    assert wave("grafana") > max(wave("prometheus"), wave("loki"), wave("tempo"))
