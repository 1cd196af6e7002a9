"""Syntax of the references a spec hands to other tools: image references, tags, git ref names, quantities.

A value that reaches a manifest unchecked fails late and far away (an image pull
error on a node, Argo CD unable to resolve ``targetRevision``), or not at all. Each
function here answers with the reason a value is wrong, or None, so the models and
the checks word their messages themselves. The rules are the published grammars:
the OCI distribution reference grammar (``name[:tag][@digest]``), ``git
check-ref-format`` and Kubernetes quantities.
"""

from __future__ import annotations

import re
from decimal import Decimal

# OCI distribution reference grammar, piece by piece.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[_.]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
TAG = r"[\w][\w.-]{0,127}"
DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*\Z")
_DOMAIN_RE = re.compile(rf"{_DOMAIN}\Z")
_TAG_RE = re.compile(rf"{TAG}\Z", re.ASCII)
_DIGEST_RE = re.compile(rf"{DIGEST}\Z")
_NAME_MAX = 255

# Kubernetes quantity (no exponent forms: nobody writes `1e3` in a spec) and its multipliers.
_QUANTITY_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)(m|k|Ki|Mi|Gi|Ti|Pi|Ei|M|G|T|P|E)?\Z")
_SUFFIX = {
    "": Decimal(1), "m": Decimal("0.001"), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}


def tag_problem(tag: str) -> str | None:
    """Why ``tag`` is not an image tag (letters, digits, `_`, `.`, `-`; not first `.`/`-`; ≤ 128), or None."""
    if _TAG_RE.match(tag):
        return None
    return f"{tag!r} is not an image tag (letters, digits, '_', '.' and '-', not starting with '.' or '-', at most 128 characters)"


def image_problem(reference: str) -> str | None:
    """Why ``reference`` is not a pullable ``[registry/]repository:tag`` or ``...@digest``, or None."""
    name, _, digest = reference.partition("@")
    tag = None
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    if not name or len(name) > _NAME_MAX:
        return f"the repository name must be 1 to {_NAME_MAX} characters"
    first, _, rest = name.partition("/")
    path = name
    if rest and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        if not _DOMAIN_RE.match(first):
            return f"{first!r} is not a registry host[:port]"
        path = rest
    if not _PATH_RE.match(path):
        return (
            f"{path!r} is not a repository path (lower-case letters and digits, separated by '.', '_', '__' or '-', "
            "in '/'-separated parts)"
        )
    if tag is not None and (why := tag_problem(tag)) is not None:
        return why
    if "@" in reference and not _DIGEST_RE.match(digest):
        return f"digest {digest!r} is not `algorithm:hex` (e.g. sha256: and 64 hex digits)"
    if tag is None and "@" not in reference:
        return "it has no tag or digest: pin one (e.g. `registry.example.org/team/api:1.4.2`) so a render always means the same image"
    return None


def git_ref_problem(ref: str) -> str | None:
    """Why ``ref`` is not a branch name ``git check-ref-format --branch`` accepts, or None."""
    if not ref:
        return "a branch name cannot be empty"
    if ref.startswith("-"):
        return "a branch name cannot start with '-'"
    if ref == "@" or ref == "HEAD":
        return f"{ref!r} is not a branch name git allows"
    if ref.startswith("/") or ref.endswith("/") or "//" in ref:
        return "a branch name cannot start or end with '/' or hold '//'"
    if ref.endswith("."):
        return "a branch name cannot end with '.'"
    if ".." in ref or "@{" in ref:
        return "a branch name cannot hold '..' or '@{'"
    bad = sorted({ch for ch in ref if ord(ch) < 0x20 or ord(ch) == 0x7F or ch in " ~^:?*[\\"})
    if bad:
        return f"a branch name cannot hold {', '.join(repr(ch) for ch in bad)}"
    for part in ref.split("/"):
        if part.startswith("."):
            return f"no part of a branch name may start with '.' ({part!r})"
        if part.endswith(".lock"):
            return f"no part of a branch name may end with '.lock' ({part!r})"
    return None


def quantity_value(text: str) -> Decimal | None:
    """The amount a Kubernetes quantity stands for (`512Mi` → 536870912), None if ``text`` is not one."""
    found = _QUANTITY_RE.match(text)
    if found is None:
        return None
    return Decimal(found.group(1)) * _SUFFIX[found.group(2) or ""]
