"""The installed package carries its catalog and profiles, so `pip install .` works outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from support import ROOT


def test_wheel_ships_templates_and_profiles(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("bbgen-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in (ROOT / "templates").iterdir():
        for template in folder.iterdir():
            assert f"bbgen/_data/templates/{folder.name}/{template.name}" in names
    assert "bbgen/_data/profiles/betelgeuse.yaml" in names
    assert "bbgen/cli.py" in names
