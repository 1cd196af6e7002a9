"""The generated repository validates itself in CI: the workflow, its script and the schemas it reads.

The workflow must parse and pin what it installs to the versions bbgen's own validator uses;
the script it runs must cover every Kustomize root bbgen's validator discovers, pass on the
shipped profiles, fail on a broken manifest or kustomization, and never reach the network.
The script is run for real: the Validate step of the parsed workflow, with the real kustomize
and kubeconform, in a network namespace without interfaces where the system allows one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen.render import ci, paths
from bbgen.render.build import build_tree
from bbgen.render.tree import Tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from bbgen.spec.models import Platform
from bbgen.kube import pins
from bbgen.validate import tools
from bbgen.validate.discover import discover
from bbgen.kube.schemas import kubeconform_names
from support import MINIMAL_SPEC, ROOT

PROFILES = {name: ROOT / "profiles" / f"{name}.yaml" for name in ("betelgeuse", "minimal")}


@cache
def _platform(name: str) -> Platform:
    return load_platform(PROFILES[name])


@cache
def _tree(name: str) -> Tree:
    return build_tree(_platform(name))


def _spec_tree(tmp_path: Path, extra: str) -> Tree:
    spec = tmp_path / "platform.yaml"
    spec.write_text(MINIMAL_SPEC + extra, encoding="utf-8")
    return build_tree(load_platform(spec))


def _workflow(tree: Tree) -> dict[str, Any]:
    doc = yaml.safe_load(tree.files[paths.WORKFLOW_PATH])
    assert isinstance(doc, dict)
    return doc


def _triggers(doc: dict[str, Any]) -> dict[str, Any]:
    """YAML 1.1 reads the key `on` as True; GitHub and Gitea read it as the string."""
    triggers = doc["on"] if "on" in doc else doc[True]
    assert isinstance(triggers, dict)
    return triggers


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    (job,) = doc["jobs"].values()
    steps = job["steps"]
    assert isinstance(steps, list)
    return steps


def _validate_step(doc: dict[str, Any]) -> str:
    (run,) = [s["run"] for s in _steps(doc) if paths.SCRIPT_PATH in str(s.get("run", ""))]
    return str(run)


def _script(tree: Tree) -> str:
    return tree.files[paths.SCRIPT_PATH].decode()


def _bash_array(script: str, name: str) -> list[str]:
    match = re.search(rf"^{name}=\(\n(.*?)^\)$", script, re.M | re.S)
    assert match, f"no {name}=( ... ) in the script"
    return [line.strip() for line in match.group(1).splitlines() if line.strip()]


def _schema_locations(script: str) -> list[str]:
    return re.findall(r'-schema-location "([^"]+)"', script)


# --- the workflow ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_workflow_parses_and_pins_the_validator_versions(name: str) -> None:
    tree = _tree(name)
    doc = _workflow(tree)
    triggers = _triggers(doc)
    assert set(triggers) == {"push", "pull_request"}
    assert triggers["push"]["branches"] == [_platform(name).gitops.branch]
    steps = _steps(doc)
    assert all(s.get("name") for s in steps)

    used = [s["uses"] for s in steps if "uses" in s]
    assert used == [ci.CHECKOUT_ACTION, ci.SETUP_GO_ACTION, ci.CACHE_ACTION]
    assert all(re.fullmatch(r"actions/[a-z-]+@v\d+", u) for u in used), used
    setup_go = next(s for s in steps if s.get("uses") == ci.SETUP_GO_ACTION)
    assert re.fullmatch(r"\d+\.\d+\.\d+", setup_go["with"]["go-version"])  # a release, not a range

    runs = "\n".join(str(s.get("run", "")) for s in steps)
    installs = re.findall(r"go install (\S+)@(\S+)", runs)
    assert installs == [
        ("sigs.k8s.io/kustomize/kustomize/v5", pins.KUSTOMIZE_VERSION),
        ("github.com/yannh/kubeconform/cmd/kubeconform", pins.KUBECONFORM_VERSION),
    ]
    for package, version in installs:  # the same pins bbgen's own install hint names
        assert f"{package}@{version}" in tools.INSTALL_HINT
    cache_step = next(s for s in steps if s.get("uses") == ci.CACHE_ACTION)
    key = cache_step["with"]["key"]
    assert pins.KUSTOMIZE_VERSION in key and pins.KUBECONFORM_VERSION in key
    install = next(s for s in steps if "go install" in str(s.get("run", "")))
    assert cache_step["id"] in install["if"]  # a cache hit skips the build

    assert _validate_step(doc).strip() == f"bash {paths.SCRIPT_PATH}"
    text = tree.files[paths.WORKFLOW_PATH].decode()
    assert "{{ ." not in text.replace("${{", "")  # kubeconform's Go templates stay in the script


def test_workflow_follows_the_spec_branch(tmp_path: Path) -> None:
    spec = MINIMAL_SPEC.replace("repo: demo-gitops}", "repo: demo-gitops, branch: release/v2}")
    assert spec != MINIMAL_SPEC
    (tmp_path / "platform.yaml").write_text(spec, encoding="utf-8")
    tree = build_tree(load_platform(tmp_path / "platform.yaml"))
    assert _triggers(_workflow(tree))["push"]["branches"] == ["release/v2"]
    assert "push to `release/v2`" in tree.files["README.md"].decode()


def test_tool_packages_build_the_binaries_bbgen_validates_with(tools: dict[str, str]) -> None:
    """The workflow's package paths are the ones the pinned binaries were built from."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not installed")
    runs = "\n".join(str(s.get("run", "")) for s in _steps(_workflow(_tree("minimal"))))
    for name, module in (("kustomize", "sigs.k8s.io/kustomize/kustomize/v5"), ("kubeconform", "github.com/yannh/kubeconform")):
        info = subprocess.run([go, "version", "-m", tools[name]], capture_output=True, text=True, timeout=60)
        if info.returncode != 0:
            pytest.skip(f"{tools[name]} carries no Go build info")
        (path,) = re.findall(r"^\s+path\s+(\S+)$", info.stdout, re.M)
        (version,) = re.findall(rf"^\s+mod\s+{re.escape(module)}\s+(\S+)", info.stdout, re.M)
        assert f"go install {path}@{version}" in runs


# --- the schemas and the script ----------------------------------------------------------------


def test_schema_dir_follows_the_kubernetes_version(tmp_path: Path) -> None:
    default = _spec_tree(tmp_path, "")
    older = _spec_tree(tmp_path, "kubernetesVersion: 1.30.4\n")
    assert default.meta["kubernetesVersion"] != older.meta["kubernetesVersion"]
    for tree, version in ((default, "1.34.0"), (older, "1.30.0")):
        expected = f".bbgen/schemas/kubernetes-v{version}"
        dirs = {p.rsplit("/", 1)[0] for p in tree.files if p.startswith(".bbgen/schemas/kubernetes-")}
        assert dirs == {expected}
        assert f"{expected}/_definitions.json" in tree.files and f"{expected}/storageclass-storage-v1.json" in tree.files
        k8s_location = _schema_locations(_script(tree))[0]
        assert k8s_location == f"$root/{expected}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json"
        assert f"Kubernetes {version} and CRD schemas" in tree.files["README.md"].decode()
    assert not any(p.startswith(".bbgen/schemas/kubernetes-v1.34.0") for p in older.files)


def test_schemas_are_the_used_kinds_only_and_self_contained() -> None:
    tree = _tree("betelgeuse")
    k8s = ci.kubernetes_schema_dir(_platform("betelgeuse"))
    kinds = ci.used_kinds(tree)
    names = {p.rsplit("/", 1)[1] for p in tree.files if p.startswith(k8s + "/")}
    crds = {p.removeprefix(paths.CRD_SCHEMA_DIR + "/") for p in tree.files if p.startswith(paths.CRD_SCHEMA_DIR + "/")}
    expected = {kubeconform_names(a, k) for a, k in kinds}
    assert names - {"_definitions.json"} == {b for b, c in expected if c not in crds}
    assert crds == {c for b, c in expected if b not in names}
    assert {"deployment-apps-v1.json", "networkpolicy-networking-v1.json"} <= names
    assert "argoproj.io/application_v1alpha1.json" in crds
    # every $ref resolves inside the pruned definitions file
    definitions = json.loads(tree.files[f"{k8s}/_definitions.json"])["$defs"]
    for name in names:
        text = tree.files[f"{k8s}/{name}"].decode()
        for ref in re.findall(r'"\$ref": "(?:_definitions\.json)?#/\$defs/([^"]+)"', text):
            assert ref in definitions, (name, ref)
    assert len(tree.files[f"{k8s}/_definitions.json"]) < 1_000_000  # pruned, not the whole 1.5 MB


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_script_covers_what_bbgen_validate_discovers(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    write_tree(_tree(name), out)
    layout = discover(out)
    script = (out / paths.SCRIPT_PATH).read_text()
    assert _bash_array(script, "builds") == layout.roots
    assert _bash_array(script, "files") == [p for p in layout.plain_files if not p.startswith("values/")]
    assert layout.roots and any(r.startswith("components/") and "/overlays/" in r for r in layout.roots)


def test_script_never_names_a_remote_schema() -> None:
    script = _script(_tree("betelgeuse"))
    locations = _schema_locations(script)
    assert len(locations) == 2 and script.count("-schema-location") == 2
    assert all(loc.startswith("$root/.bbgen/schemas/") for loc in locations)
    assert "default" not in locations and "http" not in script.split("conform() {")[1]


def test_render_stays_deterministic_and_owned() -> None:
    first, second = build_tree(_platform("minimal")), build_tree(_platform("minimal"))
    assert first.with_manifest() == second.with_manifest()
    owned = set(first.with_manifest())
    assert {paths.WORKFLOW_PATH, paths.SCRIPT_PATH} <= owned
    manifest = first.manifest().decode()
    assert paths.WORKFLOW_PATH in manifest and ".bbgen/schemas/crds/argoproj.io/application_v1alpha1.json" in manifest


# --- running it --------------------------------------------------------------------------------


@cache
def _offline_prefix() -> tuple[str, ...]:
    """`unshare -rn`: a user and network namespace with no interface, where the system allows it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=30).returncode == 0:
        return (unshare, "-rn")
    return ()


def _run_validate_step(root: Path, tools_found: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The workflow's own Validate step, as the runner would run it, with the pinned tools on PATH."""
    step = _validate_step(yaml.safe_load((root / paths.WORKFLOW_PATH).read_text()))
    bin_dirs = sorted({str(Path(p).parent) for p in tools_found.values()})
    env = {**os.environ, "PATH": os.pathsep.join([*bin_dirs, os.environ.get("PATH", "")])}
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env[proxy] = "http://127.0.0.1:9"  # a closed port: any download attempt fails loudly
    return subprocess.run([*_offline_prefix(), "bash", "-e", "-c", step], cwd=root, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.tools
@pytest.mark.parametrize("name", sorted(PROFILES))
def test_validate_step_passes_offline(tmp_path: Path, tools: dict[str, str], name: str) -> None:
    out = tmp_path / name
    write_tree(_tree(name), out)
    done = _run_validate_step(out, tools)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    layout = discover(out)
    total = len(layout.roots) + len([p for p in layout.plain_files if not p.startswith("values/")])
    assert f"validate.sh: all {total} valid" in done.stdout
    assert done.stdout.count("Summary: ") == total
    assert "Invalid: 0, Errors: 0, Skipped: 0" in done.stdout and not re.search(r"(Invalid|Errors|Skipped): [1-9]", done.stdout)


@pytest.fixture
def minimal_out(tmp_path: Path) -> Path:
    out = tmp_path / "minimal"
    write_tree(_tree("minimal"), out)
    return out


def _failed(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    tail = done.stderr.split("failed:\n", 1)[1]
    return [line.strip() for line in tail.splitlines() if line.startswith("  ")]


@pytest.mark.tools
def test_validate_step_fails_on_an_invalid_deployment(minimal_out: Path, tools: dict[str, str]) -> None:
    path = next(minimal_out.glob("components/*/base/deployment-*.yaml"))
    component = path.parts[len(minimal_out.parts) + 1]
    doc = yaml.safe_load(path.read_text())
    doc["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    path.write_text(yaml.safe_dump(doc))
    done = _run_validate_step(minimal_out, tools)
    overlays = [r for r in discover(minimal_out).roots if r.startswith(f"components/{component}/overlays/")]
    assert overlays and _failed(done) == overlays
    assert "imagePullPolicyy" in done.stdout


@pytest.mark.tools
def test_validate_step_fails_on_a_broken_kustomization(minimal_out: Path, tools: dict[str, str]) -> None:
    rel = next(r for r in discover(minimal_out).roots if r.startswith("components/"))
    overlay = minimal_out / rel
    body = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    body["resources"].append("missing.yaml")
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(body))
    done = _run_validate_step(minimal_out, tools)
    assert _failed(done) == [rel]
    assert "missing.yaml" in done.stderr


@pytest.mark.tools
def test_validate_step_fails_without_a_schema_instead_of_downloading_one(minimal_out: Path, tools: dict[str, str]) -> None:
    version = ci.kubernetes_schema_dir(_platform("minimal"))
    (minimal_out / version / "namespace-v1.json").unlink()
    done = _run_validate_step(minimal_out, tools)
    assert "platform/prod" in _failed(done)
    assert "could not find schema for Namespace" in done.stdout


def test_script_reports_a_missing_tool(minimal_out: Path) -> None:
    if shutil.which("kustomize", path="/usr/bin:/bin"):
        pytest.skip("kustomize is installed system-wide")
    done = subprocess.run(["bash", paths.SCRIPT_PATH], cwd=minimal_out, env={**os.environ, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "kustomize is not on PATH" in done.stderr
