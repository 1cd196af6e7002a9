"""RESTORE.md, the generated repository's restore runbook, from the backup plans.

Per environment and component: what a backup holds, where it is, when it runs, and the
steps to put it back with the restore Job in restore/<env>/<component>.yaml (never
synced by Argo CD, created by hand). The stateful components without a backup are
listed with their reason, so a missing backup is visibly a decision.
"""

from __future__ import annotations

from pathlib import Path

from bbgen.render import backups, engine, paths
from bbgen.render.context import variables
from bbgen.render.context_restore import NotBackedUp, RestoreEnv, RestoreUnit, RestoreVariables
from bbgen.render.layout import app_name, argocd_namespace, root_app_name
from bbgen.render.units import Unit
from bbgen.spec.merge import env_view
from bbgen.spec.models import Platform

TEMPLATE = "_repo/RESTORE.md.j2"
OFFLINE = ("redis-rdb", "volume-tar")
"""Methods whose restore Job writes the component's volume: it must be stopped first."""


def restore_context(platform: Platform, env_units: dict[str, dict[str, Unit]]) -> RestoreVariables:
    envs: list[RestoreEnv] = []
    skipped: dict[str, str] = {}
    store = bucket = secret = None
    for env in sorted(platform.environments):
        view = env_view(platform, env)
        units = env_units[env]
        found = backups.store_of(units)
        if found is not None:
            store, bucket, secret = found[0].name, found[1].bucket, found[1].secret
        rows = []
        for name, plan in backups.backed_up(view, units, env).items():
            unit = units[name]
            assert unit.component is not None and unit.component.backup is not None
            rows.append(RestoreUnit(
                name=name, namespace=unit.namespace, method=plan.method, what=unit.component.backup.what,
                note=unit.component.backup.reason or "", cronJob=plan.cronJob, restoreJob=plan.restoreJob, schedule=plan.schedule,
                retentionDays=plan.retentionDays, location=f"{plan.bucket}/{plan.prefix}/", restoreFile=paths.restore_file(env, name),
                application=app_name(env, name), offline=plan.dumpsAtStart or plan.method in OFFLINE, workload=f"{unit.component.backup.workload}/{name}", databases=list(plan.databases),
                repository=plan.repository,
                restartPod=plan.pod if plan.dumpsAtStart else None,
            ))
        for unit in units.values():
            fact = unit.component.backup if unit.component is not None else None
            if fact is not None and fact.method == "none" and fact.reason:
                skipped[unit.name] = fact.reason
        envs.append(RestoreEnv(name=env, rootApp=root_app_name(env), units=rows))
    return RestoreVariables(
        platform=platform.name, store=store, bucket=bucket, storeSecret=secret, argocdNamespace=argocd_namespace(),
        environments=envs, notBackedUp=[NotBackedUp(name=n, reason=r) for n, r in sorted(skipped.items())],
    )


def restore_text(root: Path, platform: Platform, env_units: dict[str, dict[str, Unit]]) -> str:
    """RESTORE.md's text (templates/_repo/RESTORE.md.j2, text dialect)."""
    return engine.render_text(root, root / TEMPLATE, variables(restore_context(platform, env_units)), text=True)
