"""The pinned API-server build and the scratch server: pins in one place, 127.0.0.1 only, clear errors without binaries."""

from __future__ import annotations

import re
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from kubetest import ROOT, bbgen, render

from bbgen.kube import serverpins

SCRIPT = ROOT / "scripts" / "install-kube.sh"


def test_the_script_reads_its_pins_from_the_python_module() -> None:
    """One place for the pins: serverpins.py's plain assignments, which the script extracts with sed."""
    text = (ROOT / "src" / "bbgen" / "kube" / "serverpins.py").read_text(encoding="utf-8")
    for name in ("KUBE_VERSION", "KUBE_STAGING_VERSION", "KINE_VERSION"):
        match = re.search(rf'^{name} = "([^"]+)"$', text, flags=re.MULTILINE)
        assert match and match.group(1) == getattr(serverpins, name)
        assert f"$(pin {name})" in SCRIPT.read_text(encoding="utf-8")
    script = SCRIPT.read_text(encoding="utf-8")
    for value in (serverpins.KUBE_VERSION, serverpins.KINE_VERSION, serverpins.KUBE_STAGING_VERSION):
        assert value not in script, f"{value} is written in the script too"
    minor = serverpins.KUBE_VERSION.split(".")[1]
    assert serverpins.KUBE_STAGING_VERSION.startswith(f"v0.{minor}.")


def test_install_script_is_a_no_op_when_cached(kube_binaries: Path) -> None:
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(kube_binaries)
    assert "already installed" in done.stderr


def test_server_reports_the_pinned_version_on_loopback(kube_server: Any) -> None:
    assert kube_server.url.startswith("https://127.0.0.1:")
    with urllib.request.urlopen(f"{kube_server.url}/version", context=kube_server.ssl_context(), timeout=10) as resp:
        body = resp.read().decode()
    assert f'"gitVersion": "{serverpins.KUBE_VERSION}"' in body


def test_without_binaries_the_scratch_server_says_how_to_build_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bbgen.errors import ToolMissingError
    from bbgen.kube.scratch import ScratchServer

    monkeypatch.setenv(serverpins.ENV_DIR, str(tmp_path / "empty"))
    with pytest.raises(ToolMissingError, match="scripts/install-kube.sh"):
        ScratchServer(base=tmp_path / "srv").start()


def test_previous_without_binaries_is_a_usage_error(tools: dict[str, str], tmp_path: Path) -> None:
    tree = render("minimal", tmp_path / "tree")
    done = bbgen("validate", str(tree), "--server", f"--previous={tree}", env={serverpins.ENV_DIR: str(tmp_path / "empty")})
    assert done.returncode == 2, done.stderr
    assert "kube-apiserver" in done.stderr and "scripts/install-kube.sh" in done.stderr
    assert "Traceback" not in done.stderr


def test_server_options_need_server(tmp_path: Path) -> None:
    done = bbgen("validate", str(tmp_path), "--context", "x")
    assert done.returncode == 2 and "--server" in done.stderr


def test_unknown_context_is_a_clear_error(tools: dict[str, str], kube_server: Any, tmp_path: Path) -> None:
    tree = render("minimal", tmp_path / "tree")
    done = bbgen("validate", str(tree), "--server", f"--kubeconfig={kube_server.kubeconfig}", "--context=nope")
    assert done.returncode == 2, done.stderr
    assert "nope" in done.stderr and "Traceback" not in done.stderr
