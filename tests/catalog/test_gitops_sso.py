"""GitOps and SSO: Argo CD (chart, manages itself), Gitea and Keycloak on Postgres, and the
Postgres Job that gives each dependant its own database."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bbgen import api
from bbgen.render.build import build_tree
from bbgen.render.tree import Tree
from bbgen.render.write import write_tree
from bbgen.render.inventory import inventory_for
from bbgen.spec import load_platform

from support import MINIMAL_SPEC
from catalogkit import tree_base as _base, tree_doc as _doc

SPEC = MINIMAL_SPEC + """\
environments:
  prod: {}
  staging: {cluster: "https://staging.example.org:6443"}
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  postgres: {}
  argocd: {}
  gitea: {}
  keycloak: {}
"""

SSH_SPEC = SPEC.replace("gitea: {}", "gitea: {settings: {ssh: true}}")
PG_ADDRESS = "postgres.db.svc.cluster.local"
Doc = dict[str, Any]


def _tree(write_spec: Callable[[str], Path], text: str = SPEC) -> Tree:
    return build_tree(load_platform(write_spec(text)))


def _container(workload: Doc, name: str | None = None) -> Doc:
    containers = workload["spec"]["template"]["spec"]["containers"]
    return containers[0] if name is None else next(c for c in containers if c["name"] == name)


def _env(container: Doc) -> dict[str, Any]:
    """name → value, or the valueFrom mapping for references."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _named_ports(container: Doc) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in container.get("ports", [])}


def _probe_ports(container: Doc) -> list[Any]:
    return [container[p]["httpGet"]["port"] for p in ("startupProbe", "readinessProbe", "livenessProbe") if p in container]


# --- the whole thing validates -------------------------------------------------------------


@pytest.mark.tools
@pytest.mark.usefixtures("tools")
def test_renders_and_validates_clean(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(_tree(write_spec), out)
    report = api.validate(out)
    errors = [f for f in report.findings if f.severity == "error"]
    assert not errors, "\n".join(f"{f.check} {f.file} {f.resource}: {f.message}" for f in errors)
    # what the cluster must hold out of band: our Secrets, and the copies dependants read
    for needed in ("devops/gitea-secrets", "devops/postgres-gitea", "auth/keycloak-admin", "auth/postgres-keycloak", "db/postgres-credentials",
                   "db/postgres-gitea", "db/postgres-keycloak"):
        assert needed in report.required_secrets
    assert not [s for s in report.required_secrets if s.endswith("/postgres-credentials") and not s.startswith("db/")]


@pytest.mark.tools
def test_staging_overlays_carry_the_staging_hosts(write_spec: Callable[[str], Path], tmp_path: Path, tools: dict[str, str]) -> None:
    out = tmp_path / "out"
    write_tree(_tree(write_spec), out)

    def build(component: str) -> list[Doc]:
        done = subprocess.run([tools["kustomize"], "build", str(out / f"components/{component}/overlays/staging")], capture_output=True, text=True, check=True)
        return [d for d in yaml.safe_load_all(done.stdout) if d]

    keycloak = next(d for d in build("keycloak") if d["kind"] == "Deployment")
    assert _env(_container(keycloak))["KC_HOSTNAME"] == "https://auth.staging.demo.example.org"
    gitea = next(d for d in build("gitea") if d["kind"] == "StatefulSet")
    env = _env(_container(gitea))
    assert env["GITEA__server__ROOT_URL"] == "https://git.staging.demo.example.org/"
    assert env["GITEA__server__DOMAIN"] == "git.staging.demo.example.org"


def test_no_secret_with_data_anywhere(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec, SSH_SPEC)
    for path, data in tree.files.items():
        if not path.endswith(".yaml"):
            continue
        for doc in yaml.safe_load_all(data):
            if isinstance(doc, dict) and doc.get("kind") == "Secret":
                assert not doc.get("data") and not doc.get("stringData"), path


# --- Argo CD --------------------------------------------------------------------------------


def test_argocd_application_is_chart_values_and_companion(write_spec: Callable[[str], Path]) -> None:
    env = "prod"  # the hub: a spoke (staging) runs no Argo CD of its own
    tree = _tree(write_spec)
    assert "apps/staging/argocd.yaml" not in tree.files
    app = _doc(tree, f"apps/{env}/argocd.yaml")
    assert app["spec"]["project"] == "prod-devops"
    assert app["spec"]["destination"]["namespace"] == "argocd"
    chart, values, companion = app["spec"]["sources"]
    assert chart["repoURL"] == "https://argoproj.github.io/argo-helm"
    assert chart["chart"] == "argo-cd"
    assert chart["targetRevision"].split(".")[0] == "10"  # the Argo CD 3.x line
    assert chart["helm"]["releaseName"] == "argocd"
    assert chart["helm"]["valueFiles"] == [f"$values/values/argocd/{env}.yaml"]
    assert values["ref"] == "values" and values["repoURL"] == companion["repoURL"]
    assert companion["path"] == f"components/argocd/overlays/{env}"
    assert f"values/argocd/{env}.yaml" in tree.files
    assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"]


def test_argocd_values(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec)
    prod = _doc(tree, "values/argocd/prod.yaml")
    assert prod["global"]["domain"] == "argocd.demo.example.org"
    # hub mode: one Argo CD, on prod; the staging spoke gets none of it (no values, overlay, namespace or Application)
    assert not [p for p in tree.files if "argocd" in p and "staging" in p]
    assert prod["configs"]["params"]["server.insecure"] is True
    assert prod["server"]["ingress"]["enabled"] is False  # bbgen renders the route
    assert prod["dex"]["enabled"] is False
    assert prod["crds"] == {"install": True, "keep": True}
    # the release's resource names are what chartServices and the route rely on
    assert prod["fullnameOverride"] == "argocd"
    cm = prod["configs"]["cm"]
    assert cm["timeout.reconciliation"] == "180s"
    lua = cm["resource.customizations.health.argoproj.io_Application"]
    for needle in ("obj.status.health.status", "operationState", "Progressing", "return hs"):
        assert needle in lua
    assert prod["controller"]["resources"] == {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}}


_LUA_RUN = """
function(src, obj)
  local f = assert(loadstring(src, "health"))
  setfenv(f, {obj = obj})
  local hs = f()
  return hs.status .. "|" .. (hs.message or "")
end
"""


def test_argocd_health_lua_runs(write_spec: Callable[[str], Path]) -> None:
    """Argo CD runs health scripts with gopher-lua, a Lua 5.1: the script runs here under a real Lua 5.1 (lupa)."""
    from lupa.lua51 import LuaRuntime

    script = _doc(_tree(write_spec), "values/argocd/prod.yaml")["configs"]["cm"]["resource.customizations.health.argoproj.io_Application"]
    lua = LuaRuntime()
    run = lua.eval(_LUA_RUN)

    def health(obj: dict[str, Any]) -> str:
        return str(run(script, lua.table_from(obj, recursive=True)))

    assert health({}) == "Progressing|no health reported yet"
    assert health({"status": {"health": {"status": "Healthy"}}}) == "Healthy|"
    # hooks (the Postgres database Job) still running: not healthy yet
    assert health({"status": {"health": {"status": "Healthy"}, "operationState": {"phase": "Running"}}}) == "Progressing|sync operation is Running"
    assert health({"status": {"health": {"status": "Degraded", "message": "boom"}}, "operationState": {"phase": "Failed"}}) == "Degraded|boom"


def test_argocd_route_reaches_the_charts_server_service(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec)
    ingress = _base(tree, "argocd")[("Ingress", "argocd")]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "argocd-server", "port": {"name": "http"}}
    declared = [s for s in tree.meta["chartServices"] if s["name"] == "argocd-server"]
    assert declared and declared[0]["namespace"] == "argocd"
    assert {p["name"]: p["port"] for p in declared[0]["ports"]} == {"http": 80, "https": 443}
    # the edge may reach the server's pod port (8080), where both Service ports lead
    policy = _doc(tree, "platform/prod/networkpolicy-argocd-allow-argocd.yaml")
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/instance": "argocd"}
    assert [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]] == [8080]


def test_argocd_project_allows_its_cluster_kinds(write_spec: Callable[[str], Path]) -> None:
    project = _doc(_tree(write_spec), "projects/prod/appproject-prod-devops.yaml")
    kinds = {(k["group"], k["kind"]) for k in project["spec"]["clusterResourceWhitelist"]}
    assert {
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    } <= kinds
    assert "https://argoproj.github.io/argo-helm" in project["spec"]["sourceRepos"]
    namespaces = {d["namespace"] for d in project["spec"]["destinations"]}
    assert namespaces == {"argocd", "devops"}


def test_repository_secret_is_out_of_band(write_spec: Callable[[str], Path]) -> None:
    inventory = inventory_for(load_platform(write_spec(SPEC)))
    plans = {s.ref: s for s in inventory.secrets}
    repo = plans["argocd/gitops-repo"]
    assert {k: p.source for k, p in repo.keys.items()} == {"type": "fixed", "url": "fixed", "username": "supply", "password": "supply"}
    assert repo.keys["type"].value == "git"
    assert repo.keys["url"].value == "https://git.example.org/platform/demo-gitops.git"  # from the spec's gitops block
    assert repo.labels == {"argocd.argoproj.io/secret-type": "repository"}  # how Argo CD 3 finds it


# --- Gitea ----------------------------------------------------------------------------------


def test_gitea_talks_to_its_own_postgres_database(write_spec: Callable[[str], Path]) -> None:
    sts = _base(_tree(write_spec), "gitea")[("StatefulSet", "gitea")]
    env = _env(_container(sts))
    assert env["GITEA__database__DB_TYPE"] == "postgres"
    assert env["GITEA__database__HOST"] == f"{PG_ADDRESS}:5432"
    assert env["GITEA__database__NAME"] == "gitea"
    assert env["GITEA__database__USER"] == "gitea"
    assert env["GITEA__database__PASSWD"] == {"secretKeyRef": {"name": "postgres-gitea", "key": "password"}}
    assert env["GITEA__security__INSTALL_LOCK"] == "true"
    assert env["GITEA__server__ROOT_URL"] == "https://git.demo.example.org/"
    assert env["GITEA__server__HTTP_PORT"] == "3000"
    for var, key in (("GITEA__security__SECRET_KEY", "secret-key"), ("GITEA__security__INTERNAL_TOKEN", "internal-token"), ("GITEA__oauth2__JWT_SECRET", "jwt-secret")):
        assert env[var] == {"secretKeyRef": {"name": "gitea-secrets", "key": key}}


def test_gitea_secrets_are_generated_in_the_right_shape(write_spec: Callable[[str], Path]) -> None:
    inventory = inventory_for(load_platform(write_spec(SPEC)))
    plans = {s.ref: s for s in inventory.secrets}
    keys = plans["devops/gitea-secrets"].keys
    assert all(k.source == "generate" for k in keys.values())
    # Gitea decodes JWT secrets as unpadded base64url of exactly 32 bytes
    assert keys["jwt-secret"].generator == "password" and keys["jwt-secret"].length == 43
    assert plans["devops/postgres-gitea"].copy_of == "db/postgres-gitea"
    assert plans["auth/postgres-keycloak"].copy_of == "db/postgres-keycloak"
    assert "devops/postgres-credentials" not in plans and "auth/postgres-credentials" not in plans


def test_gitea_pod_is_locked_down_with_state_on_local_ssd(write_spec: Callable[[str], Path]) -> None:
    sts = _base(_tree(write_spec), "gitea")[("StatefulSet", "gitea")]
    pod = sts["spec"]["template"]["spec"]
    c = _container(sts)
    assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["fsGroup"] == 1000
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert mounts["/var/lib/gitea"] == "data" and "/etc/gitea" in mounts and "/tmp" in mounts
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["storageClassName"] == "local-ssd"
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert _named_ports(c) == {"http": 3000}
    assert set(_probe_ports(c)) == {"http"}
    assert all(c[p]["httpGet"]["path"] == "/api/healthz" for p in ("readinessProbe", "livenessProbe"))


def test_gitea_ssh_only_when_enabled(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    off = _base(_tree(write_spec), "gitea")
    assert [p["name"] for p in off[("Service", "gitea")]["spec"]["ports"]] == ["http"]
    assert _env(_container(off[("StatefulSet", "gitea")]))["GITEA__server__DISABLE_SSH"] == "true"

    on = _base(_tree(write_spec, SSH_SPEC), "gitea")
    ports = {p["name"]: p for p in on[("Service", "gitea")]["spec"]["ports"]}
    assert ports["ssh"]["port"] == 2222 and ports["ssh"]["targetPort"] == "ssh"
    c = _container(on[("StatefulSet", "gitea")])
    assert _named_ports(c) == {"http": 3000, "ssh": 2222}
    env = _env(c)
    assert env["GITEA__server__START_SSH_SERVER"] == "true"
    assert env["GITEA__server__SSH_LISTEN_PORT"] == "2222"
    assert env["GITEA__server__SSH_PORT"] == "22"
    assert env["GITEA__server__DISABLE_SSH"] == "false"


# --- Keycloak -------------------------------------------------------------------------------


def test_keycloak_production_mode_on_its_own_database(write_spec: Callable[[str], Path]) -> None:
    objs = _base(_tree(write_spec), "keycloak")
    deploy = objs[("Deployment", "keycloak")]
    c = _container(deploy)
    assert c["args"][0] == "start" and "--import-realm" in c["args"]
    env = _env(c)
    assert env["KC_DB"] == "postgres"
    assert env["KC_DB_URL_HOST"] == PG_ADDRESS
    assert env["KC_DB_URL_PORT"] == "5432"
    assert env["KC_DB_URL_DATABASE"] == "keycloak"
    assert env["KC_DB_USERNAME"] == "keycloak"
    assert env["KC_DB_PASSWORD"] == {"secretKeyRef": {"name": "postgres-keycloak", "key": "password"}}
    assert env["KC_HOSTNAME"] == "https://auth.demo.example.org"
    assert env["KC_HTTP_ENABLED"] == "true" and env["KC_PROXY_HEADERS"] == "xforwarded"
    assert env["KC_HEALTH_ENABLED"] == "true" and env["KC_METRICS_ENABLED"] == "true"
    assert env["KC_BOOTSTRAP_ADMIN_USERNAME"] == "admin"
    assert env["KC_BOOTSTRAP_ADMIN_PASSWORD"] == {"secretKeyRef": {"name": "keycloak-admin", "key": "password"}}


def test_keycloak_ports_probes_and_security(write_spec: Callable[[str], Path]) -> None:
    objs = _base(_tree(write_spec), "keycloak")
    deploy = objs[("Deployment", "keycloak")]
    c = _container(deploy)
    assert _named_ports(c) == {"http": 8080, "management": 9000}
    assert _env(c)["KC_HTTP_MANAGEMENT_PORT"] == "9000"
    assert set(_probe_ports(c)) == {"management"}
    assert c["startupProbe"]["httpGet"]["path"] == "/health/started"
    assert c["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/health/live"
    service = objs[("Service", "keycloak")]
    assert {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {"http": (8080, "http"), "management": (9000, "management")}
    pod = deploy["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
    assert pod["automountServiceAccountToken"] is False
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert c["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}


def test_keycloak_imports_the_platform_realm(write_spec: Callable[[str], Path]) -> None:
    tree = _tree(write_spec, SPEC + "sso: {realm: hadith}\n")
    objs = _base(tree, "keycloak")
    realm = objs[("ConfigMap", "keycloak-realm")]
    assert list(realm["data"]) == ["hadith-realm.json"]
    assert json.loads(realm["data"]["hadith-realm.json"]) == {
        "realm": "hadith", "enabled": True, "sslRequired": "external", "clients": [], "groups": [{"name": "demo-admins"}],
    }
    pod = objs[("Deployment", "keycloak")]["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v.get("configMap"))
    assert volume["configMap"]["name"] == "keycloak-realm"
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
    assert mount["mountPath"] == "/opt/keycloak/data/import"


# --- Postgres databases ---------------------------------------------------------------------


def test_postgres_job_creates_exactly_the_dependants_databases(write_spec: Callable[[str], Path]) -> None:
    objs = _base(_tree(write_spec), "postgres")
    job = objs[("Job", "postgres-databases")]
    notes = job["metadata"]["annotations"]
    assert notes["argocd.argoproj.io/hook"] == "PostSync"
    assert notes["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    c = _container(job)
    env = _env(c)
    assert env["DEPENDANTS"].split() == ["gitea", "keycloak"]
    assert env["PGHOST"] == PG_ADDRESS and env["PGPORT"] == "5432"
    assert env["PGPASSWORD"] == {"secretKeyRef": {"name": "postgres-credentials", "key": "password"}}
    script = c["command"][-1]
    assert "CREATE DATABASE" in script and "pg_database" in script and "CREATE ROLE" in script
    # each dependant's own password, mounted where the script reads it
    pod_spec = job["spec"]["template"]["spec"]
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod_spec["volumes"] if "secret" in v}
    mounts = {m["mountPath"]: secrets[m["name"]] for m in c["volumeMounts"] if m["name"] in secrets}
    assert mounts == {f"{env['CREDENTIALS']}/gitea": "postgres-gitea", f"{env['CREDENTIALS']}/keycloak": "postgres-keycloak"}
    pod = job["spec"]["template"]
    # the postgres Service must never select the Job's pods
    selector = objs[("Service", "postgres")]["spec"]["selector"]
    assert not selector.items() <= pod["metadata"]["labels"].items()
    assert pod["spec"]["securityContext"]["runAsUser"] == 999 and pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    assert pod["spec"]["automountServiceAccountToken"] is False


def test_postgres_job_follows_the_dependants(write_spec: Callable[[str], Path]) -> None:
    alone = MINIMAL_SPEC + "components:\n  postgres: {}\n"
    assert ("Job", "postgres-databases") not in _base(_tree(write_spec, alone), "postgres")
    only_keycloak = MINIMAL_SPEC + "components:\n  postgres: {}\n  keycloak: {}\n"
    job = _base(_tree(write_spec, only_keycloak), "postgres")[("Job", "postgres-databases")]
    assert _env(_container(job))["DEPENDANTS"] == "keycloak"


@pytest.mark.skipif(subprocess.run(["sh", "-n", "/dev/null"], capture_output=True).returncode != 0, reason="no POSIX sh")
def test_postgres_job_script_is_valid_shell(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    job = _base(_tree(write_spec), "postgres")[("Job", "postgres-databases")]
    script = tmp_path / "create.sh"
    script.write_text(_container(job)["command"][-1], encoding="utf-8")
    done = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
