"""Secrets that never touch git.

The GitOps repository is readable by everyone with access to Gitea, so it holds
only references to Secrets. This package knows which Secrets an enabled platform
needs (``inventory``), makes them outside the repository (``generate``, with
``htpasswd`` for basic auth), and refuses any render, validation or push that
would put a value into git (``guard``, with the string detectors in ``detect``).

Only the error class is defined here so that importing the package stays cheap.
"""

from __future__ import annotations

from bbgen.errors import FindingsError


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
