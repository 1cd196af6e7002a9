"""Canonical YAML in and out: the one loader and the one dumper for Kubernetes YAML.

Every YAML file bbgen reads or writes goes through here (catalog metadata, rendered
documents, trees read back by diff, validate and the leak guard, out-of-band Secret
manifests). The two other YAML readers are deliberate: the spec loader
(:mod:`bbgen.spec._yaml_tree`) walks ruamel's event stream to keep every value's
line and column for error messages, and :mod:`bbgen.starter` uses ruamel's
round-trip mode to copy a profile with its comments.

Two rules keep output byte-stable and user values harmless:
values enter templates only as double-quoted YAML scalars produced by
:func:`quote` (so no `: `, `#`, quote or newline can change structure), and
every document is parsed back and re-dumped by :func:`dump` with one key order
and one scalar style, so a template's formatting never leaks into the output.
"""

from __future__ import annotations

import io
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:  # libyaml is a declared dependency; the pure-Python fallback only keeps odd installs working
    _Loader: Any = yaml.CSafeLoader
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader
    _Dumper = yaml.SafeDumper

YAMLError = yaml.YAMLError
"""What a failed :func:`load` or :func:`load_all` raises; callers catch it without importing PyYAML."""

_FIRST = ("apiVersion", "kind", "metadata", "name", "namespace")


class Quoted(str):
    """Marks text that went through :func:`quote`; the template finalizer accepts nothing else."""

    __slots__ = ()


def _printable(ch: str) -> bool:
    # YAML's printable set minus the characters YAML 1.1 readers treat as line breaks.
    o = ord(ch)
    if ch in "\x85\u2028\u2029\ufeff":
        return False
    return (
        0x20 <= o <= 0x7E
        or 0xA0 <= o <= 0xD7FF
        or 0xE000 <= o <= 0xFFFD
        or 0x10000 <= o <= 0x10FFFF
    )


# Fast paths for the common all-ASCII text: one regex scan instead of a Python call per
# character (non-ASCII text takes the per-character path, as before).
_NOT_PLAIN_ASCII = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')  # anything but printable ASCII minus `"` and `\`
_NOT_ASCII_LINES = re.compile(r"[^\n\x20-\x7e]")  # anything but printable ASCII and newlines


def _escape(text: str) -> str:
    if not _NOT_PLAIN_ASCII.search(text):  # nothing to escape
        return f'"{text}"'
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif _printable(ch):
            out.append(ch)
        else:
            o = ord(ch)
            out.append(f"\\x{o:02X}" if o <= 0xFF else f"\\u{o:04X}" if o <= 0xFFFF else f"\\U{o:08X}")
    out.append('"')
    return "".join(out)


def quote(value: Any) -> Quoted:
    """Render any value as a YAML flow node that parses back to exactly that value."""
    if isinstance(value, Quoted):
        return value
    if value is None:
        return Quoted("null")
    if isinstance(value, bool):
        return Quoted("true" if value else "false")
    if isinstance(value, int):
        return Quoted(str(value))
    if isinstance(value, float):
        return Quoted(repr(value))
    if isinstance(value, str):
        return Quoted(_escape(value))
    if isinstance(value, dict):
        items = ", ".join(f"{_escape(str(k))}: {quote(v)}" for k, v in value.items())
        return Quoted("{" + items + "}")
    if isinstance(value, (list, tuple)):
        return Quoted("[" + ", ".join(quote(v) for v in value) + "]")
    raise TypeError(f"cannot quote a value of type {type(value).__name__}")


# Speed (see bench/run.py): PyYAML's C parser and emitter call back into Python for
# every node, so the stock constructor and representer dominate a large render.
# The fast paths below build the same objects and the same node graph directly and
# hand anything unusual (tags, merge keys, floats, ...) to the stock code, so the
# result, errors included, is what plain PyYAML gives.

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_RESOLVED_LIMIT = 1 << 16


def _memo_resolve(cls: Any) -> Any:
    """Give ``cls`` a cached scalar tag resolution: without path resolvers it is a pure
    function of the value and the implicit flags, and the C parser and emitter ask it
    once or twice for every scalar."""
    stock = cls.resolve
    cache: dict[tuple[Any, Any], Any] = {}

    def resolve(self: Any, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and not self.yaml_path_resolvers:
            try:
                return cache[value, implicit]
            except KeyError:
                if len(cache) >= _RESOLVED_LIMIT:
                    cache.clear()
                tag = cache[value, implicit] = stock(self, kind, value, implicit)
                return tag
        return stock(self, kind, value, implicit)

    cls.resolve = resolve
    return cls


class _Unusual(Exception):
    """A node or value the fast path leaves to stock PyYAML."""


@_memo_resolve
class _FastLoader(_Loader):  # type: ignore[misc]
    _SCALARS = frozenset(
        f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "binary", "timestamp")
    )
    _ODD_KEYS = frozenset(("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"))

    def construct_document(self, node: Node) -> Any:
        try:
            return self._build(node, {})
        except Exception:  # noqa: BLE001 - the stock constructor decides, and raises its own error
            return super().construct_document(node)

    def _build(self, node: Node, made: dict[int, Any]) -> Any:
        kind = type(node)
        if kind is ScalarNode:
            if node.tag == _STR:
                return node.value
            if node.tag in self._SCALARS:
                return self.yaml_constructors[node.tag](self, node)
            raise _Unusual
        if id(node) in made:  # an alias: the same object, as the stock constructor gives
            return made[id(node)]
        if kind is MappingNode and node.tag == _MAP:
            mapping: dict[Any, Any] = {}
            made[id(node)] = mapping
            for key_node, value_node in node.value:
                if type(key_node) is not ScalarNode or key_node.tag in self._ODD_KEYS:
                    raise _Unusual
                mapping[self._build(key_node, made)] = self._build(value_node, made)
            return mapping
        if kind is SequenceNode and node.tag == _SEQ:
            sequence: list[Any] = []
            made[id(node)] = sequence
            sequence.extend(self._build(item, made) for item in node.value)
            return sequence
        raise _Unusual


def load_all(text: str) -> list[Any]:
    """Parse a multi-document stream, dropping empty documents."""
    return [doc for doc in yaml.load_all(text, Loader=_FastLoader) if doc is not None]


def load(text: str) -> Any:
    return yaml.load(text, Loader=_FastLoader)


_RANK = {name: index for index, name in enumerate(_FIRST)}


def _key(k: Any) -> tuple[int, str]:
    text = str(k)
    rank = _RANK.get(text)
    return (rank, "") if rank is not None else (len(_FIRST), text)


def canonical(value: Any) -> Any:
    """Recursively order mapping keys: Kubernetes' identifying keys first, the rest sorted."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value, key=_key)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


@_memo_resolve
class _CanonicalDumper(_Dumper):  # type: ignore[misc]
    pass


def _block_safe(data: str) -> bool:
    return not _NOT_ASCII_LINES.search(data) or all(_printable(c) or c == "\n" for c in data)


def _str_style(data: str) -> str | None:
    # Multi-line text (config files, scripts) reads best as a literal block.
    return "|" if "\n" in data and _block_safe(data) and not data.endswith(" ") else None


def _str_representer(dumper: Any, data: str) -> Any:
    return dumper.represent_scalar(_STR, data, style=_str_style(data))


_CanonicalDumper.add_representer(str, _str_representer)
_CanonicalDumper.add_representer(Quoted, _str_representer)


def _node(value: Any) -> Node:
    """The node graph the stock representer makes of ``canonical(value)``: ordered keys, block style, no aliases."""
    kind = type(value)
    if kind is str or kind is Quoted:
        return ScalarNode(_STR, value, style=_str_style(value))
    if isinstance(value, dict):
        return MappingNode(_MAP, [(_node(k), _node(value[k])) for k in sorted(value, key=_key)], flow_style=False)
    if isinstance(value, list):
        return SequenceNode(_SEQ, [_node(v) for v in value], flow_style=False)
    if kind is bool:
        return ScalarNode("tag:yaml.org,2002:bool", "true" if value else "false")
    if kind is int:
        return ScalarNode("tag:yaml.org,2002:int", str(value))
    if value is None:
        return ScalarNode("tag:yaml.org,2002:null", "null")
    raise _Unusual


_DUMP_OPTIONS: dict[str, Any] = {
    "sort_keys": False,
    "default_flow_style": False,
    "allow_unicode": True,
    "width": 100000,
    "indent": 2,
}


def dump(value: Any) -> str:
    """One canonical YAML document (no `---`), keys already ordered by :func:`canonical`."""
    try:
        node = _node(value)
    except _Unusual:
        text: str = yaml.dump(canonical(value), Dumper=_CanonicalDumper, **_DUMP_OPTIONS)
        return text
    stream = io.StringIO()
    dumper = _CanonicalDumper(stream, **_DUMP_OPTIONS)
    try:
        dumper.open()
        dumper.serialize(node)
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()


def dump_all(values: list[Any]) -> str:
    return "---\n".join(dump(v) for v in values)


class _InOrderDumper(yaml.SafeDumper):
    pass


def _in_order_str(dumper: yaml.SafeDumper, data: str) -> Any:
    block = "\n" in data and not data.endswith(" ") and all(c == "\n" or c.isprintable() for c in data)
    return dumper.represent_scalar(_STR, data, style="|" if block else None)


_InOrderDumper.add_representer(str, _in_order_str)


def dump_in_order(value: Any) -> str:
    """One document with keys in the order the caller built them: for files people read and
    edit by hand (out-of-band Secret manifests), where that order is part of the format.
    Everything that enters the GitOps tree uses :func:`dump`."""
    text: str = yaml.dump(value, Dumper=_InOrderDumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100000)
    return text
