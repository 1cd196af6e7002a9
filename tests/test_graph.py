"""`bbgen graph`: the picture is drawn from the units, parses as Mermaid, and forgets disabled parts.

The parse check runs Mermaid's own parser (npm `mermaid`, under Node with jsdom), installed by
scripts/install-mermaid.sh; locally it skips when that is missing, in CI it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bbgen import api
from support import MINIMAL_SPEC, ROOT, bbgen

PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))


@pytest.fixture(scope="session")
def mermaid_parser(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("BBGEN_MERMAID_DIR", Path.home() / ".cache" / "bbgen" / "mermaid"))
    if shutil.which("node") is None or not (folder / "node_modules" / "mermaid").is_dir():
        message = f"Mermaid's parser is not installed in {folder}; run scripts/install-mermaid.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    script = folder / "bbgen-parse.mjs"
    partial = folder / f".bbgen-parse.{os.getpid()}.mjs"  # xdist workers share the folder: replace atomically
    shutil.copyfile(ROOT / "tests" / "mermaid_parse.mjs", partial)
    os.replace(partial, script)
    return script


def _parse(script: Path, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(script)], input=text, capture_output=True, text=True, timeout=120, cwd=script.parent)


@pytest.mark.parametrize("profile", PROFILES, ids=[p.stem for p in PROFILES])
def test_every_profile_draws_a_flowchart_mermaid_parses(mermaid_parser: Path, profile: Path) -> None:
    result = _parse(mermaid_parser, api.graph(profile))
    assert result.returncode == 0, result.stderr
    assert '"diagramType":"flowchart' in result.stdout


def test_the_parser_rejects_a_broken_chart(mermaid_parser: Path) -> None:
    """Without this, a parser that accepts anything would make the test above meaningless."""
    broken = api.graph(ROOT / "profiles" / "minimal.yaml").replace('-->|"', '-->|"unclosed ', 1).replace('"|', "|", 1)
    assert _parse(mermaid_parser, broken).returncode == 1


def test_reference_picture_has_domains_hosts_tcp_and_flows() -> None:
    text = api.graph(ROOT / "profiles" / "betelgeuse.yaml")
    subgraphs = set(re.findall(r'subgraph n_domain_\S+\["([^"]+)"\]', text))
    assert {"db", "hadith", "observability", "ai", "graph", "storage"} <= subgraphs
    hosts = set(re.findall(r'n_edge -->\|"([^"]+)"\|', text))
    expected = {"hadith-admin", "hadith-api", "llm", "embeddings", "vector", "neo4j", "label", "mlflow",
                "minio", "argo", "auth", "grafana", "kibana", "broker"}
    assert {h + ".betelgeusebytes.io" for h in expected} <= hosts
    assert 'n_edge -.->|"TCP 5432"| n_postgres' in text and 'n_edge -.->|"TCP 7687"| n_neo4j' in text
    assert 'n_orchestrator -->|"llm"| n_ollama' in text
    assert 'n_admin_ui -->|"OIDC"| n_keycloak' in text
    assert "n_ner --> n_neo4j" in text


def test_a_disabled_component_disappears(write_spec) -> None:  # type: ignore[no-untyped-def]
    spec = MINIMAL_SPEC + """\
components:
  postgres: {}
  redis: {enabled: false}
apps:
  api: {image: "registry.example.org/api:1", host: api, dependsOn: [postgres]}
"""
    text = api.graph(write_spec(spec))
    assert "n_redis" not in text
    assert "n_api --> n_postgres" in text and 'n_edge -->|"api.demo.example.org"| n_api' in text


def test_cli_prints_the_chart_and_fences_it_on_request(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(MINIMAL_SPEC + "components: {postgres: {}}\n")
    plain = bbgen("graph", str(path))
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith("flowchart LR\n")
    fenced = bbgen("graph", str(path), "--fence")
    assert fenced.stdout == "```mermaid\n" + plain.stdout + "```\n"
    wrong = bbgen("graph", str(path), "--env", "qa")
    assert wrong.returncode == 2 and "--env 'qa'" in wrong.stderr and "Traceback" not in wrong.stderr


def test_generated_readme_embeds_the_same_chart() -> None:
    readme = (ROOT / "output-example" / "README.md").read_text(encoding="utf-8")
    chart = api.graph(ROOT / "profiles" / "betelgeuse.yaml")
    assert "```mermaid\n" + chart + "```" in readme
