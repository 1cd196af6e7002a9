"""Finding and running the external binaries validation depends on.

kustomize and kubeconform are Go programs pinned in :data:`bbgen.kube.pins.PINNED`
(``bbgen tools install`` builds them with ``go install``, see
:mod:`bbgen.validate.install`; ``scripts/install-tools.sh`` delegates to it). They are looked up
rather than vendored so CI and developers can bring their own. Every call has a
timeout: a hung subprocess must fail the run, not the CI job's wall clock.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bbgen.errors import ToolFailedError, ToolMissingError
from bbgen.kube.pins import PINNED

INSTALL_HINT = "run `bbgen tools install` (" + " and ".join(f"go install {t.package}@{t.version}" for t in PINNED) + ")"
BUILD_TIMEOUT = 120.0
CONFORM_TIMEOUT = 600.0

Log = Callable[[str], None]


def default_tools_dir() -> Path:
    """Where ``bbgen tools install`` puts binaries (under ``bin/``): $BBGEN_TOOLS_DIR, else ~/.cache/bbgen/tools."""
    explicit = os.environ.get("BBGEN_TOOLS_DIR")
    return Path(explicit).expanduser() if explicit else Path.home() / ".cache" / "bbgen" / "tools"


def _candidates(first: Path | None = None) -> list[Path]:
    """Search order: an explicit tools dir beats PATH, PATH beats the default cache."""
    dirs: list[Path] = [first / "bin"] if first is not None else []
    explicit = os.environ.get("BBGEN_TOOLS_DIR")
    if explicit:
        dirs.append(Path(explicit).expanduser() / "bin")
    dirs.extend(Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p)
    dirs.append(Path.home() / ".cache" / "bbgen" / "tools" / "bin")
    return dirs


def find_tool(name: str, *, tools_dir: Path | None = None) -> Path | None:
    """The binary bbgen would run for ``name`` (``tools_dir``/bin first when given)."""
    for directory in _candidates(tools_dir):
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def require_tool(name: str) -> Path:
    found = find_tool(name)
    if found is None:
        raise ToolMissingError(tool=name, hint=INSTALL_HINT)
    return found


def tools_available() -> bool:
    """Lets tests skip (rather than fail) on a machine that never ran `bbgen tools install`."""
    return find_tool("kustomize") is not None and find_tool("kubeconform") is not None


@dataclass(frozen=True, kw_only=True)
class Completed:
    """A finished (or timed-out) run; callers decide whether a failure is a finding or a crash."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False


def run(
    argv: Sequence[str | Path], *, timeout: float, log: Log | None = None, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> Completed:
    """Run without a shell, capture text output; a timeout is reported, not raised. ``env`` adds to the environment."""
    args = [str(a) for a in argv]
    if log is not None:
        log(shlex.join(args))
    environ = {**os.environ, **(env or {}), "LC_ALL": "C"}  # tool messages end up in findings: keep them untranslated
    try:
        proc = subprocess.run(  # noqa: S603 - argv list, no shell
            args,
            cwd=cwd,
            env=environ,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return Completed(returncode=-1, stdout=out, stderr=f"timed out after {timeout:.0f}s", timed_out=True)
    except OSError as exc:
        raise ToolFailedError(tool=Path(args[0]).name, message=str(exc)) from None
    return Completed(returncode=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)


def trim_stderr(text: str, *, limit: int = 2000) -> str:
    """kustomize errors are one long line plus noise; keep what a person needs to read."""
    lines = [ln.rstrip() for ln in text.strip().splitlines() if ln.strip()]
    body = "\n".join(lines)
    if len(body) > limit:
        body = body[: limit - 3] + "..."
    return body or "failed without a message"
