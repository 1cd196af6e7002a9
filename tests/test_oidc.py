"""OIDC clients from the spec: the realm, the clients Job, the client's config and the secret plan agree.

Rendered for real and validated with kustomize + kubeconform; the assertions follow each client
from the spec field to every place that must know about it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen import api
from bbgen.errors import SpecError
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.render.inventory import inventory_for
from bbgen.spec import load_platform
from support import MINIMAL_SPEC

SPEC = MINIMAL_SPEC + """\
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  postgres: {}
  keycloak: {}
apps:
  web: {image: "registry.example.org/web:1", host: web, oidc: {public: true}}
  api: {image: "registry.example.org/api:1", namespace: hadith, host: api, oidc: {clientId: hadith-api}}
"""


def _docs(folder: Path) -> dict[tuple[str, str], Any]:
    out = {}
    for path in sorted(folder.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if path.name != "kustomization.yaml":
            out[(doc["kind"], doc["metadata"]["name"])] = doc
    return out


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("oidc")
    (root / "platform.yaml").write_text(SPEC, encoding="utf-8")
    write_tree(build_tree(load_platform(root / "platform.yaml")), root / "out")
    return root / "out"


@pytest.mark.tools
def test_validates_clean(out: Path, tools: dict[str, str]) -> None:
    errors = [str(f) for f in api.validate(out).findings if f.severity == "error"]
    assert not errors, "\n".join(errors)


def test_realm_import_holds_each_client_with_its_secret_as_a_placeholder(out: Path) -> None:
    keycloak = _docs(out / "components" / "keycloak" / "base")
    realm = json.loads(keycloak[("ConfigMap", "keycloak-realm")]["data"]["demo-realm.json"])
    clients = {c["clientId"]: c for c in realm["clients"]}
    assert set(clients) == {"web", "hadith-api"}
    assert clients["web"]["publicClient"] is True and "secret" not in clients["web"]
    assert clients["hadith-api"]["secret"] == "${OIDC_CLIENT_SECRET_HADITH_API}"
    assert clients["hadith-api"]["redirectUris"] == ["https://api.demo.example.org/*"]
    env = {e["name"]: e for e in keycloak[("Deployment", "keycloak")]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["OIDC_CLIENT_SECRET_HADITH_API"]["valueFrom"]["secretKeyRef"] == {"name": "oidc-hadith-api", "key": "client-secret"}


def test_clients_job_syncs_every_client_after_the_realm_exists(out: Path) -> None:
    keycloak = _docs(out / "components" / "keycloak" / "base")
    job = keycloak[("Job", "keycloak-clients")]
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    container = job["spec"]["template"]["spec"]["containers"][0]
    script = container["command"][2]
    assert 'sync_client hadith-api /clients/hadith-api.json "${OIDC_CLIENT_SECRET_HADITH_API}"' in script
    assert 'sync_client web /clients/web.json ""' in script
    env = {e["name"]: e for e in container["env"]}
    assert env["KC_CLI_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "keycloak-admin"
    files = keycloak[("ConfigMap", "keycloak-clients")]["data"]
    assert json.loads(files["web.json"])["publicClient"] is True
    assert "secret" not in json.loads(files["hadith-api.json"])
    # The Job's pods are not Keycloak's: the Service must not select them.
    labels = job["spec"]["template"]["metadata"]["labels"]
    selector = keycloak[("Service", "keycloak")]["spec"]["selector"]
    assert not all(labels.get(k) == v for k, v in selector.items())


def test_the_app_gets_issuer_internal_url_client_id_and_secret_by_reference(out: Path) -> None:
    deploy = _docs(out / "components" / "api" / "base")[("Deployment", "api")]
    env = {e["name"]: e for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["OIDC_ISSUER_URL"]["value"] == "https://auth.demo.example.org/realms/demo"
    assert env["OIDC_INTERNAL_URL"]["value"] == "http://keycloak.auth.svc.cluster.local:8080/realms/demo"
    assert env["OIDC_CLIENT_ID"]["value"] == "hadith-api"
    assert env["OIDC_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "oidc-hadith-api", "key": "client-secret"}
    web = _docs(out / "components" / "web" / "base")[("Deployment", "web")]
    web_env = {e["name"] for e in web["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "OIDC_CLIENT_SECRET" not in web_env and "OIDC_CLIENT_ID" in web_env


def test_keycloak_admits_the_clients(out: Path) -> None:
    policies = yaml.safe_load_all((out / "platform" / "prod" / "networkpolicy-auth-allow-keycloak.yaml").read_text(encoding="utf-8"))
    peers = [p for doc in policies for rule in doc["spec"]["ingress"] for p in rule.get("from", [])]
    namespaces = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in peers if "namespaceSelector" in p}
    assert {"apps", "hadith"} <= namespaces


def test_secret_plan_generates_the_client_secret_and_copies_it_to_keycloak(write_spec) -> None:  # type: ignore[no-untyped-def]
    inventory = inventory_for(load_platform(write_spec(SPEC)))
    plans = {s.ref: s for s in inventory.secrets}
    own = plans["hadith/oidc-hadith-api"].keys["client-secret"]
    assert own.source == "generate" and own.generator == "hex"
    assert plans["auth/oidc-hadith-api"].keys["client-secret"].copy_of == ("hadith", "oidc-hadith-api", "client-secret")
    assert not any(ref.endswith("/oidc-web") for ref in plans)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("  keycloak: {enabled: false}\n", "needs the `keycloak` component"),
        ("  postgres: {oidc: {}}\n", "'postgres' cannot sign users in"),
    ],
)
def test_spec_errors(write_spec, change: str, message: str) -> None:  # type: ignore[no-untyped-def]
    text = SPEC.replace("  keycloak: {}\n", change) if "keycloak" in change else SPEC.replace("  postgres: {}\n", change)
    with pytest.raises(SpecError) as err:
        load_platform(write_spec(text))
    assert message in str(err.value)


def test_duplicate_client_ids_are_refused(write_spec) -> None:  # type: ignore[no-untyped-def]
    text = SPEC.replace("oidc: {public: true}", "oidc: {clientId: hadith-api, public: true}")
    with pytest.raises(SpecError) as err:
        load_platform(write_spec(text))
    assert "client id 'hadith-api' is already used" in str(err.value)
