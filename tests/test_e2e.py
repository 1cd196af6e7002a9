"""End to end with the real binaries: render → kustomize build → kubeconform, clean; broken → located findings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bbgen import api
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from bbgen.validate import Report

from support import REFERENCE

pytestmark = pytest.mark.tools


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("render") / "gitops"
    write_tree(build_tree(load_platform(REFERENCE)), out)
    return out


def test_reference_render_validates_clean(tools: dict[str, str], rendered: Path) -> None:
    report = api.validate(rendered)
    errors = [str(f) for f in report.findings if f.severity == "error"]
    assert errors == []
    assert any("components/postgres/overlays/prod" in b for b in report.builds)
    assert "hadith/postgres-orchestrator" in report.required_secrets and "hadith/postgres-credentials" not in report.required_secrets


def test_output_example_validates_clean(output_example_report: Report) -> None:
    assert [str(f) for f in output_example_report.findings if f.severity == "error"] == []


def test_overlay_build_reproduces_environment_render(tools: dict[str, str], rendered: Path) -> None:
    """The computed patches are right: kustomize's staging output carries the staging values."""
    out = subprocess.run([tools["kustomize"], "build", str(rendered / "components/orchestrator/overlays/staging")], capture_output=True, text=True, check=True).stdout
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out)}
    ingress = docs[("Ingress", "orchestrator")]
    assert ingress["spec"]["rules"][0]["host"] == "hadith-api.staging.betelgeusebytes.io"
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-staging"
    assert docs[("Deployment", "orchestrator")]["spec"]["replicas"] == 1
    assert docs[("Deployment", "orchestrator")]["metadata"]["labels"]["bbgen.dev/environment"] == "staging"


def test_broken_manifest_is_a_located_finding(tools: dict[str, str], rendered: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(rendered, tree)
    target = tree / "components/redis/base/statefulset-redis.yaml"
    doc = yaml.safe_load(target.read_text())
    doc["spec"]["replicas"] = "three"
    target.write_text(yaml.safe_dump(doc))
    report = api.validate(tree)
    hits = [f for f in report.findings if f.check == "kubeconform" and "StatefulSet/db/redis" in f.resource]
    assert hits, [str(f) for f in report.findings]
    assert "components/redis/overlays/" in hits[0].file


def test_wrong_crd_field_is_a_located_finding(tools: dict[str, str], rendered: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(rendered, tree)
    target = tree / "apps/prod/redis.yaml"
    doc = yaml.safe_load(target.read_text())
    doc["spec"]["syncPolicy"]["automated"]["prunee"] = True
    target.write_text(yaml.safe_dump(doc))
    report = api.validate(tree)
    hits = [f for f in report.findings if f.check == "kubeconform" and "Application/argocd/prod-redis" in f.resource]
    assert hits, [str(f) for f in report.findings]
    assert "prunee" in hits[0].message
