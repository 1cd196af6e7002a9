"""Constants shared by test modules (a plain module: `conftest` names collide across test dirs)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "profiles" / "betelgeuse.yaml"

MINIMAL_SPEC = """\
name: demo
domain: demo.example.org
gitops: {url: "https://git.example.org", owner: platform, repo: demo-gitops}
tls: {acmeEmail: ops@example.org}
"""


def bbgen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "bbgen", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_terminal(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run bbgen with stderr on a pseudo-terminal; return (exit code, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, "-m", "bbgen", *args], stdin=subprocess.DEVNULL, stdout=out, stderr=slave, env={**(env if env is not None else os.environ), "PYTHONPATH": str(ROOT / "src"), "TERM": "xterm", "COLUMNS": "120"})
        os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        code = proc.wait(timeout=300)
        os.close(master)
        out.seek(0)
        return code, out.read().decode(), _ANSI.sub("", shown.decode("utf-8", "replace"))
