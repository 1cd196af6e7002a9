"""`unit.backup`: what the shared backup templates (templates/_shared/backup-*.j2) read about one unit.

Kept apart from render/context.py, which re-exports it, as the custom-app part is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class BackupCredential:
    """A key of a Secret in the unit's namespace (never its value)."""

    secret: str
    """Secret name."""
    key: str
    """Key in that Secret."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Backup:
    """How and when this unit is backed up in this environment, and where to (component.yaml `backup`, spec `backups`)."""

    method: str
    """The catalog's backup method (`pg-dump`, `redis-rdb`, `qdrant-snapshot`, `volume-tar`, `es-snapshot`, `neo4j-dump`)."""
    cronJob: str
    """Name of the backup CronJob, `<unit>-backup` (alerts on backup age select on it)."""
    restoreJob: str
    """Name of the restore Job, `<unit>-restore`."""
    schedule: str
    """Cron schedule in this environment."""
    retentionDays: int
    """Backups older than this are deleted after a successful run."""
    podLabels: Mapping[str, str]
    """Labels of the backup and restore pods (their own name, so no Service selects them; NetworkPolicies admit them)."""
    clientImage: str
    """The S3 client image (rclone) that uploads, prunes and downloads."""
    dumpImage: str
    """The image of the dump and load steps (the component's own, or the catalog's `backup.image`)."""
    endpoint: str
    """The object store's S3 URL, inside the cluster."""
    region: str
    """The region S3 requests are signed with."""
    bucket: str
    """The backups bucket."""
    prefix: str
    """Where this unit's backups go in the bucket: `<environment>/<unit>` (one folder per run below it, named by UTC time)."""
    storeSecret: str
    """The Secret (copied to this namespace) with the backups key: `access-key-id`, `secret-access-key`."""
    address: str
    """The unit's Service address (`<service>.<namespace>.svc.cluster.local`)."""
    port: int | None
    """The port number the dump step talks to (catalog `backup.port`), none for `volume-tar`."""
    credentials: BackupCredential | None
    """The unit's own credential the dump and load steps read (catalog `backup.credentials`)."""
    databases: Sequence[str]
    """`pg-dump`: the databases dumped, one per dependant (named after it)."""
    claim: str | None
    """`volume-tar`: the PersistentVolumeClaim holding the state (`<volume>-<unit>-0`, or the catalog's `claim`)."""
    path: str
    """`volume-tar`: where that volume is mounted in the backup and restore pods."""
    runAs: int | None
    """`volume-tar`: the uid and gid the pods run as (the files' owner)."""
    repository: str | None
    """`writesToStore`: the name the unit registers the store under (an Elasticsearch snapshot repository), else none."""
    writesToStore: bool
    """The unit writes its backups to the store itself (catalog `backup.writesToStore`): its pods hold the backups key,
    the backup and restore pods only drive its API (no upload or download), the store admits the unit's pods."""
    dumpsAtStart: bool
    """The dump needs the unit stopped (catalog `backup.dumpsAtStart`): the unit's own pod dumps in an init container
    (`_shared/backup.j2` `start_dump`) when the CronJob has asked on the data volume and restarted it."""
    loadImage: str
    """The image of the restore's load step (the component's own, or `dumpImage` when the catalog names one and the
    dump is not taken by the unit itself)."""
    serviceAccount: str | None
    """`dumpsAtStart`: the backup pods' ServiceAccount, `<unit>-backup`, allowed only to delete the unit's pod."""
    pod: str | None
    """`dumpsAtStart`: the pod the CronJob restarts, `<unit>-0`."""


@dataclass(frozen=True, kw_only=True, slots=True)
class BackupStore:
    """On the object-store provider taking backups: what its setup Job creates for them (catalog `backupStore`)."""

    bucket: str
    """The backups bucket."""
    secret: str
    """The Secret with the backups key (`access-key-id`, `secret-access-key`), allowed on that bucket only."""
    offsite: Offsite | None = None
    """The copy of the bucket to S3 storage elsewhere in this environment (spec `backups.offsite`), else none."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Offsite:
    """`unit.backupStore.offsite`: the CronJob copying the backups bucket off the cluster (`_shared/offsite-cronjob.yaml.j2`)."""

    cronJob: str
    """Its name, `<store>-offsite-backup` (the backup-age alert watches it like every `-backup` CronJob)."""
    schedule: str
    """Cron schedule (UTC)."""
    retentionDays: int
    """Off-site backups older than this are deleted after each copy."""
    clientImage: str
    """The S3 client image (rclone)."""
    storeEndpoint: str
    """The object store's S3 URL inside the cluster."""
    storeRegion: str
    """The region requests to it are signed with."""
    source: str
    """What is copied: `<backups bucket>/<environment>` (only this environment's backups)."""
    endpoint: str
    """The other site's S3 endpoint."""
    region: str
    """Its region."""
    pathStyle: bool
    """Whether the bucket goes in the URL path there."""
    target: str
    """Where the copy goes there: `<bucket>/<prefix>/<environment>`."""
    secret: str
    """The Secret (made out of band) with the other site's key: `access-key-id`, `secret-access-key`."""
    podLabels: dict[str, str]
    """Its pods' labels (their own name: no Service or policy of the store selects them)."""
