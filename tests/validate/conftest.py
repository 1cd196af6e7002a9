"""Fixtures for the validate tests: a scratch schema cache and a write-then-validate helper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bbgen.validate import Report, validate_tree

from treekit import Files, write_tree


@pytest.fixture(autouse=True, scope="session")
def _schema_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Convert schemas once per session into a scratch cache, never into the developer's ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    yield
    mp.undo()


@pytest.fixture
def check_tree(tmp_path: Path) -> Callable[..., Report]:
    """Write a tree under tmp_path and validate it with the real tools."""

    def run(files: Files, **kwargs: Any) -> Report:
        root = write_tree(tmp_path / "tree", files)
        return validate_tree(root, **kwargs)

    return run
