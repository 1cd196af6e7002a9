"""Alert rules, the alert route and dashboards: generated from catalog facts, checked by the real parsers.

The rule files go through the real `promtool check rules` (and `promtool test rules`, which
evaluates them over synthetic series, so a rule that cannot fire fails here). Dashboards must be
JSON whose every query names only metrics some scraped component of the platform declares.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen import api
from bbgen.catalog import load_catalog
from bbgen.kube.pins import PINS
from bbgen.render import observability
from bbgen.render.build import build_tree
from bbgen.render.units import env_units
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from bbgen.validate import scrape
from bbgen.validate.install import binary_version
from support import MINIMAL_SPEC, ROOT

PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))


def _units(profile: Path, env: str | None = None) -> dict[str, Any]:
    platform = load_platform(profile)
    return env_units(platform, load_catalog(), env or sorted(platform.environments)[0])


def _envs(profile: Path) -> list[str]:
    return sorted(load_platform(profile).environments)


CASES = [(p, env) for p in PROFILES for env in _envs(p)]
IDS = [f"{p.stem}-{env}" for p, env in CASES]


def _configmap(tree_files: dict[str, bytes], suffix: str) -> dict[str, str]:
    [path] = [p for p in tree_files if p.endswith(suffix) and "/base/" in p]
    data: dict[str, str] = yaml.safe_load(tree_files[path])["data"]
    return data


def test_promtool_is_pinned_like_the_other_tools(promtool: str) -> None:
    assert binary_version(PINS["promtool"], Path(promtool)) == PINS["promtool"].version


@pytest.mark.parametrize(("profile", "env"), CASES, ids=IDS)
def test_rule_files_pass_promtool(tmp_path: Path, promtool: str, profile: Path, env: str) -> None:
    files = observability.rule_files(_units(profile, env))
    assert files, "a platform with Prometheus has rules"
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    done = subprocess.run(
        [promtool, "check", "rules", "--lint=all", "--lint-fatal", *sorted(str(tmp_path / n) for n in files)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_rendered_configmap_carries_the_rule_files_and_prometheus_loads_them() -> None:
    tree = build_tree(load_platform(ROOT / "profiles" / "betelgeuse.yaml"))
    rules = _configmap(tree.files, "configmap-prometheus-rules.yaml")
    assert rules == observability.rule_files(_units(ROOT / "profiles" / "betelgeuse.yaml"))
    config = yaml.safe_load(_configmap(tree.files, "configmap-prometheus-config.yaml")["prometheus.yml"])
    assert config["rule_files"] == ["/etc/prometheus-rules/*.yml"]
    [target] = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert target == "alertmanager.observability.svc.cluster.local:9093"
    sts = yaml.safe_load(tree.files["components/prometheus/base/statefulset-prometheus.yaml"])
    mounts = {m["mountPath"]: m["name"] for m in sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mounts["/etc/prometheus-rules"]]["configMap"]["name"] == "prometheus-rules"


def test_each_kind_of_rule_is_made_from_the_facts() -> None:
    files = observability.rule_files(_units(ROOT / "profiles" / "betelgeuse.yaml"))
    alerts = {name: [r["alert"] for g in yaml.safe_load(text)["groups"] for r in g["rules"]] for name, text in files.items()}
    # a scraped, stateful component: down, restarting, its volume filling and full
    assert alerts["prometheus.rules.yml"] == ["PrometheusTargetDown", "PrometheusRestarting", "PrometheusVolumeFilling", "PrometheusVolumeFull"]
    # stateful, not scraped (no metrics port, no declared metrics): no TargetDown
    assert alerts["postgres.rules.yml"] == ["PostgresRestarting", "PostgresVolumeFilling", "PostgresVolumeFull"]
    # nothing runs pods: no rules at all
    assert "cluster-issuers.rules.yml" not in alerts
    assert alerts["platform.rules.yml"] == ["NodeFilesystemFilling", "CertificateExpiresSoon", "BackupTooOld", "BackupNeverSucceeded"]


def test_rules_need_the_metrics_they_read() -> None:
    """Without kube-state-metrics no restart or backup rule; without the kubelet's volume stats no PVC rule."""
    units = _units(ROOT / "profiles" / "betelgeuse.yaml")
    no_ksm = {k: v for k, v in units.items() if not v.provides("cluster-metrics")}
    text = "".join(observability.rule_files(no_ksm).values())
    assert "Restarting" not in text and "Backup" not in text and "VolumeFilling" in text
    no_metrics = {k: v for k, v in units.items() if not v.provides("metrics")}
    text = "".join(observability.rule_files(no_metrics).values())
    assert "VolumeFilling" not in text and "Restarting" in text


def test_kubelet_series_are_known_only_while_prometheus_scrapes_the_kubelets(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(MINIMAL_SPEC + "components:\n  prometheus: {storage: 10Gi, settings: {scrapeKubelet: false}}\n  kube-state-metrics: {}\n", encoding="utf-8")
    units = _units(spec)
    known = observability.known_metrics(observability.observed(units))
    assert "kubelet_volume_stats_available_bytes" not in known and "prometheus_tsdb_head_series" in known
    text = "".join(observability.rule_files(units).values()) + "".join(observability.dashboards(units).values())
    assert "kubelet_volume_stats" not in text and "container_cpu_usage_seconds_total" not in text
    assert "PrometheusRestarting" in text


PROMTOOL_TEST = """\
rule_files: [{files}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{{namespace="observability", app="prometheus", instance="10.0.0.1:9090", job="kubernetes-pods"}}'
        values: '0x10'
      - series: 'kube_cronjob_status_last_successful_time{{namespace="db", cronjob="postgres-backup"}}'
        values: '-100000x60'
      - series: 'kube_cronjob_info{{namespace="db", cronjob="postgres-backup"}}'
        values: '1x60'
      - series: 'kubelet_volume_stats_available_bytes{{namespace="db", persistentvolumeclaim="data-postgres-0"}}'
        values: '4x30'
      - series: 'kubelet_volume_stats_capacity_bytes{{namespace="db", persistentvolumeclaim="data-postgres-0"}}'
        values: '100x30'
      - series: 'kube_pod_container_status_restarts_total{{namespace="db", pod="postgres-0", container="postgres"}}'
        values: '0+1x30'
      - series: 'kube_pod_labels{{namespace="db", pod="postgres-0", label_app_kubernetes_io_instance="postgres"}}'
        values: '1x30'
      - series: 'node_filesystem_avail_bytes{{instance="node-1", mountpoint="/mnt/local-ssd", fstype="ext4"}}'
        values: '5x30'
      - series: 'node_filesystem_size_bytes{{instance="node-1", mountpoint="/mnt/local-ssd", fstype="ext4"}}'
        values: '100x30'
      - series: 'node_filesystem_avail_bytes{{instance="node-1", mountpoint="/run", fstype="tmpfs"}}'
        values: '0x30'
      - series: 'node_filesystem_size_bytes{{instance="node-1", mountpoint="/run", fstype="tmpfs"}}'
        values: '100x30'
    alert_rule_test:
      - eval_time: 10m
        alertname: PrometheusTargetDown
        exp_alerts:
          - exp_labels: {{severity: critical, component: prometheus, namespace: observability, app: prometheus, instance: "10.0.0.1:9090", job: kubernetes-pods}}
            exp_annotations:
              summary: "prometheus: a metrics target is down"
              description: "Prometheus cannot scrape 10.0.0.1:9090 of prometheus in observability."
      - eval_time: 30m
        alertname: PostgresVolumeFull
        exp_alerts:
          - exp_labels: {{severity: critical, component: postgres, namespace: db, persistentvolumeclaim: data-postgres-0}}
            exp_annotations:
              summary: "postgres: a volume is almost full"
              description: "PVC data-postgres-0 (postgres in db) has 4% free (below 5%)."
      - eval_time: 30m
        alertname: PostgresRestarting
        exp_alerts:
          - exp_labels: {{severity: warning, component: postgres, namespace: db, pod: postgres-0, container: postgres}}
            exp_annotations:
              summary: "postgres: a container restarts repeatedly"
              description: "Container postgres of pod postgres-0 (postgres in db) restarted more than 3 times in the last hour."
      - eval_time: 30m
        alertname: NodeFilesystemFilling
        exp_alerts:
          - exp_labels: {{severity: warning, instance: node-1, mountpoint: /mnt/local-ssd, fstype: ext4}}
            exp_annotations:
              summary: "A node's filesystem is filling"
              description: "/mnt/local-ssd on node-1 has 5% free (below 10%); local volumes live on node disks."
      - eval_time: 60m
        alertname: BackupTooOld
        exp_alerts:
          - exp_labels: {{severity: critical, namespace: db, cronjob: postgres-backup}}
            exp_annotations:
              summary: "The last successful backup is too old"
              description: "CronJob db/postgres-backup last succeeded 1d 4h 46m 40s ago (more than 26h)."
      - eval_time: 20m
        alertname: BackupNeverSucceeded
        exp_alerts: []
"""


def test_the_rules_fire_on_synthetic_series(tmp_path: Path, promtool: str) -> None:
    """`promtool test rules`: a down target, a full volume and a crash-looping pod each raise their alert.

    The backup last succeeded about 28 hours before the test's clock starts (at the epoch), so after
    the rule's 15 minutes it fires; BackupNeverSucceeded stays quiet, since there was a success.
    """
    files = observability.rule_files(_units(ROOT / "profiles" / "betelgeuse.yaml"))
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    wanted = ["prometheus.rules.yml", "postgres.rules.yml", "platform.rules.yml"]
    test = PROMTOOL_TEST.format(files=", ".join(json.dumps(n) for n in wanted))
    (tmp_path / "test.yml").write_text(test, encoding="utf-8")
    done = subprocess.run([promtool, "test", "rules", "--debug", "test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# --- dashboards --------------------------------------------------------------------------------

_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"})


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions, keywords or label lists."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word = match.group(0)
        rest = text[match.end():].lstrip()
        if rest.startswith("(") or word.lower() in _KEYWORDS:
            continue
        if match.start() > 0 and (text[match.start() - 1].isdigit() or text[match.start() - 1] == "."):
            continue  # part of a number (1e3) or a duration
        names.add(word)
    return names


def test_metric_names_reads_what_a_query_names() -> None:
    expr = 'sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{namespace="db", container!=""}[5m])) * on(namespace, pod) group_left() kube_pod_labels{a=~"x|y"} > 3'
    assert metric_names(expr) == {"container_cpu_usage_seconds_total", "kube_pod_labels"}
    assert metric_names("count(up == 0) or vector(0)") == {"up"}
    assert metric_names("time() - foo_total > 26 * 3600") == {"foo_total"}


def _dashboards(profile: Path, env: str) -> dict[str, dict[str, Any]]:
    return {name: json.loads(text) for name, text in observability.dashboards(_units(profile, env)).items()}


@pytest.mark.parametrize(("profile", "env"), CASES, ids=IDS)
def test_every_panel_queries_only_known_metrics(profile: Path, env: str) -> None:
    units = _units(profile, env)
    known = observability.known_metrics(observability.observed(units))
    boards = _dashboards(profile, env)
    assert "platform.json" in boards
    seen = set()
    for name, board in boards.items():
        assert board["uid"] and board["title"] and board["panels"], name
        for panel in board["panels"]:
            assert panel["targets"], f"{name}: {panel['title']} has no query"
            for target in panel["targets"]:
                used = metric_names(target["expr"])
                assert used, f"{name}: {target['expr']!r} names no metric"
                unknown = used - known
                assert not unknown, f"{name}: panel {panel['title']!r} queries {sorted(unknown)}, which no scrape target declares"
                seen |= used
    assert "up" in seen


def test_known_metrics_come_only_from_scraped_components() -> None:
    units = _units(ROOT / "profiles" / "betelgeuse.yaml")
    comps = observability.observed(units)
    known = observability.known_metrics(comps)
    assert "kube_pod_container_status_restarts_total" in known and "node_cpu_seconds_total" in known
    unscraped = [observability.Observed(name="x", namespace="x", instance="x", scraped=False, stateful=False, runs_pods=True, metrics=("x_total",))]
    assert observability.known_metrics(unscraped) == {"up"}


def test_dashboards_are_provisioned_into_grafana() -> None:
    tree = build_tree(load_platform(ROOT / "profiles" / "betelgeuse.yaml"))
    boards = _configmap(tree.files, "configmap-grafana-dashboards.yaml")
    assert boards == observability.dashboards(_units(ROOT / "profiles" / "betelgeuse.yaml"))
    assert {"platform.json", "postgres.json", "prometheus.json", "kube-state-metrics.json"} <= set(boards)
    uids = [json.loads(text)["uid"] for text in boards.values()]
    assert len(uids) == len(set(uids))
    provider = yaml.safe_load(_configmap(tree.files, "configmap-grafana-dashboard-provider.yaml")["dashboards.yaml"])
    path = provider["providers"][0]["options"]["path"]
    deploy = yaml.safe_load(tree.files["components/grafana/base/deployment-grafana.yaml"])
    pod = deploy["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts[path]]["configMap"]["name"] == "grafana-dashboards"
    assert volumes[mounts["/etc/grafana/provisioning/dashboards"]]["configMap"]["name"] == "grafana-dashboard-provider"
    datasources = yaml.safe_load(_configmap(tree.files, "configmap-grafana-datasources.yaml")["datasources.yaml"])
    default = [d for d in datasources["datasources"] if d.get("isDefault")]
    assert [d["type"] for d in default] == [observability.DATASOURCE_PLUGIN]  # what the datasource variable picks
    for text in boards.values():
        [variable] = json.loads(text)["templating"]["list"]
        assert variable["type"] == "datasource" and variable["query"] == observability.DATASOURCE_PLUGIN


def test_the_dashboards_configmap_fits_a_client_side_apply() -> None:
    """Argo CD applies client-side by default, keeping the whole object in an annotation (at most 256 KiB)."""
    tree = build_tree(load_platform(ROOT / "profiles" / "betelgeuse.yaml"))
    [path] = [p for p in tree.files if p.endswith("configmap-grafana-dashboards.yaml") and "/base/" in p]
    assert len(tree.files[path]) < 200 * 1024


def test_rendering_is_deterministic() -> None:
    profile = ROOT / "profiles" / "betelgeuse.yaml"
    assert observability.dashboards(_units(profile)) == observability.dashboards(_units(profile))
    assert observability.rule_files(_units(profile)) == observability.rule_files(_units(profile))


# --- validate: every metrics port is a scrape target ------------------------------------------

SCRAPE_SPEC = MINIMAL_SPEC + """\
components:
  prometheus: {storage: 10Gi}
  kube-state-metrics: {}
  node-exporter: {}
"""


def test_relabelling_runs_like_prometheus() -> None:
    """Anchored regexes, joined source labels, `$n` replacements; keep and drop."""
    labels = {"a": "x", "b": "9000", "ip": "10.0.0.1"}
    assert scrape.relabel(labels, [{"source_labels": ["a"], "action": "keep", "regex": "x|y"}]) == labels
    assert scrape.relabel(labels, [{"source_labels": ["a"], "action": "keep", "regex": "xx?z"}]) is None
    assert scrape.relabel(labels, [{"source_labels": ["a", "b"], "action": "drop", "regex": "x;9000"}]) is None
    moved = scrape.relabel(labels, [{"source_labels": ["b", "ip"], "regex": r"(\d+);(\d+\.\d+\.\d+\.\d+)", "replacement": "$2:$1", "target_label": "__address__"}])
    assert moved is not None and moved["__address__"] == "10.0.0.1:9000"


@pytest.mark.usefixtures("tools")
def test_validate_finds_a_metrics_port_no_job_scrapes(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(SCRAPE_SPEC, encoding="utf-8")
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(spec)), out)
    manifest = json.loads((out / ".bbgen" / "manifest.json").read_text(encoding="utf-8"))
    assert {(e["component"], e["port"]) for e in manifest["metricsPorts"]["prod"]} == {
        ("kube-state-metrics", "http-metrics"), ("kube-state-metrics", "telemetry"), ("node-exporter", "metrics"),
    }
    assert not [f for f in api.validate(out).findings if f.check == "scrape"]
    # The kube-state-metrics job keeps only its main port: the telemetry port is scraped by nobody.
    config = out / "components" / "prometheus" / "base" / "configmap-prometheus-config.yaml"
    text = config.read_text(encoding="utf-8")
    assert "kube-state-metrics;bbgen;(http-metrics|telemetry)" in text
    config.write_text(text.replace("kube-state-metrics;bbgen;(http-metrics|telemetry)", "kube-state-metrics;bbgen;http-metrics"), encoding="utf-8")
    found = [f for f in api.validate(out).findings if f.check == "scrape"]
    assert [(f.file, f.resource, f.severity) for f in found] == [
        ("components/kube-state-metrics/base/deployment-kube-state-metrics.yaml", "Deployment/observability/kube-state-metrics", "error"),
    ]
    assert "metrics port telemetry (8081) of kube-state-metrics" in found[0].message and "prometheus.io/port" in found[0].message
    done = subprocess.run([str(Path(sys.executable).parent / "bbgen"), "validate", str(out), "--no-charts"], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode != 0 and "components/kube-state-metrics/base/deployment-kube-state-metrics.yaml" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.usefixtures("tools")
def test_a_pod_annotated_for_another_port_is_not_a_scrape_of_its_metrics_port(tmp_path: Path) -> None:
    """node-exporter, if it were annotated for a wrong port and its job gone, is reported at its DaemonSet."""
    spec = tmp_path / "platform.yaml"
    spec.write_text(SCRAPE_SPEC, encoding="utf-8")
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(spec)), out)
    config = out / "components" / "prometheus" / "base" / "configmap-prometheus-config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("node-exporter;bbgen;metrics", "node-exporter;bbgen;nothing"), encoding="utf-8")
    daemonset = out / "components" / "node-exporter" / "base" / "daemonset-node-exporter.yaml"
    doc = yaml.safe_load(daemonset.read_text(encoding="utf-8"))
    doc["spec"]["template"]["metadata"]["annotations"] = {"prometheus.io/scrape": "true", "prometheus.io/port": "9101"}
    daemonset.write_text(yaml.safe_dump(doc), encoding="utf-8")
    found = [f for f in api.validate(out).findings if f.check == "scrape"]
    assert [(f.file, f.resource) for f in found] == [("components/node-exporter/base/daemonset-node-exporter.yaml", "DaemonSet/observability/node-exporter")]
    doc["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] = "9100"  # annotated right: scraped again
    daemonset.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert not [f for f in api.validate(out).findings if f.check == "scrape"]


# --- the alert route ---------------------------------------------------------------------------

AM_SPEC = MINIMAL_SPEC + """\
components:
  prometheus: {storage: 10Gi}
  alertmanager: {settings: %s}
"""

KNOWN_TOP = {"global", "route", "receivers", "inhibit_rules", "templates", "time_intervals", "mute_time_intervals"}
KNOWN_RECEIVER = {"name", "webhook_configs", "email_configs"}
SECRET_DIR = "/etc/alertmanager-secrets/"


def _alertmanager(tmp_path: Path, settings: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, bytes]]:
    spec = tmp_path / "platform.yaml"
    spec.write_text(AM_SPEC % settings, encoding="utf-8")
    tree = build_tree(load_platform(spec))
    config = yaml.safe_load(_configmap(tree.files, "configmap-alertmanager-config.yaml")["alertmanager.yml"])
    deploy = yaml.safe_load(tree.files["components/alertmanager/base/deployment-alertmanager.yaml"])
    return config, deploy, tree.files


def check_alertmanager_config(config: dict[str, Any], deploy: dict[str, Any]) -> None:
    """A strict check of our own (amtool is not built here): known keys, a route to a defined receiver,
    and every *_file a key of the mounted receiver Secret that the catalog declares."""
    assert set(config) <= KNOWN_TOP, set(config) - KNOWN_TOP
    names = [r["name"] for r in config["receivers"]]
    assert len(names) == len(set(names)) and config["route"]["receiver"] in names
    for key in ("group_wait", "group_interval", "repeat_interval"):
        assert re.fullmatch(r"\d+[smh]", config["route"][key]), key
    pod = deploy["spec"]["template"]["spec"]
    mounts = {m["mountPath"].rstrip("/") + "/": m["name"] for m in pod["containers"][0]["volumeMounts"]}
    secret = {v["name"]: v for v in pod["volumes"]}[mounts[SECRET_DIR]]["secret"]
    declared = {s.name: s for s in load_catalog()["alertmanager"].secrets}[secret["secretName"]]
    for receiver in config["receivers"]:
        assert set(receiver) <= KNOWN_RECEIVER
        for kind, entries in receiver.items():
            if kind == "name":
                continue
            for entry in entries:
                for key, value in entry.items():
                    if key.endswith("_file"):
                        assert value.startswith(SECRET_DIR) and value[len(SECRET_DIR):] in declared.keys, value
                assert "url" not in entry and "auth_password" not in entry  # secrets only as files
    for rule in config.get("inhibit_rules", []):
        assert rule["source_matchers"] and rule["target_matchers"]


def test_receiver_none_is_a_route_to_nowhere(tmp_path: Path) -> None:
    config, deploy, _ = _alertmanager(tmp_path, "{}")
    check_alertmanager_config(config, deploy)
    assert config["receivers"] == [{"name": "default"}]


def test_receiver_webhook_reads_its_url_from_the_secret(tmp_path: Path) -> None:
    config, deploy, files = _alertmanager(tmp_path, "{receiver: webhook}")
    check_alertmanager_config(config, deploy)
    assert config["receivers"] == [{"name": "default", "webhook_configs": [{"url_file": SECRET_DIR + "url", "send_resolved": True}]}]
    assert not [p for p in files if "secret" in p.lower() and p.endswith(".yaml") and b"kind: Secret" in files[p]]


def test_receiver_email(tmp_path: Path) -> None:
    config, deploy, _ = _alertmanager(tmp_path, "{receiver: email, emailTo: ops@example.org, emailFrom: am@example.org, smarthost: 'smtp.example.org:587', smtpUser: am}")
    check_alertmanager_config(config, deploy)
    [email] = config["receivers"][0]["email_configs"]
    assert email["to"] == "ops@example.org" and email["auth_username"] == "am" and email["auth_password_file"] == SECRET_DIR + "smtp-password"


def test_the_strict_check_catches_a_broken_config(tmp_path: Path) -> None:
    config, deploy, _ = _alertmanager(tmp_path, "{receiver: webhook}")
    config["route"]["receiver"] = "elsewhere"
    with pytest.raises(AssertionError):
        check_alertmanager_config(config, deploy)
    config["route"]["receiver"] = "default"
    config["receivers"][0]["webhook_configs"][0]["url_file"] = SECRET_DIR + "token"
    with pytest.raises(AssertionError):
        check_alertmanager_config(config, deploy)


@pytest.mark.parametrize(("settings", "message"), [
    ("{receiver: pager}", "receiver"),
    ("{receiver: email}", "receiver: email needs settings emailTo, emailFrom and smarthost"),
])
def test_a_bad_receiver_is_a_located_error(tmp_path: Path, settings: str, message: str) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(AM_SPEC % settings, encoding="utf-8")
    done = subprocess.run([str(Path(sys.executable).parent / "bbgen"), "render", str(spec), "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
