"""Env hygiene of custom apps: every mistake the kubelet would accept silently is a located spec error.

Each case runs the real CLI (exit 2, `file:line:col: field: …`, nothing written) and the `$(`
escape is checked on the rendered Deployment, where the kubelet would read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from support import MINIMAL_SPEC, bbgen

BASE = MINIMAL_SPEC + """\
components:
  postgres: {}
apps:
  api:
    image: registry.example.org/api:1.0
    dependsOn: [postgres]
"""


def _fails(tmp_path: Path, extra: str) -> str:
    spec = tmp_path / "platform.yaml"
    spec.write_text(BASE + extra, encoding="utf-8")
    out = tmp_path / "out"
    result = bbgen("render", str(spec), "--out", str(out), "-q")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    return result.stderr


def test_duplicate_name_across_env_and_secret_env(tmp_path: Path) -> None:
    err = _fails(tmp_path, """\
    env:
      - {name: MODE, value: a}
    secretEnv:
      - {name: MODE, secret: api-secrets, key: mode}
""")
    assert "platform.yaml:14:16" in err and "apps.api.secretEnv[0].name" in err and "already set by env[0]" in err


def test_duplicate_name_in_env(tmp_path: Path) -> None:
    err = _fails(tmp_path, """\
    env:
      - {name: MODE, value: a}
      - {name: MODE, value: b}
""")
    assert "platform.yaml:13:" in err and "apps.api.env[1].name" in err


@pytest.mark.parametrize("field,entry", [
    ("env", "{name: POSTGRES_HOST, value: elsewhere}"),
    ("secretEnv", "{name: POSTGRES_HOST, secret: s, key: k}"),
])
def test_name_injected_for_a_dependency(tmp_path: Path, field: str, entry: str) -> None:
    err = _fails(tmp_path, f"    {field}:\n      - {entry}\n")
    assert f"apps.api.{field}[0].name" in err and "injected by bbgen for dependency postgres" in err and "override: true" in err


def test_name_injected_for_oidc(tmp_path: Path) -> None:
    err = _fails(tmp_path, "    oidc: {}\n    env:\n      - {name: OIDC_CLIENT_ID, value: other}\n").replace("\n", " ")
    assert "apps.api.env[0].name" in err and "OIDC" in err


def test_nul_byte(tmp_path: Path) -> None:
    err = _fails(tmp_path, '    env:\n      - {name: MODE, value: "a\\0b"}\n')
    assert "platform.yaml:12:" in err and "apps.api.env[0].value" in err and "NUL" in err


def test_value_over_32_kib(tmp_path: Path) -> None:
    err = _fails(tmp_path, f"    env:\n      - {{name: BIG, value: {'x' * (32 * 1024 + 1)}}}\n")
    assert "apps.api.env[0].value" in err and "32 KiB" in err


def _deployment(tmp_path: Path, extra: str) -> dict[str, Any]:
    (tmp_path / "platform.yaml").write_text(BASE + extra, encoding="utf-8")
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(tmp_path / "platform.yaml")), out)
    loaded: dict[str, Any] = yaml.safe_load((out / "components/api/base/deployment-api.yaml").read_text(encoding="utf-8"))
    return loaded


def _env(deployment: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_override_replaces_the_injected_variable_and_a_value_at_the_limit_passes(tmp_path: Path) -> None:
    env = _env(_deployment(tmp_path, f"""\
    env:
      - {{name: POSTGRES_HOST, value: db.elsewhere, override: true}}
      - {{name: BIG, value: {'x' * 32 * 1024}}}
"""))
    assert env["POSTGRES_HOST"] == {"name": "POSTGRES_HOST", "value": "db.elsewhere"}
    assert len(env["BIG"]["value"]) == 32 * 1024


def test_dollar_paren_is_escaped_for_the_kubelet(tmp_path: Path) -> None:
    env = _env(_deployment(tmp_path, "    env:\n      - {name: CMD, value: 'echo $(HOME) $$x'}\n"))
    # The kubelet turns `$$` into `$` and expands `$(…)`: doubling every `$` gives the spec's text back literally.
    assert env["CMD"]["value"] == "echo $$(HOME) $$$$x"


def test_components_lists_the_injected_variables() -> None:
    import json

    result = bbgen("components", "-o", "json")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert "POSTGRES_HOST" in rows["postgres"]["injects"]
    text = bbgen("components").stdout
    assert "injects" in text.splitlines()[0] and "POSTGRES_HOST" in text
