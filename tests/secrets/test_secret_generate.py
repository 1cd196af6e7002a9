"""`bbgen secrets generate`: strong values outside git, stable across runs, valid Secrets.

Every value is written under tmp_path only; nothing here touches the repository tree.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen import api
from bbgen.errors import EXIT_USAGE, OwnershipError, UsageError
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.secrets.htpasswd import verify
from bbgen.spec import load_platform

from secretkit import SPEC_WITH_APPS
from support import REFERENCE, ROOT

STRIPE_ENV = "BBGEN_SECRET_APPS_API_EXTERNAL_STRIPE_KEY"
ENV = {STRIPE_ENV: "sk-test-from-env"}


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(SPEC_WITH_APPS, encoding="utf-8")
    return path


def values(out: Path) -> dict[str, str]:
    """ns/name/key → value, read from the generated files."""
    found: dict[str, str] = {}
    for path in sorted(out.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                for key, value in doc["stringData"].items():
                    found[f"{doc['metadata']['namespace']}/{doc['metadata']['name']}/{key}"] = value
    return found


def snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.iterdir())}


def test_writes_one_private_file_per_namespace(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "secrets" / "demo"
    result = api.secrets_generate(spec, out, environ=ENV)
    assert sorted(p.name for p in out.iterdir()) == [".gitignore", "apps.yaml", "db.yaml", "vec.yaml"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o600}
    assert result.skipped == ["cert-manager/letsencrypt-prod-account", "cert-manager/letsencrypt-staging-account"]
    for path in out.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            assert (doc["apiVersion"], doc["kind"], doc["type"]) == ("v1", "Secret", "Opaque")
            assert doc["metadata"]["namespace"] == path.stem
            assert list(doc["stringData"]) == sorted(doc["stringData"])
            assert "app.kubernetes.io/instance" not in doc["metadata"]["labels"]


def test_values_are_strong_shared_by_copies_and_htpasswd_matches(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    api.secrets_generate(spec, out, environ=ENV)
    v = values(out)
    assert v["apps/postgres-api/password"] == v["db/postgres-api/password"], "a consumer's credential: one value in both namespaces"
    assert len({v["db/postgres-credentials/password"], v["db/postgres-api/password"], v["db/postgres-worker/password"]}) == 3
    assert "apps/postgres-credentials/password" not in v
    assert v["apps/redis-api/password"] == v["db/redis-api/password"], "api's own Redis ACL user: one value in both namespaces"
    assert "apps/redis-credentials/password" not in v, "Redis' `default` user stays in db"
    assert v["db/postgres-credentials/password"] != v["db/redis-credentials/password"] != v["db/redis-api/password"]
    assert len(v["db/postgres-credentials/password"]) == 32 and v["db/postgres-credentials/password"].isalnum()
    assert len(v["vec/qdrant-credentials/api-key"]) == 64 and int(v["vec/qdrant-credentials/api-key"], 16) >= 0
    assert v["apps/api-external/stripe-key"] == "sk-test-from-env"
    assert verify(v["apps/api-basic-auth/auth"], "admin", v["apps/api-basic-auth/password"])
    assert verify(v["vec/qdrant-basic-auth/auth"], "admin", v["vec/qdrant-basic-auth/password"])


def test_second_run_is_byte_identical_and_touches_nothing(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    api.secrets_generate(spec, out, environ=ENV)
    before = snapshot(out)
    again = api.secrets_generate(spec, out, environ={})  # supplied values are read back too
    assert again.written == [] and again.generated == []
    assert snapshot(out) == before


@pytest.mark.parametrize(
    ("selector", "changed"),
    [
        ("redis-credentials/password", {"db/redis-credentials/password"}),
        ("redis-api/password", {"db/redis-api/password", "apps/redis-api/password"}),
        ("db/redis-api/password", {"db/redis-api/password", "apps/redis-api/password"}),
        ("qdrant-credentials", {"vec/qdrant-credentials/api-key"}),
        ("api-basic-auth/auth", {"apps/api-basic-auth/auth"}),
        ("api-basic-auth/password", {"apps/api-basic-auth/password", "apps/api-basic-auth/auth"}),
    ],
)
def test_rotate_changes_only_the_named_key(spec: Path, tmp_path: Path, selector: str, changed: set[str]) -> None:
    out = tmp_path / "out"
    api.secrets_generate(spec, out, environ=ENV)
    before = values(out)
    api.secrets_generate(spec, out, rotate=[selector], environ=ENV)
    after = values(out)
    assert {k for k in before if before[k] != after[k]} == changed
    assert verify(after["apps/api-basic-auth/auth"], "admin", after["apps/api-basic-auth/password"])


def test_missing_supplied_value_exits_2_and_writes_nothing(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(UsageError) as caught:
        api.secrets_generate(spec, out, environ={})
    assert caught.value.exit_code == EXIT_USAGE
    assert STRIPE_ENV in str(caught.value) and "apps/api-external/stripe-key" in str(caught.value)
    assert "letsencrypt" not in str(caught.value), "optional keys are never reported missing"
    assert not out.exists()


def test_prompts_when_a_terminal_is_attached(spec: Path, tmp_path: Path) -> None:
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return "typed-in-value"

    api.secrets_generate(spec, tmp_path / "out", environ={}, ask=ask)
    assert len(asked) == 1 and asked[0].startswith("apps/api-external/stripe-key")
    assert values(tmp_path / "out")["apps/api-external/stripe-key"] == "typed-in-value"


def test_from_file_supplies_optional_and_overrides(spec: Path, tmp_path: Path) -> None:
    pem = tmp_path / "account.pem"
    pem.write_text("-----BEGIN EC PRIVATE " + "KEY-----\nAAAA\n-----END EC PRIVATE " + "KEY-----\n")
    one_line = tmp_path / "stripe.txt"
    one_line.write_text("sk-test-from-file\n")
    out = tmp_path / "out"
    result = api.secrets_generate(
        spec, out, environ=ENV,
        from_files=[f"letsencrypt-prod-account/tls.key={pem}", f"apps/api-external/stripe-key={one_line}"],
    )
    v = values(out)
    assert v["cert-manager/letsencrypt-prod-account/tls.key"] == pem.read_text()  # multi-line kept verbatim
    assert v["apps/api-external/stripe-key"] == "sk-test-from-file"  # one line: final newline dropped
    assert result.skipped == ["cert-manager/letsencrypt-staging-account"]
    with pytest.raises(UsageError, match="names 2 keys"):
        api.secrets_generate(spec, out, environ=ENV, from_files=[f"api-basic-auth={one_line}"])
    with pytest.raises(UsageError, match="derived from its password"):
        api.secrets_generate(spec, out, environ=ENV, from_files=[f"api-basic-auth/auth={one_line}"])


def _rendered(tmp_path: Path) -> Path:
    gitops = tmp_path / "repo" / "gitops"
    write_tree(build_tree(load_platform(REFERENCE)), gitops)
    return gitops


@pytest.mark.parametrize("where", ["tree-root", "inside-tree", "git-work-tree-holding-a-tree"])
def test_refuses_to_write_near_a_gitops_tree(tmp_path: Path, where: str) -> None:
    gitops = _rendered(tmp_path)
    (tmp_path / "repo" / ".git").mkdir()
    out = {"tree-root": gitops, "inside-tree": gitops / "secrets", "git-work-tree-holding-a-tree": tmp_path / "repo" / "secrets"}[where]
    before = sorted(p for p in (tmp_path / "repo").rglob("*"))
    with pytest.raises(OwnershipError) as caught:
        api.secrets_generate(REFERENCE, out)
    assert caught.value.exit_code == EXIT_USAGE
    assert sorted(p for p in (tmp_path / "repo").rglob("*")) == before


GITEA_TOKEN = {
    "BBGEN_SECRET_ARGOCD_GITOPS_REPO_USERNAME": "argocd",
    "BBGEN_SECRET_ARGOCD_GITOPS_REPO_PASSWORD": "t0k3n-for-tests",
    # the hub's credentials for the staging spoke (its Argo CD cluster Secret's config)
    "BBGEN_SECRET_ARGOCD_CLUSTER_STAGING_CONFIG": '{"bearerToken": "t0k3n-for-tests", "tlsClientConfig": {"insecure": false}}',
}


def test_plain_git_work_tree_without_a_gitops_tree_is_fine(tmp_path: Path) -> None:
    (tmp_path / "dotfiles" / ".git").mkdir(parents=True)
    api.secrets_generate(REFERENCE, tmp_path / "dotfiles" / "secrets", environ=GITEA_TOKEN)
    assert (tmp_path / "dotfiles" / "secrets" / "db.yaml").is_file()


def test_refuses_a_populated_directory_others_can_read(tmp_path: Path) -> None:
    out = tmp_path / "shared"
    out.mkdir(mode=0o755)
    os.chmod(out, 0o755)
    (out / "other.txt").write_text("x")
    with pytest.raises(OwnershipError, match="chmod 700"):
        api.secrets_generate(REFERENCE, out)


def test_unreadable_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    api.secrets_generate(REFERENCE, out, environ=GITEA_TOKEN)
    (out / "db.yaml").write_text("stringData: [unclosed\n")
    with pytest.raises(OwnershipError, match="cannot be read back"):
        api.secrets_generate(REFERENCE, out, environ=GITEA_TOKEN)
    assert (out / "db.yaml").read_text() == "stringData: [unclosed\n"


def test_reference_profile_needs_only_the_gitea_token(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(UsageError) as caught:
        api.secrets_generate(REFERENCE, out, environ={})
    missing = [line.split(":")[0].strip() for line in caught.value.message.splitlines()[1:]]
    assert missing == ["argocd/cluster-staging/config", "argocd/gitops-repo/password", "argocd/gitops-repo/username"]
    assert not out.exists() or not any(out.iterdir())  # nothing half-written
    result = api.secrets_generate(REFERENCE, out, environ=GITEA_TOKEN)
    assert {"db/postgres-credentials", "db/redis-credentials", "hadith/postgres-orchestrator", "db/postgres-orchestrator", "vec/qdrant-credentials"} <= set(result.secrets)
    assert "hadith/postgres-credentials" not in result.secrets
    repo = next(d for d in yaml.safe_load_all((out / "argocd.yaml").read_text()) if d["metadata"]["name"] == "gitops-repo")
    assert repo["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
    assert repo["stringData"]["type"] == "git"
    assert repo["stringData"]["url"] == "https://git.betelgeusebytes.io/platform/betelgeuse-gitops.git"
    assert repo["stringData"]["password"] == "t0k3n-for-tests"
    # the staging spoke's declarative Argo CD cluster Secret, on the hub
    cluster = next(d for d in yaml.safe_load_all((out / "argocd.yaml").read_text()) if d["metadata"]["name"] == "cluster-staging")
    assert cluster["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "cluster"
    assert cluster["stringData"]["name"] == "staging"
    assert cluster["stringData"]["server"] == "https://staging.k8s.betelgeusebytes.io:6443"
    assert json.loads(cluster["stringData"]["config"])["bearerToken"] == "t0k3n-for-tests"


def test_output_is_kubeconform_valid(tools: dict[str, str], spec: Path, tmp_path: Path) -> None:
    from bbgen.kube import schemas
    from bbgen.validate import kubeconform

    out = tmp_path / "out"
    api.secrets_generate(spec, out, environ=ENV, from_files=[f"letsencrypt-staging-account/tls.key={spec}"])
    units: list[Any] = []
    for path in sorted(out.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            ref = f"Secret/{doc['metadata']['namespace']}/{doc['metadata']['name']}"
            units.append(kubeconform.ConformDoc(text=yaml.safe_dump(doc), origin=path.name, ref=ref))
    assert len(units) == 12  # four of them the consumers' own: api and worker's for Postgres, api's for Redis (twice)
    version = schemas.choose("1.34").used
    findings = kubeconform.validate(units, binary=Path(tools["kubeconform"]), schema_locations=schemas.schema_locations(version))
    assert [str(f) for f in findings] == []
    done = subprocess.run(  # the files as written, the way a person would check them
        [tools["kubeconform"], "-strict", "-summary", *sum((["-schema-location", s] for s in schemas.schema_locations(version)), []), str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Valid: 12" in done.stdout


def _bbgen(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("BBGEN_SECRET_")}
    full.update({"PYTHONPATH": str(ROOT / "src"), **(env or {})})
    return subprocess.run([sys.executable, "-m", "bbgen", *args], capture_output=True, text=True, env=full, timeout=120, stdin=subprocess.DEVNULL)


def test_cli_never_prints_values_unless_asked(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    missing = _bbgen("secrets", "generate", str(spec), "--out", str(out))
    assert missing.returncode == 2 and STRIPE_ENV in missing.stderr and not out.exists()
    done = _bbgen("secrets", "generate", str(spec), "--out", str(out), env=ENV)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    v = values(out)
    for value in v.values():
        assert value not in done.stderr
    assert f"kubectl apply -f {out}" in done.stderr
    shown = _bbgen("secrets", "generate", str(spec), "--out", str(out), "--show")
    assert shown.returncode == 0, shown.stderr
    assert f"db/postgres-credentials/password\t{v['db/postgres-credentials/password']}" in shown.stdout.splitlines()
    rotated = _bbgen("secrets", "generate", str(spec), "--out", str(out), "--rotate", "redis-credentials")
    assert rotated.returncode == 0 and "new values: db/redis-credentials/password" in rotated.stderr
    assert _bbgen("secrets", "generate", str(spec), "--out", str(out), "--rotate", "nope").returncode == 2
