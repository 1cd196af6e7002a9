"""Mermaid labels carry user strings as text: entity codes, never raw HTML, quotes or Markdown.

The generated README embeds the same chart and Gitea renders it, so a string that
reached a label raw (an image reference, a version) could inject markup there. The
spec refuses such strings now; the labels are escaped regardless, and Mermaid's own
parser (when installed, see tests/test_graph.py) accepts the escaped chart.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bbgen.render.graph import mermaid
from bbgen.render.units import Unit
from bbgen.spec.models import Platform
from support import ROOT

HOSTILE = 'registry.example.org/x:<img src=x onerror=alert(1)>"#quot;&amp;`md`'


def _chart() -> str:
    platform = Platform.model_validate({
        "name": "demo", "domain": "demo.example.org",
        "gitops": {"url": "https://git.example.org", "owner": "platform", "repo": "demo-gitops"},
        "tls": {"acmeEmail": "ops@example.org"},
    })
    unit = Unit(name="api", kind="app", delivery="kustomize", domain="apps", namespace="apps", depends_on=(), image=HOSTILE)
    return mermaid(platform, {"api": unit})


def test_a_hostile_string_becomes_entity_codes() -> None:
    line = next(line for line in _chart().splitlines() if line.strip().startswith("n_api["))
    assert line == (
        '    n_api["api<br/>x:#lt;img src=x onerror=alert(1)#gt;#quot;#35;quot;#amp;amp;#96;md#96;"]'
    )


def test_mermaid_parses_the_escaped_chart(tmp_path: Path) -> None:
    folder = Path(os.environ.get("BBGEN_MERMAID_DIR", Path.home() / ".cache" / "bbgen" / "mermaid"))
    if shutil.which("node") is None or not (folder / "node_modules" / "mermaid").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"Mermaid's parser is not installed in {folder}; run scripts/install-mermaid.sh")
        pytest.skip("Mermaid's parser is not installed")
    script = folder / "bbgen-parse-labels.mjs"
    shutil.copyfile(ROOT / "tests" / "mermaid_parse.mjs", script)
    try:
        done = subprocess.run(["node", str(script)], input=_chart(), capture_output=True, text=True, timeout=120, cwd=folder)
    finally:
        script.unlink()
    assert done.returncode == 0, done.stderr
