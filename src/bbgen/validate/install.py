"""`bbgen tools install|list`: the pinned tools built from source with ``go install`` into the tools cache.

pip users get bbgen without the Go binaries it runs; this is how they get those,
with the same pins (:data:`bbgen.kube.pins.PINNED`) CI and the generated
repository's workflow use. Each binary is built into a private ``GOBIN`` staging
directory beside the cache, checked to report the pinned version, then renamed
into place, so a half-built or wrong binary never looks installed. ``GOTOOLCHAIN``
defaults to ``local``: a module's toolchain line must not trigger a download.
A binary that already reports the pinned version is left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bbgen.errors import ToolInstallError, ToolMissingError
from bbgen.kube.pins import PINNED, Pinned
from bbgen.validate.tools import default_tools_dir, find_tool, trim_stderr

INSTALL_TIMEOUT = 1800.0
VERSION_TIMEOUT = 30.0
_VERSION = re.compile(r"v\d+\.\d+\.\d+\S*")


@dataclass(frozen=True, kw_only=True)
class ToolStatus:
    """A pinned tool and what bbgen would run for it."""

    name: str
    pinned: str
    path: str | None
    version: str | None

    @property
    def state(self) -> str:
        if self.path is None:
            return "missing"
        return "ok" if self.version == self.pinned else "outdated"

    def as_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "pinned": self.pinned, "path": self.path, "version": self.version, "state": self.state}


def binary_version(tool: Pinned, binary: Path) -> str | None:
    """The version ``binary`` was built as: what it prints, else the module version Go recorded in it."""
    try:
        shown = subprocess.run(  # noqa: S603 - argv list, no shell
            [str(binary), *tool.version_args], capture_output=True, text=True, timeout=VERSION_TIMEOUT,
            stdin=subprocess.DEVNULL, check=False, env={**os.environ, "LC_ALL": "C"},
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = (shown.strip().splitlines() or [""])[0].strip().rsplit("/", 1)[-1]  # older kustomize: "kustomize/v5.x.y"
    if _VERSION.fullmatch(first):
        return first
    return recorded_version(tool, binary)


def recorded_version(tool: Pinned, binary: Path) -> str | None:
    """The module version the Go linker recorded in ``binary`` (what ``go version -m`` prints), without needing go.

    A ``go install``ed kubeconform reports "development" itself. Since Go 1.18 the
    build info is stored inline after the ``\\xff Go buildinf:`` marker, including
    a ``mod<TAB>path<TAB>version`` line; ``go version -m`` is the fallback.
    """
    import mmap

    marker = re.compile(rb"(?:^|\n)mod\t" + re.escape(tool.module.encode()) + rb"\t(v[^\t\n]+)")
    try:
        with open(binary, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            start = data.find(b"\xff Go buildinf:")
            if start >= 0:
                found = marker.search(data, start, start + 64 * 1024)
                if found:
                    return found.group(1).decode("ascii", "replace")
    except (OSError, ValueError):
        pass
    go = shutil.which("go")
    if go is None:
        return None
    try:
        recorded = subprocess.run(  # noqa: S603
            [go, "version", "-m", str(binary)], capture_output=True, text=True, timeout=VERSION_TIMEOUT,
            stdin=subprocess.DEVNULL, check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in recorded.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "mod" and parts[1] == tool.module:
            return parts[2]
    return None


def status(tools_dir: Path | None = None) -> list[ToolStatus]:
    """Each pinned tool: the binary bbgen would run (``tools_dir`` first) and the version it reports."""
    rows = []
    for tool in PINNED:
        found = find_tool(tool.name, tools_dir=tools_dir)
        rows.append(ToolStatus(name=tool.name, pinned=tool.version, path=str(found) if found else None, version=binary_version(tool, found) if found else None))
    return rows


def install(tools_dir: Path | None = None, *, say: Callable[[str], None] | None = None) -> Path:
    """Install every pinned tool missing or outdated in ``tools_dir``/bin; returns that bin directory."""
    root = tools_dir or default_tools_dir()
    bin_dir = root / "bin"
    for tool in PINNED:
        target = bin_dir / tool.name
        if target.is_file() and os.access(target, os.X_OK):
            have = binary_version(tool, target)
            if have == tool.version:
                if say:
                    say(f"{tool.name} {tool.version} already installed at {target}")
                continue
            if say:
                say(f"{target} reports {have or 'no version'}; installing {tool.version}")
        _build(tool, root, target, say)
    return bin_dir


def _build(tool: Pinned, root: Path, target: Path, say: Callable[[str], None] | None) -> None:
    go = shutil.which("go")
    if go is None:
        raise ToolMissingError(tool="go", hint=f"bbgen builds {tool.name} from source: install the Go toolchain from https://go.dev/dl/ and run `bbgen tools install` again")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".bbgen-gobin-", dir=root))
    except OSError as exc:
        raise ToolInstallError(tool=tool.name, message=f"cannot write {target.parent}: {exc.strerror or exc}") from None
    try:
        env = {
            **os.environ,
            "GOBIN": str(stage),
            "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local"),
            "CGO_ENABLED": os.environ.get("CGO_ENABLED", "0"),
        }
        spec = f"{tool.package}@{tool.version}"
        if say:
            say(f"go install {spec}")
        try:
            done = subprocess.run(  # noqa: S603
                [go, "install", spec], env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
                stdin=subprocess.DEVNULL, check=False,
            )
        except subprocess.TimeoutExpired:
            raise ToolInstallError(tool=tool.name, message=f"go install {spec} did not finish in {INSTALL_TIMEOUT:.0f}s") from None
        if done.returncode != 0:
            raise ToolInstallError(tool=tool.name, message=f"go install {spec} failed: {trim_stderr(done.stderr)}")
        built = stage / tool.name
        got = binary_version(tool, built) if built.is_file() else None
        if got != tool.version:
            raise ToolInstallError(tool=tool.name, message=f"the built binary reports {got or 'no version'}, expected {tool.version}")
        os.chmod(built, 0o755)
        os.replace(built, target)  # same filesystem: the old binary or the new one, never half of one
    except OSError as exc:
        raise ToolInstallError(tool=tool.name, message=f"cannot install into {target.parent}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    if say:
        say(f"installed {tool.name} {tool.version} at {target}")
