"""Template bugs are ours, not the user's: each is reported with the template file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bbgen.catalog import load_catalog
from bbgen.errors import TemplateError
from bbgen.render import engine
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


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("{{ platform.missing }}", "missing"),  # undefined, as in the YAML dialect
        ("{{ platform }}", "prints only strings and numbers"),  # a mapping would print as Python's repr
        ("{{ platform.values }}", "prints only strings and numbers"),  # dict.values, not a key: a typo caught
        ("{{ flag }}", "prints only strings and numbers"),
    ],
)
def test_repository_text_templates_print_only_strings_and_numbers(tmp_path: Path, line: str, fragment: str) -> None:
    """The README, CI workflow and validate.sh are text templates; a non-text value is a located error."""
    root = _catalog(tmp_path, "")
    readme = root / "_repo" / "README.md.j2"
    readme.write_text("# title\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        engine.render_text(root, readme, {"platform": {"name": "demo"}, "flag": True}, text=True)
    assert (caught.value.template, caught.value.line) == ("templates/_repo/README.md.j2", 3)
    assert fragment in str(caught.value)
    fine = root / "_repo" / "fine.md.j2"  # compiled templates are cached per path: a new one
    fine.write_text("{{ platform.name }} {{ 3 }} {{ 'a b' | sh }} {{ 'x: y' | q }}\n", encoding="utf-8")
    assert engine.render_text(root, fine, {"platform": {"name": "demo"}}, text=True) == "demo 3 'a b' \"x: y\"\n"


def test_argo_and_platform_objects_are_templates_too(tmp_path: Path) -> None:
    """The Applications come from templates/_argo: a bug there is reported like any component template's."""
    root = _catalog(tmp_path, 'apiVersion: v1\nkind: Service\nmetadata:\n  name: "broken"\n')
    (root / "_argo" / "application.yaml.j2").write_text("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {{ app.nmae | q }}\n")
    with pytest.raises(TemplateError) as caught:
        build_tree(Platform.model_validate(SPEC), catalog_root=root)
    assert (caught.value.template, caught.value.line) == ("templates/_argo/application.yaml.j2", 4)
