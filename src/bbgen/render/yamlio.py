"""Canonical YAML in and out.

Two rules keep output byte-stable and user values harmless:
values enter templates only as double-quoted YAML scalars produced by
:func:`quote` (so no `: `, `#`, quote or newline can change structure), and
every document is parsed back and re-dumped by :func:`dump` with one key order
and one scalar style, so a template's formatting never leaks into the output.
"""

from __future__ import annotations

from typing import Any

import yaml

try:  # libyaml is a declared dependency; the pure-Python fallback only keeps odd installs working
    _Loader: Any = yaml.CSafeLoader
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader
    _Dumper = yaml.SafeDumper

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


def _escape(text: str) -> str:
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


def load_all(text: str) -> list[Any]:
    """Parse a multi-document stream, dropping empty documents."""
    return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]


def load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)


def _key(k: Any) -> tuple[int, str]:
    text = str(k)
    return (_FIRST.index(text), "") if text in _FIRST else (len(_FIRST), text)


def canonical(value: Any) -> Any:
    """Recursively order mapping keys: Kubernetes' identifying keys first, the rest sorted."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value, key=_key)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


class _CanonicalDumper(_Dumper):  # type: ignore[misc]
    pass


def _str_representer(dumper: Any, data: str) -> Any:
    # Multi-line text (config files, scripts) reads best as a literal block.
    style = "|" if "\n" in data and all(_printable(c) or c == "\n" for c in data) and not data.endswith(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_CanonicalDumper.add_representer(str, _str_representer)
_CanonicalDumper.add_representer(Quoted, _str_representer)


def dump(value: Any) -> str:
    """One canonical YAML document (no `---`), keys already ordered by :func:`canonical`."""
    text: str = yaml.dump(
        canonical(value),
        Dumper=_CanonicalDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100000,
        indent=2,
    )
    return text


def dump_all(values: list[Any]) -> str:
    return "---\n".join(dump(v) for v in values)
