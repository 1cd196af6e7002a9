"""The inventory behind `bbgen secrets plan`: every Secret the platform reads, copies per namespace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bbgen import api
from bbgen.catalog import SecretMeta
from bbgen.errors import UsageError
from bbgen.render.build import build_tree
from bbgen.render.inventory import Inventory, env_var
from bbgen.spec import load_platform
from bbgen.validate import Report

from secretkit import SPEC_WITH_APPS
from support import REFERENCE, ROOT

REFERENCE_PLAN = {
    "cert-manager/letsencrypt-prod-account/tls.key": "supply $BBGEN_SECRET_CERT_MANAGER_LETSENCRYPT_PROD_ACCOUNT_TLS_KEY (optional)",
    "cert-manager/letsencrypt-staging-account/tls.key": "supply $BBGEN_SECRET_CERT_MANAGER_LETSENCRYPT_STAGING_ACCOUNT_TLS_KEY (optional)",
    "db/postgres-credentials/password": "generated: password, 32 chars",
    "db/redis-credentials/password": "generated: password, 32 chars",
    "db/postgres-orchestrator/password": "generated: password, 32 chars",
    "hadith/postgres-orchestrator/password": "copy of db/postgres-orchestrator",
    "hadith/qdrant-credentials/api-key": "copy of vec/qdrant-credentials",
    "db/redis-orchestrator/password": "generated: password, 32 chars",
    "hadith/redis-orchestrator/password": "copy of db/redis-orchestrator",
    "vec/qdrant-credentials/api-key": "generated: hex, 32 bytes",
}


def _rows(inventory: Inventory) -> dict[str, str]:
    return {"/".join(ref): inventory.key(ref).describe() for ref in inventory.key_refs()}


def _spec(tmp_path: Path, text: str = SPEC_WITH_APPS) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GITOPS_REPO = {
    "argocd/gitops-repo/password": "supply $BBGEN_SECRET_ARGOCD_GITOPS_REPO_PASSWORD",
    "argocd/gitops-repo/type": "fixed: git",
    "argocd/gitops-repo/url": "fixed: https://git.betelgeusebytes.io/platform/betelgeuse-gitops.git",
    "argocd/gitops-repo/username": "supply $BBGEN_SECRET_ARGOCD_GITOPS_REPO_USERNAME",
}


def test_reference_plan() -> None:
    rows = _rows(api.secrets_plan(REFERENCE).env("prod"))
    assert {k: rows.get(k) for k in REFERENCE_PLAN} == REFERENCE_PLAN
    assert "hadith/redis-credentials/password" not in rows, "Redis' `default` user stays in db"
    assert {k: rows.get(k) for k in GITOPS_REPO} == GITOPS_REPO
    # Everything else bbgen makes itself: a person supplies only the Gitea token (and its user), the hub's credentials
    # for the staging spoke (its Argo CD cluster Secret's config) and, optionally, ACME keys.
    supplied = {k for k, how in rows.items() if how.startswith("supply") and not how.endswith("(optional)")}
    assert supplied == {"argocd/gitops-repo/password", "argocd/gitops-repo/username", "argocd/cluster-staging/config"}


def test_repository_secret_carries_argocds_label() -> None:
    plan = next(s for s in api.secrets_plan(REFERENCE).env("prod").secrets if s.ref == "argocd/gitops-repo")
    assert plan.labels == {"argocd.argoproj.io/secret-type": "repository"}


def _referenced(docs: list[Any], issuer_namespace: str) -> set[str]:
    """Secret keys (ns/name/key) or Secrets (ns/name) the manifests read, TLS Secrets cert-manager writes aside."""
    found: set[str] = set()

    def walk(node: Any, ns: str) -> None:
        if isinstance(node, dict):
            ref = node.get("secretKeyRef")
            if isinstance(ref, dict):
                found.add(f"{ns}/{ref['name']}/{ref['key']}")
            if isinstance(node.get("secretRef"), dict):
                found.add(f"{ns}/{node['secretRef']['name']}")
            for value in node.values():
                walk(value, ns)
        elif isinstance(node, list):
            for value in node:
                walk(value, ns)

    for doc in docs:
        meta = doc.get("metadata") or {}
        ns = meta.get("namespace", "")
        walk(doc.get("spec"), ns)
        secret = (meta.get("annotations") or {}).get("nginx.ingress.kubernetes.io/auth-secret")
        if secret:
            found.add(f"{ns}/{secret}/auth")
        if doc.get("kind") == "ClusterIssuer":
            found.add(f"{issuer_namespace}/{doc['spec']['acme']['privateKeySecretRef']['name']}/tls.key")
    return found


@pytest.mark.parametrize("spec_text", ["reference", "with-apps"])
def test_plan_covers_every_secret_the_render_reads(tmp_path: Path, spec_text: str) -> None:
    spec = REFERENCE if spec_text == "reference" else _spec(tmp_path)
    platform = load_platform(spec)
    docs = [
        d for path, data in build_tree(platform).files.items()
        if path.startswith("components/") and path.endswith(".yaml") for d in yaml.safe_load_all(data) if isinstance(d, dict)
    ]
    inventory = api.secrets_plan(spec).env("prod")
    keys = {"/".join(r) for r in inventory.key_refs()}
    secrets = {s.ref for s in inventory.secrets}
    needed = _referenced(docs, issuer_namespace="cert-manager")
    assert needed, "the render reads no Secret at all?"
    missing = sorted(n for n in needed if n not in keys and n not in secrets)
    assert missing == []


def test_copies_basic_auth_and_supplied_app_secrets(tmp_path: Path) -> None:
    rows = _rows(api.secrets_plan(_spec(tmp_path)).env("prod"))
    assert rows["apps/postgres-api/password"] == "copy of db/postgres-api"
    assert "apps/postgres-credentials/password" not in rows, "the superuser's Secret stays in db"
    assert rows["apps/redis-api/password"] == "copy of db/redis-api"
    assert "apps/redis-credentials/password" not in rows, "Redis' `default` user stays in db"
    assert rows["apps/api-external/stripe-key"] == "supply $BBGEN_SECRET_APPS_API_EXTERNAL_STRIPE_KEY"
    assert rows["apps/api-basic-auth/password"] == "generated: password, 24 chars"
    assert rows["apps/api-basic-auth/auth"].startswith("generated: htpasswd (sha512-crypt) for user admin")
    assert rows["vec/qdrant-basic-auth/auth"].startswith("generated: htpasswd")
    assert not any(r.startswith("apps/qdrant") for r in rows), "api does not depend on qdrant"
    inventory = api.secrets_plan(_spec(tmp_path)).env("prod")
    by_ref = {s.ref: s for s in inventory.secrets}
    assert by_ref["db/postgres-credentials"].used_by == ("postgres",)
    assert by_ref["db/postgres-worker"].used_by == ("postgres", "worker")  # same namespace: no copy
    assert by_ref["db/postgres-worker"].consumer == "worker"
    assert by_ref["apps/postgres-api"].copy_of == "db/postgres-api"
    assert by_ref["apps/postgres-api"].used_by == ("api",)
    assert (by_ref["apps/postgres-api"].consumer, by_ref["db/postgres-api"].consumer) == ("api", "api")
    assert by_ref["db/redis-credentials"].consumer is None


def test_env_var_names_are_predictable() -> None:
    assert env_var("cert-manager", "letsencrypt-prod-account", "tls.key") == "BBGEN_SECRET_CERT_MANAGER_LETSENCRYPT_PROD_ACCOUNT_TLS_KEY"
    assert env_var("apps", "api-external", "stripe-key") == "BBGEN_SECRET_APPS_API_EXTERNAL_STRIPE_KEY"


def test_selectors(tmp_path: Path) -> None:
    inventory = api.secrets_plan(_spec(tmp_path)).env("prod")
    assert inventory.select("redis-api") == [("apps", "redis-api", "password"), ("db", "redis-api", "password")]
    assert inventory.select("redis-credentials") == [("db", "redis-credentials", "password")]
    assert inventory.select("api-basic-auth/auth") == [("apps", "api-basic-auth", "auth")]
    assert inventory.select("db/redis-credentials/password") == [("db", "redis-credentials", "password")]
    for bad in ("nope", "redis-credentials/nope", "a/b/c/d", "/x"):
        with pytest.raises(UsageError):
            inventory.select(bad)


@pytest.mark.parametrize(
    ("keys", "error"),
    [
        ({"password": {"generate": "password", "supply": "x"}}, "exactly one of"),
        ({"password": {}}, "exactly one of"),
        ({"auth": {"generate": "htpasswd"}}, "needs `from`"),
        ({"auth": {"generate": "htpasswd", "from": "missing"}}, "`from` must name"),
        ({"k": {"generate": "hex", "length": 8}}, "greater than or equal to 12"),
        ({"k": {"generate": "password", "length": 12}}, "at least 16 characters"),
        ({"k": {"generate": "htpasswd", "from": "p", "prefix": "x"}, "p": {"generate": "password"}}, "`prefix` only applies"),
        ({"k": {"generate": "password", "optional": True}}, "`optional` only applies"),
        ({"bad key!": {"generate": "password"}}, "not a valid Secret key"),
    ],
)
def test_secret_meta_rejects_ambiguous_keys(keys: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        SecretMeta.model_validate({"name": "x", "keys": keys})


def test_secret_meta_short_form_means_supplied() -> None:
    meta = SecretMeta.model_validate({"name": "x", "keys": ["token", "user"]})
    assert {k: v.supply is not None and v.generate is None for k, v in meta.keys.items()} == {"token": True, "user": True}


def _bbgen(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "bbgen", *args], capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_plan_cli_table_and_json() -> None:
    table = _bbgen("secrets", "plan", str(REFERENCE))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ENV", "NAMESPACE", "SECRET", "KEY", "HOW", "CONSUMER", "USED", "BY"]
    for env in ("prod", "staging"):  # every environment is listed, each with its own rows
        assert any(line.split()[:4] == [env, "hadith", "postgres-orchestrator", "password"] and "copy of db/postgres-orchestrator" in line
                   and line.split()[-2:] == ["orchestrator", "orchestrator"] for line in lines)
        assert any(line.split()[:4] == [env, "db", "postgres-credentials", "password"] and line.split()[-2:] == ["-", "postgres"] for line in lines)
    assert "BBGEN_SECRET_CERT_MANAGER_LETSENCRYPT_PROD_ACCOUNT_TLS_KEY" in table.stdout
    expected = []
    for inventory in api.secrets_plan(REFERENCE).inventories:
        copies = sum(1 for s in inventory.secrets if s.copy_of)
        namespaces = len({s.namespace for s in inventory.secrets})
        expected.append(f"{inventory.environment}: {len(inventory.secrets)} Secrets ({copies} copies) in {namespaces} namespaces")
    assert table.stderr.strip().splitlines() == expected and [e.split(":")[0] for e in expected] == ["prod", "staging"]
    as_json = _bbgen("secrets", "plan", str(REFERENCE), "--output", "json")
    data = json.loads(as_json.stdout)
    assert data["environments"] == ["prod", "staging"]
    assert {s["environment"] for s in data["secrets"]} == {"prod", "staging"}
    hadith = next(s for s in data["secrets"] if s["environment"] == "staging" and s["namespace"] == "hadith" and s["name"] == "postgres-orchestrator")
    assert hadith["copyOf"] == "db/postgres-orchestrator" and hadith["keys"] == [{"key": "password", "source": "copy", "copyOf": "db/postgres-orchestrator/password"}]
    assert hadith["consumer"] == "orchestrator"
    assert _bbgen("secrets", "plan", str(REFERENCE), "-o", "xml").returncode == 2


def test_plan_env_filters_every_format() -> None:
    only = _bbgen("secrets", "plan", str(REFERENCE), "--env", "staging")
    assert only.returncode == 0, only.stderr
    assert {line.split()[0] for line in only.stdout.splitlines()[1:] if line and not line.startswith(" ") and not line.startswith("To supply")} == {"staging"}
    assert only.stderr.startswith("staging: ")
    for fmt in ("json", "yaml"):
        data = yaml.safe_load(_bbgen("secrets", "plan", str(REFERENCE), "-e", "staging", "-o", fmt).stdout)
        assert data["environments"] == ["staging"] and {s["environment"] for s in data["secrets"]} == {"staging"}
        assert data["secrets"]
    unknown = _bbgen("secrets", "plan", str(REFERENCE), "--env", "qa")
    assert unknown.returncode == 2 and "no environment 'qa'" in unknown.stderr and "prod, staging" in unknown.stderr
    assert "Traceback" not in unknown.stderr and unknown.stdout == ""


@pytest.mark.tools
def test_validate_required_secrets_are_all_planned(output_example_report: Report) -> None:
    report = output_example_report
    planned = {s.ref for s in api.secrets_plan(REFERENCE).env("prod").secrets}
    assert report.required_secrets and set(report.required_secrets) <= planned


def test_readme_lists_the_plan_and_the_bootstrap_order() -> None:
    readme = build_tree(load_platform(REFERENCE)).files["README.md"].decode()
    order = ["### 1. Network: cilium", "### 2. Namespaces", "### 3. Secrets", "### 4. Argo CD", "### 5. Register the other clusters", "### 6. The root Application"]
    positions = [readme.index(h) for h in order]
    assert positions == sorted(positions)
    assert "bbgen secrets generate \"$SPEC\" --env prod --out ~/secrets/betelgeuse/prod" in readme
    assert "kubectl apply -f ~/secrets/betelgeuse/prod" in readme
    assert "helm upgrade --install argocd argo-cd --repo https://argoproj.github.io/argo-helm" in readme
    assert "`BBGEN_SECRET_ARGOCD_GITOPS_REPO_PASSWORD`" in readme  # the one value a person must supply
    # the staging spoke is registered by its cluster Secret on the hub, made in the Secrets step
    assert "- `argocd/cluster-staging`: environment staging, API server https://staging.k8s.betelgeusebytes.io:6443" in readme
    assert "`BBGEN_SECRET_ARGOCD_CLUSTER_STAGING_CONFIG`" in readme
    assert "| hadith | postgres-orchestrator | password | copy of db/postgres-orchestrator | orchestrator |" in readme


def test_readme_puts_cilium_first_when_present(tmp_path: Path) -> None:
    from dataclasses import replace

    from bbgen.catalog import load_catalog
    from bbgen.render.outputs import readme_text as readme
    from bbgen.render.units import build_units

    platform = load_platform(REFERENCE)
    units = build_units(platform, load_catalog())
    stand_in = units["cert-manager"]
    assert stand_in.component is not None
    cni = stand_in.component.model_copy(update={"provides": ["cni"]})  # the README finds the CNI by its role
    units["cilium"] = replace(stand_in, name="cilium", namespace="kube-system", chart_version="1.18.0", component=cni)
    text = readme(platform, units)
    assert text.index("### 1. Network: cilium") < text.index("### 2. Namespaces") < text.index("### 3. Secrets")
    assert "helm upgrade --install cilium cert-manager --repo https://charts.jetstack.io --version 1.18.0 --namespace kube-system --create-namespace -f values/cilium/prod.yaml" in text
