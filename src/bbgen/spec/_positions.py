"""Where each value of a loaded spec was written, kept apart from the values themselves.

Validation works on plain data (dicts, lists, scalars) so pydantic sees exactly
what the person wrote; positions travel beside that data in a parallel tree, so
any later error, from the YAML reader, from pydantic or from a cross-field check,
can be sent back to a ``FILE:LINE:COL``. This module sits below both the YAML
reader and the error formatter, which is why it depends on neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Path_ = tuple[str | int, ...]


@dataclass(slots=True, eq=False)
class PosNode:
    """Positions of one node; a tree (not a flat dict) so merge keys can graft whole subtrees."""

    key: tuple[int, int] | None = None
    value: tuple[int, int] | None = None
    children: dict[str | int, PosNode] = field(default_factory=dict)
    source: Path_ | None = None
    """Where this node was written when that is not its own path: an environment layer's value
    merged into the spec of that environment (see :mod:`bbgen.spec.layers`), or the path inside
    a Score file an app's field was taken from (see :mod:`bbgen.spec.score`)."""
    file: str | None = None
    """The file that path is in when it is not the document's own (a Score workload file); only
    read together with ``source``, so a layer grafted over such a value is back in the spec file."""


class Positions:
    """Where every key and value of a loaded document was written (1-based line, column).

    Values reached through an alias are located inside the anchored text, except the
    alias itself: the value position of ``key: *anchor`` is the ``*anchor``.
    """

    def __init__(self, root: PosNode | None = None) -> None:
        self._root = root if root is not None else PosNode(value=(1, 1))

    @property
    def root(self) -> PosNode:
        """The tree itself (the environment layers merge it, see :mod:`bbgen.spec.layers`)."""
        return self._root

    def _find(self, path: Path_) -> PosNode | None:
        node: PosNode | None = self._root
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

    def origin(self, path: Path_) -> Path_:
        """The path as written in the file: a value an environment layer merged in is named at that layer.

        Without layers this is ``path`` itself.
        """
        node: PosNode | None = self._root
        found: tuple[Path_, int] | None = None
        for depth, seg in enumerate(path):
            node = node.children.get(seg) if node is not None else None
            if node is None:
                break
            if node.source is not None:
                found = (node.source, depth + 1)
        if found is None:
            return path
        return (*found[0], *path[found[1]:])

    def file(self, path: Path_) -> str | None:
        """The file the value at ``path`` was written in when it is not this document (None: this document).

        It is the file of the node :meth:`origin` takes its path from, so a file and a path always agree.
        """
        node: PosNode | None = self._root
        found: str | None = None
        for seg in path:
            node = node.children.get(seg) if node is not None else None
            if node is None:
                break
            if node.source is not None:
                found = node.file
        return found

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

    def file_at(self, path: Path_) -> str:
        """The file to name for ``path``: this one, or the Score file an app's value was taken from."""
        return self.positions.file(path) or self.file
