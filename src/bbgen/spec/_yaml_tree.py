"""Turn a spec file's bytes into a tree of YAML nodes, refusing anything hostile or unreadable.

The tree is built from ruamel.yaml's *event* stream rather than from its
constructors. Events carry the position of every node, including each alias
use, and walking them ourselves lets us bound an alias bomb's expanded size
before expanding anything and keep Python's recursion limit out of reach (the
walk is iterative and nesting is capped). Deciding what each scalar *means* is
left to :mod:`bbgen.spec._yaml_data`, so this stage only has to get structure,
positions and limits right.

Everything here that cannot be recovered from raises :class:`Fatal`, because
after a syntax error or a blown limit nothing further in the file can be
trusted; the caller turns it into a single located issue.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbgen.spec._messages import position_of_index, printable, show
from bbgen.spec._positions import Path_

MAX_FILE_BYTES = 5 * 1024 * 1024
"""A platform spec is a few kilobytes; anything this big is a mistake, not a spec."""
MAX_NODES = 100_000
"""Bound on the document's size with every alias expanded (defeats "billion laughs")."""
MAX_DEPTH = 64
"""Bound on collection nesting, aliases included; real specs nest about six deep."""


class Fatal(Exception):
    """Stops reading at the first problem nothing useful can follow."""

    def __init__(self, pos: tuple[int, int], message: str, path: Path_ = ()) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message
        self.path = path


# --------------------------------------------------------------------------- reading bytes


_UTF16_32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")


def read_text(path: Path) -> str:
    """Read and decode the file; UTF-8 only, because a spec lives in git and is edited as text."""
    try:
        if path.is_dir():
            raise Fatal((1, 1), "is a directory, not a file")
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except Fatal:
        raise
    except FileNotFoundError:
        raise Fatal((1, 1), "file not found") from None
    except IsADirectoryError:
        raise Fatal((1, 1), "is a directory, not a file") from None
    except PermissionError:
        raise Fatal((1, 1), "permission denied") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise Fatal((1, 1), f"cannot read file: {reason}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise Fatal((1, 1), f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; a spec should be a few KiB")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith(_UTF16_32_BOMS):
        raise Fatal((1, 1), "file is UTF-16 or UTF-32 encoded; save it as UTF-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = raw[: exc.start].decode("utf-8", errors="replace")
        pos = position_of_index(prefix, len(prefix))
        raise Fatal(pos, f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} cannot be decoded)") from None


# --------------------------------------------------------------------------- events -> nodes


@dataclass(slots=True, eq=False)
class Node:
    """One YAML node as written; ``size``/``depth`` are the values with aliases expanded."""

    pos: tuple[int, int]
    tag: str | None
    size: int = 1
    depth: int = 0
    closed: bool = False


@dataclass(slots=True, eq=False)
class ScalarNode(Node):
    """Kept as raw text plus style: whether it is quoted decides if the core schema applies."""

    text: str = ""
    plain: bool = True


@dataclass(slots=True, eq=False)
class SeqNode(Node):
    """A list as written, items in order."""

    items: list[Node] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class MapNode(Node):
    """A mapping kept as a flat key/value list, so duplicate and merge keys survive to be judged."""

    flat: list[Node] = field(default_factory=list)  # key, value, key, value, ...


@dataclass(slots=True, eq=False)
class AliasNode(Node):
    """An alias use; kept as its own node so its position, not the anchor's, is reported for it."""

    name: str = ""
    target: Node | None = None


def _mark(mark: Any) -> tuple[int, int]:
    return (int(mark.line) + 1, int(mark.column) + 1)


def _yaml_error(text: str, exc: Exception) -> Fatal:
    """Translate any ruamel failure into a located, readable problem."""
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.reader import ReaderError

    if isinstance(exc, ReaderError):
        pos = position_of_index(text, int(exc.position))
        char = exc.character
        shown = f"#x{char:04x}" if isinstance(char, int) else show(char)
        return Fatal(pos, f"unacceptable character {shown}: {exc.reason}")
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        pos = _mark(mark) if mark is not None else (1, 1)
        problem = str(exc.problem or exc.context or "invalid YAML").strip()
        message = f"YAML syntax error: {problem}"
        if exc.context and exc.problem and exc.context_mark is not None and _mark(exc.context_mark) != pos:
            line, col = _mark(exc.context_mark)
            message += f" ({exc.context.strip()} at line {line}, column {col})"
        return Fatal(pos, message)
    # ruamel has raised plain Python exceptions on some malformed input; still locate what we can.
    return Fatal((1, 1), f"YAML syntax error: {type(exc).__name__}: {exc}")


def _events(text: str) -> Iterator[Any]:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yield from yaml.parse(text)


def compose(text: str) -> Node | None:
    """Build the single document's node tree, enforcing the size, depth and one-document limits."""
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        DocumentStartEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceStartEvent,
    )

    root: Node | None = None
    stack: list[SeqNode | MapNode] = []
    anchors: dict[str, Node] = {}
    documents = 0
    total = 0

    def attach(node: Node) -> None:
        nonlocal root
        if not stack:
            root = node
        elif isinstance(stack[-1], SeqNode):
            stack[-1].items.append(node)
        else:
            stack[-1].flat.append(node)

    def count(pos: tuple[int, int], amount: int, what: str) -> None:
        nonlocal total
        total += amount
        if total > MAX_NODES:
            raise Fatal(pos, f"{what} makes the document larger than {MAX_NODES} nodes")

    events = _events(text)
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                event = next(events, None)
        except Fatal:
            raise
        except Exception as exc:  # noqa: BLE001 - every parser failure must become a located SpecError
            raise _yaml_error(text, exc) from None
        if event is None:
            break
        if isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise Fatal(_mark(event.start_mark), "only one YAML document is allowed per file (found a second one here)")
            continue
        pos = _mark(event.start_mark)
        if isinstance(event, AliasEvent):
            target = anchors.get(event.anchor)
            if target is None:
                raise Fatal(pos, f"alias *{printable(str(event.anchor))} refers to an anchor that is not defined before it")
            if not target.closed:
                raise Fatal(pos, f"alias *{printable(str(event.anchor))} refers to a node that contains it (recursive alias)")
            if len(stack) + target.depth > MAX_DEPTH:
                raise Fatal(pos, f"alias *{printable(str(event.anchor))} nests the document deeper than {MAX_DEPTH} levels")
            count(pos, target.size, f"alias *{printable(str(event.anchor))}")
            attach(AliasNode(pos=pos, tag=None, size=target.size, depth=target.depth, closed=True,
                             name=str(event.anchor), target=target))
        elif isinstance(event, ScalarEvent):
            count(pos, 1, "this value")
            plain = event.style is None or event.style == ""
            node: Node = ScalarNode(pos=pos, tag=_tag(event.tag), closed=True, text=str(event.value), plain=plain)
            if event.anchor is not None:
                anchors[str(event.anchor)] = node
            attach(node)
        elif isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            if len(stack) + 1 > MAX_DEPTH:
                raise Fatal(pos, f"collections are nested deeper than {MAX_DEPTH} levels")
            count(pos, 1, "this collection")
            coll: SeqNode | MapNode = (
                MapNode(pos=pos, tag=_tag(event.tag))
                if isinstance(event, MappingStartEvent)
                else SeqNode(pos=pos, tag=_tag(event.tag))
            )
            if event.anchor is not None:
                anchors[str(event.anchor)] = coll
            attach(coll)
            stack.append(coll)
        elif isinstance(event, CollectionEndEvent):
            done = stack.pop()
            children = done.items if isinstance(done, SeqNode) else done.flat
            done.size = 1 + sum(c.size for c in children)
            done.depth = 1 + max((c.depth for c in children), default=0)
            done.closed = True
    return root


def _tag(tag: Any) -> str | None:
    return None if tag is None else str(tag)


def deref(node: Node) -> Node:
    """Follow aliases to the node they stand for (targets are always closed, so this ends)."""
    while isinstance(node, AliasNode):
        assert node.target is not None
        node = node.target
    return node
