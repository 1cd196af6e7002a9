"""Template bugs are ours, not the user's: each is reported with the template file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bbgen.catalog import load_catalog
from bbgen.errors import TemplateError
from bbgen.render.build import build_tree
from bbgen.spec.models import Platform

from support import ROOT

COMPONENT = """\
name: broken
description: a component with a bug
delivery: kustomize
domain: db
namespace: db
image: {repository: example.org/broken, tag: "1"}
"""

SPEC = {
    "name": "demo",
    "domain": "demo.example.org",
    "gitops": {"url": "https://git.example.org", "owner": "o", "repo": "r"},
    "tls": {"acmeEmail": "ops@example.org"},
    "components": {"broken": {}},
}


def _catalog(tmp_path: Path, template: str) -> Path:
    root = tmp_path / "templates"
    for shared in sorted(p.name for p in (ROOT / "templates").iterdir() if p.name.startswith("_")):
        shutil.copytree(ROOT / "templates" / shared, root / shared)
    (root / "broken").mkdir()
    (root / "broken" / "component.yaml").write_text(COMPONENT)
    (root / "broken" / "service.yaml.j2").write_text(template)
    load_catalog.cache_clear()
    return root


@pytest.mark.parametrize(
    ("template", "line", "fragment"),
    [
        ("apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ unit.name | q }\n", 4, "template error"),
        ("apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ unit.nmae | q }}\n", 4, "nmae"),
        ("apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ unit.name }}\n", 4, "without the `q` filter"),
    ],
)
def test_template_errors_name_file_and_line(tmp_path: Path, template: str, line: int, fragment: str) -> None:
    root = _catalog(tmp_path, template)
    with pytest.raises(TemplateError) as caught:
        build_tree(Platform.model_validate(SPEC), catalog_root=root)
    assert caught.value.template == "templates/broken/service.yaml.j2"
    assert caught.value.line == line
    assert fragment in str(caught.value)


def test_rendered_document_must_be_a_kubernetes_object(tmp_path: Path) -> None:
    root = _catalog(tmp_path, "apiVersion: v1\nkind: Service\nspec: {}\n")
    with pytest.raises(TemplateError, match="document 1: has no metadata.name"):
        build_tree(Platform.model_validate(SPEC), catalog_root=root)


def test_secret_with_data_is_refused(tmp_path: Path) -> None:
    root = _catalog(tmp_path, 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: "x"\nstringData:\n  password: "hunter2"\n')
    with pytest.raises(TemplateError, match="Secret with data"):
        build_tree(Platform.model_validate(SPEC), catalog_root=root)
