"""The real upstream charts (../shared/charts, see the `shared_charts` fixture) rendered from a real render.

These trees are older than some of bbgen's pins, so the run allows the version
mismatch and every chart finding must say which version rendered.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from bbgen import api
from bbgen.validate import validate_tree
from bbgen.validate.charts_source import ChartOptions

from support import ROOT, bbgen

CNI_APP = "apps/prod/cilium.yaml"


def _options(charts: Path) -> ChartOptions:
    """As `--charts DIR --chart-version-mismatch allow` makes them, without pulling."""
    return dataclasses.replace(api.chart_options(directory=charts, allow_other_version=True), pull=False)


def _render(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    done = bbgen("render", str(ROOT / "profiles" / "minimal.yaml"), "--out", str(out), "-q")  # the gateway provider
    assert done.returncode == 0, done.stderr
    return out


def _project_file(out: Path) -> Path:
    app = yaml.safe_load((out / CNI_APP).read_text(encoding="utf-8"))
    name = app["spec"]["project"]
    return next(p for p in (out / "projects").rglob("*.yaml") if yaml.safe_load(p.read_text(encoding="utf-8"))["metadata"]["name"] == name)


def _as_before_the_fix(out: Path) -> None:
    """The networking AppProject as the catalog rendered it before admitting the chart's secrets namespace."""
    path = _project_file(out)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec = doc["spec"]
    spec["destinations"] = [d for d in spec["destinations"] if d["namespace"] != "cilium-secrets"]
    dropped = {"Namespace", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
    spec["clusterResourceWhitelist"] = [k for k in spec["clusterResourceWhitelist"] if k["kind"] not in dropped]
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def test_the_cni_chart_needs_its_secrets_namespace_and_the_catalog_admits_it(tools: dict[str, str], shared_charts: Path, tmp_path: Path) -> None:
    out = _render(tmp_path)
    argv = [sys.executable, "-m", "bbgen", "validate", str(out), "--charts", str(shared_charts), "--chart-version-mismatch", "allow", "-o", "json", "-q"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HOME": str(tmp_path / "home")}  # a chart cache of its own: no pinned chart in it
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"], done.stdout
    said = [f["message"] for f in report["findings"] if f["check"] == "chart" and f["file"] == CNI_APP]
    assert len(said) == 1 and "rendered version 1.20.0" in said[0] and "not the pinned 1.20.2" in said[0]
    cni = [c for c in report["charts"] if c["application"] == CNI_APP]
    assert cni == [{"application": CNI_APP, "chart": "cilium", "version": "1.20.0", "pinned": "1.20.2", "from": f"chart directory {shared_charts}"}]

    _as_before_the_fix(out)
    before = validate_tree(out, charts=_options(shared_charts))
    denied = sorted(f.resource for f in before.errors if f.check == "app-project" and f.file == CNI_APP)
    assert denied == [
        "Namespace/cilium-secrets",
        "Role/cilium-secrets/cilium-operator-tlsinterception-secrets",
        "Role/cilium-secrets/cilium-tlsinterception-secrets",
        "RoleBinding/cilium-secrets/cilium-operator-tlsinterception-secrets",
        "RoleBinding/cilium-secrets/cilium-tlsinterception-secrets",
        "ValidatingAdmissionPolicy/gateway.cilium.io",  # rendered because the tree's Gateways mean the API is served
        "ValidatingAdmissionPolicyBinding/gateway.cilium.io",
    ], "\n".join(map(str, before.errors))
    assert all(f.message.endswith("(chart cilium 1.20.0 rendered, not the pinned 1.20.2)") for f in before.errors if f.file == CNI_APP)


def test_the_workflow_values_carry_only_keys_the_chart_declares(tools: dict[str, str], shared_charts: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert bbgen("render", str(ROOT / "profiles" / "betelgeuse.yaml"), "--out", str(out), "-q").returncode == 0
    report = validate_tree(out, charts=_options(shared_charts))
    keys = [str(f) for f in report.findings if f.check == "chart-values"]
    assert keys == [], "\n".join(keys)
    assert not report.errors, "\n".join(map(str, report.errors))
    values = out / "values/argo-workflows/prod.yaml"
    values.write_text(values.read_text(encoding="utf-8") + "useDefaultArtifactRepo: true\n", encoding="utf-8")
    again = validate_tree(out, charts=_options(shared_charts))
    (found,) = [f for f in again.findings if f.check == "chart-values"]
    assert found.file == "values/argo-workflows/prod.yaml" and "useDefaultArtifactRepo" in found.message
    assert found.severity == "warning" and "(chart argo-workflows 1.0.18 rendered, not the pinned 2.0.12)" in found.message
