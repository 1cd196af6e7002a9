"""What CI reads: `validate --output json|junit` and `diff --output json`, parsed by real consumers.

JUnit goes through two independent parsers (the standard library's XML parser and
junitparser, which CI plugins use), so a malformed or mis-shaped report fails here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml

from support import ROOT, bbgen

MINIMAL = ROOT / "profiles" / "minimal.yaml"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("minimal") / "gitops"
    done = bbgen("render", str(MINIMAL), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def broken(rendered: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The minimal render with one schema error (a misspelt Deployment field) and one broken overlay."""
    out = tmp_path_factory.mktemp("broken") / "gitops"
    shutil.copytree(rendered, out)
    deployment = out / "components/grafana/base/deployment-grafana.yaml"
    text = deployment.read_text(encoding="utf-8")
    assert "  replicas: " in text
    deployment.write_text(text.replace("  replicas: ", "  replicaz: ", 1), encoding="utf-8")
    kustomization = out / "components/tempo/overlays/prod/kustomization.yaml"
    kustomization.write_text(kustomization.read_text(encoding="utf-8") + "resources: [missing.yaml]\n", encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def clean_json(tools: dict[str, str], rendered: Path) -> subprocess.CompletedProcess[str]:
    """`bbgen validate --output json` of the clean render, run once for the two tests that read it."""
    return bbgen("validate", str(rendered), "--output", "json")


@pytest.mark.tools
def test_validate_json_clean(clean_json: subprocess.CompletedProcess[str]) -> None:
    done = clean_json
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["format"] == "bbgen.validate/v1"
    assert report["ok"] is True
    assert report["kubernetesVersion"].startswith("1.34")
    assert report["summary"]["errors"] == 0
    assert report["summary"]["builds"] == len(report["builds"]) and "platform/prod" in report["builds"]
    assert report["summary"]["objects"] > 50
    assert report["summary"]["warnings"] == len(report["findings"])
    assert "built " in done.stderr  # status stays on stderr, stdout is only the document


@pytest.mark.tools
def test_validate_json_and_junit_name_each_problem(tools: dict[str, str], broken: Path) -> None:
    as_json = bbgen("validate", str(broken), "-o", "json", "--quiet")
    assert as_json.returncode == 1
    assert as_json.stderr == ""  # --quiet: nothing but errors on stderr
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert {f["check"] for f in errors} >= {"kubeconform", "kustomize"}
    schema_error = next(f for f in errors if f["check"] == "kubeconform")
    assert schema_error["resource"] == "Deployment/observability/grafana" and "replicaz" in schema_error["message"]

    junit = bbgen("validate", str(broken), "--output", "junit")
    assert junit.returncode == 1
    root = ET.fromstring(junit.stdout)
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    grafana = suites["components/grafana"]
    failed = [c for c in grafana.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["Deployment/observability/grafana"]
    assert "replicaz" in (failed[0].find("failure").get("message") or "")  # type: ignore[union-attr]
    builds = {c.get("classname"): c for c in suites["components/tempo"].iter("testcase") if c.get("name") == "kustomize build"}
    assert builds["components/tempo/overlays/prod"].find("failure") is not None
    assert int(root.get("failures") or 0) == sum(int(s.get("failures") or 0) for s in suites.values()) >= 2
    assert int(root.get("tests") or 0) == sum(1 for _ in root.iter("testcase"))

    parsed = JUnitXml.fromstring(junit.stdout.encode())
    failures = {
        (suite.name, case.name)
        for suite in parsed
        for case in suite
        if any(isinstance(r, Failure) for r in case.result)
    }
    assert ("components/grafana", "Deployment/observability/grafana") in failures
    assert ("components/tempo", "kustomize build") in failures
    assert len(errors) >= len(failures)


@pytest.mark.tools
def test_junit_clean_run_lists_every_object_and_keeps_warnings(rendered: Path, clean_json: subprocess.CompletedProcess[str]) -> None:
    done = bbgen("validate", str(rendered), "-o", "junit", "-q")
    assert done.returncode == 0
    parsed = JUnitXml.fromstring(done.stdout.encode())
    cases = [case for suite in parsed for case in suite]
    assert len(cases) > 50 and not any(case.result for case in cases)
    report = json.loads(clean_json.stdout)  # the same tree as JSON (--quiet changes only stderr)
    assert len(cases) >= report["summary"]["objects"]
    warned = [c for c in cases if c.system_out and "warning:" in c.system_out]
    assert len(warned) >= 1 and len(report["findings"]) >= 1


def test_bad_output_format_is_a_usage_error(rendered: Path) -> None:
    done = bbgen("validate", str(rendered), "--output", "xml")
    assert done.returncode == 2
    assert "'xml' is not one of" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_diff_json(rendered: Path, tmp_path: Path) -> None:
    same = bbgen("diff", str(MINIMAL), "--against", str(rendered), "--output", "json")
    assert same.returncode == 0
    assert json.loads(same.stdout) == {"identical": True, "files": {"added": [], "changed": [], "removed": []}, "resources": [], "patches": {}, "unsafe": []}

    spec = tmp_path / "platform.yaml"
    spec.write_text(MINIMAL.read_text(encoding="utf-8").replace("storage: 20Gi", "storage: 30Gi", 1), encoding="utf-8")
    assert spec.read_text(encoding="utf-8") != MINIMAL.read_text(encoding="utf-8")
    changed = bbgen("diff", str(spec), "--against", str(rendered), "-o", "json")
    assert changed.returncode == 1
    data = json.loads(changed.stdout)
    assert data["identical"] is False
    assert [(r["action"], r["kind"]) for r in data["resources"]] == [("changed", "StatefulSet")]  # postgres: volumeClaimTemplates
    (path,) = data["files"]["changed"]
    assert data["patches"][path].startswith(f"--- a/{path}\n+++ b/{path}\n")
    assert "+" in data["patches"][path] and "30Gi" in data["patches"][path]
    assert [(u["kind"], u["field"], u["old"], u["new"]) for u in data["unsafe"]] == [
        ("StatefulSet", "spec.volumeClaimTemplates[0].spec.resources.requests.storage", "20Gi", "30Gi")
    ]  # a StatefulSet's claim templates are frozen: named with the remedy (tests/test_diff_unsafe.py)

    stat = json.loads(bbgen("diff", str(spec), "--against", str(rendered), "-o", "json", "--stat").stdout)
    assert "patches" not in stat and stat["resources"] == data["resources"]
