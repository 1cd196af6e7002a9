"""The CLI as a person meets it: a subprocess, real exit codes, stdout vs stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from support import MINIMAL_SPEC, REFERENCE, bbgen


def test_version_and_help() -> None:
    from bbgen import __version__

    assert bbgen("--version").stdout.strip() == f"bbgen {__version__}"
    helped = bbgen("--help")
    assert helped.returncode == 0
    for command in ("render", "validate", "schema"):
        assert command in helped.stdout
    assert "bbgen render platform.yaml --out gitops/" in bbgen("render", "--help").stdout


def test_schema_is_json_with_descriptions() -> None:
    result = bbgen("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["type"] == "object"
    assert "gitops" in schema["required"]
    assert schema["properties"]["domain"]["description"]
    assert "kubernetesVersion" in schema["properties"]


def test_render_reports_counts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = bbgen("render", str(REFERENCE), "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert first.stderr.startswith("written ") and "unchanged 0, removed 0" in first.stderr
    second = bbgen("render", str(REFERENCE), "--out", str(out))
    assert second.returncode == 0
    assert second.stderr.startswith("written 0, unchanged ")


def test_bad_spec_exits_2_located_without_traceback(tmp_path: Path, write_spec: Callable[..., Path]) -> None:
    spec = write_spec(MINIMAL_SPEC + "components:\n  postgres:\n    replicas: many\n")
    out = tmp_path / "out"
    result = bbgen("render", str(spec), "--out", str(out))
    assert result.returncode == 2
    assert f"{spec}:7:15: components.postgres.replicas:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_cross_field_errors_are_located(tmp_path: Path, write_spec: Callable[..., Path]) -> None:
    spec = write_spec(
        MINIMAL_SPEC
        + "components:\n"
        + "  postgres:\n"
        + "    enabled: false\n"
        + "  qdrant: {}\n"
        + "apps:\n"
        + "  api:\n"
        + "    image: example.org/api:1\n"
        + "    host: vector\n"
        + "    dependsOn: [postgres]\n"
    )
    result = bbgen("render", str(spec), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith(f"{spec}:12:11: apps.api.host: host vector.demo.example.org is already claimed") for line in lines), lines
    assert any(line.startswith(f"{spec}:13:17: apps.api.dependsOn[0]: 'postgres' is disabled") for line in lines), lines


def test_unknown_component_gets_a_hint(write_spec: Callable[..., Path], tmp_path: Path) -> None:
    spec = write_spec(MINIMAL_SPEC + "components:\n  postgress: {}\n")
    result = bbgen("render", str(spec), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert f"{spec}:6:3: components.postgress: unknown component 'postgress' (did you mean 'postgres'?); see `bbgen components`" in result.stderr


def test_missing_spec_file(tmp_path: Path) -> None:
    result = bbgen("render", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "nope.yaml:1:1:" in result.stderr and "Traceback" not in result.stderr


def test_validate_missing_dir_is_usage_error(tmp_path: Path) -> None:
    result = bbgen("validate", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "no such directory" in result.stderr


def test_components_table_and_json() -> None:
    table = bbgen("components", str(REFERENCE))
    assert table.returncode == 0
    header, *rows = table.stdout.splitlines()
    assert header.split()[:3] == ["name", "namespace", "delivery"] and header.rstrip().endswith("enabled")
    assert any(r.startswith("postgres ") and "docker.io/library/postgres:" in r and r.endswith("yes") for r in rows)
    as_json = json.loads(bbgen("components", "--output", "json").stdout)
    by_name = {row["name"]: row for row in as_json}
    assert by_name["cert-manager"]["delivery"] == "chart"
    assert by_name["cluster-issuers"]["dependsOn"] == ["cert-manager"]
    assert "enabled" not in by_name["redis"]
    assert by_name["minio"]["provides"] == by_name["garage"]["provides"] == ["object-store"]
    assert by_name["mlflow"]["oidc"] is True and by_name["vllm"]["gpu"] is True
    assert by_name["argo-workflows"]["uses"] == ["mlflow", "kafka"]
    assert any(r.startswith("vllm ") and "provides llm, gpu" in r for r in rows)


def test_two_environments_on_one_cluster_are_refused(write_spec: Callable[..., Path], tmp_path: Path) -> None:
    spec = write_spec(MINIMAL_SPEC + "environments:\n  prod: {}\n  staging: {}\n")
    result = bbgen("render", str(spec), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert f"{spec}:7:12: environments.staging: deploys to the same cluster as 'prod'" in result.stderr
