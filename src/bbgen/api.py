"""The public operations; the CLI is a thin mapping of options onto these.

Each function takes plain values (paths, flags), never CLI objects, and raises
``bbgen.errors.BbgenError`` subclasses; it prints nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from bbgen.render.tree import Tree
    from bbgen.render.write import WriteResult
    from bbgen.validate import Report


def build(spec: Path) -> Tree:
    """Load the spec and render the repository in memory."""
    from bbgen.render.build import build_tree
    from bbgen.spec import load_platform

    return build_tree(load_platform(spec))


def render(spec: Path, out: Path) -> WriteResult:
    """Render ``spec`` into ``out``: only changed bytes are written, only owned files removed."""
    from bbgen.render.write import write_tree

    return write_tree(build(spec), out)


def validate(directory: Path, *, kubernetes_version: str | None = None, log: Callable[[str], None] | None = None) -> Report:
    """kustomize build + kubeconform + cross-resource checks over a rendered directory."""
    from bbgen.errors import UsageError
    from bbgen.validate import validate_tree

    if not directory.is_dir():
        raise UsageError(message=f"{directory}: no such directory", hint="pass the directory `bbgen render --out` wrote")
    return validate_tree(directory, kubernetes_version=kubernetes_version, log=log)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the spec, for editors (yaml-language-server `$schema`)."""
    from bbgen.spec.models import Platform

    schema = Platform.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://bbgen.dev/schema/platform.json"
    return schema
