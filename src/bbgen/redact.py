"""The one redaction point: every message, log line and traceback bbgen prints passes through :func:`redact`.

Two layers, because either alone misses something:

* **known values**: the secrets this run actually holds (the Gitea token, a
  password found in a URL) are registered with :func:`register` the moment they
  are read, and every occurrence is masked, whatever surrounds it (a header, a
  ``repr`` with ``\\r`` escaped, a URL-encoded form);
* **patterns**: ``Authorization:`` header values, ``user:pass@`` in URLs and the
  token shapes defined here (the leak guard uses the same), for secrets bbgen never saw.

It imports nothing of bbgen: every layer may use it.

The CLI's error path (``bbgen.cli.main``), the console (status and ``-v``
command echo) and the git/HTTP error wrapping all call :func:`redact`; the core
raises messages that may still be redacted again, which is harmless.
"""

from __future__ import annotations

import os
import re
import urllib.parse

MASK = "***"

# Credential shapes that do not occur by accident; the leak guard (bbgen.secrets.detect) uses them too.
TOKEN_SHAPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,255}(?![A-Za-z0-9_])"), "looks like a GitHub token"),
    (re.compile(r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,255}"), "looks like a GitHub fine-grained token"),
    (re.compile(r"(?<![A-Za-z0-9_])glpat-[A-Za-z0-9_-]{20,}"), "looks like a GitLab token"),
    (re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"), "looks like an AWS access key id"),
    (re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}"), "looks like a Slack token"),
    (re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])"), "looks like a Google API key"),
    (re.compile(r"(?<![A-Za-z0-9])[sr]k_live_[0-9A-Za-z]{20,}"), "looks like a Stripe live key"),
    (re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "looks like a JWT"),
]
PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?",
    re.DOTALL,
)
URL_CREDENTIALS = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@?#'\"]*:(?P<secret>[^\s@/?#'\"]+)@")

_known: set[str] = set()
_AUTH_HEADER = re.compile(r"(?i)(authorization\s*[:=]\s*(?:token|bearer|basic)?\s*)[^\s'\"\\]+")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@?#'\"]+@")
_SECRET_NAME = re.compile(r"(?i)(token|password|passwd|passphrase|secret|api_?key|private_?key|credentials?)$")
_MIN_LENGTH = 6  # shorter values would mask ordinary words; no real token is this short


def register(secret: str | None) -> None:
    """Remember ``secret`` (and its escaped and stripped forms) so it is masked wherever it appears."""
    if not secret:
        return
    forms = {secret, secret.strip(), repr(secret)[1:-1], urllib.parse.quote(secret, safe=""), urllib.parse.quote(secret)}
    _known.update(f for f in forms if len(f) >= _MIN_LENGTH)


def register_environment(environ: dict[str, str] | None = None) -> None:
    """Register the values of environment variables whose names say they hold a secret (``*_TOKEN``, ``*PASSWORD``).

    A safety net for the error path: a token that crashed bbgen before it was
    registered is still masked in the message.
    """
    for name, value in (os.environ if environ is None else environ).items():
        if _SECRET_NAME.search(name):
            register(value)


def forget_all() -> None:
    """Drop every registered value (tests; one process, several runs)."""
    _known.clear()


def redact(text: str) -> str:
    """``text`` with every known secret and every credential-shaped part replaced by ``***``."""
    if not text:
        return text
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + MASK, text)
    text = _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    found = [(m.start(), m.end()) for pattern, _ in TOKEN_SHAPES for m in pattern.finditer(text)]
    found += [(m.start(), m.end()) for m in PEM.finditer(text)]
    found += [(m.start("secret"), m.end("secret")) for m in URL_CREDENTIALS.finditer(text)]
    spans: list[list[int]] = []
    for start, end in sorted(found):
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    for start, end in reversed(spans):
        text = text[:start] + MASK + text[end:]
    return text
