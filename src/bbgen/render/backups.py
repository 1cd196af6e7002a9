"""Which units are backed up in an environment, and everything their backup and restore pods need.

The catalog says how (component.yaml `backup.method`), the spec says when and for how
long (`backups`, `components.<name>.backup`, both layered per environment), and the
provider of the `object-store` role says where (its `backupStore`: the bucket, the
key made only for backups, the S3 client image). One function decides all of it, so
the CronJob template, the NetworkPolicies, the secrets plan and RESTORE.md agree.
"""

from __future__ import annotations

from bbgen.catalog.backup import BackupStore
from bbgen.kube.objects import INSTANCE_LABEL, NAME_LABEL
from bbgen.render.context_backup import Backup, BackupCredential, Offsite
from bbgen.render.units import Unit, provider
from bbgen.spec.models import Platform

OBJECT_STORE = "object-store"
DEFAULT_REGION = "us-east-1"
REPOSITORY = "bbgen-backups"
"""What a unit writing into the store itself registers it as (an Elasticsearch snapshot repository)."""


def store_of(units: dict[str, Unit]) -> tuple[Unit, BackupStore] | None:
    """The object-store provider that takes backups, and its facts (None: no provider, or one without `backupStore`)."""
    store = provider(units, OBJECT_STORE)
    if store is None or store.component is None or store.component.backup_store is None:
        return None
    return store, store.component.backup_store


def _s3_of(store: Unit, facts: BackupStore) -> tuple[str, str]:
    """The store's S3 URL inside the cluster, and the region clients sign with."""
    assert store.component is not None
    region = str(store.settings.get(facts.region_setting, DEFAULT_REGION)) if facts.region_setting else DEFAULT_REGION
    return f"http://{store.service}.{store.namespace}.svc.cluster.local:{store.component.ports[facts.port]}", region


def backup_pod_labels(unit: Unit) -> dict[str, str]:
    """The backup and restore pods' labels: their own name (no Service of the unit selects them), the unit's instance."""
    return {NAME_LABEL: f"{unit.name}-backup", INSTANCE_LABEL: unit.name}


def plan(view: Platform, units: dict[str, Unit], unit: Unit, env: str) -> Backup | None:
    """``unit``'s backup in environment ``env`` (``view``: that environment's spec), or None when it has none."""
    comp = unit.component
    if comp is None or comp.backup is None or comp.backup.method == "none" or not view.backups.enabled:
        return None
    found = store_of(units)
    if found is None:
        return None
    store, facts = found
    settings = view.components.get(unit.name)
    own = settings.backup if settings is not None else None
    if own is not None and own.enabled is False:
        return None
    fact = comp.backup
    endpoint, region = _s3_of(store, facts)
    dump_image = fact.image or (facts.client_image if fact.method == "volume-tar" else unit.image) or ""
    return Backup(
        method=fact.method,
        cronJob=f"{unit.name}-backup",
        restoreJob=f"{unit.name}-restore",
        schedule=(own.schedule if own is not None and own.schedule else None) or view.backups.schedule,
        retentionDays=(own.retention_days if own is not None and own.retention_days else None) or view.backups.retention_days,
        podLabels=backup_pod_labels(unit),
        clientImage=facts.client_image,
        dumpImage=dump_image,
        endpoint=endpoint,
        region=region,
        bucket=facts.bucket,
        prefix=f"{env}/{unit.name}",
        storeSecret=facts.secret,
        address=f"{unit.service}.{unit.namespace}.svc.cluster.local",
        port=comp.ports[fact.port] if fact.port is not None else None,
        credentials=BackupCredential(secret=fact.credentials.secret, key=fact.credentials.key) if fact.credentials is not None else None,
        databases=sorted(u.name for u in units.values() if unit.name in u.depends_on) if fact.method == "pg-dump" else [],
        claim=fact.claim or (f"{fact.volume}-{unit.name}-0" if fact.volume is not None else None),
        path=fact.path,
        runAs=fact.run_as,
        repository=REPOSITORY if fact.writes_to_store else None,
        writesToStore=fact.writes_to_store,
        dumpsAtStart=fact.dumps_at_start,
        loadImage=(unit.image or "") if fact.dumps_at_start else dump_image,
        serviceAccount=f"{unit.name}-backup" if fact.dumps_at_start else None,
        pod=f"{unit.name}-0" if fact.dumps_at_start else None,
    )


def backed_up(view: Platform, units: dict[str, Unit], env: str) -> dict[str, Backup]:
    """Every unit backed up in environment ``env``, by name."""
    out = {}
    for name in sorted(units):
        found = plan(view, units, units[name], env)
        if found is not None:
            out[name] = found
    return out


def offsite_plan(view: Platform, units: dict[str, Unit], unit: Unit, env: str) -> Offsite | None:
    """On the store taking backups: the CronJob copying environment ``env``'s backups off the cluster, or None."""
    offsite = view.backups.offsite
    found = store_of(units)
    if offsite is None or not view.backups.enabled or found is None or found[0].name != unit.name:
        return None
    store, facts = found
    store_endpoint, store_region = _s3_of(store, facts)
    return Offsite(
        cronJob=f"{unit.name}-offsite-backup",
        schedule=offsite.schedule,
        retentionDays=offsite.retention_days,
        clientImage=facts.client_image,
        storeEndpoint=store_endpoint,
        storeRegion=store_region,
        source=f"{facts.bucket}/{env}",
        endpoint=offsite.endpoint.rstrip("/"),
        region=offsite.region,
        pathStyle=offsite.path_style,
        target=f"{offsite.bucket}/{offsite.prefix or view.name}/{env}",
        secret=offsite.secret,
        podLabels={NAME_LABEL: f"{unit.name}-offsite-backup", INSTANCE_LABEL: unit.name},
    )
