"""A component guarding its metrics with a key (llama.cpp with `apiKey`) is still scraped: Prometheus gets a key of its own.

The catalog's `scrapeCredential` makes the metrics scraper one more consumer of the component's
per-consumer Secret: planned in both namespaces, a line of llama.cpp's key file, mounted into
Prometheus and sent by a scrape job of its own. The rendered prometheus.yml goes through the
real `promtool check config`, and `bbgen validate`'s scrape check runs its relabelling.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Callable

import yaml

from bbgen import api
from bbgen.render.build import build_tree
from bbgen.render.inventory import inventory_for
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from support import MINIMAL_SPEC

STS = "components/llama-cpp/base/statefulset-llama-cpp.yaml"
PROM_STS = "components/prometheus/base/statefulset-prometheus.yaml"
PROM_CONFIG = "components/prometheus/base/configmap-prometheus-config.yaml"


def _spec(api_key: bool) -> str:
    return MINIMAL_SPEC + f"""\
components:
  prometheus: {{}}
  llama-cpp: {{host: "", settings: {{apiKey: {str(api_key).lower()}}}}}
apps:
  api:
    image: registry.example.org/demo/api:1.0.0
    namespace: apps
    dependsOn: [llm]
"""


def _doc(files: dict[str, bytes], path: str) -> dict[str, Any]:
    doc = yaml.safe_load(files[path])
    assert isinstance(doc, dict)
    return doc


def _jobs(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(_doc(files, PROM_CONFIG)["data"]["prometheus.yml"])
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_prometheus_gets_its_own_key_and_a_job_that_sends_it(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(_spec(True))
    platform = load_platform(spec)
    files = dict(build_tree(platform).files)
    plans = {s.ref: s for s in inventory_for(platform).secrets}
    assert plans["ai/llama-cpp-prometheus"].consumer == "prometheus"
    assert "observability/llama-cpp-prometheus" in plans, "copied where Prometheus runs"

    pod = _doc(files, STS)["spec"]["template"]
    assert pod["metadata"]["annotations"]["bbgen.dev/scrape-credential"] == "llama-cpp"
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    (init,) = pod["spec"]["initContainers"]
    assert "prometheus" in next(e["value"] for e in init["env"] if e["name"] == "DEPENDANTS").split(), "its key is a line of --api-key-file"

    jobs = _jobs(files)
    keyed = jobs["kubernetes-pods-llama-cpp"]
    assert keyed["authorization"] == {"credentials_file": "/etc/scrape-keys/llama-cpp/api-key"}
    assert keyed["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["ai"]}}]
    assert "authorization" not in jobs["kubernetes-pods"]
    prom = _doc(files, PROM_STS)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in prom["volumes"]}
    (mount,) = [m for m in prom["containers"][0]["volumeMounts"] if m["mountPath"] == "/etc/scrape-keys/llama-cpp"]
    assert volumes[mount["name"]]["secret"]["secretName"] == "llama-cpp-prometheus"


def test_without_the_key_the_ordinary_job_scrapes_it(write_spec: Callable[[str], Path]) -> None:
    platform = load_platform(write_spec(_spec(False)))
    files = dict(build_tree(platform).files)
    assert "bbgen.dev/scrape-credential" not in _doc(files, STS)["spec"]["template"]["metadata"]["annotations"]
    assert sorted(j for j in _jobs(files) if j.startswith("kubernetes-pods")) == ["kubernetes-pods"]
    assert not any(s.ref.endswith("llama-cpp-prometheus") for s in inventory_for(platform).secrets)


def test_the_config_passes_promtool(write_spec: Callable[[str], Path], tmp_path: Path, promtool: str) -> None:
    files = dict(build_tree(load_platform(write_spec(_spec(True)))).files)
    config = tmp_path / "prometheus.yml"
    config.write_text(_doc(files, PROM_CONFIG)["data"]["prometheus.yml"], encoding="utf-8")
    done = subprocess.run([promtool, "check", "config", "--syntax-only", str(config)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_validate_sees_the_keyed_job_scrape_the_metrics_port(write_spec: Callable[[str], Path], tmp_path: Path, tools: dict[str, str]) -> None:
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(write_spec(_spec(True)))), out)
    report = api.validate(out, charts=api.chart_options(enabled=False))
    assert not [f for f in report.findings if f.check == "scrape"], [f.message for f in report.findings]

    config_file = out / PROM_CONFIG
    doc = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    config = yaml.safe_load(doc["data"]["prometheus.yml"])
    config["scrape_configs"] = [j for j in config["scrape_configs"] if j["job_name"] != "kubernetes-pods-llama-cpp"]
    doc["data"]["prometheus.yml"] = yaml.safe_dump(config)
    config_file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    report = api.validate(out, charts=api.chart_options(enabled=False))
    found = [f.message for f in report.findings if f.check == "scrape"]
    assert found and "metrics port http (8080) of llama-cpp is not a scrape target" in found[0], found


def test_its_metrics_reach_the_rules_and_the_dashboard(write_spec: Callable[[str], Path], tmp_path: Path, promtool: str) -> None:
    """Scraped, llama.cpp gets a target-down alert (through promtool) and panels of its declared series."""
    spec = _spec(True).replace("components:\n", "components:\n  kube-state-metrics: {}\n  grafana: {}\n  loki: {}\n  tempo: {}\n")
    files = dict(build_tree(load_platform(write_spec(spec))).files)
    rules = _doc(files, "components/prometheus/base/configmap-prometheus-rules.yaml")["data"]
    assert "LlamaCppTargetDown" in rules["llama-cpp.rules.yml"]
    (tmp_path / "llama-cpp.rules.yml").write_text(rules["llama-cpp.rules.yml"], encoding="utf-8")
    done = subprocess.run([promtool, "check", "rules", str(tmp_path / "llama-cpp.rules.yml")], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    boards = _doc(files, "components/grafana/base/configmap-grafana-dashboards.yaml")["data"]
    exprs = [t["expr"] for p in json.loads(boards["llama-cpp.json"])["panels"] for t in p.get("targets", [])]
    assert "sum(rate(llamacpp:tokens_predicted_total[5m]))" in exprs and "sum(llamacpp:requests_processing)" in exprs
