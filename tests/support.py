"""Constants shared by test modules (a plain module: `conftest` names collide across test dirs)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "profiles" / "betelgeuse.yaml"

MINIMAL_SPEC = """\
name: demo
domain: demo.example.org
gitops: {url: "https://git.example.org", owner: platform, repo: demo-gitops}
tls: {acmeEmail: ops@example.org}
"""
