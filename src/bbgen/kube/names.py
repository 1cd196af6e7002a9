"""DNS names, decided in one place for the spec checks and the renderer alike."""

from __future__ import annotations


def fqdn(host: str, domain: str) -> str:
    """`llm` → `llm.<domain>`; a name with dots is taken as given."""
    return host if "." in host else f"{host}.{domain}"
