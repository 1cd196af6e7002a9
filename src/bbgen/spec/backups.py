"""The spec's backup settings: when every backup CronJob runs and how long its backups are kept.

One platform-wide default (`backups`), per environment (`environments.<env>.backups`) and per
component (`components.<name>.backup`, also in an environment's layer). How each component is
backed up is the catalog's (component.yaml `backup.method`), not the spec's.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bbgen.spec.model_parts import SpecModel
from bbgen.spec.scalars import NonEmpty

RetentionDays = Annotated[int, Field(ge=1, le=3650)]

SCHEDULE_DESCRIPTION = (
    "When the backup CronJobs run: five cron fields (minute hour day-of-month month day-of-week, UTC, e.g. `15 2 * * *`) "
    "or `@daily`/`@hourly`/…"
)


class Backups(SpecModel):
    """Backups of every stateful component into the object store's `backups` bucket (see RESTORE.md in the generated repository)."""

    enabled: bool = Field(default=True, description="Render the backup CronJobs (they need an enabled `object-store` provider).")
    schedule: NonEmpty = Field(default="15 2 * * *", description=SCHEDULE_DESCRIPTION)
    retention_days: RetentionDays = Field(default=14, description="Backups older than this many days are deleted after each successful run.")


class BackupsOverride(SpecModel):
    """`backups` in one environment, merged over the platform's."""

    enabled: bool | None = Field(default=None, description="Render the backup CronJobs in this environment.")
    schedule: NonEmpty | None = Field(default=None, description=SCHEDULE_DESCRIPTION)
    retention_days: RetentionDays | None = Field(default=None, description="Days backups are kept in this environment.")


class ComponentBackup(SpecModel):
    """`backup` of one component: its CronJob's schedule and retention, over the platform's `backups`."""

    enabled: bool | None = Field(default=None, description="Back this component up (false: no CronJob, no restore Job).")
    schedule: NonEmpty | None = Field(default=None, description=SCHEDULE_DESCRIPTION)
    retention_days: RetentionDays | None = Field(default=None, description="Days this component's backups are kept.")
