"""Shared fixtures (the repository root, a scratch spec writer, the external tools, shared renders) and test marks.

Marks come from what a test uses, not from what its author remembered: a test whose
fixtures (directly or through other fixtures) include one in `_INTEGRATION_FIXTURES`,
or that lives under tests/gitea, is marked `integration` (plus `tools` / `gitea` where
that applies), so `pytest -m "not integration"` is the fast set with no outside program.

Under pytest-xdist (`-n auto --dist loadfile`, as scripts/test.sh runs it) each file's
tests run in one worker, so a module fixture (a render, pre-commit installing bbgen) is
set up once. Session fixtures run once per worker and must not collide with another
worker's: each worker has its own tmp_path_factory directory (the Gitea fixture's data
dir, scratch caches), Gitea listens on a port the kernel picked as free (retried on a
race), and what is written to a shared folder such as ~/.cache is written atomically.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Callable

import pytest

from support import MINIMAL_SPEC, REFERENCE, ROOT  # noqa: F401  (re-exported for fixtures)

if TYPE_CHECKING:
    from bbgen.validate import Report

# fixture → the marks (besides `integration`) a test using it gets.
_INTEGRATION_FIXTURES: dict[str, tuple[str, ...]] = {
    "tools": ("tools",),  # kustomize + kubeconform + helm
    "promtool": ("tools",),  # the pinned promtool (alert rules)
    "gitea_binary": ("gitea",),  # and so `gitea`, which needs it
    "kube_binaries": ("kube",),  # and so `kube_server`, which needs them
    "mermaid_parser": (),  # node + Mermaid's parser
    "hook_repo": (),  # git + pre-commit
}
# Folders whose tests all drive real outside programs (git against a real or stand-in server).
_INTEGRATION_DIRS = ("gitea",)
_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        marks = {name for fixture, extra in _INTEGRATION_FIXTURES.items() if fixture in used for name in ("integration", *extra)}
        marks |= {m.name for m in item.iter_markers() if m.name in ("tools", "gitea")}
        try:
            folder = item.path.resolve().relative_to(_TESTS).parts[0]
        except (ValueError, IndexError):
            folder = ""
        if marks or folder in _INTEGRATION_DIRS:
            marks.add("integration")
        for name in sorted(marks - {m.name for m in item.iter_markers()}):
            item.add_marker(name)


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
def promtool() -> str:
    """The pinned promtool (`bbgen tools install` builds it): missing skips locally, fails in CI or under BBGEN_REQUIRE_PROMTOOL=1."""
    found = _tool("promtool")
    if found is None:
        why = "promtool is not installed; run `bbgen tools install`"
        if os.environ.get("CI") or os.environ.get("BBGEN_REQUIRE_PROMTOOL") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return found


@pytest.fixture(scope="session")
def tools() -> dict[str, str]:
    """The real kustomize, kubeconform and helm; CI installs them, so missing means skip only locally."""
    found = {name: _tool(name) for name in ("kustomize", "kubeconform", "helm")}
    missing = [n for n, p in found.items() if p is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"missing tools in CI: {missing}; run `bbgen tools install`")
        pytest.skip(f"missing tools: {missing}; run `bbgen tools install`")
    return {k: v for k, v in found.items() if v}


@pytest.fixture(scope="session")
def shared_charts() -> Path:
    """The upstream chart trees CI renders offline: $BBGEN_CHARTS, else ../shared/charts beside the repository.

    They are reference inputs kept outside the repository (never copied in); without
    them a test that needs the real charts skips, saying where it looked.
    """
    explicit = os.environ.get("BBGEN_CHARTS")
    found = Path(explicit) if explicit else ROOT.parent / "shared" / "charts"
    if not found.is_dir():
        pytest.skip(f"no upstream chart trees at {found}: set BBGEN_CHARTS to a directory of <chart>-<version>/ trees")
    return found


@pytest.fixture(scope="session")
def reference_files() -> Mapping[str, bytes]:
    """The reference profile rendered in memory (with its manifest), once per session: read-only."""
    from bbgen.render.build import build_tree
    from bbgen.spec import load_platform

    return MappingProxyType(build_tree(load_platform(REFERENCE)).with_manifest())


@pytest.fixture(scope="session")
def output_example_report(tools: dict[str, str]) -> Report:
    """`bbgen validate output-example/` with the real tools, once per session (several tests read it)."""
    from bbgen import api

    return api.validate(ROOT / "output-example")
