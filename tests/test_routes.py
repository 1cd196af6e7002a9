"""A component's `route` needs (long requests, big bodies) reach the edge under either provider.

NGINX cuts a request after 60 s and refuses bodies over 1 MiB by default: a git push to
Gitea or an LLM generation would fail at the edge while the service itself is fine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen import api
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from support import MINIMAL_SPEC

NGINX = MINIMAL_SPEC + """\
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  postgres: {}
  gitea: {}
  qdrant: {}
"""
GATEWAY = MINIMAL_SPEC + """\
ingress: {provider: gateway, className: cilium}
components:
  cert-manager: {}
  cluster-issuers: {}
  gateway-api: {}
  gateway: {}
  cilium: {settings: {k8sServiceHost: "10.0.0.10"}}
  postgres: {}
  gitea: {}
  qdrant: {}
"""


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _render(tmp_path: Path, text: str) -> Path:
    (tmp_path / "platform.yaml").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(tmp_path / "platform.yaml")), out)
    return out


def test_nginx_gets_timeouts_and_body_size_only_where_declared(tmp_path: Path) -> None:
    out = _render(tmp_path, NGINX)
    gitea = _load(out / "components/gitea/base/ingress-gitea.yaml")["metadata"]["annotations"]
    assert gitea["nginx.ingress.kubernetes.io/proxy-body-size"] == "0"
    assert gitea["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "600"
    assert gitea["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "600"
    qdrant = _load(out / "components/qdrant/base/ingress-qdrant.yaml")["metadata"]["annotations"]
    assert not any(k.startswith("nginx.ingress.kubernetes.io/proxy-") for k in qdrant)


@pytest.mark.tools
def test_gateway_route_carries_the_request_timeout_and_validates(tmp_path: Path, tools: dict[str, str]) -> None:
    out = _render(tmp_path, GATEWAY)
    route = _load(out / "components/gitea/base/httproute-gitea.yaml")
    assert [r.get("timeouts") for r in route["spec"]["rules"]] == [{"request": "600s"}]
    assert "timeouts" not in _load(out / "components/qdrant/base/httproute-qdrant.yaml")["spec"]["rules"][0]
    errors = [str(f) for f in api.validate(out).findings if f.severity == "error"]
    assert not errors, "\n".join(errors)
