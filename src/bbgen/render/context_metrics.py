"""`unit.scrapesWithKey`: what the metrics scraper's templates read about components whose metrics need a key.

Kept apart from render/context.py, which re-exports it, as the backup and custom-app parts are.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyedTarget:
    """A component whose metrics need a credential here (its component.yaml `scrapeCredential`, setting on)."""

    unit: str
    """The component's name: its pods carry the annotation `bbgen.dev/scrape-credential: <unit>`."""
    namespace: str
    """Its namespace (the scrape job discovers pods there only)."""
    secret: str
    """The scraper's own Secret of it, copied into the scraper's namespace (never its value)."""
    key: str
    """The key of that Secret holding the credential (sent as `Authorization: Bearer`)."""
    mountPath: str
    """Where the scraper's pod mounts that Secret (`/etc/scrape-keys/<unit>`); its job reads `<mountPath>/<key>`."""
