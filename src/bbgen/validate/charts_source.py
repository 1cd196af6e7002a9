"""Where `bbgen validate` gets the upstream chart an Application names, and which version it got.

Argo CD pulls each chart from its ``repoURL`` at ``targetRevision``; validate needs
the same tree on disk. In order:

1. an offline chart directory (``--charts DIR`` or ``$BBGEN_CHARTS``) holding
   ``<chart>-<version>/`` or ``<chart>/`` trees (each with its ``Chart.yaml``);
2. the chart cache, ``~/.cache/bbgen/charts/<chart>-<version>/``;
3. ``helm pull`` from the Application's repository into that cache (needs the network).

Only the pinned version counts, unless the caller allows another one
(``--chart-version-mismatch allow``): then the newest other version in the chart
directory renders and every finding about it says which version that was. When
nothing fits, the lookup returns the reason, which becomes a warning naming how to
provide the chart; a chart check is never skipped silently.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbgen.kube import yamlio
from bbgen.validate.findings import Finding
from bbgen.validate.tools import Log, run, trim_stderr

CHARTS_ENV = "BBGEN_CHARTS"
PULL_TIMEOUT = 60.0
_NUMBERS = re.compile(r"\d+")


@dataclass(frozen=True, kw_only=True)
class ChartOptions:
    """How validate finds charts. ``enabled=False`` (``--no-charts``) skips the chart checks, saying so."""

    enabled: bool = True
    directory: Path | None = None
    """An offline chart directory; ``None`` reads ``$BBGEN_CHARTS``."""
    cache: Path | None = None
    """Where pulled charts are kept; ``None`` is ``~/.cache/bbgen/charts``."""
    allow_other_version: bool = False
    """Render a version other than the pinned one when only that one is at hand."""
    pull: bool = True
    leak_scan: Callable[[str, list[Any]], list[Finding]] | None = None
    """The leak guard over objects rendered outside the repository (path, docs) -> findings; the api passes
    ``bbgen.secrets.guard``'s, which sits above validate (it reports validate findings)."""

    def chart_dir(self) -> Path | None:
        if self.directory is not None:
            return self.directory
        explicit = os.environ.get(CHARTS_ENV)
        return Path(explicit).expanduser() if explicit else None

    def cache_dir(self) -> Path:
        return self.cache if self.cache is not None else Path.home() / ".cache" / "bbgen" / "charts"


@dataclass(frozen=True, kw_only=True)
class ChartRef:
    """What an Application source asks for: chart ``name`` at ``version`` from ``repo``."""

    name: str
    version: str
    repo: str


@dataclass(frozen=True, kw_only=True)
class Located:
    """A chart tree on disk and where it came from; ``version`` may differ from the pinned one only when allowed."""

    path: Path
    version: str
    origin: str  # "chart directory DIR", "chart cache", "helm pull"

    def mismatch(self, ref: ChartRef) -> bool:
        return same_version(self.version, ref.version) is False


@dataclass(kw_only=True)
class Lookup:
    """One run's chart lookups, memoised: each (chart, version, repo) is found or pulled once."""

    options: ChartOptions
    helm: Path
    log: Log | None = None
    _seen: dict[ChartRef, Located | str] = field(default_factory=dict)

    def find(self, ref: ChartRef) -> Located | str:
        """The chart tree, or why there is none (a sentence saying how to provide it)."""
        if ref not in self._seen:
            self._seen[ref] = self._find(ref)
        return self._seen[ref]

    def _find(self, ref: ChartRef) -> Located | str:
        directory = self.options.chart_dir()
        if directory is not None:
            exact = _exact(directory, ref)
            if exact is not None:
                return Located(path=exact, version=ref.version, origin=f"chart directory {directory}")
        cache = self.options.cache_dir()
        cached = _exact(cache, ref)
        if cached is not None:
            return Located(path=cached, version=ref.version, origin="chart cache")
        pulled = self._pull(ref, cache) if self.options.pull else "pulling was not asked for"
        if isinstance(pulled, Path):
            return Located(path=pulled, version=ref.version, origin="helm pull")
        others = _other_versions(directory, ref.name) if directory is not None else []
        where = f"--charts DIR / ${CHARTS_ENV} ({directory})" if directory is not None else f"--charts DIR or ${CHARTS_ENV}"
        if others and self.options.allow_other_version:
            version, path = others[0]
            return Located(path=path, version=version, origin=f"chart directory {directory}")
        why = f"chart {ref.name} {ref.version} is not at hand: not in {where}, not in the chart cache {cache}, and {pulled}"
        if others:
            found = ", ".join(v for v, _ in others)
            return f"{why}; {directory} has {ref.name} {found}: pass --chart-version-mismatch allow to render that instead"
        return f"{why}; put a `{ref.name}-{ref.version}/` chart tree in a directory and pass --charts DIR (or go online), or --no-charts to skip"

    def _pull(self, ref: ChartRef, cache: Path) -> Path | str:
        """``helm pull --untar`` into a private staging dir, renamed into the cache when complete."""
        target = cache / f"{ref.name}-{ref.version}"
        try:
            cache.mkdir(parents=True, exist_ok=True)
            stage = Path(tempfile.mkdtemp(prefix=".bbgen-pull-", dir=cache))
        except OSError as exc:
            return f"the chart cache cannot be written ({exc.strerror or exc})"
        try:
            argv: list[str | Path] = [self.helm, "pull", *pull_source(ref), "--version", ref.version, "--untar", "--untardir", stage / "out"]
            done = run(argv, timeout=PULL_TIMEOUT, log=self.log, env=helm_env(stage))
            unpacked = stage / "out" / ref.name
            if done.returncode != 0 or not (unpacked / "Chart.yaml").is_file():
                return f"`helm pull` from {ref.repo} failed: {trim_stderr(done.stderr.replace('Error: ', '', 1), limit=400)}"
            try:
                os.replace(unpacked, target)
            except OSError:
                if not (target / "Chart.yaml").is_file():  # another run may have won the race
                    raise
            return target
        except OSError as exc:
            return f"the pulled chart cannot be stored in {cache} ({exc.strerror or exc})"
        finally:
            shutil.rmtree(stage, ignore_errors=True)


def pull_source(ref: ChartRef) -> list[str]:
    """``helm pull`` arguments for Argo CD's repoURL forms: an HTTP(S) chart repository, or an OCI registry."""
    repo = ref.repo.rstrip("/")
    if repo.startswith(("http://", "https://")):
        return [ref.name, "--repo", repo]
    return [f"oci://{repo.removeprefix('oci://')}/{ref.name}"]


def helm_env(home: Path) -> dict[str, str]:
    """Keep helm's config, cache and data under ``home``: validate never touches the user's helm setup."""
    return {"HELM_CONFIG_HOME": str(home / "config"), "HELM_CACHE_HOME": str(home / "cache"), "HELM_DATA_HOME": str(home / "data")}


def chart_meta(path: Path) -> tuple[str, str] | None:
    """(name, version) from a tree's ``Chart.yaml``, or None when it has none (or a broken one)."""
    try:
        data = yamlio.load((path / "Chart.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yamlio.YAMLError):
        return None
    if not isinstance(data, dict) or not data.get("name") or data.get("version") is None:
        return None
    return str(data["name"]), str(data["version"])


def same_version(a: str, b: str) -> bool:
    return a.strip().removeprefix("v") == b.strip().removeprefix("v")


def _exact(directory: Path, ref: ChartRef) -> Path | None:
    for candidate in (directory / f"{ref.name}-{ref.version}", directory / f"{ref.name}-{ref.version.removeprefix('v')}", directory / ref.name):
        meta = chart_meta(candidate)
        if meta is not None and meta[0] == ref.name and same_version(meta[1], ref.version):
            return candidate
    return None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in _NUMBERS.findall(version.split("-", 1)[0]))


def _other_versions(directory: Path, name: str) -> list[tuple[str, Path]]:
    """Every tree of chart ``name`` in ``directory``, newest first."""
    found: dict[str, Path] = {}
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return []
    for entry in entries:
        if entry.name == name or entry.name.startswith(f"{name}-"):
            meta = chart_meta(entry)
            if meta is not None and meta[0] == name:
                found.setdefault(meta[1], entry)
    return sorted(found.items(), key=lambda item: _version_key(item[0]), reverse=True)
