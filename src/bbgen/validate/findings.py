"""What `bbgen validate` reports: located findings and the overall verdict.

Kept free of any other bbgen.validate import so the CLI can format a report
without pulling in the subprocess and YAML machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One problem, located the way a person fixes it: the file (or build dir) and the object."""

    check: str
    file: str
    resource: str
    message: str
    severity: Severity = "error"

    def located(self, *, severity: bool = False) -> str:
        """`file: resource: [check] message`; with ``severity``, a warning says so before the message."""
        parts = [self.file or "."]
        if self.resource:
            parts.append(self.resource)
        prefix = "warning: " if severity and self.severity != "error" else ""
        return ": ".join(parts) + f": [{self.check}] {prefix}{self.message}"

    def __str__(self) -> str:
        return self.located(severity=True)

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.file, self.resource, self.check, self.message)


@dataclass(kw_only=True)
class Report:
    """Everything one validation run learned; ``ok`` is the exit-code decision."""

    findings: list[Finding] = field(default_factory=list)
    builds: list[str] = field(default_factory=list)
    required_secrets: list[str] = field(default_factory=list)
    checked: list[tuple[str, str]] = field(default_factory=list)  # (file, resource) of every object validated
    kubernetes_version: str = ""
    charts: list[dict[str, str]] = field(default_factory=list)
    """Each chart source rendered: ``application`` (its file), ``chart``, ``version`` rendered, ``pinned``, ``from``."""

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]
