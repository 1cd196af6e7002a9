"""The platform's own UIs (Argo CD, Grafana, Argo Workflows) sign in through Keycloak in the reference profile.

Rendered for real from profiles/betelgeuse.yaml and validated with kustomize + kubeconform
(and the upstream charts where they are at hand); the assertions follow each client from the
realm (its exact callback, the admin group, the `groups` claim) to the component's own config,
where the client secret may only appear as a reference.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen import api
from bbgen.errors import SpecError
from bbgen.render.build import build_tree
from bbgen.render.inventory import inventory_for
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from support import ROOT

PROFILE = ROOT / "profiles" / "betelgeuse.yaml"
ISSUER = "https://auth.betelgeusebytes.io/realms/betelgeuse"
ADMINS = "platform-admins"


def _docs(folder: Path) -> dict[tuple[str, str], Any]:
    out = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            out[(doc["kind"], doc["metadata"]["name"])] = doc
    return out


def _values(out: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((out / "values" / name / "prod.yaml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("oidc-platform")
    write_tree(build_tree(load_platform(PROFILE)), root / "out")
    return root / "out"


@pytest.fixture(scope="module")
def keycloak(out: Path) -> dict[tuple[str, str], Any]:
    return _docs(out / "components" / "keycloak" / "base")


@pytest.mark.tools
def test_validates_clean(out: Path, tools: dict[str, str]) -> None:
    errors = [str(f) for f in api.validate(out).findings if f.severity == "error"]
    assert not errors, "\n".join(errors)


@pytest.mark.tools
def test_the_upstream_charts_accept_the_sso_values(out: Path, tools: dict[str, str], shared_charts: Path) -> None:
    """Every key under configs.cm/rbac and server.sso must be one the charts declare (and the charts must render)."""
    options = dataclasses.replace(api.chart_options(directory=shared_charts, allow_other_version=True), pull=False)
    findings = api.validate(out, charts=options).findings
    errors = [str(f) for f in findings if f.severity == "error"]
    assert not errors, "\n".join(errors)
    ours = [str(f) for f in findings if re.search(r"-argocd\b|argo-workflows|values/argocd/", str(f))]
    assert ours and not [f for f in ours if "rendered version" not in f], "\n".join(ours)


def test_keycloak_registers_each_ui_with_its_exact_callback(keycloak: dict[tuple[str, str], Any]) -> None:
    files = keycloak[("ConfigMap", "keycloak-clients")]["data"]
    redirects = {name: json.loads(files[f"{name}.json"])["redirectUris"] for name in ("argocd", "grafana", "argo-workflows")}
    assert redirects == {
        "argocd": ["https://argocd.betelgeusebytes.io/auth/callback"],
        "grafana": ["https://grafana.betelgeusebytes.io/login/generic_oauth"],
        "argo-workflows": ["https://argo.betelgeusebytes.io/oauth2/callback"],
    }
    # Clients without callback facts keep the host-wide pattern.
    assert json.loads(files["mlflow.json"])["redirectUris"] == ["https://mlflow.betelgeusebytes.io/*"]
    script = keycloak[("Job", "keycloak-clients")]["spec"]["template"]["spec"]["containers"][0]["command"][2]
    for name in ("argocd", "grafana", "argo-workflows"):
        assert f'sync_client {name} /clients/{name}.json "${{OIDC_CLIENT_SECRET_{name.upper().replace("-", "_")}}}"' in script


def test_keycloak_makes_the_admin_group_and_the_groups_claim(keycloak: dict[tuple[str, str], Any]) -> None:
    realm = json.loads(keycloak[("ConfigMap", "keycloak-realm")]["data"]["betelgeuse-realm.json"])
    assert realm["groups"] == [{"name": ADMINS}]
    assert "clientScopes" not in realm  # listing any would drop Keycloak's built-in scopes at import
    scope = json.loads(keycloak[("ConfigMap", "keycloak-clients")]["data"]["_groups-scope.json"])
    assert scope["name"] == "groups" and scope["protocol"] == "openid-connect"
    (mapper,) = scope["protocolMappers"]
    assert mapper["protocolMapper"] == "oidc-group-membership-mapper"
    assert mapper["config"]["claim.name"] == "groups" and mapper["config"]["full.path"] == "false"
    container = keycloak[("Job", "keycloak-clients")]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ADMIN_GROUP"] == ADMINS and env["GROUPS_SCOPE"] == "groups"
    script = container["command"][2]
    assert 'kc create groups -r "${REALM}" -s "name=${ADMIN_GROUP}"' in script
    assert "kc create client-scopes -r \"${REALM}\" -f /clients/_groups-scope.json -i" in script
    # Every synced client gets the scope as a default scope (new and existing clients alike).
    assert 'kc update "clients/${id}/default-client-scopes/${scope_id}"' in script
    assert script.index("scope_id=$(kc create client-scopes") < script.index("sync_client argocd ")


def test_argocd_trusts_the_realm_and_maps_the_admin_group(out: Path) -> None:
    cm = _values(out, "argocd")["configs"]
    config = yaml.safe_load(cm["cm"]["oidc.config"])
    assert config == {
        "name": "Keycloak", "issuer": ISSUER, "clientID": "argocd", "clientSecret": "$oidc-argocd:client-secret",
        "requestedScopes": ["openid", "profile", "email", "groups"],
    }
    assert cm["rbac"]["policy.csv"].splitlines() == [f"g, {ADMINS}, role:admin"]
    assert cm["rbac"]["policy.default"] == "" and cm["rbac"]["scopes"] == "[groups]"


def test_grafana_signs_in_through_the_realm_with_the_admin_role_mapping(out: Path) -> None:
    deploy = _docs(out / "components" / "grafana" / "base")[("Deployment", "grafana")]
    env = {e["name"]: e for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}
    value = {k: e.get("value") for k, e in env.items()}
    assert value["GF_AUTH_GENERIC_OAUTH_ENABLED"] == "true"
    assert value["GF_AUTH_GENERIC_OAUTH_CLIENT_ID"] == "grafana"
    assert value["GF_AUTH_GENERIC_OAUTH_AUTH_URL"] == f"{ISSUER}/protocol/openid-connect/auth"
    internal = "http://keycloak.auth.svc.cluster.local:8080/realms/betelgeuse/protocol/openid-connect"
    assert value["GF_AUTH_GENERIC_OAUTH_TOKEN_URL"] == f"{internal}/token"
    assert value["GF_AUTH_GENERIC_OAUTH_API_URL"] == f"{internal}/userinfo"
    assert value["GF_AUTH_GENERIC_OAUTH_SCOPES"].split() == ["openid", "profile", "email", "groups"]
    assert value["GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH"] == f"contains(groups[*], '{ADMINS}') && 'Admin' || 'Viewer'"
    assert value["GF_SERVER_ROOT_URL"] == "https://grafana.betelgeusebytes.io/"
    secret = env["GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET"]
    assert "value" not in secret and secret["valueFrom"]["secretKeyRef"] == {"name": "oidc-grafana", "key": "client-secret"}


def test_argo_workflows_server_sso_with_rbac_for_the_admin_group(out: Path) -> None:
    server = _values(out, "argo-workflows")["server"]
    assert server["authModes"] == ["sso", "client"]
    sso = server["sso"]
    assert sso["enabled"] is True and sso["issuer"] == ISSUER
    assert sso["clientId"] == {"name": "oidc-argo-workflows", "key": "client-id"}
    assert sso["clientSecret"] == {"name": "oidc-argo-workflows", "key": "client-secret"}
    assert sso["redirectUrl"] == "https://argo.betelgeusebytes.io/oauth2/callback"
    assert "groups" in sso["scopes"] and sso["rbac"] == {"enabled": True}
    base = _docs(out / "components" / "argo-workflows" / "base")
    account = base[("ServiceAccount", "argo-workflows-sso-admin")]
    assert account["metadata"]["annotations"]["workflows.argoproj.io/rbac-rule"] == f"'{ADMINS}' in groups"
    token = base[("Secret", "argo-workflows-sso-admin.service-account-token")]
    assert token["type"] == "kubernetes.io/service-account-token" and "data" not in token and "stringData" not in token
    binding = base[("RoleBinding", "argo-workflows-sso-admin")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "argo-workflows-sso-admin", "namespace": "argo"}]


def test_routes_say_oidc(out: Path) -> None:
    for name in ("argocd", "grafana", "argo-workflows"):
        (route,) = (d for (kind, _), d in _docs(out / "components" / name / "base").items() if kind in ("Ingress", "HTTPRoute"))
        assert route["metadata"]["annotations"]["bbgen.dev/auth"] == "oidc", name


def test_secret_plan_has_id_and_secret_and_argocds_label() -> None:
    plans = {s.ref: s for s in inventory_for(load_platform(PROFILE)).secrets}
    argocd = plans["argocd/oidc-argocd"]
    assert argocd.labels == {"app.kubernetes.io/part-of": "argocd"}
    assert argocd.keys["client-id"].source == "fixed" and argocd.keys["client-id"].value == "argocd"
    assert argocd.keys["client-secret"].source == "generate"
    for ref in ("observability/oidc-grafana", "argo/oidc-argo-workflows"):
        assert plans[ref].keys["client-secret"].source == "generate" and not plans[ref].labels
    for copy in ("auth/oidc-argocd", "auth/oidc-grafana", "auth/oidc-argo-workflows"):
        assert set(plans[copy].keys) == {"client-secret"} and plans[copy].keys["client-secret"].source == "copy"


def test_no_client_secret_value_anywhere_in_the_render(out: Path, tmp_path: Path) -> None:
    """Generate the real Secrets (supplied keys from the environment), then look for each client secret in every rendered file."""
    inventory = inventory_for(load_platform(PROFILE))
    environ = {k.env: f"supplied-{i}" for i, k in enumerate(k for s in inventory.secrets for k in s.keys.values() if k.env)}
    api.secrets_generate(PROFILE, tmp_path / "secrets", environ=environ)
    values = []
    for path in (tmp_path / "secrets").rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "Secret" and doc["metadata"]["name"].startswith("oidc-"):
                data = {k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()}
                values += [v for k, v in {**data, **(doc.get("stringData") or {})}.items() if k == "client-secret"]
    assert len(values) >= 6  # the three UIs' Secrets and their copies in Keycloak's namespace, at least
    rendered = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in out.rglob("*") if p.is_file())
    assert not [v for v in values if v in rendered]


def test_server_auth_mode_is_refused_with_sso_at_its_line(write_spec) -> None:  # type: ignore[no-untyped-def]
    text = PROFILE.read_text(encoding="utf-8").replace(
        "  argo-workflows:\n    oidc: {}\n", "  argo-workflows:\n    oidc: {}\n    settings: {authMode: server}\n"
    )
    line = text.splitlines().index("    settings: {authMode: server}") + 1
    with pytest.raises(SpecError) as err:
        load_platform(write_spec(text))
    (issue,) = [str(i) for i in err.value.issues if "oidc" in str(i)]
    assert f":{line}:" in issue and "components.argo-workflows.settings.authMode" in issue
    assert "cannot be combined with `oidc`" in issue


def test_the_secret_guard_takes_argocds_secret_reference_for_a_reference() -> None:
    from bbgen.secrets.detect import reasons

    assert reasons("clientSecret: $oidc-argocd:client-secret", name="oidc.config") == []
    assert reasons("clientSecret: Xk2pL9qTz7", name="oidc.config")  # a literal still trips it
    assert reasons("clientSecret: $Xk2pL9qTz7", name="oidc.config")  # `$` alone is no reference
