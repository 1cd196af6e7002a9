"""Jinja2 turned into a producer of data, not text.

``StrictUndefined`` makes a missing variable an error; the finalizer refuses any
expression that did not pass through the ``q`` filter, so a template cannot
splice a raw user string into YAML even by accident. Each rendered document is
parsed back and checked to be a Kubernetes object before anything else sees it.

The few outputs that are text, not YAML data (the generated repository's README,
its CI workflow and validate.sh, under templates/_repo/), use the *text* dialect
of the same environment: same loader, filters and errors, but expressions may
print strings and numbers as they are (``sh`` quotes for the shell, ``q`` for YAML).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shlex
import stat
import sys
import traceback
from pathlib import Path
from typing import Any

import jinja2
from bbgen.errors import TemplateError
from bbgen.kube import yamlio


def _finalize(value: Any) -> Any:
    if isinstance(value, yamlio.Quoted):
        return value
    raise _RawValue(value)


class _RawValue(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__(
            f"expression produced {type(value).__name__} {str(value)[:40]!r} without the `q` filter; "
            "write {{ value | q }}"
        )


class _NotText(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__(f"expression produced {type(value).__name__} {str(value)[:40]!r}; a text template prints only strings and numbers")


def _finalize_text(value: Any) -> Any:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise _NotText(value)


def _q(value: Any) -> yamlio.Quoted:
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()  # raises UndefinedError naming the missing attribute
    return yamlio.quote(value)


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs: compiling is most of a small render's work.

    Jinja keys each entry by template path and checks the source's checksum, so an
    edited template is compiled again. A cache that cannot be read or written only
    means compiling, never a failed render.
    """

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - unreadable or foreign entry: compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """A private directory under $XDG_CACHE_HOME/bbgen (or ~/.cache/bbgen), else no cache.

    Its name hashes Jinja's version, Python's and this module's source, so new
    environment options or another Jinja never load code compiled for the old ones.
    """
    try:
        fingerprint = hashlib.sha256(
            f"{jinja2.__version__}\0{sys.version}\0".encode() + Path(__file__).read_bytes()
        ).hexdigest()[:16]
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        directory = Path(base) / "bbgen" / "templates" / fingerprint
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.lstat()
    except (OSError, RuntimeError, KeyError):  # no usable home or cache directory
        return None
    owner_ok = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    if not stat.S_ISDIR(info.st_mode) or not owner_ok or stat.S_IMODE(info.st_mode) & 0o022:
        return None  # someone else could plant code in it: do without
    return _BytecodeCache(str(directory), "%s.cache")


@functools.cache
def environment(root: Path) -> jinja2.Environment:
    """One environment per catalog root, so compiled templates are reused across environments."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        cache_size=-1,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters["q"] = _q
    env.filters["sh"] = shlex.quote
    env.globals["fail"] = _fail
    return env


@functools.cache
def text_environment(root: Path) -> jinja2.Environment:
    """The text dialect: :func:`environment` with a finalizer that prints strings and numbers."""
    return environment(root).overlay(finalize=_finalize_text)


def _fail(message: str) -> None:
    """`{{ fail("...") }}`: a template refuses input it cannot render (reported as a located TemplateError)."""
    raise ValueError(message)


def _template_line(tb: Any, root: Path) -> tuple[str | None, int | None]:
    for frame, lineno in reversed(list(traceback.walk_tb(tb))):
        filename = frame.f_code.co_filename
        if filename.endswith(".j2"):
            try:
                rel = str(Path(filename).resolve().relative_to(root.resolve().parent))
            except ValueError:
                rel = filename
            return rel, lineno
    return None, None


@functools.cache
def _relative(root: Path, template: Path) -> str:
    return template.relative_to(root).as_posix()


@functools.cache
def _template(root: Path, rel: str, text: bool = False) -> jinja2.Template:
    """The environment's own (never evicted) cache, minus its per-call lookup cost."""
    return (text_environment(root) if text else environment(root)).get_template(rel)


def render_text(root: Path, template: Path, context: dict[str, Any], *, text: bool = False) -> str:
    """Render one template (of the text dialect with ``text``), turning any Jinja failure into a located TemplateError."""
    rel = _relative(root, template)
    display = f"templates/{rel}"
    try:
        return _template(root, rel, text).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(template=display, line=exc.lineno, message=exc.message or str(exc)) from None
    except (jinja2.UndefinedError, _RawValue, _NotText, TypeError, ValueError, KeyError, AttributeError) as exc:
        _, line = _template_line(sys.exc_info()[2], root)
        raise TemplateError(template=display, line=line, message=str(exc)) from None


def render_documents(root: Path, template: Path, context: dict[str, Any], *, kubernetes: bool = True) -> list[Any]:
    """Render, parse back, and check every document is a Kubernetes object (when ``kubernetes``)."""
    text = render_text(root, template, context)
    display = f"templates/{_relative(root, template)}"
    try:
        docs = yamlio.load_all(text)
    except yamlio.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (rendered line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise TemplateError(template=display, line=None, message=f"rendered invalid YAML{where}: {problem}") from None
    if not kubernetes:
        return docs
    for index, doc in enumerate(docs):
        problem = _kubernetes_problem(doc)
        if problem:
            raise TemplateError(template=display, line=None, message=f"document {index + 1}: {problem}")
    return docs


def _kubernetes_problem(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return "is not a mapping"
    for key in ("apiVersion", "kind"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            return f"has no {key}"
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        return "has no metadata.name"
    return None
