"""The template contract of templates/_repo/RESTORE.md.j2: the generated repository's restore runbook.

Built by render/restore.py from the same backup plans the CronJobs and restore Jobs are
rendered from (render/backups.py), so the runbook names exactly the files and objects
the repository holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class RestoreUnit:
    """One backed-up component in one environment."""

    name: str
    """Component name."""
    namespace: str
    """Its namespace (the CronJob's and the restore Job's)."""
    method: str
    """Its catalog backup method."""
    what: str
    """What a backup holds."""
    note: str
    """What else to know (the catalog's `backup.reason`), or empty."""
    cronJob: str
    """The backup CronJob."""
    restoreJob: str
    """The restore Job."""
    schedule: str
    """Cron schedule (UTC)."""
    retentionDays: int
    """Days backups are kept."""
    location: str
    """`<bucket>/<environment>/<component>/`: one folder per run below it, named by UTC time."""
    restoreFile: str
    """The restore Job's file in this repository (in no kustomization)."""
    application: str
    """Its Argo CD Application."""
    offline: bool
    """Whether the component must be stopped while the restore Job runs (it writes the volume)."""
    restartPod: str | None
    """The pod each backup restarts (the unit dumps itself at start, catalog `backup.dumpsAtStart`), else none."""
    workload: str
    """`statefulset/<name>` (or `deployment/<name>`): what to scale to zero first when ``offline``."""
    databases: Sequence[str]
    """`pg-dump`: the databases a backup holds."""
    repository: str | None
    """A component writing into the store itself (es-snapshot): the snapshot repository it registers, else none."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RestoreEnv:
    """One environment's backups."""

    name: str
    """Environment name."""
    rootApp: str
    """Its root Application (whose self-heal would undo a paused child Application)."""
    units: Sequence[RestoreUnit]
    """Its backed-up components, by name."""


@dataclass(frozen=True, kw_only=True, slots=True)
class NotBackedUp:
    """A stateful component without a backup, and why."""

    name: str
    """Component name."""
    reason: str
    """The catalog's reason."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RestoreVariables:
    """The variables of RESTORE.md.j2."""

    platform: str
    """Platform name."""
    store: str | None
    """The object-store provider holding the backups, none when no environment has one."""
    bucket: str | None
    """Its backups bucket."""
    storeSecret: str | None
    """The Secret holding the backups key."""
    argocdNamespace: str
    """Where the Applications live (on the hub in hub mode)."""
    environments: Sequence[RestoreEnv]
    """Each environment's backups, by name."""
    notBackedUp: Sequence[NotBackedUp]
    """Stateful components some environment runs without a backup, with the reason."""
