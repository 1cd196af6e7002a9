"""Read a spec file into plain Python data that remembers where every value was written.

People fix specs by jumping to ``FILE:LINE:COL``, so every problem this module
reports, from an unreadable file to a pydantic validation error deep in a list,
carries an exact 1-based position and the dotted path written with the YAML keys
the person typed. Nothing here may escape as a traceback: every failure becomes
a :class:`~bbgen.errors.SpecError`, which the CLI turns into exit code 2.

This is the only module the rest of bbgen imports for that; the work lives in
private modules so each stays small enough to read whole:

* :mod:`~bbgen.spec._yaml_tree` - bytes to YAML nodes, with positions and the
  size, depth and alias limits that make hostile input safe;
* :mod:`~bbgen.spec._yaml_data` - nodes to plain data under the YAML 1.2 core schema;
* :mod:`~bbgen.spec._pydantic_errors` - pydantic errors to located, human messages;
* :mod:`~bbgen.spec._positions` and :mod:`~bbgen.spec._messages` - what they share.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError

from bbgen.errors import SpecError, SpecIssue
from bbgen.spec._messages import describe, finish, format_path, issue_at, printable
from bbgen.spec._positions import LoadedYaml, Path_, Positions
from bbgen.spec._pydantic_errors import located_issues
from bbgen.spec._yaml_data import Converter
from bbgen.spec._yaml_tree import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, Fatal, compose, read_text

if TYPE_CHECKING:
    from bbgen.spec.models import Platform

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "LoadedYaml",
    "Path_",
    "Positions",
    "format_path",
    "issue",
    "load_spec",
    "read_yaml",
    "validate_model",
]

M = TypeVar("M", bound=BaseModel)


def issue(loaded: LoadedYaml, path: Path_, message: str) -> SpecIssue:
    """A located issue for a cross-field check done after validation (e.g. an unknown dependency)."""
    return issue_at(loaded.file_at(path), loaded.positions.locate(path), loaded.positions.origin(path), message)


def read_yaml(path: Path, *, display_name: str | None = None) -> LoadedYaml:
    """Load one YAML mapping from ``path`` or raise a SpecError listing every located problem."""
    file = printable(display_name if display_name is not None else str(path))
    kind = _special_kind(path)
    if kind is not None:  # opening a FIFO blocks until a writer comes: refuse instead of hanging
        raise SpecError(issues=[issue_at(file, (1, 1), (), f"is a {kind}, not a regular file; pass the spec file itself")])
    try:
        text = read_text(path)
        root = compose(text)
    except Fatal as fatal:
        raise SpecError(issues=[issue_at(file, fatal.pos, fatal.path, fatal.message)]) from None
    except RecursionError:  # defensive: the builder is iterative, but a traceback is never acceptable
        raise SpecError(issues=[issue_at(file, (1, 1), (), "document nested too deeply")]) from None
    if root is None:
        raise SpecError(issues=[issue_at(file, (1, 1), (), "file is empty (it holds no YAML document, only blanks or comments)")])
    converter = Converter(file)
    data, pos_root = converter.convert(root, ())
    issues = list(converter.issues)
    if not isinstance(data, dict):
        issues.append(issue_at(
            file, pos_root.value or (1, 1), (),
            f"the top level of the file must be a mapping of keys to values, not {describe(data)}",
        ))
    if issues:
        raise SpecError(issues=finish(issues))
    return LoadedYaml(file=file, data=data, positions=Positions(pos_root))


def _special_kind(path: Path) -> str | None:
    """What a non-regular, non-directory ``path`` is (after symlinks); None for a file, a directory or an error left to the reader."""
    import stat

    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def validate_model(model: type[M], loaded: LoadedYaml) -> M:
    """Validate with pydantic and report every error at once, each located in the file."""
    try:
        return model.model_validate(loaded.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    raise SpecError(issues=located_issues(model, loaded, errors)) from None


def load_spec(path: Path) -> Platform:
    """Read and validate a platform spec file (its Score files read too; no cross-field checks)."""
    from bbgen.catalog import load_catalog  # lazy
    from bbgen.spec.models import Platform
    from bbgen.spec.score import expand_scores  # lazy

    return validate_model(Platform, expand_scores(read_yaml(path), path.parent, load_catalog()))
