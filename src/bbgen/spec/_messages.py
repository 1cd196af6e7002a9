"""How spec problems are worded and ordered, shared by every stage that can find one.

The YAML reader, the pydantic error mapper and the cross-field checks all report
through these helpers so that every message reads the same way: paths spelt
with the keys the person typed, user values shown short and always printable
(a spec may hold control characters or lone surrogates that would otherwise
corrupt the terminal or fail to encode), and a stable, de-duplicated order.
"""

from __future__ import annotations

import re
from typing import Any

from bbgen.errors import SpecIssue
from bbgen.spec._positions import Path_

_SIMPLE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+\Z")


def printable(text: str) -> str:
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


def show(value: Any) -> str:
    """A short, printable rendering of a user value for use inside a message."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return printable(text)


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
    return printable("".join(out))


def position_of_index(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character offset (for errors that only know an offset)."""
    index = max(0, min(index, len(text)))
    before = text[:index]
    line = before.count("\n") + 1
    start = before.rfind("\n") + 1
    return line, index - start + 1


def describe(value: Any) -> str:
    """What a value is, in the words a YAML author uses."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, (int, float)):
        return f"the number {show(value)}"
    if isinstance(value, str):
        return f"the string {show(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return show(value)


def issue_at(file: str, pos: tuple[int, int], path: Path_, message: str) -> SpecIssue:
    """The one place a SpecIssue is built, so every message is made printable the same way."""
    return SpecIssue(file=file, line=pos[0], column=pos[1], path=format_path(path), message=printable(message))


def finish(issues: list[SpecIssue]) -> list[SpecIssue]:
    """Sort by position (then path) and drop exact repeats, so output is stable and short."""
    return sorted(set(issues), key=lambda i: (i.line, i.column, i.path, i.message))
