"""One exception hierarchy for everything bbgen reports to a person.

The CLI maps these to exit codes in exactly one place (``bbgen.cli``); the core
never prints and never exits. Fields are keyword-only so call sites read as
sentences and a message can never be assembled in the wrong order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_UNSAFE = 3  # `diff --fail-on-unsafe`: a change Argo CD cannot sync in place (more than "different")


class BbgenError(Exception):
    """Base class: carries a message meant for a person and an exit code."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, kw_only=True)
class SpecIssue:
    """One located problem in a spec file."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(BbgenError):
    """The spec is unreadable or invalid; every problem found is listed, located."""

    def __init__(self, *, issues: list[SpecIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class UsageError(BbgenError):
    """The command line asks for something impossible (missing dir, bad option value)."""

    def __init__(self, *, message: str, hint: str | None = None) -> None:
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


class TemplateError(BbgenError):
    """A catalog template is broken: named by file and line, since it is our bug, not the user's."""

    def __init__(self, *, template: str, line: int | None, message: str) -> None:
        self.template = template
        self.line = line
        where = f"{template}:{line}" if line else template
        super().__init__(f"{where}: template error: {message}")


class CatalogError(BbgenError):
    """A component folder under templates/ has invalid metadata."""

    def __init__(self, *, file: Path | str, message: str) -> None:
        self.file = str(file)
        super().__init__(f"{file}: catalog error: {message}")


class ToolMissingError(BbgenError):
    """An external binary (kustomize, kubeconform, git) is not installed."""

    def __init__(self, *, tool: str, hint: str) -> None:
        self.tool = tool
        super().__init__(f"{tool} not found on PATH or in the bbgen tools cache ({hint})")


class ToolInstallError(BbgenError):
    """`bbgen tools install` could not build or place a pinned tool; what is installed is unchanged."""

    def __init__(self, *, tool: str, message: str) -> None:
        self.tool = tool
        super().__init__(f"cannot install {tool}: {message}")


class OwnershipError(BbgenError):
    """Writing would clobber a file bbgen does not own, or the output dir is unusable."""

    def __init__(self, *, path: Path | str, message: str) -> None:
        self.path = str(path)
        super().__init__(f"{path}: {message}")


class OutputBusyError(BbgenError):
    """Another bbgen render holds the output directory's lock and did not finish in time."""

    def __init__(self, *, path: Path | str) -> None:
        self.path = str(path)
        super().__init__(f"{path}: another bbgen render is writing this directory; nothing was written (wait for it to finish and run again)")


class FindingsError(BbgenError):
    """A check ran and found problems in the subject (not a usage error)."""

    exit_code = EXIT_FINDINGS

    def __init__(self, *, message: str) -> None:
        super().__init__(message)


class ToolFailedError(BbgenError):
    """A tool crashed or hung in a way that says nothing about the tree being validated."""

    def __init__(self, *, tool: str, message: str) -> None:
        self.tool = tool
        super().__init__(f"{tool} failed: {message}")


class SchemaCacheError(BbgenError):
    """The schema cache cannot be written; nothing about the tree is known yet."""

    def __init__(self, *, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(f"cannot write the schema cache at {path}: {reason} (point XDG_CACHE_HOME at a writable directory)")


class GiteaError(BbgenError):
    """The Gitea server refused or could not be reached; ``transient`` when an answer was lost (the call may have acted).
    Messages that quote git or the server are redacted where they are made (bbgen.gitea, bbgen.push)
    and again where they are printed (bbgen.cli).
    """

    def __init__(self, *, message: str, status: int | None = None, transient: bool = False) -> None:
        self.status = status
        self.transient = transient
        super().__init__(message)


class LeakError(FindingsError):
    """The tree would carry a secret value into git; nothing was written or pushed (exit 1)."""

    def __init__(self, *, action: str, leaks: list[str]) -> None:
        self.leaks = leaks
        shown = "\n".join(f"  {line}" for line in leaks)
        super().__init__(
            message=(
                f"refusing to {action}: {len(leaks)} possible secret value(s) would enter git\n{shown}\n"
                "Reference Secrets by name instead (apps.<name>.secretEnv) and create them with "
                "`bbgen secrets generate`."
            )
        )


class StaleBranchError(BbgenError):
    """``push-to-gitea --expect``: the branch moved since the commit the caller compared with.

    Exit 1, like a difference found: nothing is wrong with the input, the remote
    changed; someone else's render would have been replaced without a word.
    """

    exit_code = EXIT_FINDINGS

    def __init__(self, *, where: str, expected: str, actual: str | None) -> None:
        self.where = where
        self.expected = expected
        self.actual = actual
        now = f"is at {actual[:12]}" if actual else "does not exist"
        super().__init__(
            f"{where} {now}, not at the expected {expected[:12]}: it moved since you compared; nothing was pushed "
            "(run `bbgen diff --remote` again, review, then push with the commit it prints)"
        )


class ServerError(BbgenError):
    """A Kubernetes API server bbgen needs (a live one via kubectl, or its scratch one) cannot be reached or started."""

    def __init__(self, *, what: str, message: str, hint: str | None = None) -> None:
        self.what = what
        self.hint = hint
        super().__init__(f"{what}: {message}" + (f" ({hint})" if hint else ""))
