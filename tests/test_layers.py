"""The packages of src/bbgen form layers, and every import points down.

The import graph is read with ``ast`` from the source (module-level imports, imports
inside functions and ``TYPE_CHECKING`` blocks alike), so a cycle cannot hide in a
function body. A package may import its own modules freely and any package of a
lower layer; nothing of its own layer or above. An import of another package inside
a function is allowed only for start-up speed and must say so with a trailing
``# lazy`` comment; it still has to point down.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "bbgen"

# The one statement of the layer order, bottom first. A package is a top-level module or
# sub-package of bbgen ("" is bbgen/__init__.py: the version). See README "How bbgen is built".
LAYERS: tuple[tuple[str, ...], ...] = (
    ("", "errors", "progress", "redact"),  # what every module may need: the version, the error classes, progress callbacks, the redactor
    ("kube",),  # Kubernetes facts: YAML in/out, object identity, labels, pod templates, kustomize, schemas, tool pins
    ("catalog",),  # templates/*/component.yaml, typed
    ("spec",),  # the platform spec: models, located loading, cross-field checks (which ask the catalog)
    ("render",),  # spec + catalog -> the repository in memory, and written to disk
    ("validate", "gitea"),  # check a rendered tree with the real tools; talk to a Gitea server
    ("secrets", "diff", "push", "starter"),  # leak guard and out-of-band Secrets; compare; commit and push; bbgen init
    ("promote",),  # bbgen promote: edits the spec file (as bbgen init does) and compares the renders (diff)
    ("api",),  # one core call per command
    ("commands",),  # the typer commands: parse options, call the api, print
    ("cli",),  # the entry point: maps errors to exit codes
    ("__main__",),  # python -m bbgen
)
LAZY_MARK = "# lazy"


@dataclass(frozen=True, kw_only=True)
class Edge:
    source: str  # importing module, dotted
    target: str  # imported module, dotted
    file: str
    line: int
    in_function: bool
    marked_lazy: bool

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.source} imports {self.target}"


def _module_name(root: Path, path: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(root: Path, dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def _targets(root: Path, module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    top = root.name
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name == top or a.name.startswith(top + ".")]
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([base] if base else []))
    if base != top and not base.startswith(top + "."):
        return []
    # `from bbgen.render import layout` imports the module bbgen.render.layout.
    out = [f"{base}.{a.name}" if _is_module(root, f"{base}.{a.name}") else base for a in node.names]
    return sorted(set(out))


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.depth = 0
        self.found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append((node, self.depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append((node, self.depth > 0))


def import_edges(root: Path) -> Iterator[Edge]:
    """Every import of one module of ``root``'s package by another, wherever it is written."""
    for path in sorted(root.rglob("*.py")):
        module = _module_name(root, path)
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        visitor = _Visitor()
        visitor.visit(ast.parse(source, filename=str(path)))
        for node, in_function in visitor.found:
            last = lines[(node.end_lineno or node.lineno) - 1]
            for target in _targets(root, module, path.name == "__init__.py", node):
                yield Edge(
                    source=module,
                    target=target,
                    file=path.relative_to(root.parent).as_posix(),
                    line=node.lineno,
                    in_function=in_function,
                    marked_lazy=LAZY_MARK in last,
                )


def package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_index(layers: tuple[tuple[str, ...], ...]) -> dict[str, int]:
    return {pkg: i for i, group in enumerate(layers) for pkg in group}


def upward(edges: list[Edge], layers: tuple[tuple[str, ...], ...]) -> list[str]:
    """Imports of a package in the same layer or above (a cycle between packages needs one)."""
    index = layer_index(layers)
    out = []
    for e in edges:
        src, dst = package(e.source), package(e.target)
        if src != dst and index.get(dst, len(layers)) >= index.get(src, -1):
            out.append(f"{e} (layer {index.get(src)} -> {index.get(dst)})")
    return out


def unmarked_lazy(edges: list[Edge]) -> list[str]:
    return [str(e) for e in edges if e.in_function and not e.marked_lazy and package(e.source) != package(e.target)]


def package_cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected groups of more than one package (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        src, dst = package(e.source), package(e.target)
        graph.setdefault(src, set())
        graph.setdefault(dst, set())
        if src != dst:
            graph[src].add(dst)
    counter = [0]
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


@pytest.fixture(scope="module")
def edges() -> list[Edge]:
    return list(import_edges(SRC))


def test_every_package_has_a_layer() -> None:
    found = {package(_module_name(SRC, p)) for p in SRC.rglob("*.py")}
    assert found == set(layer_index(LAYERS)), "add the new package to LAYERS (and to the README's picture)"


def test_the_graph_is_read_from_the_source(edges: list[Edge]) -> None:
    """The reader sees imports in functions and `from pkg import module` as the module."""
    pairs = {(e.source, e.target) for e in edges}
    assert ("bbgen.render.build", "bbgen.render.layout") in pairs
    assert any(e.in_function and e.source.startswith("bbgen.commands.") and e.target == "bbgen.api" for e in edges)


def test_no_cycle_between_packages(edges: list[Edge]) -> None:
    assert package_cycles(edges) == []


def test_every_import_points_down(edges: list[Edge]) -> None:
    assert upward(edges, LAYERS) == []


def test_imports_of_other_packages_inside_functions_are_marked_lazy(edges: list[Edge]) -> None:
    assert unmarked_lazy(edges) == [], f"hoist these to the top of the module, or mark them `{LAZY_MARK}` if start-up needs them"


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    """A made-up package with an upward import, an unmarked function import and a cycle."""
    root = tmp_path / "pkg"
    (root / "low").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "low" / "__init__.py").write_text("")
    (root / "low" / "a.py").write_text("from pkg import high\n")
    (root / "high.py").write_text(
        "from pkg.low import a\n\n\ndef f() -> None:\n    from pkg.low import a  # lazy\n    from .low import a as b\n"
    )
    found = list(import_edges(root))
    layers = (("", "low"), ("high",))
    assert [e.line for e in found if e.source == "pkg.high"] == [1, 5, 6]
    assert upward(found, layers) == ["pkg/low/a.py:1: pkg.low.a imports pkg.high (layer 0 -> 1)"]
    assert unmarked_lazy(found) == ["pkg/high.py:6: pkg.high imports pkg.low.a"]
    assert package_cycles(found) == [["high", "low"]]


def test_the_readme_draws_every_layer() -> None:
    """README's "How bbgen is built" picture lists the packages in the same order, bottom last."""
    readme = (SRC.parents[1] / "README.md").read_text(encoding="utf-8")
    picture = readme.split("## How bbgen is built", 1)[1].split("```", 2)[1]
    rows = [re.split(r" {3,}", line)[0] for line in picture.strip().splitlines()]
    drawn: list[set[str]] = []
    for row in reversed(rows):
        names = {w.rstrip("/").removesuffix(".py") for w in row.replace("→", " ").split()}
        drawn.append(names)
    shown = [pkg for group in drawn for pkg in sorted(group)]
    expected = [pkg for group in LAYERS for pkg in sorted(group) if pkg and pkg != "__main__"]
    assert sorted(shown) == sorted(expected), "README's picture and LAYERS name different packages"
    index = layer_index(LAYERS)
    order = [max(index[p] for p in group) for group in drawn]
    assert order == sorted(order), "README's picture must list the layers bottom-up from its last line"


def test_every_error_class_lives_in_errors_py() -> None:
    """What reaches a person is a BbgenError subclass with keyword-only fields, all in bbgen/errors.py."""
    import importlib
    import inspect

    from bbgen.errors import BbgenError

    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(SRC, path)
        if not module.endswith("__main__"):
            importlib.import_module(module)
    pending, found = [BbgenError], []
    while pending:
        for sub in pending.pop().__subclasses__():
            found.append(sub)
            pending.append(sub)
    assert found and all(cls.__module__ == "bbgen.errors" for cls in found), [f"{c.__module__}.{c.__name__}" for c in found if c.__module__ != "bbgen.errors"]
    for cls in found:
        params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params), f"{cls.__name__}: fields must be keyword-only"
