"""`bbgen diff` names the changes Argo CD cannot sync in place, with why and a remedy, per environment.

Each case renders a small platform whose app carries the object as an extra manifest, changes
it, and diffs the new render against the old one: both sides go through the real kustomize
per environment. tests/server/test_unsafe_server.py proves on a real API server that the
flagged changes are refused and the others accepted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bbgen import api
from support import ROOT, bbgen
from unsafe_cases import CASES, SPEC, Case, rendered, sts, write_spec, workload


def _diff(tmp_path: Path, old: dict[str, object], new: dict[str, object], spec: str = SPEC, new_spec: str | None = None) -> tuple[Path, Path]:
    out = rendered(write_spec(tmp_path / "old", old, spec), tmp_path / "gitops")
    return write_spec(tmp_path / "new", new, new_spec or spec), out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_change_is_named_with_field_why_and_remedy(case: Case, tmp_path: Path, tools: dict[str, str]) -> None:
    spec, out = _diff(tmp_path, case.old, case.new)
    result = api.diff(spec, against=out)
    assert result.resources, "the change must reach the rendered repository"
    assert result.unsafe is not None
    if not case.flagged:
        assert result.unsafe == []
        return
    assert [u["field"] for u in result.unsafe] == [case.field]
    found = result.unsafe[0]
    assert (found["environment"], found["kind"], found["namespace"]) == ("prod", case.old["kind"], "apps")
    assert found["file"].startswith("components/web/base/") and found["why"]
    assert case.remedy in found["remedy"], found["remedy"]
    assert found["old"] != found["new"]


def test_cli_text_json_yaml_and_exit_codes(tmp_path: Path, tools: dict[str, str]) -> None:
    spec, out = _diff(tmp_path, sts(), sts(serviceName="db-headless"))
    plain = bbgen("diff", str(spec), "--against", str(out))
    assert plain.returncode == 1, plain.stderr  # different, as before: the finding alone does not fail the run
    lines = plain.stdout.splitlines()
    at = lines.index("Cannot be applied in place (1):")
    assert lines[at + 1] == "  ! prod: StatefulSet apps/db  spec.serviceName: db -> db-headless  (components/web/base/statefulset-db.yaml)"
    assert lines[at + 2].startswith("      why: a StatefulSet's serviceName cannot change")
    assert "kubectl -n apps delete statefulset db --cascade=orphan" in lines[at + 3]
    assert "1 change(s) cannot be applied in place" in plain.stderr

    strict = bbgen("diff", str(spec), "--against", str(out), "--fail-on-unsafe", "-o", "json", "--stat")
    assert strict.returncode == 3, strict.stderr
    item = json.loads(strict.stdout)["unsafe"][0]
    assert {k: item[k] for k in ("environment", "kind", "name", "field", "old", "new")} == {
        "environment": "prod", "kind": "StatefulSet", "name": "db", "field": "spec.serviceName", "old": "db", "new": "db-headless",
    }
    as_yaml = bbgen("diff", str(spec), "--against", str(out), "--fail-on-unsafe", "-o", "yaml", "--stat")
    assert as_yaml.returncode == 3 and yaml.safe_load(as_yaml.stdout)["unsafe"] == [item]

    safe_spec = write_spec(tmp_path / "safe", sts(replicas=2))
    safe = bbgen("diff", str(safe_spec), "--against", str(out), "--fail-on-unsafe", "-o", "json")
    assert safe.returncode == 1 and json.loads(safe.stdout)["unsafe"] == []
    same = bbgen("diff", str(tmp_path / "old" / "platform.yaml"), "--against", str(out), "--fail-on-unsafe")
    assert same.returncode == 0


def test_without_kustomize_the_check_is_skipped_unless_asked(tmp_path: Path, tools: dict[str, str]) -> None:
    spec, out = _diff(tmp_path, sts(), sts(serviceName="db-headless"))
    env = {"PATH": "/nonexistent", "BBGEN_TOOLS_DIR": str(tmp_path / "no-tools"), "HOME": str(tmp_path)}
    import os
    import subprocess
    import sys

    run = lambda *a: subprocess.run([sys.executable, "-m", "bbgen", *a], capture_output=True, text=True, timeout=120, check=False,  # noqa: E731
                                    env={**os.environ, **env, "PYTHONPATH": str(ROOT / "src")})
    loose = run("diff", str(spec), "--against", str(out), "-o", "json")
    assert loose.returncode == 1 and json.loads(loose.stdout)["unsafe"] is None and "were not checked" in loose.stderr
    strict = run("diff", str(spec), "--against", str(out), "--fail-on-unsafe")
    assert strict.returncode == 2 and "kustomize not found" in strict.stderr and "Traceback" not in strict.stderr


def test_a_patch_in_one_environment_is_flagged_there_only(tmp_path: Path, tools: dict[str, str]) -> None:
    two = SPEC.replace("  prod: {}\n", "  prod: {}\n  dev: {cluster: https://dev.example.org:6443}\n")
    patched = two.replace(
        "  dev: {cluster: https://dev.example.org:6443}\n",
        "  dev:\n    cluster: https://dev.example.org:6443\n    apps:\n      web:\n        patches:\n"
        "          - target: {kind: Deployment, name: deployment}\n"
        "            patch: {spec: {selector: {matchLabels: {v: \"2\"}}, template: {metadata: {labels: {v: \"2\"}}}}}\n",
    )
    agent = workload("Deployment", {"app": "agent"})
    spec, out = _diff(tmp_path, agent, agent, spec=two, new_spec=patched)
    result = api.diff(spec, against=out)
    assert result.unsafe is not None
    assert [(u["environment"], u["field"]) for u in result.unsafe] == [("dev", "spec.selector.matchLabels.v")]
    assert result.unsafe[0]["file"] == "components/web/base/deployment-deployment.yaml"  # where the object is defined


def test_a_catalog_volume_resize_is_flagged_with_the_local_path_procedure(tmp_path: Path, tools: dict[str, str]) -> None:
    minimal = (ROOT / "profiles" / "minimal.yaml").read_text(encoding="utf-8")
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(minimal, encoding="utf-8")
    new.write_text(minimal.replace("  postgres:\n    storage: 20Gi\n", "  postgres:\n    storage: 40Gi\n"), encoding="utf-8")
    out = rendered(old, tmp_path / "gitops")
    result = api.diff(new, against=out)
    assert result.unsafe is not None
    found = [u for u in result.unsafe if u["kind"] == "StatefulSet"]
    assert [(u["field"], u["old"], u["new"]) for u in found] == [("spec.volumeClaimTemplates[0].spec.resources.requests.storage", "20Gi", "40Gi")]
    assert "--cascade=orphan" in found[0]["remedy"] and "local-path cannot" in found[0]["remedy"]


def test_a_side_that_does_not_build_is_a_note_unless_the_check_is_insisted_on(tmp_path: Path, tools: dict[str, str]) -> None:
    spec, out = _diff(tmp_path, sts(), sts(serviceName="db-headless"))
    base = out / "components" / "web" / "base" / "kustomization.yaml"
    base.write_text(base.read_text(encoding="utf-8") + "patches:\n  - path: missing.yaml\n", encoding="utf-8")
    loose = bbgen("diff", str(spec), "--against", str(out), "--stat")
    assert loose.returncode == 1, loose.stderr
    assert "not checked for changes that cannot be applied in place, kustomize could not build old components/web/overlays/prod" in loose.stderr
    strict = bbgen("diff", str(spec), "--against", str(out), "--stat", "--fail-on-unsafe")
    assert strict.returncode == 2 and "kustomize failed: old components/web/overlays/prod" in strict.stderr, strict.stderr


def _git(repo: Path, *args: str) -> None:
    import os
    import subprocess

    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@bbgen.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@bbgen.invalid"}
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=False, env=env)
    assert done.returncode == 0, done.stderr


def test_at_a_revision_compares_with_the_commit_and_only_unsafe_passes_the_rest(tmp_path: Path, tools: dict[str, str]) -> None:
    """`--at HEAD`: the old side is the last commit's render, whatever the working tree holds (real git)."""
    repo = tmp_path / "repo"
    out = rendered(write_spec(tmp_path / "old", sts()), repo / "gitops")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "render")
    unsafe_spec = write_spec(tmp_path / "unsafe", sts(serviceName="db-headless"))
    rendered(unsafe_spec, out)  # the working tree already holds the new render: no drift on disk
    on_disk = bbgen("diff", str(unsafe_spec), "--against", str(out), "--only-unsafe")
    assert on_disk.returncode == 0, on_disk.stderr
    committed = bbgen("diff", str(unsafe_spec), "--against", str(out), "--at", "HEAD", "--only-unsafe", "--stat")
    assert committed.returncode == 3, committed.stderr
    assert "! prod: StatefulSet apps/db  spec.serviceName: db -> db-headless" in committed.stdout

    safe_spec = write_spec(tmp_path / "safe", sts(replicas=2))
    safe = bbgen("diff", str(safe_spec), "--against", str(out), "--at", "HEAD", "--only-unsafe", "-o", "json")
    assert safe.returncode == 0, safe.stderr
    assert json.loads(safe.stdout)["unsafe"] == [] and json.loads(safe.stdout)["resources"], "different, but nothing unsafe"
    assert bbgen("diff", str(safe_spec), "--against", str(out), "--at", "HEAD").returncode == 1

    nowhere = bbgen("diff", str(safe_spec), "--against", str(tmp_path / "old"), "--at", "HEAD")
    assert nowhere.returncode == 2 and "not in a git repository" in nowhere.stderr and "Traceback" not in nowhere.stderr
    no_rev = bbgen("diff", str(safe_spec), "--against", str(out), "--at", "v9")
    assert no_rev.returncode == 2 and "--at v9: no such commit" in no_rev.stderr
    alone = bbgen("diff", str(safe_spec), "--remote", "--at", "HEAD")
    assert alone.returncode == 2 and "pass --against DIR too" in alone.stderr
