"""The platform spec: typed models, located YAML loading, cross-field checks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bbgen.spec.models import Platform


def load_platform(path: Path, *, catalog_root: Path | None = None) -> Platform:
    """Read, validate and cross-check a spec file; raises SpecError with every located problem."""
    from bbgen.catalog import load_catalog  # lazy: importing the spec package stays cheap
    from bbgen.spec.checks import check_platform
    from bbgen.spec.loader import read_yaml, validate_model
    from bbgen.spec.models import Platform

    loaded = read_yaml(path)
    platform = validate_model(Platform, loaded)
    check_platform(platform, loaded, load_catalog(catalog_root))
    return platform
