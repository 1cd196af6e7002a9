"""Read a spec file into plain Python data that remembers where every value was written.

People fix specs by jumping to ``FILE:LINE:COL``, so every problem this module
reports, from an unreadable file to a pydantic validation error deep in a list,
carries an exact 1-based position and the dotted path written with the YAML keys
the person typed. Nothing here may escape as a traceback: every failure becomes
a :class:`~bbgen.errors.SpecError`, which the CLI turns into exit code 2.

The tree is built from ruamel.yaml's *event* stream rather than from its
constructors. Events carry the position of every node, including each alias
use, and walking them ourselves lets us bound an alias bomb's expanded size
before expanding anything, keep Python's recursion limit out of reach, and apply
the YAML 1.2 core schema exactly (``yes`` and ``2024-01-01`` stay strings; there
are no timestamps, sets or binary values in a platform spec).
"""

from __future__ import annotations

import difflib
import math
import re
import types
import typing
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Union

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bbgen.errors import SpecError, SpecIssue

if TYPE_CHECKING:
    from bbgen.spec.models import Platform

Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

MAX_FILE_BYTES = 5 * 1024 * 1024
"""A platform spec is a few kilobytes; anything this big is a mistake, not a spec."""
MAX_NODES = 100_000
"""Bound on the document's size with every alias expanded (defeats "billion laughs")."""
MAX_DEPTH = 64
"""Bound on collection nesting, aliases included; real specs nest about six deep."""

_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_CORE + t for t in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ, _MERGE = _CORE + "map", _CORE + "seq", _CORE + "merge"

# The YAML 1.2 core schema (spec section 10.3.2), nothing more.
_NULL_RE = re.compile(r"(?:~|null|Null|NULL|)\Z")
_TRUE_RE = re.compile(r"(?:true|True|TRUE)\Z")
_FALSE_RE = re.compile(r"(?:false|False|FALSE)\Z")
_DEC_RE = re.compile(r"[-+]?[0-9]+\Z")
_OCT_RE = re.compile(r"0o[0-7]+\Z")
_HEX_RE = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT_RE = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_INF_RE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z")
_NAN_RE = re.compile(r"\.(?:nan|NaN|NAN)\Z")

_SIMPLE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+\Z")


# --------------------------------------------------------------------------- positions


@dataclass(slots=True, eq=False)
class _PosNode:
    """Positions of one node; a tree (not a flat dict) so merge keys can graft whole subtrees."""

    key: tuple[int, int] | None = None
    value: tuple[int, int] | None = None
    children: dict[str | int, _PosNode] = field(default_factory=dict)


class Positions:
    """Where every key and value of a loaded document was written (1-based line, column).

    Values reached through an alias are located inside the anchored text, except the
    alias itself: the value position of ``key: *anchor`` is the ``*anchor``.
    """

    def __init__(self, root: _PosNode | None = None) -> None:
        self._root = root if root is not None else _PosNode(value=(1, 1))

    def _find(self, path: Path_) -> _PosNode | None:
        node: _PosNode | None = self._root
        for seg in path:
            if node is None:
                return None
            node = node.children.get(seg)
        return node

    def key(self, path: Path_) -> tuple[int, int] | None:
        """Position of the mapping key at ``path`` (None for list items, the root, unknown paths)."""
        node = self._find(path)
        return node.key if node is not None else None

    def value(self, path: Path_) -> tuple[int, int] | None:
        """Position of the value node at ``path``."""
        node = self._find(path)
        return node.value if node is not None else None

    def locate(self, path: Path_) -> tuple[int, int]:
        """Best place to send a reader for ``path``, even when the path does not exist.

        A missing field has no text of its own, so the nearest thing the person can
        edit is the key of the mapping that lacks it (or the list item / document
        start when that mapping has no key).
        """
        found = self.value(path) or self.key(path)
        if found is not None:
            return found
        for cut in range(len(path) - 1, -1, -1):
            parent = path[:cut]
            found = self.key(parent) or self.value(parent)
            if found is not None:
                return found
        return (1, 1)


@dataclass(frozen=True)
class LoadedYaml:
    """A parsed file: plain data (dict/list/str/int/float/bool/None) plus where it came from."""

    file: str
    data: Any
    positions: Positions


# --------------------------------------------------------------------------- text helpers


def _printable(text: str) -> str:
    """Escape what a terminal cannot show (controls, lone surrogates) so output is always valid UTF-8."""
    if text.isprintable():
        return text
    out: list[str] = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            o = ord(ch)
            out.append(f"\\x{o:02x}" if o <= 0xFF else f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}")
    return "".join(out)


def _show(value: Any) -> str:
    """A short, printable rendering of a user value for use inside a message."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return _printable(text)


def format_path(path: Path_) -> str:
    """Render a path the way the YAML reads, so people can search for it.

    Keys that would be ambiguous after a dot (containing dots, spaces, quotes or
    nothing at all) are written in brackets as quoted strings.
    """
    out: list[str] = []
    for seg in path:
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        elif _SIMPLE_KEY_RE.match(seg):
            out.append(f".{seg}" if out else seg)
        else:
            escaped = seg.replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'["{escaped}"]')
    return _printable("".join(out))


def _position_of_index(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character offset (for errors that only know an offset)."""
    index = max(0, min(index, len(text)))
    before = text[:index]
    line = before.count("\n") + 1
    start = before.rfind("\n") + 1
    return line, index - start + 1


def _describe(value: Any) -> str:
    """What a value is, in the words a YAML author uses."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, (int, float)):
        return f"the number {_show(value)}"
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return _show(value)


def _issue_at(file: str, pos: tuple[int, int], path: Path_, message: str) -> SpecIssue:
    return SpecIssue(file=file, line=pos[0], column=pos[1], path=format_path(path), message=_printable(message))


def _finish(issues: list[SpecIssue]) -> list[SpecIssue]:
    """Sort by position (then path) and drop exact repeats, so output is stable and short."""
    return sorted(set(issues), key=lambda i: (i.line, i.column, i.path, i.message))


def issue(loaded: LoadedYaml, path: Path_, message: str) -> SpecIssue:
    """A located issue for a cross-field check done after validation (e.g. an unknown dependency)."""
    return _issue_at(loaded.file, loaded.positions.locate(path), path, message)


# --------------------------------------------------------------------------- reading bytes


class _Fatal(Exception):
    """Internal: stops reading at the first problem nothing useful can follow."""

    def __init__(self, pos: tuple[int, int], message: str, path: Path_ = ()) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message
        self.path = path


_UTF16_32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")


def _read_text(path: Path) -> str:
    """Read and decode the file; UTF-8 only, because a spec lives in git and is edited as text."""
    try:
        if path.is_dir():
            raise _Fatal((1, 1), "is a directory, not a file")
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except _Fatal:
        raise
    except FileNotFoundError:
        raise _Fatal((1, 1), "file not found") from None
    except IsADirectoryError:
        raise _Fatal((1, 1), "is a directory, not a file") from None
    except PermissionError:
        raise _Fatal((1, 1), "permission denied") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise _Fatal((1, 1), f"cannot read file: {reason}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise _Fatal((1, 1), f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; a spec should be a few KiB")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith(_UTF16_32_BOMS):
        raise _Fatal((1, 1), "file is UTF-16 or UTF-32 encoded; save it as UTF-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = raw[: exc.start].decode("utf-8", errors="replace")
        pos = _position_of_index(prefix, len(prefix))
        raise _Fatal(pos, f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} cannot be decoded)") from None


# --------------------------------------------------------------------------- events -> nodes


@dataclass(slots=True, eq=False)
class _Node:
    """One YAML node as written; ``size``/``depth`` are the values with aliases expanded."""

    pos: tuple[int, int]
    tag: str | None
    size: int = 1
    depth: int = 0
    closed: bool = False


@dataclass(slots=True, eq=False)
class _Scalar(_Node):
    text: str = ""
    plain: bool = True


@dataclass(slots=True, eq=False)
class _Seq(_Node):
    items: list[_Node] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class _Map(_Node):
    flat: list[_Node] = field(default_factory=list)  # key, value, key, value, ...


@dataclass(slots=True, eq=False)
class _Alias(_Node):
    name: str = ""
    target: _Node | None = None


def _mark(mark: Any) -> tuple[int, int]:
    return (int(mark.line) + 1, int(mark.column) + 1)


def _yaml_error(text: str, exc: Exception) -> _Fatal:
    """Translate any ruamel failure into a located, readable problem."""
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.reader import ReaderError

    if isinstance(exc, ReaderError):
        pos = _position_of_index(text, int(exc.position))
        char = exc.character
        shown = f"#x{char:04x}" if isinstance(char, int) else _show(char)
        return _Fatal(pos, f"unacceptable character {shown}: {exc.reason}")
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        pos = _mark(mark) if mark is not None else (1, 1)
        problem = str(exc.problem or exc.context or "invalid YAML").strip()
        message = f"YAML syntax error: {problem}"
        if exc.context and exc.problem and exc.context_mark is not None and _mark(exc.context_mark) != pos:
            line, col = _mark(exc.context_mark)
            message += f" ({exc.context.strip()} at line {line}, column {col})"
        return _Fatal(pos, message)
    # ruamel has raised plain Python exceptions on some malformed input; still locate what we can.
    return _Fatal((1, 1), f"YAML syntax error: {type(exc).__name__}: {exc}")


def _events(text: str) -> Iterator[Any]:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yield from yaml.parse(text)


def _compose(text: str) -> _Node | None:
    """Build the single document's node tree, enforcing the size, depth and one-document limits."""
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        DocumentStartEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceStartEvent,
    )

    root: _Node | None = None
    stack: list[_Seq | _Map] = []
    anchors: dict[str, _Node] = {}
    documents = 0
    total = 0

    def attach(node: _Node) -> None:
        nonlocal root
        if not stack:
            root = node
        elif isinstance(stack[-1], _Seq):
            stack[-1].items.append(node)
        else:
            stack[-1].flat.append(node)

    def count(pos: tuple[int, int], amount: int, what: str) -> None:
        nonlocal total
        total += amount
        if total > MAX_NODES:
            raise _Fatal(pos, f"{what} makes the document larger than {MAX_NODES} nodes")

    events = _events(text)
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                event = next(events, None)
        except _Fatal:
            raise
        except Exception as exc:  # noqa: BLE001 - every parser failure must become a located SpecError
            raise _yaml_error(text, exc) from None
        if event is None:
            break
        if isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _Fatal(_mark(event.start_mark), "only one YAML document is allowed per file (found a second one here)")
            continue
        pos = _mark(event.start_mark)
        if isinstance(event, AliasEvent):
            target = anchors.get(event.anchor)
            if target is None:
                raise _Fatal(pos, f"alias *{_printable(str(event.anchor))} refers to an anchor that is not defined before it")
            if not target.closed:
                raise _Fatal(pos, f"alias *{_printable(str(event.anchor))} refers to a node that contains it (recursive alias)")
            if len(stack) + target.depth > MAX_DEPTH:
                raise _Fatal(pos, f"alias *{_printable(str(event.anchor))} nests the document deeper than {MAX_DEPTH} levels")
            count(pos, target.size, f"alias *{_printable(str(event.anchor))}")
            attach(_Alias(pos=pos, tag=None, size=target.size, depth=target.depth, closed=True,
                          name=str(event.anchor), target=target))
        elif isinstance(event, ScalarEvent):
            count(pos, 1, "this value")
            plain = event.style is None or event.style == ""
            node: _Node = _Scalar(pos=pos, tag=_tag(event.tag), closed=True, text=str(event.value), plain=plain)
            if event.anchor is not None:
                anchors[str(event.anchor)] = node
            attach(node)
        elif isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            if len(stack) + 1 > MAX_DEPTH:
                raise _Fatal(pos, f"collections are nested deeper than {MAX_DEPTH} levels")
            count(pos, 1, "this collection")
            coll: _Seq | _Map = (
                _Map(pos=pos, tag=_tag(event.tag)) if isinstance(event, MappingStartEvent) else _Seq(pos=pos, tag=_tag(event.tag))
            )
            if event.anchor is not None:
                anchors[str(event.anchor)] = coll
            attach(coll)
            stack.append(coll)
        elif isinstance(event, CollectionEndEvent):
            done = stack.pop()
            children = done.items if isinstance(done, _Seq) else done.flat
            done.size = 1 + sum(c.size for c in children)
            done.depth = 1 + max((c.depth for c in children), default=0)
            done.closed = True
    return root


def _tag(tag: Any) -> str | None:
    return None if tag is None else str(tag)


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag if tag.startswith("!") else f"!<{tag}>"


# --------------------------------------------------------------------------- nodes -> plain data


class _Converter:
    """Turns the node tree into plain data and a position tree, collecting non-fatal problems."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[SpecIssue] = []
        self._seen: set[tuple[tuple[int, int], str]] = set()

    def problem(self, pos: tuple[int, int], path: Path_, message: str) -> None:
        # An anchored subtree is converted once per alias; its problems are reported once,
        # under the path of its first use.
        if (pos, message) not in self._seen:
            self._seen.add((pos, message))
            self.issues.append(_issue_at(self.file, pos, path, message))

    def convert(self, node: _Node, path: Path_) -> tuple[Any, _PosNode]:
        at = node.pos
        while isinstance(node, _Alias):
            assert node.target is not None
            node = node.target
        if isinstance(node, _Scalar):
            return self.scalar(node, path), _PosNode(value=at)
        if isinstance(node, _Seq):
            if node.tag not in (None, "!", _SEQ):
                self.problem(node.pos, path, f"unsupported tag {_show_tag(node.tag)} on a list")
            pos_node = _PosNode(value=at)
            items: list[Any] = []
            for index, item in enumerate(node.items):
                value, child = self.convert(item, (*path, index))
                items.append(value)
                pos_node.children[index] = child
            return items, pos_node
        assert isinstance(node, _Map)
        return self.mapping(node, path, at)

    def scalar(self, node: _Scalar, path: Path_) -> Any:
        text, tag = node.text, node.tag
        if tag is None:
            value = _resolve_plain(text) if node.plain else text
        elif tag in ("!", _STR):
            value = text
        elif tag == _NULL:
            value = None
            if not _NULL_RE.match(text):
                self.problem(node.pos, path, f"{_show(text)} is not a valid !!null")
        elif tag == _BOOL:
            value = True if _TRUE_RE.match(text) else False if _FALSE_RE.match(text) else None
            if value is None:
                self.problem(node.pos, path, f"{_show(text)} is not a valid !!bool (use true or false)")
        elif tag in (_INT, _FLOAT):
            value = _resolve_plain(text)
            ok = isinstance(value, int) and not isinstance(value, bool)
            if tag == _FLOAT:
                ok = ok or isinstance(value, float)
                value = float(value) if ok else value
            if not ok:
                self.problem(node.pos, path, f"{_show(text)} is not a valid {_show_tag(tag)}")
        else:
            self.problem(
                node.pos, path,
                f"unsupported tag {_show_tag(tag)} (only !!str, !!int, !!float, !!bool, !!null, !!map and !!seq are allowed)",
            )
            value = text
        if isinstance(value, str) and _has_surrogate(value):
            self.problem(node.pos, path, "text contains an unpaired UTF-16 surrogate escape, which is not valid Unicode")
        return value

    def mapping(self, node: _Map, path: Path_, at: tuple[int, int]) -> tuple[dict[str, Any], _PosNode]:
        if node.tag not in (None, "!", _MAP):
            self.problem(node.pos, path, f"unsupported tag {_show_tag(node.tag)} on a mapping")
        result: dict[str, Any] = {}
        pos_node = _PosNode(value=at)
        first_seen: dict[str, tuple[int, int]] = {}
        merges: list[tuple[_Node, Path_]] = []
        for key_node, value_node in zip(node.flat[0::2], node.flat[1::2]):
            target = _deref(key_node)
            if isinstance(target, _Scalar) and target.plain and target.text == "<<" and target.tag in (None, _MERGE):
                merges.append((value_node, path))
                continue
            if not isinstance(target, _Scalar):
                kind = "a mapping" if isinstance(target, _Map) else "a list"
                self.problem(key_node.pos, path, f"a mapping key must be a string, not {kind}")
                continue
            key = self.scalar(target, path)
            if not isinstance(key, str):
                shown = "null" if key is None else ("true" if key else "false") if isinstance(key, bool) else _show(key)
                self.problem(
                    key_node.pos, path,
                    f"a mapping key must be a string, not {shown} (put the key in quotes if it is meant as text)",
                )
                continue
            if key in first_seen:
                self.problem(
                    key_node.pos, (*path, key),
                    f"duplicate key {_show(key)} (first defined on line {first_seen[key][0]})",
                )
                continue
            first_seen[key] = key_node.pos
            value, child = self.convert(value_node, (*path, key))
            child.key = key_node.pos
            result[key] = value
            pos_node.children[key] = child
        for value_node, merge_path in merges:
            for source in self.merge_sources(value_node, merge_path):
                src_value, src_pos = self.mapping(source, merge_path, source.pos)
                for key, value in src_value.items():
                    if key not in result:
                        result[key] = value
                        pos_node.children[key] = src_pos.children[key]
        return result, pos_node

    def merge_sources(self, value_node: _Node, path: Path_) -> list[_Map]:
        """The mappings a ``<<`` key pulls in, earliest first (earlier ones win, as in YAML 1.1)."""
        target = _deref(value_node)
        candidates = target.items if isinstance(target, _Seq) else [value_node]
        sources: list[_Map] = []
        for candidate in candidates:
            resolved = _deref(candidate)
            if isinstance(resolved, _Map):
                sources.append(resolved)
            else:
                self.problem(candidate.pos, path, "the value of a merge key (<<) must be a mapping or a list of mappings")
        return sources


def _deref(node: _Node) -> _Node:
    while isinstance(node, _Alias):
        assert node.target is not None
        node = node.target
    return node


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _resolve_plain(text: str) -> Any:
    """Resolve an untagged plain scalar with the YAML 1.2 core schema."""
    if _NULL_RE.match(text):
        return None
    if _TRUE_RE.match(text):
        return True
    if _FALSE_RE.match(text):
        return False
    try:
        if _DEC_RE.match(text):
            return int(text)
        if _OCT_RE.match(text):
            return int(text[2:], 8)
        if _HEX_RE.match(text):
            return int(text[2:], 16)
    except ValueError:  # more digits than Python converts by default: keep the text
        return text
    if _FLOAT_RE.match(text):
        return float(text)
    if _INF_RE.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN_RE.match(text):
        return math.nan
    return text


# --------------------------------------------------------------------------- public reading API


def read_yaml(path: Path, *, display_name: str | None = None) -> LoadedYaml:
    """Load one YAML mapping from ``path`` or raise a SpecError listing every located problem."""
    file = _printable(display_name if display_name is not None else str(path))
    try:
        text = _read_text(path)
        root = _compose(text)
    except _Fatal as fatal:
        raise SpecError(issues=[_issue_at(file, fatal.pos, fatal.path, fatal.message)]) from None
    except RecursionError:  # defensive: the builder is iterative, but a traceback is never acceptable
        raise SpecError(issues=[_issue_at(file, (1, 1), (), "document nested too deeply")]) from None
    if root is None:
        raise SpecError(issues=[_issue_at(file, (1, 1), (), "file is empty (it holds no YAML document, only blanks or comments)")])
    converter = _Converter(file)
    data, pos_root = converter.convert(root, ())
    issues = list(converter.issues)
    if not isinstance(data, dict):
        issues.append(_issue_at(
            file, pos_root.value or (1, 1), (),
            f"the top level of the file must be a mapping of keys to values, not {_describe(data)}",
        ))
    if issues:
        raise SpecError(issues=_finish(issues))
    return LoadedYaml(file=file, data=data, positions=Positions(pos_root))


def load_spec(path: Path) -> Platform:
    """Read and validate a platform spec file."""
    from bbgen.spec.models import Platform

    return validate_model(Platform, read_yaml(path))


# --------------------------------------------------------------------------- validation errors


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
        msg = f"Input should be {_EXPECTED[kind]}, got {_describe(given)}"
        if kind == "string_type" and isinstance(given, (int, float, bool)):
            msg += " (put the value in quotes to keep it as text)"
    if where.key_error:
        msg = f"invalid key: {msg}"
    return msg


def _unknown_field(where: _Where) -> str:
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
    return f"Input should be {wanted}, got {_describe(errors[0].get('input'))}"


def _squash(name: object) -> str:
    return str(name).lower().replace("_", "").replace("-", "")


def _drop_misspelt_missing(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """`acme_email:` written for `acmeEmail:` is one mistake: keep the unknown-field error only."""
    extras = {(tuple(e["loc"][:-1]), _squash(e["loc"][-1])) for e in errors if e["type"] == "extra_forbidden" and e["loc"]}
    return [
        e for e in errors
        if not (e["type"] == "missing" and e["loc"] and (tuple(e["loc"][:-1]), _squash(e["loc"][-1])) in extras)
    ]


def validate_model(model: type[M], loaded: LoadedYaml) -> M:
    """Validate with pydantic and report every error at once, each located in the file."""
    try:
        return model.model_validate(loaded.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
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
        issues.append(_issue_at(loaded.file, pos, where.path, _human(err, where)))
    all_paths = [where.path for _, where in resolved]
    for path, group in unions.items():
        # A member that got further (e.g. the list member failing on one item) explains more.
        if any(len(p) > len(path) and p[: len(path)] == path for p in all_paths):
            continue
        issues.append(_issue_at(loaded.file, loaded.positions.locate(path), path, _combine_union(group)))
    raise SpecError(issues=_finish(issues)) from None
