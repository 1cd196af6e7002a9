"""Pure pieces that need no external binary: globbing, splitting, discovery, schemas, tool lookup."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from bbgen.errors import ToolMissingError
from bbgen.kube import schemas
from bbgen.validate import Finding, Report, validate_tree
from bbgen.validate.argo import destination_permitted, glob_match, repo_permitted
from bbgen.validate.discover import discover, env_of
from bbgen.validate.resources import YamlProblem, split_documents
from bbgen.validate.tools import find_tool

from treekit import baseline, write_tree


@pytest.mark.parametrize(
    ("pattern", "value", "sep", "expected"),
    [
        ("*", "anything/at/all", "/", True),
        ("https://git.example.org/acme/*", "https://git.example.org/acme/platform", "/", True),
        ("https://git.example.org/acme/*", "https://git.example.org/acme/sub/repo", "/", False),
        ("https://git.example.org/**", "https://git.example.org/acme/sub/repo", "/", True),
        ("team-?", "team-a", None, True),
        ("team-{a,b}", "team-c", None, False),
        ("!kube-system", "web", None, True),
        ("!kube-system", "kube-system", None, False),
        ("web.example.org", "webXexample.org", None, False),
    ],
)
def test_glob_match(pattern: str, value: str, sep: str | None, expected: bool) -> None:
    assert glob_match(pattern, value, sep) is expected


def test_project_rules() -> None:
    project: dict[str, Any] = {
        "sourceRepos": ["https://git.example.org/acme/*", "!https://git.example.org/acme/secret"],
        "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "web*"}, {"server": "*", "namespace": "!kube-system"}],
    }
    assert repo_permitted(project, "https://git.example.org/acme/platform.git")
    assert not repo_permitted(project, "https://git.example.org/acme/secret.git")
    assert not repo_permitted(project, "https://other.example.org/acme/platform.git")
    assert destination_permitted(project, "https://kubernetes.default.svc", "", "web-a")
    assert not destination_permitted(project, "https://kubernetes.default.svc", "", "kube-system")


def test_split_documents_keeps_raw_text_per_object() -> None:
    text = "---\napiVersion: v1\nkind: A\n--- # comment\n\n---\napiVersion: v1\nkind: B\nx: |\n  ---\n  not a marker\n"
    chunks = split_documents(text)
    assert [c.value["kind"] for c in chunks] == ["A", "B"]
    assert chunks[1].value["x"] == "---\nnot a marker\n"
    assert chunks[0].text.startswith("\napiVersion: v1\nkind: A")
    with pytest.raises(YamlProblem):
        split_documents("a: [\n")


@pytest.mark.parametrize(
    ("path", "env"),
    [
        ("platform/prod", "prod"),
        ("apps/staging", "staging"),
        ("bootstrap/prod", "prod"),
        ("components/web/overlays/prod", "prod"),
        ("components/apps/overlays/dev", "dev"),
        ("components/web/base", None),
        ("projects", None),
    ],
)
def test_env_of(path: str, env: str | None) -> None:
    assert env_of(path) == env


def test_discover_roots_and_plain_files(tmp_path: Path) -> None:
    layout = discover(write_tree(tmp_path, baseline(("prod", "staging"))))
    assert layout.roots == [
        "apps/prod",
        "apps/staging",
        "components/issuers/overlays/prod",
        "components/issuers/overlays/staging",
        "components/web/overlays/prod",
        "components/web/overlays/staging",
        "platform/prod",
        "platform/staging",
    ]
    assert "bootstrap/prod/root-app.yaml" in layout.plain_files
    assert "values/cert-manager/prod.yaml" in layout.plain_files  # read, then skipped: not a Kubernetes object
    assert not any(p.startswith(("projects/", "apps/", "components/")) for p in layout.plain_files)
    assert layout.locate("apps/prod", "AppProject", "infra") == "projects/appproject-infra.yaml"
    assert layout.locate("components/web/overlays/prod", "Service", "web") == "components/web/base/service-web.yaml"
    assert layout.locate("components/web/overlays/prod", "Service", "nope") == "components/web/overlays/prod"


def test_schema_rewrite_drops_ids_and_relativises_refs() -> None:
    raw = {"$id": "https://kubernetes.io/x", "properties": {"a": {"$ref": "/api/_definitions.json#/$defs/io.k8s.X"}, "b": [{"$id": "y", "$ref": "#/$defs/local"}]}}
    assert schemas.rewrite(raw) == {"properties": {"a": {"$ref": "_definitions.json#/$defs/io.k8s.X"}, "b": [{"$ref": "#/$defs/local"}]}}


def test_schema_cache_is_built_once_and_rebuilt_when_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(schemas.kubernetes_schema_dir("1.33.0"))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    target = tmp_path / "bbgen" / "schemas" / "v1.33.0-strict"
    assert set(results) == {target}
    assert sorted(p.name for p in target.parent.iterdir()) == ["v1.33.0-strict"]  # no staging leftovers
    assert json.loads((target / schemas.MARKER).read_text())["format"] == schemas.FORMAT_VERSION
    text = (target / "deployment-apps-v1.json").read_text()
    assert '"$id"' not in text and "/api/_definitions.json" not in text
    stamp = (target / "service-v1.json").stat().st_mtime_ns
    schemas.kubernetes_schema_dir("1.33.0")
    assert (target / "service-v1.json").stat().st_mtime_ns == stamp
    (target / schemas.MARKER).write_text('{"format": 0}')
    schemas.kubernetes_schema_dir("1.33.0")
    assert json.loads((target / schemas.MARKER).read_text())["format"] == schemas.FORMAT_VERSION


CRD_FILES = sorted(schemas.crd_dir().rglob("*.json"))


def test_crd_files_follow_kubeconform_naming() -> None:
    names = {p.relative_to(schemas.crd_dir()).as_posix() for p in CRD_FILES}
    assert names == {
        "argoproj.io/application_v1alpha1.json",
        "argoproj.io/appproject_v1alpha1.json",
        "cert-manager.io/certificate_v1.json",
        "cert-manager.io/clusterissuer_v1.json",
        "cert-manager.io/issuer_v1.json",
        "cilium.io/ciliumnetworkpolicy_v2.json",
        "gateway.networking.k8s.io/gateway_v1.json",
        "gateway.networking.k8s.io/gatewayclass_v1.json",
        "gateway.networking.k8s.io/httproute_v1.json",
        "gateway.networking.k8s.io/referencegrant_v1.json",
        "gateway.networking.k8s.io/referencegrant_v1beta1.json",
        "gateway.networking.k8s.io/tcproute_v1.json",
        "gateway.networking.k8s.io/tcproute_v1alpha2.json",
    }


def _objects(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append((path, node))
        for key, value in node.items():
            if key not in ("if", "not"):  # conditions test values; they describe no object
                found += _objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _objects(value, f"{path}/{i}")
    return found


@pytest.mark.parametrize("path", CRD_FILES, ids=lambda p: p.name)
def test_crd_schemas_are_strict(path: Path) -> None:
    """Every described object forbids unknown fields, except ObjectMeta (left to the API server)."""
    schema = json.loads(path.read_text())
    group, _, rest = path.relative_to(schemas.crd_dir()).as_posix().partition("/")
    kind, _, version = rest.removesuffix(".json").partition("_")
    assert schema["properties"]["apiVersion"]["enum"] == [f"{group}/{version}"]
    assert schema["properties"]["kind"]["enum"][0].lower() == kind
    loose = [p for p, node in _objects(schema) if node.get("additionalProperties") is not False]
    assert loose == ["/$defs/objectMeta"]


def _fake_tool(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_tools_dir_beats_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = _fake_tool(tmp_path / "path", "kubeconform")
    pinned = _fake_tool(tmp_path / "tools" / "bin", "kubeconform")
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.delenv("BBGEN_TOOLS_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert find_tool("kubeconform") == on_path
    monkeypatch.setenv("BBGEN_TOOLS_DIR", str(tmp_path / "tools"))
    assert find_tool("kubeconform") == pinned


def test_missing_tool_is_a_tool_missing_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("BBGEN_TOOLS_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(ToolMissingError) as info:
        validate_tree(write_tree(tmp_path / "tree", baseline()))
    assert info.value.tool == "kustomize"
    assert "run `bbgen tools install`" in str(info.value)


def test_finding_and_report() -> None:
    error = Finding(check="selector", file="components/web/base/service-web.yaml", resource="Service/web/web", message="matches nothing")
    warning = Finding(check="manifest", file=".bbgen/manifest.json", resource="", message="no version", severity="warning")
    assert str(error) == "components/web/base/service-web.yaml: Service/web/web: [selector] matches nothing"
    assert str(warning) == ".bbgen/manifest.json: [manifest] warning: no version"
    assert Report(findings=[warning]).ok
    assert not Report(findings=[error, warning]).ok


def test_package_imports_lazily() -> None:
    """The CLI imports bbgen.validate eagerly; the subprocess/YAML machinery must not come with it."""
    import subprocess
    import sys

    code = "import sys, bbgen.validate; print(any(m.startswith('bbgen.validate.pipeline') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ})
    assert out.stdout.strip() == "False"


def test_unwritable_schema_cache_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.raises(schemas.SchemaCacheError, match="XDG_CACHE_HOME"):
        schemas.kubernetes_schema_dir("1.34.0")
