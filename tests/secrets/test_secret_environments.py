"""Per-environment secrets: each environment its own inventory, its own values, its own directory.

Every value is written under tmp_path only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bbgen import api
from bbgen.errors import EXIT_USAGE, OwnershipError, UsageError
from bbgen.secrets.store import ENV_LABEL

from secretkit import SPEC_WITH_APPS
from support import ROOT

ENVIRON = {
    "BBGEN_SECRET_APPS_API_EXTERNAL_STRIPE_KEY": "sk-test-from-env",
    "BBGEN_SECRET_ARGOCD_CLUSTER_DEV_CONFIG": '{"bearerToken": "dev-token-for-tests"}',  # the hub (prod) registers dev
}
SPOKE = {"argocd/cluster-dev/config", "argocd/cluster-dev/name", "argocd/cluster-dev/server"}
TWO_ENVS = SPEC_WITH_APPS + """\
environments:
  prod: {}
  dev:
    cluster: https://dev.k8s.example.org:6443
    domain: dev.demo.example.org
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(TWO_ENVS, encoding="utf-8")
    return path


def docs(out: Path) -> list[dict[str, object]]:
    return [d for p in sorted(out.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]


def values(out: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for doc in docs(out):
        meta, data = doc["metadata"], doc["stringData"]
        assert isinstance(meta, dict) and isinstance(data, dict)
        for key, value in data.items():
            found[f"{meta['namespace']}/{meta['name']}/{key}"] = value
    return found


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_each_environment_gets_its_own_values(spec: Path, tmp_path: Path) -> None:
    prod = api.secrets_generate(spec, tmp_path / "s" / "prod", env="prod", environ=ENVIRON)
    dev = api.secrets_generate(spec, tmp_path / "s" / "dev", env="dev", environ=ENVIRON)
    assert (prod.environment, dev.environment) == ("prod", "dev")
    p, d = values(tmp_path / "s" / "prod"), values(tmp_path / "s" / "dev")
    assert p.keys() - SPOKE == d.keys() and SPOKE <= p.keys()  # only the hub holds the spoke's cluster Secret
    generated = set(prod.generated)
    assert {"db/postgres-credentials/password", "vec/qdrant-credentials/api-key", "apps/api-basic-auth/password"} <= generated
    for ref in generated:
        assert p[ref] != d[ref], f"{ref} has the same value in prod and dev"
    # inside one environment a copy still holds its owner's value
    assert d["apps/postgres-api/password"] == d["db/postgres-api/password"]
    # a supplied value is whatever the person supplies for that run
    assert p["apps/api-external/stripe-key"] == d["apps/api-external/stripe-key"] == "sk-test-from-env"


def test_every_secret_carries_its_environment(spec: Path, tmp_path: Path) -> None:
    api.secrets_generate(spec, tmp_path / "dev", env="dev", environ=ENVIRON)
    labels = [doc["metadata"]["labels"] for doc in docs(tmp_path / "dev")]  # type: ignore[index]
    assert labels and all(label[ENV_LABEL] == "dev" for label in labels)  # type: ignore[index]


def test_a_directory_of_prod_refuses_dev_and_stays_untouched(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "secrets"
    api.secrets_generate(spec, out, env="prod", environ=ENVIRON)
    before = snapshot(out)
    with pytest.raises(OwnershipError) as caught:
        api.secrets_generate(spec, out, env="dev", environ=ENVIRON)
    message = str(caught.value)
    assert caught.value.exit_code == EXIT_USAGE
    assert "holds the Secrets of environment prod" in message and "another --out for dev" in message
    public = {"argocd/cluster-dev/name", "argocd/cluster-dev/server"}  # fixed, not secret: the name is "dev" itself
    assert not any(v in message for k, v in values(out).items() if k not in public)
    assert snapshot(out) == before
    again = api.secrets_generate(spec, out, env="prod", environ={})  # prod itself still re-runs, keeping its values
    assert again.generated == [] and again.written == []


def test_unlabelled_secrets_belong_to_prod(spec: Path, tmp_path: Path) -> None:
    """A directory written before the environment label existed is prod's: dev refuses it, prod adopts it."""
    out = tmp_path / "old"
    api.secrets_generate(spec, out, env="prod", environ=ENVIRON)
    old = values(out)
    for path in out.glob("*.yaml"):
        text = path.read_text()
        assert f"{ENV_LABEL}: prod\n" in text
        path.write_text(text.replace(f"{ENV_LABEL}: prod\n", ""))
    with pytest.raises(OwnershipError, match="environment prod"):
        api.secrets_generate(spec, out, env="dev", environ=ENVIRON)
    adopted = api.secrets_generate(spec, out, environ={})  # no env: prod
    assert adopted.environment == "prod" and adopted.generated == []
    assert values(out) == old
    assert all(doc["metadata"]["labels"][ENV_LABEL] == "prod" for doc in docs(out))  # type: ignore[index]


def test_unknown_environment_is_a_usage_error_and_writes_nothing(spec: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no environment 'qa' \(its environments: dev, prod\)"):
        api.secrets_generate(spec, tmp_path / "qa", env="qa", environ=ENVIRON)
    assert not (tmp_path / "qa").exists()


def test_plan_is_per_environment(spec: Path) -> None:
    plan = api.secrets_plan(spec)
    assert plan.environments == ["dev", "prod"]
    refs = {e: [s.ref for s in plan.env(e).secrets] for e in plan.environments}
    assert refs["dev"] == [r for r in refs["prod"] if r != "argocd/cluster-dev"] and "db/postgres-credentials" in refs["dev"]
    assert "argocd/cluster-dev" in refs["prod"]  # the hub registers its spoke
    assert api.secrets_plan(spec, "dev").environments == ["dev"]
    rows = plan.as_dict()["secrets"]
    assert sorted({r["environment"] for r in rows}) == ["dev", "prod"]


def test_a_component_disabled_in_one_environment_is_planned_only_where_it_runs(tmp_path: Path) -> None:
    """The plan flows from each environment's view (spec.merge.env_view): a layer disabling qdrant drops its Secrets there."""
    path = tmp_path / "platform.yaml"
    path.write_text(TWO_ENVS + "    components:\n      qdrant: {enabled: false}\n", encoding="utf-8")
    plan = api.secrets_plan(path)
    assert "vec/qdrant-credentials" in {s.ref for s in plan.env("prod").secrets}
    assert not any(s.namespace == "vec" or "qdrant" in s.name for s in plan.env("dev").secrets)


def _bbgen(*args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("BBGEN_SECRET_")}
    full.update({"PYTHONPATH": str(ROOT / "src"), **ENVIRON})
    return subprocess.run([sys.executable, "-m", "bbgen", *args], capture_output=True, text=True, env=full, timeout=120, stdin=subprocess.DEVNULL)


def test_cli_generate_per_environment(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "secrets"
    done = _bbgen("secrets", "generate", str(spec), "--env", "dev", "--out", str(out / "dev"))
    assert done.returncode == 0, done.stderr
    secrets = {f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in docs(out / "dev")}  # type: ignore[index]
    assert done.stderr.splitlines()[-1].startswith(f"dev: {len(secrets)} Secrets in {out / 'dev'}")
    refused = _bbgen("secrets", "generate", str(spec), "--out", str(out / "dev"))  # default prod onto dev's directory
    assert refused.returncode == 2 and "holds the Secrets of environment dev" in refused.stderr
    assert "Traceback" not in refused.stderr
    helped = _bbgen("secrets", "generate", "--help").stdout
    assert "--env" in helped and "--env staging --out" in helped
