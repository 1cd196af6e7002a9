"""Readers the credential and real-server tests share: rendered YAML documents, every string in a manifest, a free port.

A module beside the tests (not conftest.py: several folders have one, and `from conftest import`
picks whichever was imported first), imported under the local names each test file used before.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import yaml


def docs(data: bytes) -> list[Any]:
    """The YAML documents of one rendered file, empty ones left out."""
    return [d for d in yaml.safe_load_all(data) if d is not None]


def strings(node: Any) -> Iterator[str]:
    """Every string value of a parsed manifest, at any depth (for leak and reference checks)."""
    if isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, for a throwaway server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
