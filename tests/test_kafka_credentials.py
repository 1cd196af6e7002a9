"""A Kafka user per consumer: SASL/SCRAM-SHA-512 on the clients' listener, ACLs on each dependant's own prefix.

Checked over every profile's rendered manifests and chart values and over the Secrets
plan: each dependant reads its own `kafka-<dependant>` Secret and gets the SASL settings,
the admin's Secret stays in Kafka's namespace, and the PostSync Job creates every user and
its ACLs. A small spec is rendered and validated with the real kustomize and kubeconform,
and `ingress.tcp` pointing at Kafka's listener is a located spec error.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bbgen import api
from bbgen.catalog import KustomizeComponent, load_catalog
from bbgen.render.build import build_tree
from bbgen.render.inventory import inventory_for
from bbgen.render.units import env_units
from bbgen.spec import load_platform

from support import MINIMAL_SPEC, ROOT, bbgen
from manifestkit import docs as _docs, strings as _strings, env_lists as _env_lists, files_of as _files_of

PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))
KAFKA = load_catalog()["kafka"]
ADMIN = "kafka-admin"
JOB = "components/kafka/base/job-kafka-users.yaml"
SASL = {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"}


def _dependants(platform: Any, env: str) -> dict[str, str]:
    """Kafka's dependants in ``env``, by name, with their namespace."""
    units = env_units(platform, load_catalog(), env)
    return {u.name: u.namespace for u in units.values() if KAFKA.name in u.depends_on}


@pytest.fixture(scope="module", params=[p.stem for p in PROFILES])
def profile(request: pytest.FixtureRequest) -> tuple[Any, dict[str, bytes]]:
    platform = load_platform(ROOT / "profiles" / f"{request.param}.yaml")
    return platform, dict(build_tree(platform).files)


def _all_dependants(platform: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for env in platform.environments:
        out |= _dependants(platform, env)
    return out


def test_every_consumer_has_its_own_secret_and_sasl_env(profile: tuple[Any, dict[str, bytes]]) -> None:
    platform, files = profile
    dependants = _all_dependants(platform)
    if not dependants:
        pytest.skip("no Kafka dependant in this profile")
    for env in platform.environments:
        plans = {s.ref: s for s in inventory_for(platform, env).secrets}
        for name, namespace in _dependants(platform, env).items():
            own = plans[f"{KAFKA.namespace}/kafka-{name}"]
            assert own.consumer == name and own.keys["password"].source == "generate"
            reader = plans[f"{namespace}/kafka-{name}"]
            assert reader.consumer == name and name in reader.used_by
    for name in sorted(dependants):
        strings = {s for doc in _files_of(files, name) for s in _strings(doc)}
        # no other consumer's Kafka Secret, nor the admin's, anywhere in this dependant's files
        others = {f"kafka-{d}" for d in dependants if d != name} | {ADMIN}
        assert strings & others == set(), name
        envs = [{e["name"]: e for e in env} for doc in _files_of(files, name) for env in _env_lists(doc)]
        kafka_envs = [e for e in envs if "KAFKA_BOOTSTRAP_SERVERS" in e or "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS" in e]
        assert kafka_envs, f"{name} gets no Kafka connection env"
        for env in kafka_envs:
            if "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS" in env:  # Kafka UI: its Spring properties
                assert env["KAFKA_CLUSTERS_0_PROPERTIES_SECURITY_PROTOCOL"]["value"] == "SASL_PLAINTEXT"
                assert env["KAFKA_CLUSTERS_0_PROPERTIES_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"
                jaas = env["KAFKA_CLUSTERS_0_PROPERTIES_SASL_JAAS_CONFIG"]["value"]
                assert f'username="{name}"' in jaas and 'password="$(KAFKA_PASSWORD)"' in jaas
                names = list(env)
                assert names.index("KAFKA_PASSWORD") < names.index("KAFKA_CLUSTERS_0_PROPERTIES_SASL_JAAS_CONFIG"), "expanded only if defined before"
            else:
                assert {k: env[k]["value"] for k in SASL} == SASL, name
                assert env["KAFKA_USERNAME"]["value"] == name
            if "KAFKA_PASSWORD" in env:
                assert env["KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": f"kafka-{name}", "key": "password"}
            else:  # n8n: the password is typed into its Kafka credential, never put where workflows read $env
                assert name == "n8n" and not any(f"kafka-{name}" in s for v in env.values() for s in _strings(v))


def test_the_admin_secret_is_named_only_in_kafka_namespace(profile: tuple[Any, dict[str, bytes]]) -> None:
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
            if "apiVersion" in doc:
                namespace = (doc.get("metadata") or {}).get("namespace")
            else:
                unit = parts[1] if parts[0] == "values" else None
                namespace = catalog[unit].namespace if unit in catalog else None
            if namespace != KAFKA.namespace and ADMIN in set(_strings(doc)):
                offenders.append(f"{path} ({namespace})")
    assert offenders == []
    for env in platform.environments:
        planned = [s.ref for s in inventory_for(platform, env).secrets if s.name == ADMIN]
        assert planned in ([], [f"{KAFKA.namespace}/{ADMIN}"]), env
    assert next(s for s in KAFKA.secrets if s.name == ADMIN).private


def _job(files: dict[str, bytes]) -> dict[str, Any]:
    job: dict[str, Any] = _docs(files[JOB])[0]
    return job


def test_the_job_makes_each_user_with_acls_on_its_prefix(profile: tuple[Any, dict[str, bytes]]) -> None:
    platform, files = profile
    if JOB not in files:
        pytest.skip("no Kafka dependant in this profile")
    job = _job(files)
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    dependants = env["DEPENDANTS"]["value"].split()
    assert set(dependants) <= set(_all_dependants(platform)) and dependants
    grants: dict[str, list[tuple[str, str, list[str]]]] = {}
    for line in env["ACLS"]["value"].splitlines():
        user, pattern, operations, *resources = line.split()
        grants.setdefault(user, []).append((pattern, operations, resources))
    assert set(grants) == set(dependants)
    readers = {d for d, word in ((c.name, c.access.get(KAFKA.name)) for c in load_catalog().values()) if word == "read"}
    for name in dependants:
        if name in readers:  # Kafka UI: read-only on everything, no write anywhere
            assert all(p == "literal" and "All" not in ops and "Write" not in ops for p, ops, _ in grants[name])
            assert ("literal", "Describe,Read,DescribeConfigs", ["topic:*"]) in grants[name]
        else:
            assert grants[name] == [("prefixed", "All", [f"topic:{name}.", f"group:{name}.", f"transactional-id:{name}."])]
    # every user's password comes from its own Secret, mounted; only the admin's is read into the environment
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    mounted = {m["mountPath"].rsplit("/", 1)[1]: secrets[m["name"]] for m in container["volumeMounts"] if m["name"] in secrets}
    assert mounted == {d: f"kafka-{d}" for d in dependants}
    assert [e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e] == [ADMIN]
    script = container["command"][-1]
    assert "--add-config-file" in script and "SCRAM-SHA-512=iterations=8192,password=$(cat" in script
    assert subprocess.run(["bash", "-n", "-c", script], capture_output=True, timeout=30).returncode == 0


def test_the_broker_requires_sasl_and_acls(profile: tuple[Any, dict[str, bytes]]) -> None:
    _, files = profile
    path = "components/kafka/base/statefulset-kafka.yaml"
    if path not in files:
        pytest.skip("no Kafka in this profile")
    container = _docs(files[path])[0]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    props = dict(line.split("=", 1) for line in env["SERVER_PROPERTIES"]["value"].splitlines())
    assert props["listener.security.protocol.map"] == "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    assert props["listener.name.client.sasl.enabled.mechanisms"] == "SCRAM-SHA-512,PLAIN"
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == f"User:{env['ADMIN_USER']['value']}"
    assert "PLAINTEXT:PLAINTEXT" not in env["SERVER_PROPERTIES"]["value"]
    job = _docs(files[JOB])[0]["spec"]["template"]["spec"]["containers"][0] if JOB in files else None
    if job is not None:
        assert {e["name"]: e.get("value") for e in job["env"]}["ADMIN_USER"] == env["ADMIN_USER"]["value"]
    script = container["command"][-1]
    assert script.index("unset ADMIN_PASSWORD") < script.index("exec /opt/kafka/bin/kafka-server-start.sh")
    assert subprocess.run(["bash", "-n", "-c", script], capture_output=True, timeout=30).returncode == 0


SMALL = MINIMAL_SPEC + """\
components:
  kafka: {}
  kafka-ui: {host: ""}
apps:
  worker:
    image: registry.example.org/demo/worker:1.0.0
    dependsOn: [kafka]
"""


@pytest.mark.tools
def test_a_small_platform_renders_and_validates(write_spec: Any, tmp_path: Path, tools: dict[str, str]) -> None:
    spec = write_spec(SMALL)
    out = tmp_path / "out"
    done = bbgen("render", str(spec), "--out", str(out))
    assert done.returncode == 0, done.stderr
    report = api.validate(out)
    assert [str(f) for f in report.findings if f.severity == "error"] == []
    required = set(report.required_secrets)
    assert {"broker/kafka-admin", "broker/kafka-kafka-ui", "broker/kafka-worker", "apps/kafka-worker"} <= required
    assert {r for r in required if r.endswith(f"/{ADMIN}")} == {f"{KAFKA.namespace}/{ADMIN}"}


def test_ingress_tcp_to_kafka_is_a_located_error(write_spec: Any, tmp_path: Path) -> None:
    spec = write_spec(SMALL + """\
ingress:
  tcp:
    - {port: 9094, component: kafka, targetPort: 9092}
""")
    out = tmp_path / "out"
    done = bbgen("render", str(spec), "--out", str(out))
    assert done.returncode == 2 and not out.exists()
    errors = [line for line in done.stderr.splitlines() if "raw TCP" in line]
    assert len(errors) == 1, done.stderr
    line_no = spec.read_text(encoding="utf-8").splitlines().index("    - {port: 9094, component: kafka, targetPort: 9092}") + 1
    assert errors[0].startswith(f"{spec}:{line_no}:") and ": ingress.tcp[0].component: " in errors[0]
    assert "SASL_SSL" in errors[0] and "advertised listener" in errors[0]
    assert "Traceback" not in done.stderr


def test_a_raw_exposure_fact_names_a_declared_port() -> None:
    base = KAFKA.model_dump(by_alias=True, exclude={"folder"})
    with pytest.raises(ValidationError, match="noRawExposure names unknown ports"):
        KustomizeComponent.model_validate({**base, "noRawExposure": {"bolt": "why"}})
    assert set(KAFKA.no_raw_exposure) == {"kafka"}


def test_declared_topics_are_granted_to_their_app(write_spec: Any) -> None:
    spec = write_spec(SMALL + """\
  reader:
    image: registry.example.org/demo/reader:1.0.0
    dependsOn: [event-broker]
    topics: [worker.events, audit_log]
""")
    files = dict(build_tree(load_platform(spec)).files)
    env = {e["name"]: e for e in _job(files)["spec"]["template"]["spec"]["containers"][0]["env"]}
    lines = env["ACLS"]["value"].splitlines()
    ops = "Describe,Read,Write,Create,DescribeConfigs"
    assert [ln for ln in lines if ln.startswith("reader ")] == [
        "reader prefixed All topic:reader. group:reader. transactional-id:reader.",
        f"reader literal {ops} topic:worker.events",
        f"reader literal {ops} topic:audit_log",
    ]
    assert [ln for ln in lines if ln.startswith("worker ")] == ["worker prefixed All topic:worker. group:worker. transactional-id:worker."]


@pytest.mark.parametrize(
    ("topics", "depends", "error"),
    [("[ok, 'bad topic']", "[kafka]", "is not a Kafka topic name"), ("['..']", "[kafka]", "is not a Kafka topic name"),
     ("[shared.events]", "[]", "does not depend on the event broker")],
)
def test_bad_topics_are_located_errors(write_spec: Any, tmp_path: Path, topics: str, depends: str, error: str) -> None:
    spec = write_spec(SMALL + f"""\
  reader:
    image: registry.example.org/demo/reader:1.0.0
    dependsOn: {depends}
    topics: {topics}
""")
    done = bbgen("render", str(spec), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if error in line]
    assert len(errors) == 1, done.stderr
    line_no = spec.read_text(encoding="utf-8").splitlines().index(f"    topics: {topics}") + 1
    assert errors[0].startswith(f"{spec}:{line_no}:") and "apps.reader.topics" in errors[0]


def test_access_names_a_dependency() -> None:
    ui = load_catalog()["kafka-ui"]
    assert ui.access == {"kafka": "read"}
    base = ui.model_dump(by_alias=True, exclude={"folder"})
    with pytest.raises(ValidationError, match="access names"):
        KustomizeComponent.model_validate({**base, "access": {"postgres": "read"}})
