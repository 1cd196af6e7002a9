"""How a stateful component is backed up, and how the object store takes the backups.

A component keeping state declares one method; the shared templates
(templates/_shared/backup-*.j2) turn the method into a CronJob
`<component>-backup` that writes to the object store's `backups` bucket, and a
restore Job that is rendered but never synced. ``none`` is a decision too, so it
carries its reason (a cache, telemetry bound by retention, state that lives in
another component, the object store itself), which the RESTORE.md runbook prints.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from bbgen.catalog._base import _Meta

BackupMethod = Literal["pg-dump", "redis-rdb", "qdrant-snapshot", "volume-tar", "es-snapshot", "neo4j-dump", "none"]


class SecretKeyRef(_Meta):
    """One key of one Secret in the component's own namespace."""

    secret: str
    key: str


class BackupFacts(_Meta):
    """`backup:` of a component.yaml: what its backup CronJob dumps and how the restore Job puts it back."""

    method: BackupMethod
    """`pg-dump`: `pg_dump -Fc` of every dependant's database; `redis-rdb`: `redis-cli --rdb` (an RDB snapshot);
    `qdrant-snapshot`: a snapshot of every collection through the API; `volume-tar`: a tar of the data volume, mounted
    read-only beside the running pod; `es-snapshot`: an Elasticsearch snapshot into an S3 repository; `neo4j-dump`:
    `neo4j-admin database dump` (see `dumpsAtStart`); `none`: nothing (say why in `reason`)."""
    reason: str | None = None
    """Why there is no backup (`none` only), or what else to know (printed in RESTORE.md)."""
    what: str = ""
    """What the backup holds, in a few words (RESTORE.md)."""
    port: str | None = None
    """The component's port the backup pod talks to (pg-dump, redis-rdb, qdrant-snapshot, es-snapshot)."""
    credentials: SecretKeyRef | None = None
    """The component's own credential the backup reads (superuser password, requirepass, API key)."""
    volume: str | None = None
    """`volume-tar`: the StatefulSet's volumeClaimTemplate name holding the state (claim `<volume>-<component>-0`)."""
    claim: str | None = None
    """`volume-tar`: the PersistentVolumeClaim holding the state when it is the component's own claim (a Deployment's),
    not a StatefulSet's `<volume>-<component>-0`; then `workload` is `deployment`."""
    workload: Literal["statefulset", "deployment"] = "statefulset"
    """What runs the component: the restore scales it to zero first (`kubectl scale <workload>/<component>`)."""
    path: str = "/data"
    """`volume-tar`: where the volume is mounted in the backup pod (the restore Job unpacks there)."""
    run_as: int | None = Field(default=None, alias="runAs")
    """`volume-tar`: the uid (and gid) owning the files; the backup reads and the restore writes as it."""
    image: str | None = None
    """Image of the dump step, when not the component's own (e.g. a curl image for an HTTP API)."""
    writes_to_store: bool = Field(default=False, alias="writesToStore")
    """The component itself writes its backups to the object store (an Elasticsearch S3 snapshot repository): the
    backup and restore pods only drive its API (no upload or download step), its own pods get the backups key and
    the store's S3 endpoint, and the store's NetworkPolicy admits them on the S3 port."""
    dumps_at_start: bool = Field(default=False, alias="dumpsAtStart")
    """The dump needs the component stopped (Neo4j Community's `neo4j-admin database dump`), and a CronJob that
    stopped it would fight Argo CD's self-heal. So the component dumps itself: its pod has an init container
    (`_shared/backup.j2` `start_dump`) that dumps into the data volume before the server starts, when the backup
    CronJob has asked for it there; the CronJob asks, deletes the pod (a restart, as a rollout does; the
    StatefulSet is untouched), waits for the dump and uploads it. The price is a restart per backup: the schedule
    is a maintenance window. Needs `volume`, `runAs` and `image` (the CronJob's step: a shell and curl)."""

    @model_validator(mode="after")
    def _complete(self) -> BackupFacts:
        if self.method == "none":
            if not self.reason:
                raise ValueError("backup.method `none` needs a `reason` (a cache, telemetry, state kept elsewhere …)")
            return self
        if (self.method == "volume-tar" or self.dumps_at_start) and ((self.volume is None and self.claim is None) or self.run_as is None):
            raise ValueError(f"backup.method `{self.method}` needs `volume` (the volumeClaimTemplate) or `claim`, and `runAs` (the owning uid)")
        if (self.claim is None) != (self.workload == "statefulset"):
            raise ValueError("backup `claim` names a Deployment's own claim: it goes with `workload: deployment`, and only with it")
        if self.method == "es-snapshot" and not self.writes_to_store:
            raise ValueError("backup.method `es-snapshot` writes into the store itself: set `writesToStore: true`")
        if self.writes_to_store and self.dumps_at_start:
            raise ValueError("backup `writesToStore` drives the running component's API: it cannot be `dumpsAtStart`")
        if self.dumps_at_start and self.image is None:
            raise ValueError("backup `dumpsAtStart` needs `image`: the CronJob's step asks for the dump with a shell and curl")
        if self.method in ("pg-dump", "redis-rdb", "qdrant-snapshot", "es-snapshot") and self.port is None:
            raise ValueError(f"backup.method `{self.method}` needs `port` (the port the backup pod talks to)")
        return self


class BackupStore(_Meta):
    """`backupStore:` of an object-store provider: where backups go, with a key that may touch nothing else.

    Its setup Job creates ``bucket`` and the key of ``secret`` (keys `access-key-id`,
    `secret-access-key`) allowed on that bucket only; every namespace running a backup
    gets a copy of the Secret (``bbgen secrets plan``).
    """

    bucket: str = "backups"
    """The bucket every backup goes to (`<environment>/<component>/<UTC time>/`)."""
    secret: str
    """The Secret holding the backups key (one of the component's `secrets`)."""
    port: str
    """The S3 port (the NetworkPolicy lets backup pods reach it)."""
    client_image: str = Field(alias="clientImage")
    """The S3 client the backup and restore pods upload and download with (rclone, configured by environment)."""
    region_setting: str | None = Field(default=None, alias="regionSetting")
    """The setting holding the region clients sign with (none: `us-east-1`)."""
