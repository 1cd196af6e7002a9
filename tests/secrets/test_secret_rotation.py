"""`secrets generate --rotate` says what the running service needs for each rotated Secret, from catalog data.

The guidance is the component's `rotation` (component.yaml): `applied-by-job` where a setup
Job writes the value into the service on every sync, `manual` where the service keeps what
it read when it initialised, `restart` (the default) otherwise. A changed Secret rolls no pod,
so every line names the restart commands for the pods that read it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from bbgen import api
from bbgen.catalog.wiring import SecretMeta
from bbgen.render.build import build_tree
from bbgen.spec import load_platform
from secretkit import SPEC_WITH_APPS
from support import ROOT

ENV = {"BBGEN_SECRET_APPS_API_EXTERNAL_STRIPE_KEY": "sk-test-from-env"}


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(SPEC_WITH_APPS, encoding="utf-8")
    return path


def _rotate(spec: Path, out: Path, name: str) -> list[str]:
    api.secrets_generate(spec, out, environ=ENV)
    return api.secrets_generate(spec, out, rotate=[name], environ=ENV).rotation


def test_a_consumer_role_is_applied_by_the_postsync_job_and_its_dependant_restarts(spec: Path, tmp_path: Path) -> None:
    (line,) = _rotate(spec, tmp_path / "out", "postgres-api")
    assert line.startswith("db/postgres-api (applied-by-job): the PostSync Job runs ALTER ROLE")
    assert line.endswith("restart the services using it: kubectl -n apps rollout restart deployment,statefulset -l app.kubernetes.io/instance=api.")
    assert "instance=postgres" not in line  # the server takes the new password from the Job, it needs no restart


def test_the_job_really_sets_each_role_password_from_the_consumer_secret(spec: Path) -> None:
    """The fact behind `applied-by-job`: the rendered PostSync hook mounts the dependant's Secret and runs ALTER ROLE ... PASSWORD."""
    files = build_tree(load_platform(spec)).with_manifest()
    job = yaml.safe_load(files["components/postgres/base/job-postgres-databases.yaml"])
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    assert "postgres-api" in [v.get("secret", {}).get("secretName") for v in job["spec"]["template"]["spec"]["volumes"]]
    assert "PASSWORD\n  :'password';" in job["spec"]["template"]["spec"]["containers"][0]["command"][2]


def test_the_superuser_is_manual_with_the_step_in_its_namespace(spec: Path, tmp_path: Path) -> None:
    (line,) = _rotate(spec, tmp_path / "out", "postgres-credentials")
    assert line.startswith("db/postgres-credentials (manual): the running service keeps the old value: PostgreSQL reads POSTGRES_PASSWORD only")
    assert "`kubectl -n db exec -it postgres-0 -- psql -U postgres -c '\\password postgres'`" in line
    assert "rollout restart" not in line  # private: only Postgres and its Job read it


def test_without_catalog_data_the_readers_restart(spec: Path, tmp_path: Path) -> None:
    (line,) = _rotate(spec, tmp_path / "out", "api-external")
    assert line == (
        "apps/api-external (restart): takes effect when the pods reading it restart (a changed Secret restarts nothing). "
        "After `kubectl apply`, restart its readers: kubectl -n apps rollout restart deployment,statefulset -l app.kubernetes.io/instance=api."
    )
    (redis,) = _rotate(spec, tmp_path / "out", "redis-credentials")
    assert "Redis' ACL file and its probes take the password when the pod starts" in redis
    # Private to db since each dependant has its own ACL user: only Redis itself reads it, not the app.
    assert "-n db rollout restart deployment,statefulset -l app.kubernetes.io/instance=redis" in redis and "instance=api" not in redis


def test_the_cli_prints_it_on_stderr_without_values(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    api.secrets_generate(spec, out, environ=ENV)
    done = subprocess.run(
        [sys.executable, "-m", "bbgen", "secrets", "generate", str(spec), "--out", str(out), "--rotate", "postgres-api", "--rotate", "redis-credentials"],
        capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    rotated = [ln for ln in done.stderr.splitlines() if ln.startswith("rotated ")]
    assert [ln.split(" (")[0] for ln in rotated] == ["rotated db/postgres-api", "rotated db/redis-credentials"]
    for doc in yaml.safe_load_all((out / "db.yaml").read_text(encoding="utf-8")):
        for value in (doc or {}).get("stringData", {}).values():
            assert value not in done.stderr


def test_manual_rotation_must_say_how() -> None:
    with pytest.raises(ValidationError, match="rotation `manual` needs a `note`"):
        SecretMeta.model_validate({"name": "x", "keys": ["k"], "rotation": "manual"})
    assert SecretMeta.model_validate({"name": "x", "keys": ["k"], "rotation": "applied-by-job"}).rotation.how == "applied-by-job"


def test_the_plan_carries_it_for_scripts(spec: Path) -> None:
    plans = {(s["namespace"], s["name"]): s for s in api.secrets_plan(spec, "prod").as_dict()["secrets"]}
    assert plans[("db", "postgres-api")]["rotation"]["how"] == "applied-by-job"
    assert plans[("db", "postgres-credentials")]["rotation"]["how"] == "manual"
    assert plans[("apps", "api-external")]["rotation"] == {"how": "restart", "note": ""}
    assert plans[("apps", "postgres-api")]["rotation"] is None  # a copy: rotated with its owner
