"""Chart-delivered components rendered with the real helm, from small charts these tests write themselves.

The tree is treekit's baseline: a cert-manager Application (chart `cert-manager`
v1.19.1 from a chart repository, values from this tree) in project `infra`, which
allows the namespace `cert-manager` only. The chart written here stands in for the
upstream one; what it renders is chosen per test.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bbgen import api
from bbgen.validate import Report
from bbgen.validate.charts_source import ChartOptions

from support import ROOT
from treekit import Files, baseline, meta, write_tree

APP_FILE = "apps/prod/cert-manager.yaml"

CHART_VALUES = """\
replicas: 1
podAnnotations: {}
server:
  port: 80
  tls:
    enabled: false
extra:
  namespace: false
  collide: false
  broken: false
  leak: ""
"""

TEMPLATES = {
    "deployment.yaml": """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}
          labels: {app.kubernetes.io/name: {{ .Chart.Name }}}
        spec:
          replicas: {{ .Values.replicas }}
          selector:
            matchLabels: {app.kubernetes.io/name: {{ .Chart.Name }}}
          template:
            metadata:
              labels: {app.kubernetes.io/name: {{ .Chart.Name }}}
              {{- with .Values.podAnnotations }}
              annotations: {{- toYaml . | nindent 8 }}
              {{- end }}
            spec:
              containers:
                - name: server
                  image: registry.example.org/server:1.0.0
                  ports: [{name: http, containerPort: {{ .Values.server.port }}}]
                  {{- if .Values.extra.broken }}
                  imagePullPolicyz: Always
                  {{- end }}
        """,
    # Which cluster helm was told about: the release, the namespace, the Kubernetes minor, a CRD's API.
    "facts.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-k{{ .Capabilities.KubeVersion.Minor }}
        data:
          namespace: {{ .Release.Namespace }}
        {{- if .Capabilities.APIVersions.Has "widgets.example.org/v1/Widget" }}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-sees-widgets
        {{- end }}
        """,
    "extra.yaml": """\
        {{- if .Values.extra.namespace }}
        apiVersion: v1
        kind: Namespace
        metadata:
          name: {{ .Release.Name }}-secrets
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata:
          name: reader
          namespace: {{ .Release.Name }}-secrets
        rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
        {{- end }}
        {{- if .Values.extra.collide }}
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: web
        {{- end }}
        {{- if .Values.extra.leak }}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: tokens
        data:
          token: {{ .Values.extra.leak | quote }}
        {{- end }}
        """,
}

WIDGET_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.widgets.example.org
spec:
  group: widgets.example.org
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


def write_chart(directory: Path, version: str = "v1.19.1", *, name: str = "cert-manager") -> Path:
    chart = directory / f"{name}-{version}"
    (chart / "templates").mkdir(parents=True)
    (chart / "crds").mkdir()
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n", encoding="utf-8")
    (chart / "values.yaml").write_text(CHART_VALUES, encoding="utf-8")
    for file, text in TEMPLATES.items():
        (chart / "templates" / file).write_text(textwrap.dedent(text), encoding="utf-8")
    (chart / "crds" / "widget.yaml").write_text(WIDGET_CRD, encoding="utf-8")
    return directory


@pytest.fixture
def charts(tmp_path: Path) -> Path:
    return write_chart(tmp_path / "charts")


def options(directory: Path, tmp_path: Path, **extra: Any) -> ChartOptions:
    """Chart options as the api makes them (leak guard included) that never pull (unless asked) and keep the cache in tmp_path."""
    made = api.chart_options(directory=directory)
    return dataclasses.replace(made, cache=tmp_path / "cache", pull=extra.pop("pull", False), **extra)


def _values(files: Files, env: str, values: dict[str, Any]) -> Files:
    """The values file of ``env``; the infra projects also admit the chart's CRD (a cluster-scoped kind)."""
    files[f"values/cert-manager/{env}.yaml"] = values
    for rel, doc in files.items():
        if rel.endswith("infra.yaml") and rel.startswith("projects/"):
            allowed = doc["spec"]["clusterResourceWhitelist"]
            if {"group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition"} not in allowed:
                allowed.append({"group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition"})
    return files


def _mine(report: Report, check: str, severity: str = "error") -> list[str]:
    return sorted(str(f) for f in report.findings if f.check == check and f.severity == severity)


def test_renders_like_argo_cd_and_a_clean_chart_passes(
    tools: dict[str, str], check_tree: Callable[..., Report], charts: Path, tmp_path: Path
) -> None:
    files = baseline(("prod", "staging"))
    files[".bbgen/manifest.json"] = files[".bbgen/manifest.json"].replace('"files"', '"kubernetesVersions": {"staging": "1.33.0"}, "files"')
    for env in ("prod", "staging"):
        _values(files, env, {"server": {"port": 8080}, "podAnnotations": {"any.example.org/key": "free-form"}})
    report = check_tree(files, charts=options(charts, tmp_path))
    assert not report.errors, "\n".join(map(str, report.errors))
    assert not [f for f in report.findings if f.check.startswith("chart")], "\n".join(map(str, report.findings))
    checked = set(report.checked)
    # release name and destination namespace from the Application, each environment's Kubernetes minor
    assert (APP_FILE, "Deployment/cert-manager/cert-manager") in checked
    assert (APP_FILE, "ConfigMap/cert-manager/cert-manager-k34") in checked
    assert ("apps/staging/cert-manager.yaml", "ConfigMap/cert-manager/cert-manager-k33") in checked
    # the chart's own CRD (--include-crds) is passed back as an API the cluster serves (--api-versions)
    assert (APP_FILE, "CustomResourceDefinition/widgets.widgets.example.org") in checked
    assert (APP_FILE, "ConfigMap/cert-manager/cert-manager-sees-widgets") in checked
    assert report.charts[0] == {"application": APP_FILE, "chart": "cert-manager", "version": "v1.19.1", "pinned": "v1.19.1", "from": f"chart directory {charts}"}


def test_chart_output_meets_project_schema_collision_and_leak_checks(
    tools: dict[str, str], check_tree: Callable[..., Report], charts: Path, tmp_path: Path
) -> None:
    token = "ghp_" + "A1b2C3d4E5" * 4  # a GitHub token shape, built here rather than written out
    files = _values(baseline(), "prod", {"extra": {"namespace": True, "collide": True, "broken": True, "leak": token}})
    report = check_tree(files, charts=options(charts, tmp_path))
    note = "(chart cert-manager v1.19.1)"
    project = _mine(report, "app-project")
    assert project == [
        f"{APP_FILE}: Namespace/cert-manager-secrets: [app-project] cluster-scoped kind core/Namespace is not permitted by AppProject 'infra' (deployed by Application prod-cert-manager) {note}",
        f"{APP_FILE}: Namespace/web: [app-project] cluster-scoped kind core/Namespace is not permitted by AppProject 'infra' (deployed by Application prod-cert-manager) {note}",
        f"{APP_FILE}: Role/cert-manager-secrets/reader: [app-project] namespace cert-manager-secrets is not an allowed destination of AppProject 'infra' (deployed by Application prod-cert-manager) {note}",
    ]
    (collision,) = _mine(report, "chart-collision")
    assert collision.startswith(f"{APP_FILE}: Namespace/web: [chart-collision] also rendered by bbgen's platform/prod")
    (schema,) = _mine(report, "kubeconform")
    assert schema.startswith(f"{APP_FILE}: Deployment/cert-manager/cert-manager: [kubeconform]") and "imagePullPolicyz" in schema and schema.endswith(note)
    (leak,) = _mine(report, "leak-guard")
    assert leak.startswith(f"{APP_FILE}: ConfigMap/tokens: [leak-guard] data.token: looks like a GitHub token") and token not in leak


def test_values_keys_the_chart_does_not_declare(tools: dict[str, str], check_tree: Callable[..., Report], charts: Path, tmp_path: Path) -> None:
    values = {
        "replicas": 2,
        "global": {"anything": True},  # shared with subcharts: never checked
        "podAnnotations": {"free": "form"},  # default {}: a free-form map
        "server": {"port": 81, "tls": {"enabled": True, "secretNam": "x"}, "readinessProbe": {"enabled": True}},
        "useDefaultArtifactRepo": True,
    }
    report = check_tree(_values(baseline(), "prod", values), charts=options(charts, tmp_path))
    found = [(f.file, f.message.split(" is not declared")[0]) for f in report.findings if f.check == "chart-values"]
    assert found == [
        ("values/cert-manager/prod.yaml", "values key server.readinessProbe"),
        ("values/cert-manager/prod.yaml", "values key server.tls.secretNam"),
        ("values/cert-manager/prod.yaml", "values key useDefaultArtifactRepo"),
    ]
    assert all(f.severity == "error" and f.resource == "Application/argocd/prod-cert-manager" for f in report.findings if f.check == "chart-values")


def test_another_version_only_when_allowed_and_then_said(tools: dict[str, str], check_tree: Callable[..., Report], tmp_path: Path) -> None:
    older = write_chart(tmp_path / "older", "v1.19.0")
    files = _values(baseline(), "prod", {"server": {"typo": 1}})
    refused = check_tree(files, charts=options(older, tmp_path))
    (warning,) = _mine(refused, "chart", "warning")
    assert "chart cert-manager v1.19.1 is not at hand" in warning and f"{older} has cert-manager v1.19.0" in warning
    assert "--chart-version-mismatch allow" in warning
    assert not [c for c in refused.checked if c[0] == APP_FILE and not c[1].startswith("Application/")]

    allowed = check_tree(files, charts=options(older, tmp_path, allow_other_version=True))
    (said,) = _mine(allowed, "chart", "warning")
    assert "rendered version v1.19.0" in said and "not the pinned v1.19.1" in said
    (key,) = _mine(allowed, "chart-values", "warning")  # a key finding against another version is only a warning
    assert "server.typo" in key and key.endswith("(chart cert-manager v1.19.0 rendered, not the pinned v1.19.1)")
    assert (APP_FILE, "Deployment/cert-manager/cert-manager") in set(allowed.checked)


def test_a_missing_chart_is_a_warning_saying_how_to_provide_it(tools: dict[str, str], check_tree: Callable[..., Report], tmp_path: Path) -> None:
    files = baseline()
    closed = "http://127.0.0.1:9/charts"  # nothing listens on the discard port: helm pull fails at once, offline
    files[APP_FILE]["spec"]["sources"][0]["repoURL"] = closed
    files["projects/appproject-infra.yaml"]["spec"]["sourceRepos"].append(closed)
    report = check_tree(files, charts=options(tmp_path / "empty", tmp_path, pull=True))
    (warning,) = _mine(report, "chart", "warning")
    assert f"`helm pull` from {closed} failed" in warning
    assert "--charts DIR" in warning and "--no-charts" in warning
    assert not (tmp_path / "cache" / "cert-manager-v1.19.1").exists() and not list((tmp_path / "cache").iterdir())
    skipped = check_tree(files, charts=ChartOptions(enabled=False))
    assert not [f for f in skipped.findings if f.check.startswith("chart")]


def test_network_policies_are_judged_against_the_charts_pods(
    tools: dict[str, str], check_tree: Callable[..., Report], charts: Path, tmp_path: Path
) -> None:
    files = baseline()
    policies = {
        "typo": {"app.kubernetes.io/name": "cert-managr"},  # the chart's pods carry this key, not this value
        "solver": {"acme.cert-manager.io/http01-solver": "true"},  # pods made at run time: not judged
        "match": {"app.kubernetes.io/name": "cert-manager"},
    }
    for name, labels in policies.items():
        files["platform/prod/kustomization.yaml"]["resources"].append(f"networkpolicy-{name}.yaml")
        files[f"platform/prod/networkpolicy-{name}.yaml"] = {
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(name, "cert-manager"),
            "spec": {"podSelector": {"matchLabels": labels}, "policyTypes": ["Ingress"], "ingress": [{"ports": [{"port": 80}]}]},
        }
    report = check_tree(_values(files, "prod", {}), charts=options(charts, tmp_path))
    found = _mine(report, "network-policy")
    assert len(found) == 1 and "NetworkPolicy/cert-manager/typo" in found[0] and "selects no pod in namespace cert-manager" in found[0]
    # the policies admit port 80, which the chart's pods declare: no port warning (before, chart pods were unknown)
    assert not _mine(report, "network-policy", "warning")



def test_cli_options(tools: dict[str, str], charts: Path, tmp_path: Path) -> None:
    """`--charts DIR` (a missing one is a usage error), $BBGEN_CHARTS, `--no-charts`, and the JSON report's charts."""
    tree = write_tree(tmp_path / "tree", _values(baseline(), "prod", {"server": {"typo": 1}}))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HOME": str(tmp_path / "home")}
    env.pop("BBGEN_CHARTS", None)

    def validate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bbgen", "validate", str(tree), *args], capture_output=True, text=True, env=env, timeout=300)

    missing = validate("--charts", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and f"--charts {tmp_path / 'nowhere'}: no such directory" in missing.stderr
    done = validate("--charts", str(charts), "-o", "json")
    report = json.loads(done.stdout)
    assert done.returncode == 1 and [c["chart"] for c in report["charts"]] == ["cert-manager"]
    assert [f["check"] for f in report["findings"] if f["severity"] == "error"] == ["chart-values"]
    assert "rendered 1 charts" in done.stderr
    via_env = subprocess.run(
        [sys.executable, "-m", "bbgen", "validate", str(tree), "-o", "json"], capture_output=True, text=True, env={**env, "BBGEN_CHARTS": str(charts)}, timeout=300
    )
    assert json.loads(via_env.stdout)["charts"] == report["charts"]
    skipped = validate("--charts", str(charts), "--no-charts", "-o", "json")
    assert skipped.returncode == 0 and json.loads(skipped.stdout)["charts"] == []
