"""The platform spec: typed models, located YAML loading, cross-field checks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bbgen.spec.models import Platform


def load_platform(path: Path, *, catalog_root: Path | None = None) -> Platform:
    """Read, validate and cross-check a spec file; raises SpecError with every located problem."""
    from bbgen.catalog import load_catalog  # lazy: importing the spec package stays cheap
    from bbgen.errors import SpecError, SpecIssue  # lazy
    from bbgen.spec.checks import check_platform
    from bbgen.spec.layers import layered_yaml
    from bbgen.spec.loader import read_yaml, validate_model
    from bbgen.spec.merge import remember_layered
    from bbgen.spec.models import Platform

    loaded = read_yaml(path)
    platform = validate_model(Platform, loaded)  # the base and the shape of every layer
    catalog = load_catalog(catalog_root)
    issues: list[SpecIssue] = []
    for env in sorted(platform.environments, key=lambda e: (e != "prod", e)):  # each environment's merged spec, whole
        merged_yaml = layered_yaml(loaded, env)
        try:
            merged = validate_model(Platform, merged_yaml)
            check_platform(merged, merged_yaml, catalog)
        except SpecError as err:
            issues.extend(err.issues)
            continue
        remember_layered(platform, env, merged)
    if issues:
        raise SpecError(issues=list(dict.fromkeys(issues)))  # in check order, repeats across environments once
    return platform
