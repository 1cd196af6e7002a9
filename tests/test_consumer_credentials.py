"""A credential per consumer: every Postgres dependant has its own role, database and Secret.

The superuser's Secret (`postgres-credentials`) stays in Postgres' namespace: checked over
every profile's rendered manifests and chart values, over the Secrets plan, and for the
PostSync Job that creates each role. When PostgreSQL's server binaries are installed, the
Job's script also runs against a throwaway server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bbgen import api
from bbgen.catalog import ConsumerSecretMeta, KustomizeComponent, consumer_secret_name, load_catalog
from bbgen.render.build import build_tree
from bbgen.render.inventory import inventory_for
from bbgen.spec import load_platform
from bbgen.validate import Report

from support import MINIMAL_SPEC, REFERENCE, ROOT, bbgen
from manifestkit import docs as _docs, strings as _strings, free_port as _free_port

PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))
SUPERUSER = "postgres-credentials"
PG = load_catalog()["postgres"]


def _secret_refs(node: Any) -> Iterator[str]:
    """Names of the Secrets a manifest reads: secretKeyRef, envFrom's secretRef, secret and projected volumes."""
    if isinstance(node, dict):
        if isinstance(node.get("secretKeyRef"), dict):
            yield node["secretKeyRef"]["name"]
        if isinstance(node.get("secretRef"), dict):
            yield node["secretRef"]["name"]
        if isinstance(node.get("secret"), dict):
            secret = node["secret"]
            name = secret.get("secretName", secret.get("name"))
            if isinstance(name, str):
                yield name
        for value in node.values():
            yield from _secret_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _secret_refs(value)


def _dependants(platform: Any, env: str) -> dict[str, str]:
    """Postgres' dependants in ``env``, by name, with their namespace."""
    from bbgen.render.units import env_units

    units = env_units(platform, load_catalog(), env)
    return {u.name: u.namespace for u in units.values() if "postgres" in u.depends_on}


@pytest.fixture(scope="module", params=[p.stem for p in PROFILES])
def profile(request: pytest.FixtureRequest) -> tuple[Any, dict[str, bytes]]:
    platform = load_platform(ROOT / "profiles" / f"{request.param}.yaml")
    return platform, dict(build_tree(platform).files)


def test_the_superuser_secret_is_named_only_in_postgres_namespace(profile: tuple[Any, dict[str, bytes]]) -> None:
    platform, files = profile
    catalog = load_catalog()
    offenders = []
    for path, data in files.items():
        if not path.endswith(".yaml"):
            continue
        parts = path.split("/")
        for doc in _docs(data):
            if not isinstance(doc, dict):
                continue
            if "apiVersion" in doc:  # a manifest: its own namespace
                namespace = (doc.get("metadata") or {}).get("namespace")
            else:  # a chart's values file (values/<unit>/<env>.yaml): the unit's namespace
                unit = parts[1] if parts[0] == "values" else None
                namespace = catalog[unit].namespace if unit in catalog else None
            if namespace != PG.namespace and SUPERUSER in set(_strings(doc)):
                offenders.append(f"{path} ({namespace})")
    assert offenders == []
    for env in platform.environments:
        planned = [s.ref for s in inventory_for(platform, env).secrets if s.name == SUPERUSER]
        assert planned in ([], [f"{PG.namespace}/{SUPERUSER}"]), env


def test_every_dependant_reads_its_own_credential(profile: tuple[Any, dict[str, bytes]]) -> None:
    platform, files = profile
    dependants = set()
    for env in platform.environments:
        dependants |= set(_dependants(platform, env))
    if not dependants:
        pytest.skip("no Postgres dependant in this profile")
    for name in sorted(dependants):
        refs = {
            ref for path, data in files.items() if path.startswith(f"components/{name}/") and path.endswith(".yaml")
            for doc in _docs(data) for ref in _secret_refs(doc)
        }
        postgres_refs = {r for r in refs if r.startswith("postgres-")}
        assert postgres_refs == {f"postgres-{name}"}, name
        if name in platform.apps:  # a custom app gets the injected variables as they are
            for path, data in files.items():
                if not path.startswith(f"components/{name}/base/"):
                    continue
                for doc in _docs(data):
                    for container in (((doc.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers", []):
                        env = {e["name"]: e for e in container.get("env", [])}
                        assert env["POSTGRES_USER"]["value"] == name and env["POSTGRES_DB"]["value"] == name
                        assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": f"postgres-{name}", "key": "password"}


@pytest.mark.parametrize("spec", PROFILES, ids=[p.stem for p in PROFILES])
def test_plan_lists_a_credential_per_consumer(spec: Path) -> None:
    done = bbgen("secrets", "plan", str(spec), "-o", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    platform = load_platform(spec)
    for env in data["environments"]:
        rows = {(s["namespace"], s["name"]): s for s in data["secrets"] if s["environment"] == env}
        dependants = _dependants(platform, env)
        consumers = {s["consumer"] for s in rows.values() if s["name"].startswith("postgres-") and s["consumer"]}
        assert consumers == set(dependants), env
        for name, namespace in dependants.items():
            owner = rows[(PG.namespace, f"postgres-{name}")]
            assert owner["consumer"] == name and owner["copyOf"] is None
            assert owner["keys"] == [{"key": "password", "source": "generate", "generator": "password", "length": 32}]
            reader = rows[(namespace, f"postgres-{name}")]
            assert reader["consumer"] == name and name in reader["usedBy"]
            if namespace != PG.namespace:
                assert reader["copyOf"] == f"{PG.namespace}/postgres-{name}"
        assert [k for k in rows if k[1] == SUPERUSER] in ([], [(PG.namespace, SUPERUSER)])
        # Only a component's consumerSecrets (Postgres', Kafka's …) name a consumer, and then by its own name.
        assert all(
            s["consumer"] is None or s["name"] in {consumer_secret_name(c.name, s["consumer"]) for comp in load_catalog().values() for c in comp.consumer_secrets}
            for s in rows.values()
        )


def test_generate_writes_one_value_per_consumer_to_both_namespaces(tmp_path: Path) -> None:
    def values(out: Path) -> dict[str, str]:
        return {
            f"{d['metadata']['namespace']}/{d['metadata']['name']}/{k}": v
            for f in out.glob("*.yaml") for d in _docs(f.read_bytes()) for k, v in d["stringData"].items()
        }

    env = {"BBGEN_SECRET_ARGOCD_GITOPS_REPO_PASSWORD": "x" * 20, "BBGEN_SECRET_ARGOCD_GITOPS_REPO_USERNAME": "bot",
           "BBGEN_SECRET_ARGOCD_CLUSTER_STAGING_CONFIG": "{}"}
    out = tmp_path / "secrets"
    api.secrets_generate(REFERENCE, out, environ=env)
    v = values(out)
    dependants = _dependants(load_platform(REFERENCE), "prod")
    assert {"gitea", "keycloak", "mlflow", "orchestrator"} <= set(dependants)
    own = [v[f"{PG.namespace}/postgres-{d}/password"] for d in sorted(dependants)]
    assert len(set(own)) == len(own) and v[f"{PG.namespace}/{SUPERUSER}/password"] not in own
    for name, namespace in dependants.items():
        assert v[f"{namespace}/postgres-{name}/password"] == v[f"{PG.namespace}/postgres-{name}/password"]
    # rotating one consumer's credential changes both of its copies and nobody else's
    api.secrets_generate(REFERENCE, out, environ=env, rotate=["postgres-gitea"])
    after = values(out)
    assert after["devops/postgres-gitea/password"] == after["db/postgres-gitea/password"] != v["db/postgres-gitea/password"]
    assert {k: x for k, x in after.items() if "postgres-gitea" not in k} == {k: x for k, x in v.items() if "postgres-gitea" not in k}


def _job(files: dict[str, bytes]) -> dict[str, Any]:
    job: dict[str, Any] = _docs(files["components/postgres/base/job-postgres-databases.yaml"])[0]
    return job


def test_the_job_creates_each_role_and_database_and_sets_the_password(profile: tuple[Any, dict[str, bytes]]) -> None:
    platform, files = profile
    if "components/postgres/base/job-postgres-databases.yaml" not in files:
        pytest.skip("no Postgres dependant in this profile")
    job = _job(files)
    container = job["spec"]["template"]["spec"]["containers"][0]
    script = container["command"][-1]
    for statement in ('CREATE ROLE :"name"', 'CREATE DATABASE :"name" OWNER :"name"', 'ALTER DATABASE :"name" OWNER TO :"name"',
                      'REVOKE ALL ON DATABASE :"name" FROM PUBLIC', "NOSUPERUSER NOCREATEDB NOCREATEROLE", "\\getenv password ROLE_PASSWORD"):
        assert statement in script
    assert "PASSWORD\n  :'password';" in script, "the password is a psql variable, quoted as a literal"
    env = {e["name"]: e for e in container["env"]}
    dependants = set()
    for name in platform.environments:
        dependants |= set(_dependants(platform, name))
    assert set(env["DEPENDANTS"]["value"].split()) <= dependants
    pod = job["spec"]["template"]["spec"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    mounted = {m["mountPath"].rsplit("/", 1)[1]: secrets[m["name"]] for m in container["volumeMounts"] if m["name"] in secrets}
    assert mounted == {d: f"postgres-{d}" for d in env["DEPENDANTS"]["value"].split()}
    # only the superuser's password comes from the environment, by reference
    assert [e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e] == [SUPERUSER]


@pytest.mark.tools
def test_output_example_validates_with_per_consumer_secrets(output_example_report: Report) -> None:
    report = output_example_report
    assert [str(f) for f in report.findings if f.severity == "error"] == []
    required = set(report.required_secrets)
    assert {"db/postgres-gitea", "devops/postgres-gitea", "auth/postgres-keycloak", "hadith/postgres-orchestrator"} <= required
    assert {r for r in required if r.endswith(f"/{SUPERUSER}")} == {f"{PG.namespace}/{SUPERUSER}"}


# --- the catalog fact -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "error"),
    [("postgres-shared", "must contain"), ("pg-{{ dependant }}-{{ name }}", "only variable"), ("PG-{{ dependant }}", "not a Secret name")],
)
def test_a_consumer_secret_is_named_per_dependant(name: str, error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        ConsumerSecretMeta.model_validate({"name": name, "keys": {"password": {"generate": "password"}}})
    with pytest.raises(ValidationError, match="cannot be private"):
        ConsumerSecretMeta.model_validate({"name": "pg-{{ dependant }}", "private": True, "keys": {"password": {"generate": "password"}}})


def test_a_templated_secret_env_names_a_declared_consumer_secret() -> None:
    base = PG.model_dump(by_alias=True, exclude={"folder"})
    broken = {**base, "expose": {**base["expose"], "secretEnv": {"POSTGRES_PASSWORD": {"secret": "pg-{{ dependant }}", "key": "password"}}}}
    with pytest.raises(ValidationError, match="not one of consumerSecrets"):
        KustomizeComponent.model_validate(broken)
    wrong_key = {**base, "expose": {**base["expose"], "secretEnv": {"POSTGRES_PASSWORD": {"secret": "postgres-{{ dependant }}", "key": "pw"}}}}
    with pytest.raises(ValidationError, match="has no key 'pw'"):
        KustomizeComponent.model_validate(wrong_key)


def test_an_app_in_postgres_namespace_reads_its_own_secret_there(write_spec: Any) -> None:
    spec = write_spec(MINIMAL_SPEC + """\
components:
  postgres: {}
apps:
  worker:
    image: registry.example.org/demo/worker:1.0.0
    namespace: db
    dependsOn: [postgres]
""")
    plans = {s.ref: s for s in inventory_for(load_platform(spec)).secrets}
    assert plans["db/postgres-worker"].used_by == ("postgres", "worker") and plans["db/postgres-worker"].consumer == "worker"
    assert plans["db/postgres-credentials"].used_by == ("postgres",)


def test_an_app_elsewhere_may_not_name_the_superuser_secret(write_spec: Any, tmp_path: Path) -> None:
    spec = write_spec(MINIMAL_SPEC + """\
components:
  postgres: {}
apps:
  api:
    image: registry.example.org/demo/api:1.0.0
    dependsOn: [postgres]
    secretEnv:
      - {name: PG_SUPER, secret: postgres-credentials, key: password}
    env:
      - name: ALSO
        valueFrom: {secretKeyRef: {name: postgres-credentials, key: password}}
  worker:
    image: registry.example.org/demo/worker:1.0.0
    namespace: db
    secretEnv:
      - {name: PG_SUPER, secret: postgres-credentials, key: password}
""")
    out = tmp_path / "out"
    done = bbgen("render", str(spec), "--out", str(out))
    assert done.returncode == 2 and not out.exists()
    errors = [line for line in done.stderr.splitlines() if "private Secret" in line]
    assert [e.split(": ")[1] for e in errors] == ["apps.api.secretEnv[0].secret", "apps.api.env[0].valueFrom.secretKeyRef.name"]
    assert errors[0].startswith(f"{spec}:12:") and "read only in namespace db" in errors[0]
    assert "worker" not in done.stderr, "an app in postgres' own namespace may read it"


def test_a_private_secret_is_never_exposed() -> None:
    base = PG.model_dump(by_alias=True, exclude={"folder"})
    leaky = {**base, "expose": {**base["expose"], "secretEnv": {"PGPASSWORD": {"secret": SUPERUSER, "key": "password"}}}}
    with pytest.raises(ValidationError, match="is private"):
        KustomizeComponent.model_validate(leaky)
    assert next(s for s in PG.secrets if s.name == SUPERUSER).private


# --- the Job's script against a real PostgreSQL ---------------------------------------------


def _pg_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "postgres").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found and shutil.which("psql") else None


@pytest.fixture
def server() -> Iterator[dict[str, str]]:
    """A throwaway PostgreSQL on 127.0.0.1 (password auth), run as an unprivileged user when we are root."""
    binaries = _pg_bin()
    if binaries is None or shutil.which("psql") is None:
        pytest.skip("PostgreSQL server binaries not installed")
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd

        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres account to run the server as")
        as_user = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups"]
    base = Path(tempfile.mkdtemp(prefix="bbgen-pg-"))
    try:
        os.chmod(base, 0o755)
        data, pwfile = base / "data", base / "pw"
        superuser_password = "Su" + os.urandom(12).hex()
        pwfile.write_text(superuser_password, encoding="utf-8")
        if as_user:
            os.chown(base, account.pw_uid, account.pw_gid)
            os.chown(pwfile, account.pw_uid, account.pw_gid)
        subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}"],
                       check=True, capture_output=True, timeout=120)
        port = str(_free_port())
        proc = subprocess.Popen(
            [*as_user, str(binaries / "postgres"), "-D", str(data), "-p", port, "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={base}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            env = {"PGHOST": "127.0.0.1", "PGPORT": port, "PGUSER": "postgres", "PGDATABASE": "postgres", "PGPASSWORD": superuser_password}
            for _ in range(100):
                if subprocess.run(["pg_isready", "-q"], env={**os.environ, **env}, timeout=10).returncode == 0:
                    break
                time.sleep(0.2)
            else:
                pytest.fail("the throwaway PostgreSQL did not start")
            yield env
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _psql(env: dict[str, str], user: str, password: str, database: str, sql: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env, "PGUSER": user, "PGPASSWORD": password, "PGDATABASE": database}
    return subprocess.run(["psql", "--no-psqlrc", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql], env=full, capture_output=True, text=True, timeout=60)


def test_the_job_script_against_a_real_postgres(server: dict[str, str], tmp_path: Path) -> None:
    spec = ROOT / "profiles" / "betelgeuse.yaml"
    job = _job(dict(build_tree(load_platform(spec)).files))
    container = job["spec"]["template"]["spec"]["containers"][0]
    script = container["command"][-1]
    dependants = ["label-studio", "mlflow"]  # a name that needs quoting, and a plain one
    credentials = tmp_path / "credentials"
    passwords = {d: "P" + os.urandom(16).hex() for d in dependants}

    def run() -> None:
        for name, password in passwords.items():
            (credentials / name).mkdir(parents=True, exist_ok=True)
            (credentials / name / "password").write_text(password, encoding="utf-8")
        env = {**os.environ, **server, "DEPENDANTS": " ".join(dependants), "CREDENTIALS": str(credentials)}
        done = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert not any(p in done.stdout + done.stderr for p in passwords.values())

    run()
    superuser = server["PGPASSWORD"]
    # what the superuser made in a dependant's database before it had a role of its own becomes the role's
    legacy = ("CREATE SCHEMA audit; CREATE TYPE stage AS ENUM ('a', 'b'); CREATE TABLE runs (id serial PRIMARY KEY, s stage);"
              "CREATE TABLE audit.log (id bigint GENERATED ALWAYS AS IDENTITY, at text); CREATE VIEW recent AS SELECT * FROM runs;"
              "CREATE FUNCTION two() RETURNS int LANGUAGE sql AS 'SELECT 2'")
    made = _psql(server, "postgres", superuser, "label-studio", legacy)
    assert made.returncode == 0, made.stderr
    run()  # a second sync hands those over and fails on nothing
    work = ("INSERT INTO runs (s) VALUES ('b'); INSERT INTO audit.log (at) VALUES ('x'); SELECT count(*) FROM recent;"
            "SELECT two(); ALTER TABLE runs ADD COLUMN note text; CREATE TABLE audit.more (x int)")
    used = _psql(server, "label-studio", passwords["label-studio"], "label-studio", work)
    assert used.returncode == 0, used.stderr
    for name, password in passwords.items():
        assert _psql(server, name, password, name, "SELECT current_user").stdout.strip() == name
        row = _psql(server, "postgres", superuser, "postgres",
                    f"SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, pg_get_userbyid(d.datdba) FROM pg_roles r, pg_database d "
                    f"WHERE r.rolname = '{name}' AND d.datname = '{name}'").stdout.strip()
        assert row == f"f|f|f|t|{name}"
    # no role opens another's database, nor the superuser's default one beyond PUBLIC's CONNECT on `postgres`
    denied = _psql(server, "mlflow", passwords["mlflow"], "label-studio", "SELECT 1")
    assert denied.returncode != 0 and "permission denied" in denied.stderr
    # a rotated Secret takes effect on the next run: the old password stops working
    old = passwords["mlflow"]
    passwords["mlflow"] = "R" + os.urandom(16).hex()
    run()
    assert _psql(server, "mlflow", old, "mlflow", "SELECT 1").returncode != 0
    assert _psql(server, "mlflow", passwords["mlflow"], "mlflow", "SELECT 1").returncode == 0
