"""Shared fixtures: the repository root, a scratch spec writer, and the external tools."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path
from typing import Callable

import pytest

from support import MINIMAL_SPEC, REFERENCE, ROOT  # noqa: F401  (re-exported for fixtures)


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[[str], Path]:
    """Write a spec (dedented) into tmp_path and return its path."""

    def write(text: str, name: str = "platform.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


def _tool(name: str) -> str | None:
    cache = Path(os.environ.get("BBGEN_TOOLS_DIR", Path.home() / ".cache" / "bbgen" / "tools")) / "bin" / name
    return shutil.which(name) or (str(cache) if cache.is_file() else None)


@pytest.fixture(scope="session")
def tools() -> dict[str, str]:
    """The real kustomize and kubeconform; CI installs them, so missing means skip only locally."""
    found = {name: _tool(name) for name in ("kustomize", "kubeconform")}
    missing = [n for n, p in found.items() if p is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"missing tools in CI: {missing}; run `bbgen tools install`")
        pytest.skip(f"missing tools: {missing}; run `bbgen tools install`")
    return {k: v for k, v in found.items() if v}
