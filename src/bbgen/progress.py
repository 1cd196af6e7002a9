"""How long-running core steps report progress without knowing who listens.

The core calls ``progress(step, done, total)`` as work advances; ``done == total``
ends the step. The CLI turns it into a live line on a terminal and drops it
everywhere else, so the core never checks for a TTY or prints.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]


def nothing(step: str, done: int, total: int) -> None:
    """The default listener: progress is optional for every caller of the core."""
