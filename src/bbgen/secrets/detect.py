"""String-level detectors: does this text look like a credential, and where exactly?

Two strengths, because false positives train people to ignore a guard:

* ``precise`` detectors (known token formats, PEM private keys, URLs with a
  password) fire anywhere in the tree: their shapes do not occur by accident.
* ``heuristic`` detectors (``password=`` literals, secret-looking names with a
  literal value, long hex under such names, high-entropy strings) fire only in
  fields meant to carry configuration values: container env values and args,
  ConfigMap data, Helm values.

Every hit carries the span of the sensitive part, so :func:`redact` masks
exactly what the guard would refuse and nothing else.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from bbgen.redact import PEM, TOKEN_SHAPES, URL_CREDENTIALS

MASK = "[redacted]"


@dataclass(frozen=True)
class Hit:
    reason: str
    start: int
    end: int


_KNOWN = TOKEN_SHAPES
_PEM = PEM
_URL_CREDS = URL_CREDENTIALS
_LITERAL = re.compile(
    r"(?i)(?<![A-Za-z0-9])(?P<key>[A-Za-z0-9_.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key)|(?:[A-Za-z0-9]+[_.-])?(?:pass|pwd))"
    r"[\"']?[ \t]*[:=][ \t]*(?P<secret>\"[^\"\n]*\"|'[^'\n]*'|[^\s,;&\"']+)"
)
_YAML_LINE = re.compile(r"^[+ -]?[ \t]*(?:-[ \t]+)?(?P<key>[A-Za-z0-9_./-]+)[ \t]*:[ \t]+(?P<value>[^#\n]*?)[ \t]*$")
_REDIS = re.compile(r"(?im)^[ \t]*(?:requirepass|masterauth)[ \t]+(?P<secret>\S+)")
_CANDIDATE = re.compile(r"[A-Za-z0-9+/_-]{20,}={0,2}")
_HEX = re.compile(r"(?<![A-Za-z0-9])[0-9a-fA-F]{32,}(?![A-Za-z0-9])")
_HEX_SECRET = re.compile(r"(?<![A-Za-z0-9])(?:[0-9a-f]{64}|[0-9A-F]{64}|[0-9a-f]{40}|[0-9A-F]{40})(?![A-Za-z0-9])")
# words that say a hex string is an identifier of content (a digest, a commit), not a credential
_DIGEST_WORDS = {
    "sha", "sha1", "sha256", "sha512", "digest", "checksum", "checksums", "commit", "revision", "rev", "hash", "etag",
    "fingerprint", "integrity", "ref", "version", "id", "uuid", "oid", "git", "tree", "head", "build", "md5", "blake2b",
}
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_PASSWORDISH = {"password", "passwd", "passphrase", "pass", "pwd", "token", "apikey", "accesskey", "secretkey", "privatekey", "signingkey", "encryptionkey", "clientsecret"}
_NAMEISH = {"secret", "credentials", "credential"}
_HARMLESS = {"", "true", "false", "null", "none", "nil", "~", "yes", "no", "on", "off", "required", "optional", "disabled", "enabled"}
_DNS_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")


def shannon(text: str) -> float:
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_SECRET_KEY_REF = re.compile(r"^\$[a-z0-9]([a-z0-9.-]*[a-z0-9])?:[A-Za-z0-9._-]+$")
"""Argo CD's reference to a key of another Secret (``$<secret name>:<key>``, in argocd-cm values)."""


def is_reference(value: str) -> bool:
    """A placeholder or an indirection, not a value: ``$(VAR)``, ``${VAR}``, ``{{ x }}``, ``<token>``, ``***``,
    a path, a YAML flow collection (``{secret: x, key: y}``) or a ``$<secret>:<key>`` Secret reference."""
    v = value.strip().strip("\"'")
    return (
        v.lower() in _HARMLESS
        or v.startswith(("$(", "${", "{", "[", "<", "%(", "/", "./", "file:", "env:", "secretref:"))
        or set(v) <= set("*xX.-_")
        or _SECRET_KEY_REF.match(v) is not None
    )


def name_kind(name: str) -> str | None:
    """``password`` for names that hold a value (DB_PASSWORD, apiKey), ``name`` for ones that may hold a Secret's name."""
    words = [w.lower() for w in _WORDS.findall(name)]
    if not words:
        return None
    last, pair = words[-1], "".join(words[-2:])
    if words[0] == "existing" or last in ("name", "ref", "file", "path", "url", "ttl", "type", "length", "header"):
        return None
    if last in _PASSWORDISH or pair in _PASSWORDISH:
        return "password"
    if last in _NAMEISH:
        # UPPER_CASE env vars hold values (JWT_SECRET); camelCase settings often name a Secret (tlsSecret)
        return "password" if name.isupper() else "name"
    return None


def _high_entropy(token: str) -> bool:
    if _HEX.fullmatch(token) or token.count("/") >= 2 and not re.search(r"[+=]", token):
        return False  # hex is judged by the field's name; slash-separated words are paths
    classes = sum(bool(re.search(p, token)) for p in ("[a-z]", "[A-Z]", "[0-9]"))
    if classes < 3:
        return False
    return shannon(token) >= min(0.82 * math.log2(len(token)), 4.6)


def precise(text: str) -> list[Hit]:
    """Token formats and key material whose shape does not occur by accident."""
    hits: list[Hit] = []
    for pattern, reason in _KNOWN:
        hits += [Hit(reason, m.start(), m.end()) for m in pattern.finditer(text)]
    hits += [Hit("holds a PEM private key", m.start(), m.end()) for m in _PEM.finditer(text)]
    for m in _URL_CREDS.finditer(text):
        if not is_reference(m.group("secret")):
            hits.append(Hit("URL carries a password (user:pass@)", m.start("secret"), m.end("secret")))
    return hits


def _literal_value(kind: str | None, value: str) -> bool:
    """Whether ``value``, held by a name of ``kind``, is a literal secret rather than a reference or a name."""
    v = value.strip().strip("\"'")
    if kind is None or not v or is_reference(v):
        return False
    return kind == "password" or not _DNS_NAME.match(v)


def named(text: str, name: str | None) -> list[Hit]:
    """Hits that depend on the name holding ``text``: DB_PASSWORD=hunter2, a 40-hex GITEA_TOKEN."""
    kind = name_kind(name) if name else None
    if kind is None:
        return []
    hits: list[Hit] = []
    stripped = text.strip()
    if "\n" not in stripped and _literal_value(kind, stripped):
        inner = stripped.strip("\"'") or stripped
        start = text.index(inner)
        hits.append(Hit(f"literal value for secret-looking name {name!r}", start, start + len(inner)))
    for m in _HEX.finditer(text):
        what = "a Gitea/generic 40-hex token" if len(m.group()) == 40 else "a hex token"
        hits.append(Hit(f"looks like {what} in {name!r}", m.start(), m.end()))
    return hits


_BARE_HEX = "looks like a bare "


def _digest_context(words_from: str) -> bool:
    return any(w.lower() in _DIGEST_WORDS for w in _WORDS.findall(words_from))


def bare_hex(text: str, name: str | None = None) -> list[Hit]:
    """A random-looking 40- or 64-hex value under an innocent name: a Gitea token, a 256-bit key.

    Hex of those lengths is also what digests and commit ids look like, so the
    name holding it and the words just before it on its line decide: ``sha256:``,
    ``@sha256:``, ``targetRevision``, ``checksum/config``, ``COMMIT_SHA`` and the
    like are content identifiers and pass. Names that say "secret" are judged
    by :func:`named` instead.
    """
    if name and (name_kind(name) is not None or _digest_context(name)):
        return []
    hits: list[Hit] = []
    for m in _HEX_SECRET.finditer(text):
        value = m.group()
        line_start = text.rfind("\n", 0, m.start()) + 1
        if _digest_context(text[max(line_start, m.start() - 48) : m.start()]):
            continue
        if len(set(value.lower())) < 10 or not re.search(r"[0-9]", value) or not re.search(r"[a-fA-F]", value):
            continue  # 000…0, deadbeef repeated: placeholders, not keys
        what = "40-hex token (Gitea access token shape)" if len(value) == 40 else "64-hex secret (256-bit key shape)"
        hits.append(Hit(f"{_BARE_HEX}{what}", m.start(), m.end()))
    return hits


def heuristic(text: str, *, name: str | None = None) -> list[Hit]:
    """Password-style literals and random-looking strings; ``name`` is the env var or key holding ``text``."""
    hits: list[Hit] = []
    for m in _LITERAL.finditer(text):
        if _literal_value(name_kind(m.group("key")), m.group("secret")):
            hits.append(Hit("password-style literal", m.start("secret"), m.end("secret")))
    for m in _REDIS.finditer(text):
        if not is_reference(m.group("secret")):
            hits.append(Hit("password-style literal", m.start("secret"), m.end("secret")))
    hits += named(text, name)
    hits += bare_hex(text, name)
    for m in _CANDIDATE.finditer(text):
        if _high_entropy(m.group()):
            hits.append(Hit("high-entropy string (looks like a key or token)", m.start(), m.end()))
    return hits


def find(text: str, *, name: str | None = None, deep: bool = True) -> list[Hit]:
    """All hits in ``text``, sorted by position; ``deep`` adds the heuristic detectors."""
    hits = precise(text) + (heuristic(text, name=name) if deep else [])
    return sorted(set(hits), key=lambda h: (h.start, -h.end, h.reason))


def reasons(text: str, *, name: str | None = None, deep: bool = True) -> list[str]:
    """Distinct reasons, most specific first (a GitHub token is also high-entropy; say GitHub)."""
    found = find(text, name=name, deep=deep)
    ordered = sorted({h.reason for h in found}, key=lambda r: (r.startswith(("high-entropy", "password-style", "literal value")), r))
    if len(ordered) > 1:
        ordered = [r for r in ordered if not r.startswith("high-entropy")] or ordered
    return ordered


def redact(text: str) -> str:
    """``text`` with every span a detector flags replaced by ``[redacted]``; anything else unchanged."""
    spans: list[tuple[int, int]] = []
    env_name: str | None = None  # YAML env lists put the name one line above the value
    for line_start, line in _lines(text):
        m = _YAML_LINE.match(line)
        line_hits = find(line)
        if m is not None:  # bare hex is judged by the name holding it, which may be on the line above
            line_hits = [h for h in line_hits if not h.reason.startswith(_BARE_HEX)]
        spans += [(line_start + h.start, line_start + h.end) for h in line_hits]
        if m is None:
            continue
        key, value = m.group("key"), m.group("value")
        if key == "name":
            env_name = value.strip("\"'")
            continue
        holder = env_name if key == "value" and env_name else key
        offset = line_start + m.start("value")
        spans += [(offset + h.start, offset + h.end) for h in named(value, holder) + bare_hex(value, holder)]
    spans += [(h.start, h.end) for h in precise(text)]  # multi-line PEM blocks
    if not spans:
        return text
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[str] = []
    pos = 0
    for start, end in merged:
        out += [text[pos:start], MASK]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        out.append((pos, line))
        pos += len(line)
    return out
