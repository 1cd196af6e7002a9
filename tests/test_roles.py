"""Roles and declared facts, not names, decide what the code does with platform-level components.

Each test edits a copy of the shipped catalog, only in component.yaml, and shows
the render follow: the fact or role moved, the behaviour moved with it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen.catalog import load_catalog, templates_root
from bbgen.errors import CatalogError
from bbgen.render.build import build_tree
from bbgen.spec import load_platform
from support import ROOT

MINIMAL = ROOT / "profiles" / "minimal.yaml"


def _catalog(tmp_path: Path, name: str, **changes: Any) -> Path:
    """A copy of the catalog with ``changes`` applied to one component.yaml (None deletes a key)."""
    root = tmp_path / "templates"
    shutil.copytree(templates_root(), root)
    meta_file = root / name / "component.yaml"
    meta = yaml.safe_load(meta_file.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    meta_file.write_text(yaml.safe_dump(meta), encoding="utf-8")
    return root


def _finalizers(tree: Any, path: str) -> list[str]:
    return list(tree.docs[path]["metadata"].get("finalizers", []))


def test_the_self_managed_fact_keeps_the_finalizer_off(tmp_path: Path) -> None:
    platform = load_platform(MINIMAL)
    shipped = build_tree(platform)
    assert _finalizers(shipped, "apps/prod/argocd.yaml") == []
    assert _finalizers(shipped, "apps/prod/postgres.yaml") == ["resources-finalizer.argocd.argoproj.io/foreground"]
    edited = build_tree(platform, catalog_root=_catalog(tmp_path, "argocd", selfManaged=None))
    assert _finalizers(edited, "apps/prod/argocd.yaml") == ["resources-finalizer.argocd.argoproj.io/foreground"]


def test_the_metrics_role_opens_the_scrape_path(tmp_path: Path) -> None:
    platform = load_platform(MINIMAL)
    scrape = [p for p in build_tree(platform).files if p.endswith("-allow-prometheus-scrape.yaml")]
    assert scrape, "every isolated namespace admits the metrics provider"
    edited = build_tree(platform, catalog_root=_catalog(tmp_path, "prometheus", provides=[]))
    assert not [p for p in edited.files if p.endswith("-allow-prometheus-scrape.yaml")]


def test_the_edge_gateway_role_places_the_gateway(tmp_path: Path) -> None:
    """Routes attach to the Gateway in the namespace of whatever provides `edge-gateway`."""
    platform = load_platform(MINIMAL)
    root = _catalog(tmp_path, "gateway", namespace="edge")
    tree = build_tree(platform, catalog_root=root)
    routes = [d for d in tree.docs.values() if isinstance(d, dict) and d.get("kind") == "HTTPRoute"]
    assert routes and {ref["namespace"] for r in routes for ref in r["spec"]["parentRefs"]} == {"edge"}


def test_an_sso_provider_must_declare_its_issuer(tmp_path: Path) -> None:
    root = _catalog(tmp_path, "keycloak", sso=None)
    with pytest.raises(CatalogError, match="sso.issuerPath"):
        load_catalog(root)
    bad_port = _catalog(tmp_path / "port", "keycloak", sso={"issuerPath": "/realms/{realm}", "port": "nope"})
    with pytest.raises(CatalogError, match="sso.port 'nope'"):
        load_catalog(bad_port)
