"""Placeholder replaced by the init work in this session."""

from __future__ import annotations


def init() -> None:
    """Write a starter spec (work in progress)."""
    raise SystemExit(2)
