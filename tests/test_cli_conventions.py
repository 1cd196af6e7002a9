"""kubectl/helm habits through the real entry point: -o is a format, -q everywhere, version, tools, strict inputs.

Also: validate refuses a directory that is not a bbgen render (a CI typo must not
go green), an unknown --kubernetes-version is refused, and a FIFO given as the spec
is refused instead of hanging.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from support import ROOT

MINIMAL = ROOT / "profiles" / "minimal.yaml"


def bbgen(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bbgen", *args], capture_output=True, text=True, cwd=cwd, env=full, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("render") / "gitops"
    done = bbgen("render", str(MINIMAL), "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    return out


# --- -o is the output format ---------------------------------------------------------------


def test_render_o_json_is_a_format_not_a_directory(tmp_path: Path) -> None:
    without_out = bbgen("render", str(MINIMAL), "-o", "json", cwd=tmp_path)
    assert without_out.returncode == 2 and "--out" in without_out.stderr
    out = tmp_path / "gitops"
    done = bbgen("render", str(MINIMAL), "-o", "json", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["out"] == str(out) and ".bbgen/manifest.json" not in result["written"]
    assert "README.md" in result["written"] and result["removed"] == [] and done.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gitops"]  # no ./json
    again = json.loads(bbgen("render", str(MINIMAL), "--output", "json", "--out", str(out)).stdout)
    assert again["written"] == [] and again["unchanged"] == result["written"]


def test_out_has_no_short_form(tmp_path: Path) -> None:
    for command in (["render", str(MINIMAL)], ["secrets", "generate", str(MINIMAL)]):
        done = bbgen(*command, "-o", str(tmp_path / "dir"), cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert not (tmp_path / "dir").exists()
        helped = bbgen(*command[:-1], "--help").stdout
        assert "--out " in helped and "-o, --out " not in helped


def test_secrets_plan_formats(tmp_path: Path) -> None:
    text = bbgen("secrets", "plan", str(MINIMAL), "-o", "text")
    assert text.returncode == 0 and text.stdout == bbgen("secrets", "plan", str(MINIMAL)).stdout
    assert text.stdout.startswith("ENV   NAMESPACE  ")
    assert bbgen("secrets", "plan", str(MINIMAL), "-o", "table").returncode == 2
    as_json = json.loads(bbgen("secrets", "plan", str(MINIMAL), "-o", "json").stdout)
    assert yaml.safe_load(bbgen("secrets", "plan", str(MINIMAL), "--output", "yaml").stdout) == as_json


def test_components_and_schema_speak_yaml() -> None:
    as_json = json.loads(bbgen("components", "-o", "json").stdout)
    assert yaml.safe_load(bbgen("components", "-o", "yaml").stdout) == as_json
    schema = json.loads(bbgen("schema").stdout)
    assert yaml.safe_load(bbgen("schema", "-o", "yaml").stdout) == schema
    markdown = bbgen("schema", "-o", "markdown").stdout
    assert markdown.startswith("# ") and markdown == bbgen("schema", "--format", "markdown").stdout
    clash = bbgen("schema", "-o", "json", "--format", "markdown")
    assert clash.returncode == 2 and "disagree" in clash.stderr


def _leaf_commands() -> list[tuple[str, Any]]:
    from bbgen.cli import app

    found: list[tuple[str, Any]] = []

    def walk(prefix: str, command: Any) -> None:
        if hasattr(command, "commands"):  # a group (typer's own click)
            for name, sub in command.commands.items():
                walk(f"{prefix} {name}".strip(), sub)
        else:
            found.append((prefix, command))

    walk("", typer.main.get_command(app))
    return found


def test_every_command_takes_quiet_and_o_means_output_only() -> None:
    commands = _leaf_commands()
    assert {"render", "validate", "version", "tools install", "tools list", "secrets plan", "secrets generate", "graph", "schema"} <= {n for n, _ in commands}
    for name, command in commands:
        options = {opt: param.name for param in command.params for opt in getattr(param, "opts", [])}
        assert options.get("-q") == "quiet" and options.get("--quiet") == "quiet", name
        if "-o" in options:
            assert options["-o"] == "output" and "--output" in options, name


def test_quiet_drops_status_lines(rendered: Path) -> None:
    for args in (["secrets", "plan", str(MINIMAL)], ["render", str(MINIMAL), "--out", str(rendered)], ["version"]):
        done = bbgen(*args, "-q")
        assert done.returncode == 0 and done.stderr == "", (args, done.stderr)


def test_version_command() -> None:
    from bbgen import __version__
    from bbgen.kube.pins import PINNED

    text = bbgen("version")
    assert text.returncode == 0
    assert text.stdout.splitlines()[0] == bbgen("--version").stdout.strip() == f"bbgen {__version__}"
    data = json.loads(bbgen("version", "-o", "json").stdout)
    assert data == {"version": __version__, "tools": {"kustomize": "v5.8.1", "kubeconform": "v0.8.0", "helm": "v3.22.0", "promtool": "v0.316.0"}}
    assert data["tools"] == {t.name: t.version for t in PINNED}


# --- strict inputs -----------------------------------------------------------------------


def test_unknown_kubernetes_version_is_refused(rendered: Path) -> None:
    for wanted, why in (("1.99", "no schemas bundled for Kubernetes 1.99"), ("latest", "'latest' is not a Kubernetes version")):
        done = bbgen("validate", str(rendered), "--kubernetes-version", wanted)
        assert done.returncode == 2, done.stderr
        assert why in done.stderr and "bbgen bundles schemas for Kubernetes 1.25, 1.26" in done.stderr and "1.37" in done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""


def test_validate_refuses_what_is_not_a_bbgen_render(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "kustomization.yaml").write_text("resources: []\n")
    hollow = tmp_path / "hollow"
    (hollow / ".bbgen").mkdir(parents=True)
    (hollow / ".bbgen" / "manifest.json").write_text('{"files": {}, "kubernetesVersion": "1.34.0"}\n')
    for directory, why in ((empty, "holds no bbgen manifest"), (foreign, "holds no bbgen manifest"), (hollow, "nothing to validate")):
        done = bbgen("validate", str(directory), "-o", "json")
        assert done.returncode == 2, (directory, done.stderr)
        assert f"{directory}: " in done.stderr and why in done.stderr and "Traceback" not in done.stderr
        assert done.stdout == ""


@pytest.mark.tools
def test_validate_a_clone_of_someone_elses_render(tools: dict[str, str], rendered: Path, tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    shutil.copytree(rendered, origin)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q", str(origin)], check=True)
    subprocess.run([*git, "-C", str(origin), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(origin), "commit", "-qm", "render"], check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    done = bbgen("validate", str(clone), "-q")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_fifo_spec_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "platform.yaml"
    os.mkfifo(fifo)
    for args in (["render", str(fifo), "--out", str(tmp_path / "out")], ["components", str(fifo)], ["secrets", "plan", str(fifo)]):
        done = bbgen(*args, timeout=60)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == f"{fifo}:1:1: is a FIFO (named pipe), not a regular file; pass the spec file itself"
    assert not (tmp_path / "out").exists()
    device = bbgen("secrets", "plan", "/dev/null")
    assert device.returncode == 2 and "is a device, not a regular file" in device.stderr


# --- tools -----------------------------------------------------------------------------------


def _no_tools_env(tmp_path: Path, path: str) -> dict[str, str]:
    return {"PATH": path, "HOME": str(tmp_path / "home"), "BBGEN_TOOLS_DIR": str(tmp_path / "none")}


def test_tool_missing_points_at_bbgen_tools_install(tmp_path: Path, rendered: Path) -> None:
    env = _no_tools_env(tmp_path, str(tmp_path / "empty-path"))
    done = bbgen("validate", str(rendered), env=env)
    assert done.returncode == 2
    assert "kustomize not found on PATH or in the bbgen tools cache (run `bbgen tools install`" in done.stderr
    listed = bbgen("tools", "list", "-o", "json", env=env)
    assert listed.returncode == 1
    assert [(t["name"], t["state"]) for t in json.loads(listed.stdout)] == [("kustomize", "missing"), ("kubeconform", "missing"), ("helm", "missing"), ("promtool", "missing")]
    assert "run `bbgen tools install`" in listed.stderr
    no_go = bbgen("tools", "install", "--dir", str(tmp_path / "t"), env=env)
    assert no_go.returncode == 2 and "go not found" in no_go.stderr and "https://go.dev/dl/" in no_go.stderr
    assert not (tmp_path / "t" / "bin" / "kustomize").exists()


def _pinned_copies(tmp_path: Path, tools: dict[str, str]) -> Path:
    directory = tmp_path / "tools"
    (directory / "bin").mkdir(parents=True)
    for name, path in tools.items():
        shutil.copy2(path, directory / "bin" / name)
    return directory


@pytest.mark.tools
def test_tools_install_is_idempotent_and_the_script_delegates(tools: dict[str, str], promtool: str, tmp_path: Path) -> None:
    directory = _pinned_copies(tmp_path, {**tools, "promtool": promtool})
    before = {p.name: p.stat().st_mtime_ns for p in (directory / "bin").iterdir()}
    done = bbgen("tools", "install", "--dir", str(directory), env={"PATH": "/nonexistent"})  # no go needed when current
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{directory / 'bin'}\n"
    assert "kustomize v5.8.1 already installed" in done.stderr and "kubeconform v0.8.0 already installed" in done.stderr
    assert "helm v3.22.0 already installed" in done.stderr and "promtool v0.316.0 already installed" in done.stderr
    assert {p.name: p.stat().st_mtime_ns for p in (directory / "bin").iterdir()} == before

    script = ROOT / "scripts" / "install-tools.sh"
    assert "v5.8.1" not in script.read_text() and "tools install" in script.read_text()  # the pins live in one place
    via_script = subprocess.run(["bash", str(script)], capture_output=True, text=True, env={**os.environ, "BBGEN_TOOLS_DIR": str(directory)}, timeout=120)
    assert via_script.returncode == 0, via_script.stderr
    assert via_script.stdout == f"{directory / 'bin'}\n" and "already installed" in via_script.stderr

    listed = bbgen("tools", "list", "--dir", str(directory), "-o", "json")
    assert listed.returncode == 0
    assert [(t["state"], t["path"]) for t in json.loads(listed.stdout)] == [("ok", str(directory / "bin" / n)) for n in ("kustomize", "kubeconform", "helm", "promtool")]


@pytest.mark.tools
@pytest.mark.skipif(shutil.which("go") is None, reason="no Go toolchain")
def test_tools_install_replaces_an_outdated_binary_with_go_install(tools: dict[str, str], promtool: str, tmp_path: Path) -> None:
    directory = _pinned_copies(tmp_path, {"kubeconform": tools["kubeconform"], "helm": tools["helm"], "promtool": promtool})
    fake = directory / "bin" / "kustomize"
    fake.write_text("#!/bin/sh\necho v4.0.0\n")
    fake.chmod(0o755)
    done = bbgen("tools", "install", "--dir", str(directory), timeout=1800)
    assert done.returncode == 0, done.stderr
    assert f"{fake} reports v4.0.0; installing v5.8.1" in done.stderr
    assert "go install sigs.k8s.io/kustomize/kustomize/v5@v5.8.1" in done.stderr
    assert "kubeconform v0.8.0 already installed" in done.stderr
    shown = subprocess.run([str(fake), "version"], capture_output=True, text=True, check=True).stdout
    assert shown.strip().endswith("v5.8.1")
    assert sorted(p.name for p in directory.iterdir()) == ["bin"]  # the GOBIN staging directory is gone
