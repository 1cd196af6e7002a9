"""Alert rules, the alert route and dashboards: generated from catalog facts, checked by the real parsers.

The rule files go through the real `promtool check rules` (and `promtool test rules`, which
evaluates them over synthetic series, so a rule that cannot fire fails here). Dashboards must be
JSON whose every query names only metrics some scraped component of the platform declares.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen.catalog import load_catalog
from bbgen.kube.pins import PINS
from bbgen.render import observability
from bbgen.render.build import build_tree
from bbgen.render.units import env_units
from bbgen.spec import load_platform
from bbgen.validate.install import binary_version
from support import ROOT

PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))
ENV_REQUIRE = "BBGEN_REQUIRE_PROMTOOL"


@pytest.fixture(scope="session")
def promtool() -> str:
    """The pinned promtool; `bbgen tools install` builds it. Missing skips locally, fails in CI."""
    cache = Path(os.environ.get("BBGEN_TOOLS_DIR", Path.home() / ".cache" / "bbgen" / "tools")) / "bin" / "promtool"
    found = shutil.which("promtool") or (str(cache) if cache.is_file() else None)
    if found is None:
        why = "promtool is not installed; run `bbgen tools install`"
        if os.environ.get("CI") or os.environ.get(ENV_REQUIRE) == "1":
            pytest.fail(why)
        pytest.skip(why)
    return found


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
    assert alerts["platform.rules.yml"] == ["CertificateExpiresSoon", "BackupTooOld", "BackupNeverSucceeded"]


def test_rules_need_the_metrics_they_read() -> None:
    """Without kube-state-metrics no restart or backup rule; without the kubelet's volume stats no PVC rule."""
    units = _units(ROOT / "profiles" / "betelgeuse.yaml")
    no_ksm = {k: v for k, v in units.items() if not v.provides("cluster-metrics")}
    text = "".join(observability.rule_files(no_ksm).values())
    assert "Restarting" not in text and "Backup" not in text and "VolumeFilling" in text
    no_metrics = {k: v for k, v in units.items() if not v.provides("metrics")}
    text = "".join(observability.rule_files(no_metrics).values())
    assert "VolumeFilling" not in text and "Restarting" in text


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


def test_rendering_is_deterministic() -> None:
    profile = ROOT / "profiles" / "betelgeuse.yaml"
    assert observability.dashboards(_units(profile)) == observability.dashboards(_units(profile))
    assert observability.rule_files(_units(profile)) == observability.rule_files(_units(profile))
