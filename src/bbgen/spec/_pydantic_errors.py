"""Turn a pydantic ValidationError into located issues a YAML author can act on.

Pydantic's errors speak Python: ``loc`` uses field names rather than the aliases
people type, includes union member tags nobody wrote, and messages describe
Python types. A spec author needs the opposite: the key as written, the line it
is on, one message per mistake (a misspelt key is an unknown field, not also a
missing one; a value no union member accepts is one problem, not one per
member), and a hint at the intended spelling.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Union

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from bbgen.errors import SpecIssue
from bbgen.spec._messages import describe, finish, issue_at
from bbgen.spec._positions import LoadedYaml, Path_

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "none_required": "null",
}


@dataclass(frozen=True, slots=True)
class _Where:
    """A pydantic ``loc`` resolved against the data: the path as written plus what it means."""

    path: Path_
    owner: type[BaseModel] | None  # model whose field the last segment names, if any
    key_error: bool  # the error is about a dict key, not its value
    union: bool  # the loc ended in a union member tag: one of several alternatives that failed


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional, which pydantic does not show in ``loc``."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _pick_member(tp: Any, tag: str) -> Any:
    """Which union member pydantic's loc tag (``'str'``, ``'list[...]'``, ``'GitOps'``) names."""
    for member in typing.get_args(tp):
        inner = _unwrap(member)
        origin = typing.get_origin(inner)
        if tag.startswith("list[") and origin is list:
            return inner
        if tag.startswith("dict[") and origin is dict:
            return inner
        if isinstance(inner, type) and issubclass(inner, BaseModel) and inner.__name__ == tag:
            return inner
    return None


def _field_for(model: type[BaseModel], seg: str) -> tuple[str, Any] | None:
    """(field name, annotation) for a segment that is either the alias or the Python name."""
    for name, info in model.model_fields.items():
        if seg in (info.alias, name):
            return name, info.annotation
    return None


def _where(model: type[BaseModel], data: Any, loc: tuple[Any, ...]) -> _Where:
    """Rewrite a loc into the keys the person wrote, dropping pydantic's union tags."""
    tp: Any = model
    cur: Any = data
    path: list[str | int] = []
    owner: type[BaseModel] | None = None
    union = False
    key_error = False
    in_dict_entry = False
    for index, seg in enumerate(loc):
        tp = _unwrap(tp)
        if _is_union(tp) and isinstance(seg, str) and not (isinstance(cur, dict) and seg in cur):
            tp = _pick_member(tp, seg)
            # Only a tag that ends the loc makes this one of several "member rejected it" errors;
            # an error deeper inside a member (e.g. a list item) is specific on its own.
            union = index == len(loc) - 1
            continue
        if seg == "[key]" and in_dict_entry and index == len(loc) - 1:
            key_error = True
            break
        in_dict_entry = False
        if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(seg, str):
            owner = tp
            found = _field_for(tp, seg)
            written = seg
            if found is not None:
                name, annotation = found
                alias = tp.model_fields[name].alias or name
                if isinstance(cur, dict) and seg not in cur:
                    written = next((k for k in (alias, name) if k in cur), alias)
                tp = annotation
            else:
                tp = None
            path.append(written)
        else:
            owner = None
            origin = typing.get_origin(tp)
            args = typing.get_args(tp)
            if origin is list and args:
                tp = args[0]
            elif origin is dict and len(args) == 2:
                tp = args[1]
                in_dict_entry = True
            else:
                tp = None
            path.append(seg)
        if isinstance(cur, dict) and isinstance(seg, str):
            cur = cur.get(path[-1])
        elif isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur):
            cur = cur[seg]
        else:
            cur = None
    return _Where(path=tuple(path), owner=owner, key_error=key_error, union=union)


def _human(err: ErrorDetails, where: _Where) -> str:
    """Turn one pydantic error into a sentence a YAML author can act on."""
    kind = err["type"]
    given = err.get("input")
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return _unknown_field(where)
    msg = str(err.get("msg", "invalid value"))
    msg = re.sub(r"\s*For further information visit \S+", "", msg)
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if kind in _EXPECTED and kind not in ("int_parsing", "float_parsing", "bool_parsing", "int_from_float"):
        msg = f"Input should be {_EXPECTED[kind]}, got {describe(given)}"
        if kind == "string_type" and isinstance(given, (int, float, bool)):
            msg += " (put the value in quotes to keep it as text)"
    if where.key_error:
        msg = f"invalid key: {msg}"
    return msg


def _unknown_field(where: _Where) -> str:
    """Point at the intended key: a typo is far more likely than a field that does not exist."""
    if where.owner is None or not where.path:
        return "unknown field"
    known = [info.alias or name for name, info in where.owner.model_fields.items()]
    written = str(where.path[-1])
    close = difflib.get_close_matches(written, known, n=1, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in known}
        squashed = written.replace("_", "").replace("-", "").lower()
        close = [lowered[squashed]] if squashed in lowered else []
    if close:
        return f"unknown field; did you mean {close[0]!r}?"
    return f"unknown field (allowed here: {', '.join(known)})"


def _combine_union(errors: list[ErrorDetails]) -> str:
    """One message for all the members of a union that rejected the same value."""
    expected: list[str] = []
    for err in errors:
        label = _EXPECTED.get(err["type"])
        if label is None:
            return "; ".join(dict.fromkeys(_human(e, _Where((), None, False, False)) for e in errors))
        if label not in expected:
            expected.append(label)
    wanted = expected[0] if len(expected) == 1 else ", ".join(expected[:-1]) + " or " + expected[-1]
    return f"Input should be {wanted}, got {describe(errors[0].get('input'))}"


def _squash(name: object) -> str:
    return str(name).lower().replace("_", "").replace("-", "")


def _drop_misspelt_missing(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """`acme_email:` written for `acmeEmail:` is one mistake: keep the unknown-field error only."""
    extras = {(tuple(e["loc"][:-1]), _squash(e["loc"][-1])) for e in errors if e["type"] == "extra_forbidden" and e["loc"]}
    return [
        e for e in errors
        if not (e["type"] == "missing" and e["loc"] and (tuple(e["loc"][:-1]), _squash(e["loc"][-1])) in extras)
    ]


def located_issues(model: type[BaseModel], loaded: LoadedYaml, errors: list[ErrorDetails]) -> list[SpecIssue]:
    """Every pydantic error for ``loaded`` as a located issue, sorted and de-duplicated."""
    issues: list[SpecIssue] = []
    unions: dict[Path_, list[ErrorDetails]] = {}
    errors = _drop_misspelt_missing(errors)
    resolved = [(err, _where(model, loaded.data, tuple(err["loc"]))) for err in errors]
    for err, where in resolved:
        if where.union:
            unions.setdefault(where.path, []).append(err)
            continue
        if err["type"] == "extra_forbidden" or where.key_error:
            pos = loaded.positions.key(where.path) or loaded.positions.locate(where.path)
        else:
            pos = loaded.positions.locate(where.path)
        issues.append(issue_at(loaded.file_at(where.path), pos, loaded.positions.origin(where.path), _human(err, where)))
    all_paths = [where.path for _, where in resolved]
    for path, group in unions.items():
        # A member that got further (e.g. the list member failing on one item) explains more.
        if any(len(p) > len(path) and p[: len(path)] == path for p in all_paths):
            continue
        issues.append(issue_at(loaded.file_at(path), loaded.positions.locate(path), loaded.positions.origin(path), _combine_union(group)))
    return finish(issues)
