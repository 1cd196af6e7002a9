"""The platform spec: typed models, located YAML loading, cross-field checks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bbgen.errors import SpecIssue
    from bbgen.spec.models import Platform


def load_platform(path: Path, *, catalog_root: Path | None = None, directory: Path | None = None) -> Platform:
    """Read, validate and cross-check a spec file; raises SpecError with every located problem.

    ``directory`` is what the spec's relative paths (Score files, extra manifests) are relative to:
    the spec's own directory unless a copy of the spec is checked somewhere else (promote).
    """
    from bbgen.catalog import load_catalog  # lazy: importing the spec package stays cheap
    from bbgen.errors import SpecError  # lazy
    from bbgen.spec.checks import Context, check_environments, check_platform
    from bbgen.spec.layers import layered_yaml
    from bbgen.spec.loader import read_yaml, validate_model
    from bbgen.spec.merge import remember_layered
    from bbgen.spec.sources import remember_source
    from bbgen.spec.models import Platform

    from bbgen.spec.score import expand_scores

    base_dir = directory if directory is not None else path.parent
    catalog = load_catalog(catalog_root)
    loaded = expand_scores(read_yaml(path), base_dir, catalog)  # Score files become their apps' fields, located there
    platform = validate_model(Platform, loaded)  # the base and the shape of every layer
    issues: dict[SpecIssue, None] = {}  # in check order, prod first; an issue several environments share, once
    prod_issues: set[SpecIssue] = set()
    checked: dict[str, Context] = {}
    for env in sorted(platform.environments, key=lambda e: (e != "prod", e)):  # each environment's merged spec, whole
        merged_yaml = layered_yaml(loaded, env)
        try:
            merged = validate_model(Platform, merged_yaml)
            checked[env] = check_platform(merged, merged_yaml, catalog, env=env)
        except SpecError as err:
            for found in err.issues:
                if env == "prod":
                    prod_issues.add(found)
                elif found not in prod_issues:
                    found = _in_environment(found, env)
                issues.setdefault(found, None)
            continue
        remember_layered(platform, env, merged)
        remember_source(platform, env, merged_yaml, base_dir)  # render locates escape-hatch errors with these
    if issues:
        raise SpecError(issues=list(issues))
    check_environments(checked)  # what clashes between environments, once each is sound on its own
    return platform


def _in_environment(issue: SpecIssue, env: str) -> SpecIssue:
    """Say which environment an issue is about when neither its path nor its message does (e.g. a value a layer removed)."""
    import dataclasses

    if issue.path.startswith(f"environments.{env}") or f"environment {env}" in issue.message:
        return issue
    return dataclasses.replace(issue, message=f"{issue.message} (in environment {env})")
