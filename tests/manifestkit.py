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


def env_lists(node: Any) -> Iterator[list[dict[str, Any]]]:
    """Every container env list in a manifest or values file (any `env:` list of name/value entries)."""
    if isinstance(node, dict):
        env = node.get("env")
        if isinstance(env, list) and all(isinstance(e, dict) and "name" in e for e in env):
            yield env
        for value in node.values():
            yield from env_lists(value)
    elif isinstance(node, list):
        for value in node:
            yield from env_lists(value)


def files_of(files: dict[str, bytes], name: str) -> Iterator[Any]:
    """The parsed documents of one unit in a rendered tree: its component folder and its Helm values."""
    for path, data in files.items():
        if path.endswith(".yaml") and (path.startswith(f"components/{name}/") or path.startswith(f"values/{name}/")):
            yield from docs(data)
