"""The template contract: typed, documented, the only data templates read, built per environment.

docs/templates.md is generated from render/context.py and must be current; every
attribute chain a template or a component.yaml string reads must be a field of the
contract (so the page really is the whole story); the contract is built from the
environment's own view of the spec; and an `sso` provider works from its
component.yaml facts alone.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import shutil
import types
import typing
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import pytest
import yaml
from markdown_it import MarkdownIt

from bbgen import api
from bbgen.catalog import load_catalog, templates_root
from bbgen.render import context
from bbgen.render.build import build_tree
from bbgen.render.context_build import build_scope
from bbgen.render import context_argo, context_platform, context_readme, context_repo
from bbgen.render.context_docs import DIALECTS, REGENERATE, field_docs, hints, templates_markdown
from bbgen.render.units import build_units
from bbgen.render.inventory import build_inventory
from bbgen.spec import load_platform
from bbgen.spec.merge import env_view
from bbgen.spec.models import Platform
from support import MINIMAL_SPEC, REFERENCE, ROOT

# The variables each template folder reads, by the contract type of each. Folders not listed
# (component folders, _app, _shared) are manifest templates.
MANIFEST = [context.ManifestVariables]
ROOTS: dict[str, list[type]] = {
    "_argo": [context_argo.ApplicationVariables, context_argo.ProjectVariables],
    "_platform": [context_platform.PlatformObjectVariables],
    "_repo": [context_repo.CiVariables],
}
README = [context_readme.ReadmeVariables]


def _reachable() -> list[type]:
    out: list[type] = []
    pending = [root for _, _, root in DIALECTS]
    while pending:
        cls = pending.pop()
        if cls in out:
            continue
        out.append(cls)
        for hint in hints(cls).values():
            pending += [t for t in _mentioned(hint) if t not in out]
    return out


def _mentioned(hint: Any) -> list[type]:
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return [hint]
    return [t for arg in typing.get_args(hint) for t in _mentioned(arg)]


def test_committed_reference_is_current() -> None:
    committed = (ROOT / "docs" / "templates.md").read_text(encoding="utf-8")
    fresh = templates_markdown()
    if committed != fresh:
        diff = "".join(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True), "docs/templates.md", "fresh", n=2))
        pytest.fail(f"docs/templates.md is stale; regenerate it with `{REGENERATE}`:\n{diff}", pytrace=False)
    assert api.template_reference() == fresh


def test_every_type_and_field_is_documented_and_listed() -> None:
    page = templates_markdown()
    cells = {
        (section, row[0]) for section, row in _rows(page)
    }
    for cls in _reachable():
        assert (cls.__doc__ or "").strip(), cls
        docs = field_docs(cls)
        for f in dataclasses.fields(cls):
            assert docs.get(f.name, "").strip(), f"{cls.__name__}.{f.name} has no docstring"
        if cls not in [root for _, _, root in DIALECTS]:
            assert {name for section, name in cells if section == cls.__name__} == {f.name for f in dataclasses.fields(cls)}, cls


def _rows(markdown: str) -> list[tuple[str, list[str]]]:
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    section, row, out = "", [], []
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            section = tokens[i + 1].content
        elif token.type == "tr_open":
            row = []
        elif token.type == "td_open":
            row.append(tokens[i + 1].content.strip("`"))
        elif token.type == "tr_close" and row:
            out.append((section, row))
    return out


def _next(hint: Any) -> list[type]:
    """The contract types a field leads to (through `X | None`, `X | Y`); empty for values, lists and maps."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return [hint]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(hint) for t in _next(a)]
    return []


def _resolve(roots: list[type], chain: list[str]) -> str | None:
    """Follow ``chain`` (a variable, then attributes) through the contract; the first step no candidate type has, or None."""
    candidates = list(roots)
    for name in chain:
        if not candidates:
            return None  # a mapping, list or value: what follows is data (keys, methods), not contract
        having = [c for c in candidates if name in hints(c)]
        if not having:
            return " / ".join(f"{c.__name__}.{name}" for c in candidates)
        candidates = [t for c in having for t in _next(hints(c)[name])]
    return None


def test_templates_read_only_contract_fields() -> None:
    """Every `unit.…`, `platform.…` and `env.…` chain in every template is a path through the contract."""
    unknown = []
    templates = sorted(templates_root().rglob("*.j2"))
    assert len(templates) > 50
    checked = 0
    for path in templates:
        roots = README if path.name == "README.md.j2" else ROOTS.get(path.parent.name, MANIFEST)
        text = path.read_text(encoding="utf-8")
        names = "|".join(sorted({f.name for r in roots for f in dataclasses.fields(r)}))
        shadowed = set(re.findall(rf"\{{%-?\s*set\s+({names})\s*=", text))
        code = " ".join(re.findall(r"\{\{.*?\}\}|\{%.*?%\}", text, re.S))  # expressions and statements only
        for match in re.finditer(rf"(?<![\w.'\"])({names})((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", code):
            if match[1] in shadowed:
                continue
            checked += 1
            problem = _resolve(roots, [match[1], *match[2].lstrip(".").split(".")])
            if problem:
                unknown.append(f"{path.relative_to(templates_root())}: {match[0]} ({problem})")
    assert not unknown, "\n".join(unknown)
    assert checked > 1000


def test_component_yaml_strings_read_only_their_dialect() -> None:
    env = jinja2.Environment()
    expose = {f.name for f in dataclasses.fields(context.ExposeContext)}
    secret = {f.name for f in dataclasses.fields(context.SecretValueContext)}
    checked = 0
    for comp in load_catalog().values():
        for value in comp.expose.env.values():
            assert jinja2.meta.find_undeclared_variables(env.parse(value)) <= expose, (comp.name, value)
            checked += 1
        for s in comp.secrets:
            for key in s.keys.values():
                if key.value is not None:
                    assert jinja2.meta.find_undeclared_variables(env.parse(key.value)) <= secret, (comp.name, key.value)
                    checked += 1
    assert checked > 20


def test_the_contract_is_built_once_per_environment_and_frozen() -> None:
    platform = load_platform(REFERENCE)
    units = build_units(platform, load_catalog())
    prod, staging = build_scope(platform, load_catalog(), "prod"), build_scope(platform, load_catalog(), "staging")
    assert set(prod.units) == set(units)
    assert all(isinstance(u, context.UnitContext) for u in prod.units.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        prod.env.name = "other"  # type: ignore[misc]
    assert (prod.env.domain, staging.env.domain) == (platform.domain, f"staging.{platform.domain}")
    assert (prod.env.issuer, staging.env.issuer) == ("letsencrypt-prod", "letsencrypt-staging")
    # The staging overrides of betelgeuse.yaml, seen only by staging.
    assert staging.units["orchestrator"].replicas == 1 != prod.units["orchestrator"].replicas
    assert staging.units["postgres"].resources["requests"] == {"cpu": "250m", "memory": "512Mi"}
    assert prod.units["postgres"].resources["requests"] != staging.units["postgres"].resources["requests"]
    assert all(h.host.endswith(".staging." + platform.domain) or "." in h.host for h in staging.platform.hosts)
    assert staging.platform.sso.issuer is not None and ".staging." in staging.platform.sso.issuer
    mlflow = prod.units["mlflow"]
    assert mlflow.deps["object-store"] is mlflow.deps[platform.object_store or "minio"]


def test_env_view_applies_one_environment_and_leaves_the_base_alone() -> None:
    platform = load_platform(REFERENCE)
    view = env_view(platform, "staging")
    assert list(view.environments) == ["staging"] and view.environments["staging"].components == {}
    assert view.env_domain("staging") == platform.env_domain("staging")
    assert view.env_issuer("staging") == platform.env_issuer("staging")
    assert view.apps["orchestrator"].replicas == 1
    postgres = view.components["postgres"].resources
    assert postgres is not None and postgres.requests is not None and postgres.requests.cpu == "250m"
    assert platform.environments["staging"].components, "the base spec keeps its overrides"
    assert env_view(platform, "prod").components == platform.components


def test_a_new_sso_provider_needs_no_python(tmp_path: Path) -> None:
    """Keycloak's folder under another name and issuer path: clients, env and Secrets follow its facts."""
    root = tmp_path / "templates"
    shutil.copytree(templates_root(), root)
    (root / "keycloak").rename(root / "idp")
    meta_file = root / "idp" / "component.yaml"
    meta = yaml.safe_load(meta_file.read_text(encoding="utf-8"))
    meta.update(name="idp", namespace="identity", host="login", ports={"http": 9080, "management": 9000, "backchannel": 9081})
    meta["sso"] = {"issuerPath": "/oidc/{realm}/", "port": "backchannel"}
    meta_file.write_text(yaml.safe_dump(meta), encoding="utf-8")
    spec = yaml.safe_load(MINIMAL_SPEC)
    spec["components"] = {"postgres": {}, "idp": {}}
    spec["apps"] = {"portal": {"image": "registry.example.org/portal:1", "host": "portal", "oidc": {}}}
    platform = Platform.model_validate(spec)
    units = build_units(platform, load_catalog(root))
    assert units["portal"].sso_provider == "idp" and "idp" in units["portal"].depends_on
    tree = build_tree(platform, catalog_root=root)
    deployment = tree.docs["components/portal/base/deployment-portal.yaml"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["OIDC_ISSUER_URL"] == "https://login.demo.example.org/oidc/demo/"
    assert env["OIDC_INTERNAL_URL"] == "http://idp.identity.svc.cluster.local:9081/oidc/demo/"
    assert env["OIDC_CLIENT_SECRET"] == {"secretKeyRef": {"name": "oidc-portal", "key": "client-secret"}}
    copies = [s for s in build_inventory(platform, units).secrets if s.name == "oidc-portal"]
    assert sorted(s.namespace for s in copies) == ["apps", "identity"]


def _catalog_copy(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    shutil.copytree(templates_root(), root)
    return root


@pytest.mark.parametrize(("field", "source", "message"), [
    ("expose", "{{ nonsense.port }}", "templates/postgres/component.yaml: expose.env.POSTGRES_HOST"),
    ("secret", "{{ gitops.nothing }}", "templates/argocd/component.yaml: secrets.gitops-repo.url.value"),
])
def test_a_broken_component_yaml_string_is_a_located_template_error(tmp_path: Path, field: str, source: str, message: str) -> None:
    """Both text dialects run in the one engine: an undefined name is an error naming file and field, not a traceback."""
    from bbgen.errors import TemplateError

    root = _catalog_copy(tmp_path)
    name = "postgres" if field == "expose" else "argocd"
    meta_file = root / name / "component.yaml"
    meta = yaml.safe_load(meta_file.read_text(encoding="utf-8"))
    if field == "expose":
        meta["expose"]["env"]["POSTGRES_HOST"] = source
    else:
        (secret,) = [s for s in meta["secrets"] if s["name"] == "gitops-repo"]
        secret["keys"]["url"] = {"value": source}
    meta_file.write_text(yaml.safe_dump(meta), encoding="utf-8")
    platform = load_platform(REFERENCE)
    units = build_units(platform, load_catalog(root))
    with pytest.raises(TemplateError) as caught:
        if field == "expose":
            build_scope(platform, load_catalog(root), "prod")
        else:
            build_inventory(platform, units)
    assert caught.value.template == message
    assert ("'nonsense' is undefined" if field == "expose" else "has no attribute 'nothing'") in str(caught.value)


def test_contract_objects_go_through_q_and_tojson_as_their_fields() -> None:
    from bbgen.kube import yamlio
    from bbgen.render import engine

    route = context.Route(timeout=30, maxBodySize=None)
    assert yaml.safe_load(yamlio.quote(route)) == {"timeout": 30, "maxBodySize": None}
    text = engine.environment(None, "value").from_string("{{ r | tojson }}").render(r=route)
    assert yaml.safe_load(text) == {"maxBodySize": None, "timeout": 30}
    with pytest.raises(TypeError):
        yamlio.quote(object())
