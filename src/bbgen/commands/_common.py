"""Options and output helpers shared by several commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from collections.abc import Callable
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from bbgen.errors import UsageError
from bbgen.redact import redact

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

SpecArg = Annotated[
    Path,
    typer.Argument(help="Platform spec (YAML), e.g. profiles/betelgeuse.yaml.", show_default=False, metavar="SPEC"),
]
UrlOpt = Annotated[Optional[str], typer.Option("--url", help="Gitea base URL (default: the spec's gitops.url).")]
OwnerOpt = Annotated[Optional[str], typer.Option("--owner", help="Repository owner, user or organisation (default: gitops.owner).")]
RepoOpt = Annotated[Optional[str], typer.Option("--repo", help="Repository name (default: gitops.repo).")]
BranchOpt = Annotated[Optional[str], typer.Option("--branch", help="Branch Argo CD follows (default: gitops.branch).")]
TokenEnvOpt = Annotated[
    str,
    typer.Option("--token-env", help="Name of the environment variable holding the Gitea token (never pass the token itself)."),
]
CaBundleOpt = Annotated[Optional[Path], typer.Option("--ca-bundle", help="PEM bundle to trust for Gitea's TLS certificate.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no status lines; errors and data only.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show every underlying command (kustomize, kubeconform, git; never a token).")]


class DataFormat(str, Enum):
    """`-o/--output` of commands that print data: a table for people, JSON or YAML for scripts."""

    text = "text"
    json = "json"
    yaml = "yaml"


def emit(data: object, output: DataFormat) -> None:
    """Print ``data`` as one JSON (sorted keys) or canonical YAML document on stdout."""
    if output is DataFormat.yaml:
        from bbgen.kube import yamlio  # lazy

        sys.stdout.write(yamlio.dump(data))
    else:
        import json

        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def status(message: str) -> None:
    """Status and progress go to stderr; stdout is for data."""
    sys.stderr.write(message + "\n")


def token_from(env_name: str, *, required: bool = True) -> str:
    token = os.environ.get(env_name, "")
    if required and not token:
        raise UsageError(message=f"environment variable {env_name} is empty or unset", hint="export a Gitea access token in it")
    return token


class Console:
    """Status, progress and command echo on stderr, as one object per command run.

    Progress is a live line only when stderr is a terminal and ``--quiet`` is off:
    CI logs and pipes stay clean. ``-v`` prints each underlying command above the
    line. Rich renders it, with markup and highlighting off so paths and
    messages print as they are.
    """

    def __init__(self, *, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self._console: Any = None
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self.live = not quiet and sys.stderr.isatty() and os.environ.get("TERM") != "dumb"

    def __enter__(self) -> Console:
        if self.live:
            from rich.console import Console as RichConsole
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._console = RichConsole(stderr=True, markup=False, highlight=False, emoji=False)
            self._progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            )
            self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def status(self, message: str) -> None:
        if not self.quiet:
            self._line(message)

    def command(self, line: str) -> None:
        """The ``log`` callback of the core: every command it runs, shown with ``-v``."""
        if self.verbose:
            self._line("$ " + line)

    @property
    def log(self) -> Callable[[str], None] | None:
        return self.command if self.verbose else None

    def progress(self, step: str, done: int, total: int) -> None:
        """The ``progress`` callback of the core; a no-op unless the line is live."""
        if self._progress is None:
            return
        task = self._tasks.get(step)
        if task is None:
            task = self._tasks[step] = self._progress.add_task(step, total=total)
        self._progress.update(task, completed=done, total=total)
        if done >= total:
            self._progress.remove_task(task)
            del self._tasks[step]

    def _line(self, message: str) -> None:
        message = redact(message)  # the one redaction point: status and -v echo never show a token
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
