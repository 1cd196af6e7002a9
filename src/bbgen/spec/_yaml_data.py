"""Turn the YAML node tree into plain data plus positions, applying the YAML 1.2 core schema exactly.

We resolve scalars ourselves rather than trusting a loader's defaults because the
defaults are the classic YAML traps: ``yes`` and ``2024-01-01`` must stay strings,
and a platform spec has no use for timestamps, sets or binary values. Unlike the
composer, problems found here (a bad tag, a duplicate key, a non-string key) do
not stop the walk, so one run reports all of them.
"""

from __future__ import annotations

import math
import re
from typing import Any

from bbgen.errors import SpecIssue
from bbgen.spec._messages import issue_at, show
from bbgen.spec._positions import Path_, PosNode
from bbgen.spec._yaml_tree import AliasNode, MapNode, Node, ScalarNode, SeqNode, deref

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


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag if tag.startswith("!") else f"!<{tag}>"


class Converter:
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
            self.issues.append(issue_at(self.file, pos, path, message))

    def convert(self, node: Node, path: Path_) -> tuple[Any, PosNode]:
        at = node.pos
        while isinstance(node, AliasNode):
            assert node.target is not None
            node = node.target
        if isinstance(node, ScalarNode):
            return self.scalar(node, path), PosNode(value=at)
        if isinstance(node, SeqNode):
            if node.tag not in (None, "!", _SEQ):
                self.problem(node.pos, path, f"unsupported tag {_show_tag(node.tag)} on a list")
            pos_node = PosNode(value=at)
            items: list[Any] = []
            for index, item in enumerate(node.items):
                value, child = self.convert(item, (*path, index))
                items.append(value)
                pos_node.children[index] = child
            return items, pos_node
        assert isinstance(node, MapNode)
        return self.mapping(node, path, at)

    def scalar(self, node: ScalarNode, path: Path_) -> Any:
        text, tag = node.text, node.tag
        if tag is None:
            value = _resolve_plain(text) if node.plain else text
        elif tag in ("!", _STR):
            value = text
        elif tag == _NULL:
            value = None
            if not _NULL_RE.match(text):
                self.problem(node.pos, path, f"{show(text)} is not a valid !!null")
        elif tag == _BOOL:
            value = True if _TRUE_RE.match(text) else False if _FALSE_RE.match(text) else None
            if value is None:
                self.problem(node.pos, path, f"{show(text)} is not a valid !!bool (use true or false)")
        elif tag in (_INT, _FLOAT):
            value = _resolve_plain(text)
            ok = isinstance(value, int) and not isinstance(value, bool)
            if tag == _FLOAT:
                ok = ok or isinstance(value, float)
                value = float(value) if ok else value
            if not ok:
                self.problem(node.pos, path, f"{show(text)} is not a valid {_show_tag(tag)}")
        else:
            self.problem(
                node.pos, path,
                f"unsupported tag {_show_tag(tag)} (only !!str, !!int, !!float, !!bool, !!null, !!map and !!seq are allowed)",
            )
            value = text
        if isinstance(value, str) and _has_surrogate(value):
            self.problem(node.pos, path, "text contains an unpaired UTF-16 surrogate escape, which is not valid Unicode")
        return value

    def mapping(self, node: MapNode, path: Path_, at: tuple[int, int]) -> tuple[dict[str, Any], PosNode]:
        if node.tag not in (None, "!", _MAP):
            self.problem(node.pos, path, f"unsupported tag {_show_tag(node.tag)} on a mapping")
        result: dict[str, Any] = {}
        pos_node = PosNode(value=at)
        first_seen: dict[str, tuple[int, int]] = {}
        merges: list[tuple[Node, Path_]] = []
        for key_node, value_node in zip(node.flat[0::2], node.flat[1::2]):
            target = deref(key_node)
            if isinstance(target, ScalarNode) and target.plain and target.text == "<<" and target.tag in (None, _MERGE):
                merges.append((value_node, path))
                continue
            if not isinstance(target, ScalarNode):
                kind = "a mapping" if isinstance(target, MapNode) else "a list"
                self.problem(key_node.pos, path, f"a mapping key must be a string, not {kind}")
                continue
            key = self.scalar(target, path)
            if not isinstance(key, str):
                shown = "null" if key is None else ("true" if key else "false") if isinstance(key, bool) else show(key)
                self.problem(
                    key_node.pos, path,
                    f"a mapping key must be a string, not {shown} (put the key in quotes if it is meant as text)",
                )
                continue
            if key in first_seen:
                self.problem(
                    key_node.pos, (*path, key),
                    f"duplicate key {show(key)} (first defined on line {first_seen[key][0]})",
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

    def merge_sources(self, value_node: Node, path: Path_) -> list[MapNode]:
        """The mappings a ``<<`` key pulls in, earliest first (earlier ones win, as in YAML 1.1)."""
        target = deref(value_node)
        candidates = target.items if isinstance(target, SeqNode) else [value_node]
        sources: list[MapNode] = []
        for candidate in candidates:
            resolved = deref(candidate)
            if isinstance(resolved, MapNode):
                sources.append(resolved)
            else:
                self.problem(candidate.pos, path, "the value of a merge key (<<) must be a mapping or a list of mappings")
        return sources


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
