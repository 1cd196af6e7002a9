"""The marks tests/conftest.py derives from fixture use: `-m "not integration"` must leave no outside program."""

from __future__ import annotations

import pytest


def test_integration_marks_follow_fixture_use(request: pytest.FixtureRequest) -> None:
    items = request.session.items
    by_id = {item.nodeid: item for item in items}
    for item in items:
        names = {m.name for m in item.iter_markers()}
        used = set(getattr(item, "fixturenames", ()))
        if used & {"tools", "gitea", "gitea_binary", "mermaid_parser", "hook_repo"} or names & {"tools", "gitea"}:
            assert "integration" in names, item.nodeid
        if "tools" in used:
            assert "tools" in names, item.nodeid
        if "gitea" in used:
            assert "gitea" in names, item.nodeid
    assert "integration" not in {m.name for m in request.node.iter_markers()}
    push = [item for nodeid, item in by_id.items() if nodeid.startswith("tests/gitea/test_push.py::")]
    assert all(item.get_closest_marker("integration") for item in push)
