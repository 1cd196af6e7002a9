"""Backups and restores: every stateful component's CronJob `<c>-backup`, its restore Job, RESTORE.md.

The catalog decides how (component.yaml `backup.method`, `none` with a reason), the spec
when and how long (`backups`, `components.<n>.backup`, layered per environment), the
`object-store` provider where (its `backupStore`). Rendered trees are checked with the
real kustomize and kubeconform (`bbgen validate`), restore files included.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bbgen import api
from bbgen.catalog import load_catalog
from bbgen.catalog.models import _Wrapper
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from support import MINIMAL_SPEC, REFERENCE, bbgen

OBJECT_STORE = "object-store"


def _backed_up() -> dict[str, str]:
    """Catalog components with a backup method other than `none`: name → method."""
    return {n: c.backup.method for n, c in load_catalog().items() if c.backup is not None and c.backup.method != "none"}


def _dumps_at_start() -> set[str]:
    """Components whose dump needs them stopped: the CronJob restarts them and their own pod dumps at start."""
    return {n for n, c in load_catalog().items() if c.backup is not None and c.backup.dumps_at_start}


def _writes_to_store() -> set[str]:
    """Components writing their backups into the store themselves (an Elasticsearch S3 repository): no upload step."""
    return {n for n, c in load_catalog().items() if c.backup is not None and c.backup.writes_to_store}


def _has_volume(folder: Path) -> bool:
    text = " ".join(p.read_text(encoding="utf-8") for p in folder.glob("*.j2"))
    return "volumeClaimTemplates" in text or "kind: PersistentVolumeClaim" in text


def test_every_stateful_component_declares_its_backup() -> None:
    """A component with `stateful: true` or a PVC in its templates says how it is backed up (or why not)."""
    for name, comp in load_catalog().items():
        if comp.stateful or _has_volume(comp.folder):
            assert comp.backup is not None, f"{name} keeps state but declares no `backup`"
            assert comp.backup.method != "none" or comp.backup.reason, f"{name}: `none` without a reason"
    assert {"pg-dump", "redis-rdb", "qdrant-snapshot", "volume-tar", "neo4j-dump", "es-snapshot"} <= set(_backed_up().values())


def test_the_catalog_model_refuses_incomplete_backup_facts() -> None:
    base: dict[str, Any] = {"name": "x", "description": "x", "delivery": "kustomize", "domain": "d", "namespace": "d", "stateful": True}
    with pytest.raises(ValidationError, match="declares `backup`"):
        _Wrapper.model_validate({"component": base})
    with pytest.raises(ValidationError, match="needs a `reason`"):
        _Wrapper.model_validate({"component": {**base, "backup": {"method": "none"}}})
    with pytest.raises(ValidationError, match="needs `volume`"):
        _Wrapper.model_validate({"component": {**base, "backup": {"method": "volume-tar"}}})
    with pytest.raises(ValidationError, match="goes with `workload: deployment`"):
        _Wrapper.model_validate({"component": {**base, "backup": {"method": "volume-tar", "claim": "x-data", "runAs": 1}}})
    with pytest.raises(ValidationError, match="goes with `workload: deployment`"):
        _Wrapper.model_validate({"component": {**base, "backup": {"method": "volume-tar", "volume": "data", "workload": "deployment", "runAs": 1}}})
    with pytest.raises(ValidationError, match="needs `image`"):
        _Wrapper.model_validate({"component": {**base, "backup": {"method": "neo4j-dump", "dumpsAtStart": True, "volume": "data", "runAs": 1}}})
    with pytest.raises(ValidationError, match="not one of the declared ports"):
        _Wrapper.model_validate({"component": {**base, "ports": {"db": 1}, "backup": {"method": "pg-dump", "port": "nope"}}})


def test_every_object_store_provider_makes_a_backups_key() -> None:
    stores = [c for c in load_catalog().values() if OBJECT_STORE in c.provides]
    assert stores
    for comp in stores:
        assert comp.backup_store is not None, comp.name
        setup = (comp.folder / "setup-job.yaml.j2").read_text(encoding="utf-8")
        assert "unit.backupStore.secret" in setup and "unit.backupStore.bucket" in setup, comp.name


@pytest.fixture(scope="module")
def reference_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "out"
    write_tree(build_tree(load_platform(REFERENCE)), out)
    return out


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]


def _kustomize(directory: Path, binary: str) -> list[dict[str, Any]]:
    run = subprocess.run([binary, "build", str(directory)], capture_output=True, text=True, timeout=120, check=True)
    return [d for d in yaml.safe_load_all(run.stdout) if isinstance(d, dict)]


def test_reference_renders_a_cronjob_and_restore_job_per_backed_up_component(reference_out: Path, tools: dict[str, str]) -> None:
    platform = load_platform(REFERENCE)
    expected = sorted(n for n in _backed_up() if n in platform.components)
    assert expected, "the reference profile enables stateful components"
    listed = " ".join(p.read_text(encoding="utf-8") for p in reference_out.rglob("kustomization.yaml"))
    for env in sorted(platform.environments):
        for name in expected:
            built = _kustomize(reference_out / "components" / name / "overlays" / env, tools["kustomize"])
            cron = [d for d in built if d["kind"] == "CronJob" and d["metadata"]["name"] == f"{name}-backup"]
            assert len(cron) == 1, f"{env}: no CronJob {name}-backup"
            pod = cron[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            if name in _dumps_at_start():
                _check_restart_dump(built, name, pod)
            env_vars = {e["name"]: e.get("value") for c in pod["containers"] for e in c["env"]}
            if name in _writes_to_store():  # the component writes into the store itself, under the same folder
                assert (env_vars["BUCKET"], env_vars["BASE_PATH"]) == ("backups", f"{env}/{name}")
            else:
                assert env_vars["TARGET"] == f"store:backups/{env}/{name}"
            restore = reference_out / "restore" / env / f"{name}.yaml"
            (job,) = _docs(restore)
            assert job["kind"] == "Job" and job["metadata"]["name"] == f"{name}-restore"
            assert job["metadata"]["labels"]["bbgen.dev/environment"] == env
        assert "restore" not in listed, "a restore Job must be in no kustomization (Argo CD never applies it)"
    report = api.validate(reference_out, charts=api.chart_options(enabled=False))
    assert report.ok, [f.message for f in report.errors]
    checked = {file for file, _ in report.checked}
    assert {f"restore/prod/{n}.yaml" for n in expected} <= checked, "kubeconform and the pod checks read the restore Jobs"


def _check_restart_dump(built: list[dict[str, Any]], name: str, pod: dict[str, Any]) -> None:
    """A unit dumping itself at start: its own pod has the `dump` init container, and the CronJob's pod may delete that pod only."""
    (sts,) = [d for d in built if d["kind"] == "StatefulSet" and d["metadata"]["name"] == name]
    assert "dump" in [c["name"] for c in sts["spec"]["template"]["spec"]["initContainers"]]
    account = pod["serviceAccountName"]
    assert account == f"{name}-backup" and pod["automountServiceAccountToken"] is False
    (role,) = [d for d in built if d["kind"] == "Role" and d["metadata"]["name"] == account]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "resourceNames": [f"{name}-0"], "verbs": ["delete"]}]
    (binding,) = [d for d in built if d["kind"] == "RoleBinding" and d["metadata"]["name"] == account]
    assert binding["subjects"][0]["name"] == account and binding["roleRef"]["name"] == account
    with_token = [c["name"] for c in pod["initContainers"] + pod["containers"] if any(m["name"] == "api-token" for m in c.get("volumeMounts", []))]
    assert with_token == ["dump"], "only the dump step holds the API token"


def test_restore_runbook_lists_each_component(reference_out: Path) -> None:
    text = (reference_out / "RESTORE.md").read_text(encoding="utf-8")
    platform = load_platform(REFERENCE)
    for env in sorted(platform.environments):
        assert f"## Environment {env}" in text
        for name in _backed_up():
            if name in platform.components:
                assert f"### {name} ({env})" in text
                assert f"kubectl create -f restore/{env}/{name}.yaml" in text
                if name in _dumps_at_start():
                    assert f"(restarts it) | 14 days | `backups/{env}/{name}/`" in text
    for name, comp in load_catalog().items():
        if name in platform.components and comp.backup is not None and comp.backup.method == "none":
            assert f"| {name} | {comp.backup.reason} |" in text


SPEC = MINIMAL_SPEC + """\
backups: {schedule: "15 3 * * *", retentionDays: 30}
components:
  garage: {}
  postgres: {}
  redis:
    backup: {schedule: "0 */6 * * *"}
  qdrant: {host: ""}
  gitea: {host: ""}
environments:
  prod: {}
  dev:
    cluster: https://dev.example.org:6443
    backups: {retentionDays: 3}
    components:
      postgres:
        backup: {schedule: "45 1 * * *"}
"""


def _cron(out: Path, name: str, env: str, kustomize: str) -> dict[str, Any]:
    (cron,) = [d for d in _kustomize(out / "components" / name / "overlays" / env, kustomize) if d["kind"] == "CronJob"]
    return cron


def _retention(cron: dict[str, Any]) -> str:
    upload = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    return next(e["value"] for e in upload["env"] if e["name"] == "RETENTION_DAYS")


def test_schedule_and_retention_per_environment_and_component(write_spec: Callable[[str], Path], tmp_path: Path, tools: dict[str, str]) -> None:
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(write_spec(SPEC))), out)
    k = tools["kustomize"]
    assert _cron(out, "postgres", "prod", k)["spec"]["schedule"] == "15 3 * * *"
    assert _cron(out, "postgres", "dev", k)["spec"]["schedule"] == "45 1 * * *"
    assert _cron(out, "redis", "prod", k)["spec"]["schedule"] == "0 */6 * * *"
    assert _cron(out, "redis", "dev", k)["spec"]["schedule"] == "0 */6 * * *"
    assert (_retention(_cron(out, "qdrant", "prod", k)), _retention(_cron(out, "qdrant", "dev", k))) == ("30", "3")
    # The dev schedule is in dev's overlay only.
    assert "45 1 * * *" in (out / "components/postgres/overlays/dev/kustomization.yaml").read_text(encoding="utf-8")
    assert "45 1 * * *" not in (out / "components/postgres/base/cronjob-postgres-backup.yaml").read_text(encoding="utf-8")
    report = api.validate(out, charts=api.chart_options(enabled=False))
    assert report.ok, [f.message for f in report.errors]


def test_the_postgres_backup_dumps_every_dependants_database(write_spec: Callable[[str], Path]) -> None:
    spec = SPEC + "apps:\n  api: {image: registry.example.org/api:1.0.0, port: 8000, dependsOn: [postgres]}\n"
    tree = build_tree(load_platform(write_spec(spec)))
    cron = yaml.safe_load(tree.files["components/postgres/base/cronjob-postgres-backup.yaml"])
    dump = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["initContainers"][0]
    assert {e["name"]: e.get("value") for e in dump["env"]}["DATABASES"] == "api gitea"
    assert "pg_dump --format=custom" in dump["command"][-1]


def test_backup_pods_reach_the_object_store(write_spec: Callable[[str], Path]) -> None:
    tree = build_tree(load_platform(write_spec(SPEC)))
    policy = yaml.safe_load(tree.files["platform/prod/networkpolicy-storage-allow-garage.yaml"])
    peers = [(p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], p["podSelector"]["matchLabels"]) for r in policy["spec"]["ingress"] for p in r.get("from", []) if "namespaceSelector" in p]
    for name, ns in (("postgres", "db"), ("redis", "db"), ("qdrant", "vec"), ("gitea", "devops")):
        assert (ns, {"app.kubernetes.io/name": f"{name}-backup", "app.kubernetes.io/instance": name}) in peers, name
    s3 = next(r for r in policy["spec"]["ingress"] if any("namespaceSelector" in p for p in r.get("from", [])))
    assert [p["port"] for p in s3["ports"]] == [3900]


def test_secrets_plan_lists_the_backups_key_in_every_backup_namespace(write_spec: Callable[[str], Path]) -> None:
    result = bbgen("secrets", "plan", str(write_spec(SPEC)), "-o", "json")
    assert result.returncode == 0, result.stderr
    rows = [s for s in json.loads(result.stdout)["secrets"] if s["name"] == "garage-backups" and s["environment"] == "prod"]
    namespaces = {r["namespace"] for r in rows}
    assert namespaces == {"storage", "db", "vec", "devops"}, namespaces
    # Nothing in the repository carries a value of it.
    tree = build_tree(load_platform(write_spec(SPEC)))
    assert not any("stringData" in text and "garage-backups" in text for text in map(str, tree.files.values()))


def test_a_bad_schedule_is_located(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    spec = write_spec(SPEC.replace('backup: {schedule: "45 1 * * *"}', 'backup: {schedule: "61 1 * * *"}'))
    out = tmp_path / "out"
    result = bbgen("render", str(spec), "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert re.search(r"platform\.yaml:\d+:\d+: environments\.dev\.components\.postgres\.backup\.schedule: minute 61 is outside 0-59", result.stderr), result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_backup_settings_on_a_component_without_a_method_are_refused(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(SPEC.replace("  garage: {}", "  garage:\n    backup: {retentionDays: 2}"))
    result = bbgen("render", str(spec), "--out", str(spec.parent / "out"))
    assert result.returncode == 2
    assert re.search(r"platform\.yaml:\d+:\d+: components\.garage\.backup: garage has no backup method", result.stderr), result.stderr


def test_no_object_store_means_no_backups(write_spec: Callable[[str], Path]) -> None:
    tree = build_tree(load_platform(write_spec(MINIMAL_SPEC + "components:\n  postgres: {}\n")))
    assert not any(p.startswith("restore/") or "backup" in p for p in tree.files)
    assert "nothing is backed up" in str(tree.files["RESTORE.md"])


def test_backups_can_be_switched_off_per_component(write_spec: Callable[[str], Path]) -> None:
    tree = build_tree(load_platform(write_spec(SPEC.replace("  qdrant: {host: \"\"}", "  qdrant:\n    host: \"\"\n    backup: {enabled: false}"))))
    assert "restore/prod/qdrant.yaml" not in tree.files and "restore/prod/redis.yaml" in tree.files
    assert not any(p.startswith("components/qdrant/") and "backup" in p for p in tree.files)
