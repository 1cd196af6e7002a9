"""The authentication decision reaches the rendered routes, the render's warnings and validate's."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from bbgen import api
from bbgen.kube import yamlio

from support import ROOT, bbgen

MULTI_ENV = ROOT / "profiles" / "multi-env.yaml"
OPEN_DEV = "environment dev: host api.dev.shop.example.org (HTTPRoute/shop/api) is served without authentication (public: true)"


def test_every_reference_route_says_how_it_is_protected(reference_files: Mapping[str, bytes]) -> None:
    decisions = {}
    for rel, text in reference_files.items():
        if "/base/ingress-" in rel:
            doc = yamlio.load(text.decode())
            decisions[doc["spec"]["rules"][0]["host"].split(".")[0]] = doc["metadata"]["annotations"]["bbgen.dev/auth"]
    assert decisions == {
        "argo": "oidc", "argocd": "oidc", "auth": "builtin", "broker": "oidc", "embeddings": "basic", "git": "builtin",
        "grafana": "oidc", "hadith-admin": "oidc", "hadith-api": "oidc", "kibana": "builtin", "label": "oidc",
        "llm": "basic", "minio": "builtin", "mlflow": "oidc", "neo4j": "builtin", "vector": "token",
    }


def test_render_warns_about_a_host_opened_on_purpose_even_when_quiet(tmp_path: Path) -> None:
    done = bbgen("render", str(MULTI_ENV), "--out", str(tmp_path / "out"), "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"warning: {OPEN_DEV}\n"
    overlay = (tmp_path / "out" / "components" / "api" / "overlays" / "dev" / "kustomization.yaml").read_text(encoding="utf-8")
    assert "path: /metadata/annotations/bbgen.dev~1auth\n      value: public" in overlay  # only dev's route is open


@pytest.mark.tools
def test_validate_lists_the_open_host_as_a_warning(tmp_path: Path, tools: dict[str, str]) -> None:
    bbgen("render", str(MULTI_ENV), "--out", str(tmp_path / "out"), "--quiet")
    report = api.validate(tmp_path / "out")
    assert report.ok
    found = [f for f in report.findings if f.check == "auth"]
    assert [(f.severity, f.resource) for f in found] == [("warning", "HTTPRoute/shop/api")]
    assert "serves api.dev.shop.example.org without authentication (`public: true`" in found[0].message
