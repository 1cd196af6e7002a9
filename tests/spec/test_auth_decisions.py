"""Every public host has an authentication decision, refused at the line to fix when it has none."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bbgen.errors import SpecError
from bbgen.spec import load_platform

BASE = """\
name: demo
domain: demo.example.org
gitops: {url: "https://git.example.org", owner: platform, repo: demo-gitops}
tls: {acmeEmail: ops@example.org}
"""


def _load(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + textwrap.dedent(text), encoding="utf-8")
    try:
        load_platform(path)
    except SpecError as caught:
        return [str(i).removeprefix(f"{path}:") for i in caught.issues]
    return []


def test_a_component_without_a_login_needs_a_decision(tmp_path: Path) -> None:
    assert _load(tmp_path, "components:\n  ollama: {}\n") == [
        "6:3: components.ollama: host llm.demo.example.org serves 'ollama' with no authentication: "
        "put `basicAuth: {enabled: true}` on it or set `public: true` to serve it open on purpose"
    ]
    assert _load(tmp_path, "components:\n  ollama: {host: chat}\n") == [
        "6:18: components.ollama.host: host chat.demo.example.org serves 'ollama' with no authentication: "
        "put `basicAuth: {enabled: true}` on it or set `public: true` to serve it open on purpose"
    ]


@pytest.mark.parametrize("fix", ["basicAuth: {enabled: true}", "public: true", 'host: ""'])
def test_basic_auth_public_or_no_host_is_a_decision(tmp_path: Path, fix: str) -> None:
    assert _load(tmp_path, f"components:\n  ollama: {{{fix}}}\n") == []


def test_public_without_a_host_opens_nothing(tmp_path: Path) -> None:
    assert _load(tmp_path, 'components:\n  ollama: {host: "", public: true}\n') == [
        "6:30: components.ollama.public: 'ollama' has no public host, so `public: true` opens nothing: give it a `host` or remove `public`"
    ]


def test_a_login_that_hinges_on_a_setting_says_which(tmp_path: Path) -> None:
    found = _load(tmp_path, "components:\n  argo-workflows: {settings: {authMode: server}}\n  minio: {}\n")
    assert [f for f in found if "authentication" in f] == [
        "6:3: components.argo-workflows: host argo.demo.example.org serves 'argo-workflows' with no authentication: "
        "set settings.authMode: client (its own login), put `basicAuth: {enabled: true}` on it, "
        "put `oidc: {}` on it (sign-in through keycloak) or set `public: true` to serve it open on purpose"
    ]
    assert not [f for f in _load(tmp_path, "components:\n  argo-workflows: {}\n  minio: {}\n") if "authentication" in f]


def test_under_the_gateway_basic_auth_is_a_fix_too(tmp_path: Path) -> None:
    """The auth proxy (render/basic_auth.py) serves basic auth under the Gateway API as well."""
    found = _load(tmp_path, "ingress: {provider: gateway, className: cilium}\ncomponents:\n  mlflow: {}\n  keycloak: {}\n")
    (hit,) = [f for f in found if "authentication" in f]
    assert "put `basicAuth: {enabled: true}` on it, put `oidc: {}` on it (sign-in through keycloak) or set `public: true`" in hit


def test_a_custom_app_is_trusted_with_its_own_authentication(tmp_path: Path) -> None:
    """bbgen cannot see an app's own checks: validate lists such a host as a warning instead."""
    assert _load(tmp_path, "apps:\n  api: {image: registry.example.org/api:1, host: api}\n") == []


def test_a_layer_may_open_a_host_in_one_environment_only(tmp_path: Path) -> None:
    found = _load(tmp_path, """\
        environments:
          prod: {}
          dev: {domain: dev.demo.example.org, cluster: "https://dev.example.org:6443", components: {ollama: {basicAuth: null, public: true}}}
        components:
          ollama: {basicAuth: {enabled: true}}
        """)
    assert found == []


def test_a_layer_that_drops_the_protection_is_refused_in_that_environment(tmp_path: Path) -> None:
    found = _load(tmp_path, """\
        environments:
          prod: {}
          dev: {domain: dev.demo.example.org, cluster: "https://dev.example.org:6443", components: {ollama: {basicAuth: null}}}
        components:
          ollama: {basicAuth: {enabled: true}}
        """)
    assert len(found) == 1 and "host llm.dev.demo.example.org serves 'ollama' with no authentication" in found[0], found
    assert found[0].endswith("(in environment dev)")
