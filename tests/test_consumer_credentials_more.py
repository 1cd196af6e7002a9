"""A credential per consumer beyond Postgres: Redis ACL users, Elasticsearch users, API keys.

Every Secret a component marks `private` (a superuser's: Redis' `default`, Elasticsearch's
`elastic`) is named only inside that component's namespace, in every profile's rendered
manifests and chart values and in the Secrets plan; every dependant of the cache and the
search engine reads a Secret of its own, in the plan and in its rendered env. When
redis-server is installed, the init step that writes Redis' ACL file runs for real and each
user is tried against a throwaway server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from bbgen.catalog import consumer_secret_name, load_catalog
from bbgen.render.build import build_tree
from bbgen.render.inventory import inventory_for
from bbgen.render.units import env_units
from bbgen.spec import load_platform
from bbgen.validate import Report

from support import MINIMAL_SPEC, REFERENCE, ROOT, bbgen
from manifestkit import docs as _docs, strings as _strings, free_port as _free_port

PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))
CATALOG = load_catalog()
# Roles whose every consumer must sign in as itself (Postgres has its own tests).
PER_CONSUMER_ROLES = ("cache", "search")
PRIVATE = {s.name: c.namespace for c in CATALOG.values() for s in c.secrets if s.private}


def _providers() -> list[str]:
    """The catalog components filling the roles above, by name."""
    return sorted(c.name for c in CATALOG.values() if set(c.provides) & set(PER_CONSUMER_ROLES))


def _consumers(platform: Any, env: str) -> dict[tuple[str, str], str]:
    """(provider, dependant) -> the dependant's namespace, for every provider of the roles above in ``env``.

    A dependant that brings its own identity towards the provider (Kibana's kibana_system) has none.
    """
    units = env_units(platform, CATALOG, env)
    out = {}
    for provider in _providers():
        if provider not in units:
            continue
        for unit in units.values():
            if provider in unit.depends_on and provider not in unit.own_credentials:
                out[(provider, unit.name)] = unit.namespace
    return out


@pytest.fixture(scope="module", params=[p.stem for p in PROFILES])
def profile(request: pytest.FixtureRequest) -> tuple[Any, dict[str, bytes]]:
    platform = load_platform(ROOT / "profiles" / f"{request.param}.yaml")
    return platform, dict(build_tree(platform).files)


def test_the_cache_and_search_keep_their_superuser_private() -> None:
    for provider in _providers():
        comp = CATALOG[provider]
        assert comp.consumer_secrets, f"{provider}: no per-consumer credential"
        private = [s.name for s in comp.secrets if s.private]
        assert private, f"{provider}: its superuser Secret is not private"
        assert not {r.secret for r in comp.expose.secret_env.values()} & set(private)


def test_no_private_secret_is_named_outside_its_namespace(profile: tuple[Any, dict[str, bytes]]) -> None:
    platform, files = profile
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
            else:  # a chart's values file: the unit's namespace
                unit = parts[1] if parts[0] == "values" else None
                namespace = CATALOG[unit].namespace if unit in CATALOG else None
            for name in set(_strings(doc)) & set(PRIVATE):
                if namespace != PRIVATE[name]:
                    offenders.append(f"{path} ({namespace}): {name}")
    assert offenders == []
    for env in platform.environments:
        planned = [s.ref for s in inventory_for(platform, env).secrets if s.name in PRIVATE]
        assert all(ref == f"{PRIVATE[ref.split('/')[1]]}/{ref.split('/')[1]}" for ref in planned), env


def test_every_consumer_of_the_cache_and_search_has_its_own_credential(profile: tuple[Any, dict[str, bytes]]) -> None:
    platform, files = profile
    for env in platform.environments:
        consumers = _consumers(platform, env)
        plans = {s.ref: s for s in inventory_for(platform, env).secrets}
        seen: dict[str, set[str]] = {}
        for (provider, dependant), namespace in sorted(consumers.items()):
            comp = CATALOG[provider]
            for secret in comp.consumer_secrets:
                name = consumer_secret_name(secret.name, dependant)
                owner, reader = plans[f"{comp.namespace}/{name}"], plans[f"{namespace}/{name}"]
                assert owner.consumer == reader.consumer == dependant, (env, name)
                assert {k.source for k in owner.keys.values()} == {"generate"}
                seen.setdefault(provider, set()).add(name)
        for provider, names in seen.items():
            dependants = {d for p, d in consumers if p == provider}
            assert len(names) == len(dependants) * len(CATALOG[provider].consumer_secrets)
    # the rendered env of each custom app: its own Secret, and its own user name
    for env in platform.environments:
        for (provider, dependant), _ in _consumers(platform, env).items():
            if dependant not in platform.apps:
                continue
            comp = CATALOG[provider]
            own = {consumer_secret_name(s.name, dependant) for s in comp.consumer_secrets}
            for path, data in files.items():
                if not path.startswith(f"components/{dependant}/base/"):
                    continue
                for doc in _docs(data):
                    for container in (((doc.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers", []):
                        by_name = {e["name"]: e for e in container.get("env", [])}
                        for var, ref in comp.expose.secret_env.items():
                            assert by_name[var]["valueFrom"]["secretKeyRef"]["name"] in own, (dependant, var)
                        for var, value in comp.expose.env.items():
                            if value == "{{ dependant }}":
                                assert by_name[var]["value"] == dependant, (dependant, var)


def test_two_apps_on_the_cache_get_two_users(write_spec: Any, tmp_path: Path) -> None:
    spec = write_spec(MINIMAL_SPEC + """\
components:
  redis: {}
apps:
  api:
    image: registry.example.org/demo/api:1.0.0
    namespace: apps
    dependsOn: [cache]
  worker:
    image: registry.example.org/demo/worker:1.0.0
    namespace: db
    dependsOn: [redis]
""")
    plans = {s.ref: s for s in inventory_for(load_platform(spec)).secrets}
    assert plans["db/redis-api"].consumer == plans["apps/redis-api"].consumer == "api"
    assert plans["apps/redis-api"].keys["password"].copy_of == ("db", "redis-api", "password")
    assert plans["db/redis-worker"].used_by == ("redis", "worker")
    assert plans["db/redis-credentials"].used_by == ("redis",) and "apps/redis-credentials" not in plans
    out = tmp_path / "out"
    done = bbgen("render", str(spec), "--out", str(out))
    assert done.returncode == 0, done.stderr
    (sts,) = _docs((out / "components/redis/base/statefulset-redis.yaml").read_bytes())
    pod = sts["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    env = {e["name"]: e for e in init["env"]}
    assert env["DEPENDANTS"]["value"] == "api worker"
    mounted = {m["mountPath"]: m["name"] for m in init["volumeMounts"]}
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert {p: secrets[n] for p, n in mounted.items() if n in secrets} == {"/credentials/api": "redis-api", "/credentials/worker": "redis-worker"}
    assert [e["valueFrom"]["secretKeyRef"]["name"] for e in init["env"] if "valueFrom" in e] == ["redis-credentials"]
    (server,) = pod["containers"]
    assert "--requirepass" not in server["args"] and server["args"][:2] == ["--aclfile", "/acl/users.acl"]
    api_env = {e["name"]: e for e in _docs((out / "components/api/base/deployment-api.yaml").read_bytes())[0]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert api_env["REDIS_USERNAME"]["value"] == "api" and api_env["REDIS_KEY_PREFIX"]["value"] == "api:"
    assert api_env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "redis-api", "key": "password"}


@pytest.mark.parametrize("spec", PROFILES, ids=[p.stem for p in PROFILES])
def test_plan_names_the_consumer_of_each_new_credential(spec: Path) -> None:
    done = bbgen("secrets", "plan", str(spec), "-o", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    platform = load_platform(spec)
    for env in data["environments"]:
        rows = {(s["namespace"], s["name"]): s for s in data["secrets"] if s["environment"] == env}
        for (provider, dependant), namespace in _consumers(platform, env).items():
            for secret in CATALOG[provider].consumer_secrets:
                name = consumer_secret_name(secret.name, dependant)
                assert rows[(CATALOG[provider].namespace, name)]["consumer"] == dependant
                assert rows[(namespace, name)]["consumer"] == dependant
    table = bbgen("secrets", "plan", str(REFERENCE))
    assert table.returncode == 0, table.stderr
    header = next(line for line in table.stdout.splitlines() if "CONSUMER" in line)
    column = header.index("CONSUMER")
    for name in ("redis-orchestrator", "elasticsearch-orchestrator"):
        rows_text = [line for line in table.stdout.splitlines() if f" {name} " in f" {line} "]
        assert len(rows_text) >= 2 and all(line[column:].split()[0] == "orchestrator" for line in rows_text), name
    superusers = [line for line in table.stdout.splitlines() if " redis-credentials " in line or " elasticsearch-credentials " in line]
    assert superusers and all(line[column:].split()[0] == "-" for line in superusers), "a superuser's Secret has no consumer"


@pytest.mark.tools
def test_output_example_validates_with_cache_and_search_credentials(output_example_report: Report) -> None:
    report = output_example_report
    assert [str(f) for f in report.findings if f.severity == "error"] == []
    required = set(report.required_secrets)
    assert {"db/redis-orchestrator", "hadith/redis-orchestrator", "elastic/elasticsearch-orchestrator", "hadith/elasticsearch-orchestrator"} <= required
    assert "elastic/elasticsearch-kibana" not in required, "Kibana signs in as kibana_system"
    for name, namespace in PRIVATE.items():
        assert {r for r in required if r.endswith(f"/{name}")} <= {f"{namespace}/{name}"}, name


# --- Elasticsearch: a user and a role per dependant, Kibana keeps kibana_system ---------------------


def _es_job(files: dict[str, bytes]) -> dict[str, Any]:
    job: dict[str, Any] = _docs(files["components/elasticsearch/base/job-elasticsearch-users.yaml"])[0]
    return job


def test_kibana_brings_its_own_identity_and_gets_no_user() -> None:
    platform = load_platform(REFERENCE)
    files = dict(build_tree(platform).files)
    plans = {s.ref for s in inventory_for(platform, "prod").secrets}
    assert "elastic/elasticsearch-kibana" not in plans and "elastic/elasticsearch-orchestrator" in plans
    by_ref = {s.ref: s for s in inventory_for(platform, "prod").secrets}
    assert by_ref["elastic/elasticsearch-credentials"].used_by == ("elasticsearch", "kibana"), "Kibana's init step reads it"
    kibana = _docs(files["components/kibana/base/deployment-kibana.yaml"])[0]["spec"]["template"]["spec"]
    init_env = {e["name"]: e for e in kibana["initContainers"][0]["env"]}
    assert init_env["ELASTIC_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "elasticsearch-credentials"  # its own namespace
    main_env = {e["name"]: e for e in kibana["containers"][0]["env"]}
    assert main_env["ELASTICSEARCH_USERNAME"]["value"] == "kibana_system"
    job = _es_job(files)
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["DEPENDANTS"]["value"] == "orchestrator"
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    assert [e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e] == ["elasticsearch-credentials"]
    pod = job["spec"]["template"]["spec"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert {m["mountPath"]: secrets[m["name"]] for m in container["volumeMounts"] if m["name"] in secrets} == {
        "/credentials/orchestrator": "elasticsearch-orchestrator"}


def test_own_credentials_must_name_a_dependency() -> None:
    from pydantic import ValidationError

    from bbgen.catalog import KustomizeComponent

    base = CATALOG["kibana"].model_dump(by_alias=True, exclude={"folder"})
    with pytest.raises(ValidationError, match="not among dependsOn/uses"):
        KustomizeComponent.model_validate({**base, "ownCredentials": ["postgres"]})


class _Recorder:
    """A stand-in for Elasticsearch's security API on 127.0.0.1: records each request, checks basic auth."""

    def __init__(self, password: str) -> None:
        import base64
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[tuple[str, str, Any]] = []
        expected = "Basic " + base64.b64encode(f"elastic:{password}".encode()).decode()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                ok = self.headers.get("Authorization") == expected
                if ok:
                    recorder.requests.append((self.command, self.path, body))
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_PUT = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_users_job_sends_a_role_and_a_user_per_dependant(tmp_path: Path) -> None:
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("curl and bash are needed to run the Job's script")
    container = _es_job(dict(build_tree(load_platform(REFERENCE)).files))["spec"]["template"]["spec"]["containers"][0]
    script = container["command"][-1]
    superuser = "S" + os.urandom(12).hex()
    passwords = {"label-studio": "P" + os.urandom(12).hex(), "orchestrator": "Q" + os.urandom(12).hex()}
    for name, password in passwords.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "password").write_text(password, encoding="utf-8")
    es = _Recorder(superuser)
    try:
        env = {**os.environ, "DEPENDANTS": " ".join(passwords), "CREDENTIALS": str(tmp_path), "ES_URL": es.url, "ELASTIC_PASSWORD": superuser}
        done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert not any(p in done.stdout + done.stderr for p in [superuser, *passwords.values()])
        puts = [(path, body) for method, path, body in es.requests if method == "PUT"]
        assert puts == [
            (f"/_security/{kind}/{name}", body)
            for name in passwords
            for kind, body in (
                ("role", {"cluster": [], "indices": [{"names": [f"{name}-*"], "privileges": ["all"]}], "metadata": {"managed-by": "bbgen"}}),
                ("user", {"password": passwords[name], "roles": [name], "metadata": {"managed-by": "bbgen"}}),
            )
        ]
        # a password outside the generated alphabet is refused, not escaped into the JSON
        (tmp_path / "orchestrator" / "password").write_text('x", "roles": ["superuser"]', encoding="utf-8")
        bad = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert bad.returncode != 0 and "only letters, digits" in bad.stderr
    finally:
        es.close()


# --- API keys: Qdrant and the LLM servers that support one -----------------------------------------


def _pod_env(files: dict[str, bytes], path: str) -> dict[str, Any]:
    doc = _docs(files[path])[0]
    return {e["name"]: e for c in doc["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}


def _llm_spec(write_spec: Any, component: str) -> Any:
    pool = "nodePools:\n  workers: {count: 1}\n  gpu: {role: gpu, count: 1, gpusPerNode: 1}\n" if CATALOG[component].gpu else ""
    return write_spec(MINIMAL_SPEC + pool + f"""\
components:
  {component}: {{basicAuth: {{enabled: true}}}}
apps:
  api:
    image: registry.example.org/demo/api:1.0.0
    namespace: apps
    dependsOn: [llm]
  worker:
    image: registry.example.org/demo/worker:1.0.0
    namespace: apps
    dependsOn: [llm]
""")


def _server(files: dict[str, bytes], component: str) -> dict[str, Any]:
    pod: dict[str, Any] = _docs(files[f"components/{component}/base/statefulset-{component}.yaml"])[0]["spec"]["template"]["spec"]
    return pod


def test_vllm_requires_its_key_and_hands_it_to_dependants(write_spec: Any) -> None:
    spec = _llm_spec(write_spec, "vllm")
    files = dict(build_tree(load_platform(spec)).files)
    server = _server(files, "vllm")["containers"][0]
    env = {e["name"]: e for e in server["env"]}
    assert env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "vllm-api-key", "key": "api-key"}
    assert not any("api-key" in str(a) for a in server.get("args", [])), "never on a command line (ps, the start log)"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):  # vLLM checks the key on /v1 only
        assert server[probe]["httpGet"]["path"] == "/health"
    for app in ("api", "worker"):  # vLLM reads one key: shared
        env = _pod_env(files, f"components/{app}/base/deployment-{app}.yaml")
        assert env["LLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "vllm-api-key", "key": "api-key"}
    plans = {s.ref: s for s in inventory_for(load_platform(spec)).secrets}
    assert plans["apps/vllm-api-key"].keys["api-key"].copy_of == ("ai", "vllm-api-key", "api-key")
    assert plans["ai/vllm-api-key"].keys["api-key"].generator == "hex"


def test_llama_cpp_gives_each_dependant_its_own_key(write_spec: Any, tmp_path: Path) -> None:
    spec = _llm_spec(write_spec, "llama-cpp")
    files = dict(build_tree(load_platform(spec)).files)
    pod = _server(files, "llama-cpp")
    server = pod["containers"][0]
    assert server["args"][server["args"].index("--api-key-file") + 1] == "/keys/api-keys"
    assert not any(e["name"] == "LLAMA_API_KEY" for e in server["env"])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):  # llama.cpp exempts /health from the key
        assert server[probe]["httpGet"]["path"] == "/health"
    (init,) = pod["initContainers"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert {m["mountPath"]: secrets[m["name"]] for m in init["volumeMounts"] if m["name"] in secrets} == {
        "/credentials/api": "llama-cpp-api", "/credentials/worker": "llama-cpp-worker"}
    for app in ("api", "worker"):
        env = _pod_env(files, f"components/{app}/base/deployment-{app}.yaml")
        assert env["LLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": f"llama-cpp-{app}", "key": "api-key"}
    plans = {s.ref: s for s in inventory_for(load_platform(spec)).secrets}
    assert plans["apps/llama-cpp-api"].consumer == plans["ai/llama-cpp-api"].consumer == "api"
    assert "apps/llama-cpp-api-key" not in plans, "the operators' key stays in ai"
    # the init step, run for real: one key per line, the operators' first, nothing printed
    keys = {"api": "a" * 64, "worker": "b" * 64}
    for name, key in keys.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "api-key").write_text(key, encoding="utf-8")
    out = tmp_path / "api-keys"
    env = {**os.environ, "DEPENDANTS": "api worker", "CREDENTIALS": str(tmp_path), "KEYS_FILE": str(out), "OPERATORS_KEY": "c" * 64}
    done = subprocess.run(["/bin/sh", "-c", init["command"][-1]], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").splitlines() == ["c" * 64, "a" * 64, "b" * 64]
    assert not any(k in done.stdout + done.stderr for k in [*keys.values(), "c" * 64])
    assert (out.stat().st_mode & 0o077) == 0


@pytest.mark.parametrize("component", ["ollama", "text-embeddings-inference"])
def test_servers_without_a_usable_key_get_none(component: str) -> None:
    """Ollama has no API key; TEI has one, but prints it in its start log (its arguments, unredacted), so it stays off."""
    comp = CATALOG[component]
    assert not comp.expose.secret_env
    assert not any("key" in s.name for s in comp.secrets)


def test_qdrant_dependants_read_the_api_key_and_probes_need_none() -> None:
    platform = load_platform(REFERENCE)
    files = dict(build_tree(platform).files)
    qdrant = _docs(files["components/qdrant/base/statefulset-qdrant.yaml"])[0]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in qdrant["env"]}
    assert env["QDRANT__SERVICE__API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "qdrant-credentials", "key": "api-key"}
    # /readyz and /livez are exempt from the key (Qdrant >= 1.5): the kubelet sends none
    assert (qdrant["readinessProbe"]["httpGet"]["path"], qdrant["livenessProbe"]["httpGet"]["path"]) == ("/readyz", "/livez")
    orchestrator = _pod_env(files, "components/orchestrator/base/deployment-orchestrator.yaml")
    assert orchestrator["QDRANT_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "qdrant-credentials", "key": "api-key"}


# --- Redis' ACL step against a real redis-server ------------------------------------------------


def _redis_cli(port: int, *args: str, user: str | None = None, password: str | None = None) -> subprocess.CompletedProcess[str]:
    auth = ["--user", user] if user else []
    env = {k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
    if password is not None:
        env["REDISCLI_AUTH"] = password
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *auth, *args], env=env, capture_output=True, text=True, timeout=30)


def test_the_acl_step_against_a_real_redis(tmp_path: Path) -> None:
    server_bin = shutil.which("redis-server")
    if server_bin is None or shutil.which("redis-cli") is None:
        if os.environ.get("BBGEN_REQUIRE_REDIS"):
            pytest.fail("BBGEN_REQUIRE_REDIS is set but redis-server/redis-cli are not installed")
        pytest.skip("redis-server not installed (Debian: apt-get install redis-server)")
    (sts,) = _docs(dict(build_tree(load_platform(REFERENCE)).files)["components/redis/base/statefulset-redis.yaml"])
    script = sts["spec"]["template"]["spec"]["initContainers"][0]["command"][-1]
    dependants = ["label-studio", "orchestrator"]
    passwords = {d: "P" + os.urandom(16).hex() for d in dependants}
    superuser = "S" + os.urandom(16).hex()
    credentials = tmp_path / "credentials"
    acl = tmp_path / "users.acl"

    def write_acl() -> None:
        for name, password in passwords.items():
            (credentials / name).mkdir(parents=True, exist_ok=True)
            (credentials / name / "password").write_text(password, encoding="utf-8")
        env = {**os.environ, "DEPENDANTS": " ".join(dependants), "CREDENTIALS": str(credentials), "ACL_FILE": str(acl), "REDIS_PASSWORD": superuser}
        done = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        text = acl.read_text(encoding="utf-8") + done.stdout + done.stderr
        assert not any(p in text for p in [*passwords.values(), superuser]), "the file holds digests, and nothing prints a password"
        assert (acl.stat().st_mode & 0o077) == 0

    write_acl()
    port = _free_port()
    proc = subprocess.Popen([server_bin, "--bind", "127.0.0.1", "--port", str(port), "--aclfile", str(acl), "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if _redis_cli(port, "ping", password=superuser).stdout.strip() == "PONG":
                break
            time.sleep(0.1)
        else:
            pytest.fail("the throwaway redis-server did not start")
        assert "NOAUTH" in _redis_cli(port, "ping").stdout, "no anonymous access: `default` needs the superuser's password"
        assert _redis_cli(port, "acl", "whoami", password=superuser).stdout.strip() == "default"
        orch, ls = passwords["orchestrator"], passwords["label-studio"]
        assert _redis_cli(port, "set", "orchestrator:k", "v", user="orchestrator", password=orch).stdout.strip() == "OK"
        assert _redis_cli(port, "get", "orchestrator:k", user="orchestrator", password=orch).stdout.strip() == "v"
        assert _redis_cli(port, "set", "label-studio:k", "w", user="label-studio", password=ls).stdout.strip() == "OK"
        assert "redis_version" in _redis_cli(port, "info", "server", user="orchestrator", password=orch).stdout, "clients read the version"
        for args in (("get", "label-studio:k"), ("set", "other", "x"), ("flushall",), ("keys", "*"), ("scan", "0"), ("config", "get", "*"),
                     ("subscribe", "label-studio:events")):
            out = _redis_cli(port, *args, user="orchestrator", password=orch).stdout
            assert "NOPERM" in out, (args, out)
        wrong = _redis_cli(port, "ping", user="orchestrator", password=ls)
        assert "WRONGPASS" in wrong.stderr and "PONG" not in wrong.stdout, "one user's password opens no other"
        assert _redis_cli(port, "get", "label-studio:k", password=superuser).stdout.strip() == "w", "default keeps every key"
        # a rotated Secret holds after the next start (the init step rewrites the file; ACL LOAD stands in for the restart)
        old = passwords["orchestrator"]
        passwords["orchestrator"] = "R" + os.urandom(16).hex()
        write_acl()
        assert _redis_cli(port, "acl", "load", password=superuser).stdout.strip() == "OK"
        assert "WRONGPASS" in _redis_cli(port, "ping", user="orchestrator", password=old).stderr
        assert _redis_cli(port, "ping", user="orchestrator", password=passwords["orchestrator"]).stdout.strip() == "PONG"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
