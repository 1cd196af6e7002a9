"""`backups.offsite`: the object store taking backups copies each environment's backups to S3 storage elsewhere.

The platform's disks are local: a node that dies takes the object store's copy of every backup
with it. The copy is a CronJob on the store (rclone, both keys by Secret reference), layered per
environment like the rest of `backups`, its key planned as a Secret supplied out of band. The
render is validated with the real kustomize and kubeconform.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import yaml

from bbgen import api
from bbgen.render.build import build_tree
from bbgen.render.inventory import inventory_for
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from support import MINIMAL_SPEC, bbgen

CRON = "components/minio/base/cronjob-minio-offsite-backup.yaml"
SPEC = MINIMAL_SPEC + """\
backups:
  offsite: {endpoint: "https://s3.eu-central-1.amazonaws.com", bucket: demo-backups-far}
components:
  minio: {host: ""}
  postgres: {}
environments:
  prod: {}
  dev:
    cluster: https://dev.example.org:6443
    backups: {offsite: {prefix: demo-dev, retentionDays: 7}}
"""


def _env(doc: dict[str, Any]) -> dict[str, Any]:
    (container,) = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_the_store_copies_each_environments_backups_off_site(write_spec: Callable[[str], Path], tmp_path: Path, tools: dict[str, str]) -> None:
    platform = load_platform(write_spec(SPEC))
    out = tmp_path / "out"
    write_tree(build_tree(platform), out)
    env = _env(yaml.safe_load((out / CRON).read_text(encoding="utf-8")))
    assert (env["SOURCE"], env["TARGET"], env["RETENTION_DAYS"]) == ("backups/prod", "demo-backups-far/demo/prod", "30")
    assert env["RCLONE_CONFIG_OFFSITE_ENDPOINT"] == "https://s3.eu-central-1.amazonaws.com"
    assert env["RCLONE_CONFIG_OFFSITE_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "backups-offsite", "key": "access-key-id"}}
    assert env["RCLONE_CONFIG_STORE_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "minio-backups", "key": "access-key-id"}}
    assert env["RCLONE_CONFIG_OFFSITE_FORCE_PATH_STYLE"] == "false" and env["RCLONE_CONFIG_STORE_FORCE_PATH_STYLE"] == "true"
    assert not list(out.glob("components/postgres/base/cronjob-*offsite*")), "only the store copies"

    import subprocess

    built = subprocess.run([tools["kustomize"], "build", str(out / "components" / "minio" / "overlays" / "dev")], capture_output=True, text=True, timeout=120, check=True)
    (dev,) = [d for d in yaml.safe_load_all(built.stdout) if d and d["kind"] == "CronJob" and d["metadata"]["name"] == "minio-offsite-backup"]
    assert (_env(dev)["SOURCE"], _env(dev)["TARGET"], _env(dev)["RETENTION_DAYS"]) == ("backups/dev", "demo-backups-far/demo-dev/dev", "7")

    report = api.validate(out, charts=api.chart_options(enabled=False))
    assert report.ok, [f.message for f in report.errors]

    plans = {s.ref: s for s in inventory_for(platform).secrets}
    key = plans["storage/backups-offsite"]
    assert {k: p.source for k, p in key.keys.items()} == {"access-key-id": "supply", "secret-access-key": "supply"}


def test_no_offsite_without_the_setting_or_with_backups_off(write_spec: Callable[[str], Path]) -> None:
    plain = SPEC.replace('  offsite: {endpoint: "https://s3.eu-central-1.amazonaws.com", bucket: demo-backups-far}\n', "  enabled: true\n")
    plain = plain.replace("    backups: {offsite: {prefix: demo-dev, retentionDays: 7}}\n", "")
    assert CRON not in dict(build_tree(load_platform(write_spec(plain, "plain.yaml"))).files)
    off = SPEC.replace("backups:\n", "backups:\n  enabled: false\n")
    files = dict(build_tree(load_platform(write_spec(off, "off.yaml"))).files)
    assert CRON not in files and not any("backups-offsite" in s.ref for s in inventory_for(load_platform(write_spec(off, "off.yaml"))).secrets)


def test_a_plain_http_endpoint_is_a_located_error(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(SPEC.replace("https://s3.eu-central-1", "http://s3.eu-central-1"))
    done = bbgen("render", str(spec), "--out", str(spec.parent / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{spec}:6:23: backups.offsite.endpoint: " in done.stderr and "must be an HTTPS URL" in done.stderr, done.stderr


def test_an_offsite_schedule_that_is_not_cron_is_a_located_error(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(SPEC.replace("bucket: demo-backups-far}", 'bucket: demo-backups-far, schedule: "61 4 * * *"}'))
    done = bbgen("render", str(spec), "--out", str(spec.parent / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "backups.offsite.schedule: minute 61 is outside 0-59" in done.stderr, done.stderr
