"""The spec's backup settings: when every backup CronJob runs and how long its backups are kept.

One platform-wide default (`backups`), per environment (`environments.<env>.backups`) and per
component (`components.<name>.backup`, also in an environment's layer). How each component is
backed up is the catalog's (component.yaml `backup.method`), not the spec's.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from bbgen.spec.model_parts import SpecModel
from bbgen.spec.scalars import NonEmpty

RetentionDays = Annotated[int, Field(ge=1, le=3650)]

SCHEDULE_DESCRIPTION = (
    "When the backup CronJobs run: five cron fields (minute hour day-of-month month day-of-week, UTC, e.g. `15 2 * * *`) "
    "or `@daily`/`@hourly`/…"
)


_S3_URL = re.compile(r"^https://[^\s/]+/?$")


def _s3_url(value: str) -> str:
    if not _S3_URL.match(value):
        raise ValueError("must be an HTTPS URL with no path, e.g. https://s3.eu-central-1.amazonaws.com (the bucket is `bucket`)")
    return value


S3Url = Annotated[str, AfterValidator(_s3_url)]
BucketName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
Folder = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,100}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,40}$")]
SecretName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]


class Offsite(SpecModel):
    """A copy of the `backups` bucket in S3 storage elsewhere: the platform's disks are local, and a node that dies
    takes the object store's copy of every backup with it."""

    endpoint: S3Url = Field(description="The other site's S3 endpoint, HTTPS (e.g. `https://s3.eu-central-1.amazonaws.com`).")
    bucket: BucketName = Field(description="Its bucket; bbgen never creates it. The copy goes under `<prefix>/<environment>/<component>/`.")
    prefix: Folder | None = Field(default=None, description="Folder in that bucket; default: the platform's name.")
    region: Region = Field(default="us-east-1", description="The region requests are signed for.")
    path_style: bool = Field(default=False, description="Address the bucket in the path (`https://host/bucket`), as MinIO and Garage want; AWS S3: false.")
    schedule: NonEmpty = Field(default="45 4 * * *", description="When the copy runs (five cron fields, UTC): after the night's backups.")
    retention_days: RetentionDays = Field(default=30, description="Off-site backups older than this many days are deleted after each copy.")
    secret: SecretName = Field(
        default="backups-offsite",
        description="The Secret (in the object store's namespace, made out of band: `bbgen secrets plan`) with keys `access-key-id` and `secret-access-key` of a key that may write the bucket.",
    )


def _about(field: str) -> str | None:
    return Offsite.model_fields[field].description


class OffsiteOverride(SpecModel):
    """`backups.offsite` in one environment: only what differs there (the rest is the platform's)."""

    endpoint: S3Url | None = Field(default=None, description=_about("endpoint"))
    bucket: BucketName | None = Field(default=None, description=_about("bucket"))
    prefix: Folder | None = Field(default=None, description=_about("prefix"))
    region: Region | None = Field(default=None, description=_about("region"))
    path_style: bool | None = Field(default=None, description=_about("path_style"))
    schedule: NonEmpty | None = Field(default=None, description=_about("schedule"))
    retention_days: RetentionDays | None = Field(default=None, description=_about("retention_days"))
    secret: SecretName | None = Field(default=None, description=_about("secret"))


class Backups(SpecModel):
    """Backups of every stateful component into the object store's `backups` bucket (see RESTORE.md in the generated repository)."""

    enabled: bool = Field(default=True, description="Render the backup CronJobs (they need an enabled `object-store` provider).")
    schedule: NonEmpty = Field(default="15 2 * * *", description=SCHEDULE_DESCRIPTION)
    retention_days: RetentionDays = Field(default=14, description="Backups older than this many days are deleted after each successful run.")
    offsite: Offsite | None = Field(default=None, description="Copy the `backups` bucket to S3 storage off this cluster, on a schedule (strongly advised: the disks are local).")


class BackupsOverride(SpecModel):
    """`backups` in one environment, merged over the platform's."""

    enabled: bool | None = Field(default=None, description="Render the backup CronJobs in this environment.")
    schedule: NonEmpty | None = Field(default=None, description=SCHEDULE_DESCRIPTION)
    retention_days: RetentionDays | None = Field(default=None, description="Days backups are kept in this environment.")
    offsite: OffsiteOverride | None = Field(default=None, description="The off-site copy of this environment's backups, merged over the platform's (`null`: none here).")


class ComponentBackup(SpecModel):
    """`backup` of one component: its CronJob's schedule and retention, over the platform's `backups`."""

    enabled: bool | None = Field(default=None, description="Back this component up (false: no CronJob, no restore Job).")
    schedule: NonEmpty | None = Field(default=None, description=SCHEDULE_DESCRIPTION)
    retention_days: RetentionDays | None = Field(default=None, description="Days this component's backups are kept.")
