"""A rendered directory as a git revision holds it: the old side of "what does this commit change".

The pre-commit hook that refuses changes Argo CD cannot sync in place compares a fresh render with
the render directory as last committed (`HEAD`), not as it is on disk (that is the drift hook's
question). `git archive <rev>:<prefix>` hands over exactly that tree, whatever is staged or
checked out; it is unpacked into a temporary directory and read like any other render.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from pathlib import Path

from bbgen.diff import read_owned
from bbgen.errors import UsageError

TIMEOUT = 120.0


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(directory), *args], capture_output=True, timeout=TIMEOUT, check=False)
    except FileNotFoundError:
        raise UsageError(message="--at needs git on PATH") from None
    except subprocess.TimeoutExpired:
        raise UsageError(message=f"git did not answer within {TIMEOUT:.0f}s in {directory}") from None


def read_committed(directory: Path, rev: str, candidates: set[str]) -> dict[str, bytes]:
    """The owned files of ``directory`` as committed at ``rev``; none when ``rev`` has no such directory (a first commit)."""
    if rev.startswith("-"):
        raise UsageError(message=f"--at {rev}: not a git revision")
    where = _git(directory, "rev-parse", "--show-toplevel", "--show-prefix")
    if where.returncode != 0:
        raise UsageError(message=f"{directory}: not in a git repository", hint="--at reads the directory as a commit holds it")
    top, _, prefix = where.stdout.decode("utf-8", "replace").partition("\n")
    prefix = prefix.strip()
    if _git(directory, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").returncode != 0:
        if rev == "HEAD":
            return {}  # no commit yet: everything is new
        raise UsageError(message=f"--at {rev}: no such commit in the repository of {directory}")
    # From the top: in a subdirectory, git archive would also limit the tree to that subdirectory's path.
    archive = _git(Path(top), "archive", "--format=tar", f"{rev}:{prefix}" if prefix else rev)
    if archive.returncode != 0:
        return {}  # the commit has no such directory yet
    with tempfile.TemporaryDirectory(prefix="bbgen-at-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        return read_owned(Path(tmp), candidates)
