"""The one redaction point: every message, log line and traceback bbgen prints passes through :func:`redact`.

Two layers, because either alone misses something:

* **known values**: the secrets this run actually holds (the Gitea token, a
  password found in a URL) are registered with :func:`register` the moment they
  are read, and every occurrence is masked, whatever surrounds it (a header, a
  ``repr`` with ``\\r`` escaped, a URL-encoded form);
* **patterns**: ``Authorization:`` header values, ``user:pass@`` in URLs and the
  precise token shapes of the leak guard, for secrets bbgen never saw.

The CLI's error path (``bbgen.cli.main``), the console (status and ``-v``
command echo) and the git/HTTP error wrapping all call :func:`redact`; the core
raises messages that may still be redacted again, which is harmless.
"""

from __future__ import annotations

import os
import re
import urllib.parse

MASK = "***"

_known: set[str] = set()
_AUTH_HEADER = re.compile(r"(?i)(authorization\s*[:=]\s*(?:token|bearer|basic)?\s*)[^\s'\"\\]+")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@?#'\"]+@")
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
    from bbgen.secrets.detect import name_kind

    for name, value in (os.environ if environ is None else environ).items():
        if name_kind(name) == "password":
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
    from bbgen.secrets.detect import precise

    spans: list[list[int]] = []
    for hit in sorted(precise(text), key=lambda h: (h.start, h.end)):
        if spans and hit.start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], hit.end)
        else:
            spans.append([hit.start, hit.end])
    for start, end in reversed(spans):
        text = text[:start] + MASK + text[end:]
    return text
