"""The component catalog: one folder per component under ``templates/``.

A component is data (``component.yaml``) plus Jinja2 templates, so adding one
adds a folder and no Python. The metadata is a pydantic discriminated union on
``delivery``: Kustomize-delivered components own their manifests, chart-delivered
ones pin an upstream Helm chart and render only its values file.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from bbgen.catalog.facts import Login
from bbgen.catalog.models import AnyComponent, ChartComponent, Component, GitComponent, KustomizeComponent, _Wrapper
from bbgen.catalog.wiring import ConsumerSecretMeta, SecretKeyMeta, SecretMeta, consumer_secret_name
from bbgen.errors import CatalogError
from bbgen.kube import yamlio

__all__ = [
    "AnyComponent",
    "ChartComponent",
    "ConsumerSecretMeta",
    "Component",
    "GitComponent",
    "KustomizeComponent",
    "Login",
    "SecretKeyMeta",
    "SecretMeta",
    "catalog_roles",
    "consumer_secret_name",
    "data_dir",
    "json_schema",
    "json_schema_text",
    "load_catalog",
    "role_home",
    "role_provider",
    "templates_root",
]


SCHEMA_ID = "https://bbgen.dev/schema/component.json"
SCHEMA_COMMAND = "python -m bbgen.catalog > docs/component.schema.json"


def json_schema() -> dict[str, Any]:
    """JSON Schema of a templates/<name>/component.yaml, generated from the models above.

    Committed as docs/component.schema.json (a test keeps it current and checks every
    shipped component against it), so catalog authors get completion and checking in
    their editor; ``delivery`` picks which of the three kinds a file is.
    """
    schema: dict[str, Any] = TypeAdapter(Component).json_schema(by_alias=True)
    for definition in schema.get("$defs", {}).values():
        definition.get("properties", {}).pop("folder", None)  # set by the loader, never written
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "bbgen catalog component (templates/<name>/component.yaml)"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def data_dir(name: str) -> Path:
    """A shipped data folder: inside the wheel (bbgen/_data/NAME), or the checkout's top-level NAME/."""
    here = Path(__file__).resolve().parent.parent  # the bbgen package
    for candidate in (here / "_data" / name, here.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise CatalogError(file=here, message=f"{name}/ not found: is bbgen installed correctly?")


def templates_root() -> Path:
    return data_dir("templates")


@functools.cache
def load_catalog(root: Path | None = None) -> dict[str, AnyComponent]:
    """Every component under ``root``, by name. Cached: the catalog never changes during a run."""
    root = root or templates_root()
    catalog: dict[str, AnyComponent] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        meta_file = folder / "component.yaml"
        if not meta_file.is_file():
            raise CatalogError(file=folder, message="component folder without component.yaml")
        try:
            raw = yamlio.load(meta_file.read_text(encoding="utf-8"))
        except yamlio.YAMLError as exc:
            raise CatalogError(file=meta_file, message=str(exc)) from None
        if not isinstance(raw, dict):
            raise CatalogError(file=meta_file, message="must be a mapping")
        try:
            component = _Wrapper.model_validate({"component": raw}).component
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'][2:])}: {err['msg']}" for err in exc.errors()
            )
            raise CatalogError(file=meta_file, message=detail) from None
        if component.name != folder.name:
            raise CatalogError(file=meta_file, message=f"name {component.name!r} must equal the folder name")
        catalog[component.name] = component.model_copy(update={"folder": folder})
    roles = catalog_roles(catalog)
    for component in catalog.values():
        for role in component.provides:
            if role in catalog:
                raise CatalogError(file=component.folder / "component.yaml", message=f"provides {role!r}, which is a component name")
        for dep in component.depends_on + component.uses:
            if dep not in catalog and dep not in roles:
                raise CatalogError(file=component.folder / "component.yaml", message=f"depends on unknown {dep!r}")
    return catalog


def catalog_roles(catalog: dict[str, AnyComponent]) -> dict[str, list[str]]:
    """Role name → the components that provide it, sorted."""
    roles: dict[str, list[str]] = {}
    for name in sorted(catalog):
        for role in catalog[name].provides:
            roles.setdefault(role, []).append(name)
    return roles


def role_home(catalog: dict[str, AnyComponent], role: str) -> str | None:
    """The namespace the catalog's first provider of ``role`` deploys to, enabled or not.

    For objects that must name a namespace even when the platform does not run the
    provider itself (Argo CD Applications live where Argo CD does).
    """
    providers = catalog_roles(catalog).get(role, [])
    return catalog[providers[0]].namespace if providers else None


def role_provider(catalog: dict[str, AnyComponent], role: str, enabled: Iterable[str]) -> str | None:
    """The enabled component filling ``role`` (the first by name when several are), or None.

    The one way code finds "the SSO server" or "the ingress controller": by the role
    a component declares in its component.yaml, never by its name.
    """
    on = set(enabled)
    return next((name for name in catalog_roles(catalog).get(role, []) if name in on), None)
