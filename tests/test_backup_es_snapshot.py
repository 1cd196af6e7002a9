"""Elasticsearch's backups (`es-snapshot`): the nodes write snapshots into the store's backups bucket themselves.

With backups on and an object store taking them, the StatefulSet gets the S3 client's node settings
and an init container putting the backups key into the keystore, the store's NetworkPolicy admits the
Elasticsearch pods on its S3 port, and the CronJob and restore Job only drive the snapshot API. The
scripts run against a stand-in for that API on 127.0.0.1, through a `curl` that records its argv, so
the requests they make and the absence of the password from every command line are checked.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import ValidationError

from bbgen import api
from bbgen.catalog.models import _Wrapper
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from support import MINIMAL_SPEC

SPEC = MINIMAL_SPEC + """\
backups: {schedule: "15 3 * * *", retentionDays: 30}
components:
  garage: {}
  elasticsearch: {}
environments:
  prod: {}
"""
STS = "components/elasticsearch/base/statefulset-elasticsearch.yaml"
CRON = "components/elasticsearch/base/cronjob-elasticsearch-backup.yaml"
RESTORE = "restore/prod/elasticsearch.yaml"
S3_SETTINGS = {"s3.client.default.endpoint", "s3.client.default.protocol", "s3.client.default.path_style_access", "s3.client.default.region"}


def _files(spec: Path) -> dict[str, bytes]:
    return dict(build_tree(load_platform(spec)).files)


def _sts_pod(files: dict[str, bytes]) -> dict[str, Any]:
    pod: dict[str, Any] = yaml.safe_load(files[STS])["spec"]["template"]["spec"]
    return pod


def test_the_catalog_requires_es_snapshot_to_write_into_the_store() -> None:
    base: dict[str, Any] = {"name": "x", "description": "x", "delivery": "kustomize", "domain": "d", "namespace": "d", "stateful": True, "ports": {"http": 1}}
    with pytest.raises(ValidationError, match="writesToStore"):
        _Wrapper.model_validate({"component": {**base, "backup": {"method": "es-snapshot", "port": "http"}}})
    with pytest.raises(ValidationError, match="cannot be `dumpsAtStart`"):
        _Wrapper.model_validate({"component": {**base, "backup": {"method": "es-snapshot", "port": "http", "writesToStore": True, "dumpsAtStart": True, "volume": "v", "runAs": 1, "image": "i"}}})


def test_the_nodes_get_the_s3_client_and_the_keystore_step_only_with_backups(write_spec: Callable[[str], Path]) -> None:
    pod = _sts_pod(_files(write_spec(SPEC)))
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert {k: env[k] for k in S3_SETTINGS} == {
        "s3.client.default.endpoint": "http://garage.storage.svc.cluster.local:3900",
        "s3.client.default.protocol": "http",
        "s3.client.default.path_style_access": "true",
        "s3.client.default.region": env["s3.client.default.region"],
    }
    assert env["s3.client.default.region"]
    (keystore,) = [c for c in pod["initContainers"] if c["name"] == "keystore"]
    assert [c["name"] for c in pod["initContainers"]] == ["config", "keystore"], "the keystore goes into the copied config"
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in keystore["env"]}
    assert refs == {"S3_ACCESS_KEY": {"name": "garage-backups", "key": "access-key-id"}, "S3_SECRET_KEY": {"name": "garage-backups", "key": "secret-access-key"}}
    assert {m["mountPath"]: m["name"] for m in keystore["volumeMounts"]}["/usr/share/elasticsearch/config"] == "config"
    script = keystore["command"][-1]
    assert "add --stdin --force s3.client.default.access_key" in script and "add --stdin --force s3.client.default.secret_key" in script
    assert keystore["securityContext"]["readOnlyRootFilesystem"] is True
    # Without an object store, or with Elasticsearch's backup off, the StatefulSet is as before.
    for spec in (SPEC.replace("  garage: {}\n", ""), SPEC.replace("  elasticsearch: {}", "  elasticsearch:\n    backup: {enabled: false}")):
        files = _files(write_spec(spec))
        plain = _sts_pod(files)
        assert [c["name"] for c in plain["initContainers"]] == ["config"]
        assert not S3_SETTINGS & {e["name"] for e in plain["containers"][0]["env"]}
        assert CRON not in files and RESTORE not in files


def test_the_store_admits_the_elasticsearch_pods_on_its_s3_port(write_spec: Callable[[str], Path]) -> None:
    policy = yaml.safe_load(_files(write_spec(SPEC))["platform/prod/networkpolicy-storage-allow-garage.yaml"])
    rules = [(p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], p["podSelector"]["matchLabels"], [x["port"] for x in r["ports"]])
             for r in policy["spec"]["ingress"] for p in r.get("from", []) if "namespaceSelector" in p]
    nodes = {"app.kubernetes.io/name": "elasticsearch", "app.kubernetes.io/instance": "elasticsearch"}
    assert ("elastic", nodes, [3900]) in rules
    # Its backup pods only talk to Elasticsearch: the store does not admit them.
    assert not [r for r in rules if r[1].get("app.kubernetes.io/name") == "elasticsearch-backup"]


def test_the_cronjob_and_restore_job_render_and_validate(write_spec: Callable[[str], Path], tmp_path: Path, tools: dict[str, str]) -> None:
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(write_spec(SPEC))), out)
    built = subprocess.run([tools["kustomize"], "build", str(out / "components/elasticsearch/overlays/prod")], capture_output=True, text=True, timeout=120, check=True)
    (cron,) = [d for d in yaml.safe_load_all(built.stdout) if isinstance(d, dict) and d["kind"] == "CronJob"]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert "initContainers" not in pod and [c["name"] for c in pod["containers"]] == ["snapshot"], "no upload: Elasticsearch writes to S3"
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert (env["REPOSITORY"], env["BUCKET"], env["BASE_PATH"], env["RETENTION_DAYS"]) == ("bbgen-backups", "backups", "prod/elasticsearch", "30")
    job = yaml.safe_load((out / RESTORE).read_text(encoding="utf-8"))
    assert "initContainers" not in job["spec"]["template"]["spec"], "no download step"
    report = api.validate(out, charts=api.chart_options(enabled=False))
    assert report.ok, [f.message for f in report.errors]
    assert RESTORE in {file for file, _ in report.checked}
    runbook = (out / "RESTORE.md").read_text(encoding="utf-8")
    assert "### elasticsearch (prod)" in runbook and "`SNAPSHOT`" in runbook and "`*,-.*`" in runbook


class _FakeES:
    """The snapshot API on 127.0.0.1: records each request (basic auth checked), answers as Elasticsearch would."""

    def __init__(self, password: str, snapshots: list[tuple[str, int]]) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.snapshots = snapshots
        expected = "Basic " + base64.b64encode(f"elastic:{password}".encode()).decode()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                fake.requests.append((self.command, self.path, json.loads(raw) if raw else None))
                path = urlsplit(self.path).path
                body: bytes = b"{}"
                if path == "/_cat/snapshots/bbgen-backups":
                    query = urlsplit(self.path).query
                    if "h=status,id" in query:
                        body = "".join(f"SUCCESS {sid}\n" for sid, _ in sorted(fake.snapshots, key=lambda s: s[1])).encode()
                    else:
                        body = "".join(f"{sid} {started}\n" for sid, started in fake.snapshots).encode()
                elif self.command == "PUT" and path.startswith("/_snapshot/bbgen-backups/"):
                    body = json.dumps({"snapshot": {"snapshot": path.rsplit("/", 1)[1], "state": "SUCCESS"}}).encode()
                elif self.command == "GET" and path.startswith("/_snapshot/bbgen-backups/"):
                    body = json.dumps({"snapshots": [{"snapshot": path.rsplit("/", 1)[1], "indices": ["app-logs", ".kibana_1", "orchestrator-docs"], "state": "SUCCESS"}]}).encode()
                elif path.endswith("/_restore"):
                    body = b'{"snapshot":{"snapshot":"x","indices":["app-logs"],"shards":{"total":2,"failed":0,"successful":2}}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _run(container: dict[str, Any], tmp: Path, es: _FakeES, password: str, extra: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the container's script with /tmp moved into ``tmp``, through a curl that logs its argv first."""
    bindir, scratch, argv_log = tmp / "bin", tmp / "scratch", tmp / "argv.log"
    bindir.mkdir(parents=True, exist_ok=True)
    scratch.mkdir(exist_ok=True)
    real = shutil.which("curl")
    assert real is not None
    shim = bindir / "curl"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{argv_log}"\nexec "{real}" "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {"PATH": f"{bindir}:{os.environ['PATH']}"}
    for e in container["env"]:
        env[e["name"]] = e["value"] if "value" in e else password
    env.update({"HOST": "127.0.0.1", "PORT": str(es.port), **(extra or {})})
    script = str(container["command"][-1]).replace("/tmp/", f"{scratch}/")
    assert subprocess.run(["sh", "-n", "-c", script], capture_output=True, timeout=30).returncode == 0
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    argv = argv_log.read_text(encoding="utf-8").splitlines() if argv_log.exists() else []
    return done, argv


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is needed to run the scripts")
def test_the_snapshot_and_restore_scripts_against_a_stand_in(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    files = _files(write_spec(SPEC))
    backup = yaml.safe_load(files[CRON])["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    load = yaml.safe_load(files[RESTORE])["spec"]["template"]["spec"]["containers"][0]
    password = "E" + os.urandom(12).hex()
    now = int(time.time())
    es = _FakeES(password, [("20200101t000000z", now - 40 * 86400), ("20200201t000000z", now - 31 * 86400), ("recent", now - 86400)])
    try:
        done, argv = _run(backup, tmp_path / "backup", es, password)
        assert done.returncode == 0, done.stdout + done.stderr
        assert argv and not any(password in a for a in argv), "the password must never be on a command line"
        assert password not in done.stdout + done.stderr
        calls = [(m, urlsplit(p).path) for m, p, _ in es.requests]
        assert es.requests[0] == ("PUT", "/_snapshot/bbgen-backups", {"type": "s3", "settings": {"bucket": "backups", "base_path": "prod/elasticsearch"}})
        method, path, _ = es.requests[1]
        assert method == "PUT" and path.startswith("/_snapshot/bbgen-backups/") and path.endswith("?wait_for_completion=true")
        stamp = urlsplit(path).path.rsplit("/", 1)[1]
        assert len(stamp) == 16 and stamp == stamp.lower() and stamp[8] == "t" and stamp.endswith("z")
        deleted = sorted(p for m, p in calls if m == "DELETE")
        assert deleted == ["/_snapshot/bbgen-backups/20200101t000000z", "/_snapshot/bbgen-backups/20200201t000000z"], "only those past the 30 days"

        es.requests.clear()
        done, argv = _run(load, tmp_path / "restore", es, password)
        assert done.returncode == 0, done.stdout + done.stderr
        assert not any(password in a for a in argv)
        calls = [(m, urlsplit(p).path) for m, p, _ in es.requests]
        assert calls[0] == ("PUT", "/_snapshot/bbgen-backups")
        # the newest successful snapshot; its own indices closed, never the system ones, nothing deleted
        assert ("GET", "/_snapshot/bbgen-backups/recent") in calls
        assert sorted(p for m, p in calls if p.endswith("/_close")) == ["/app-logs/_close", "/orchestrator-docs/_close"]
        assert not [c for c in calls if c[0] == "DELETE"]
        (restore,) = [(p, b) for m, p, b in es.requests if m == "POST" and "/_restore" in p]
        assert restore == ("/_snapshot/bbgen-backups/recent/_restore?wait_for_completion=true", {"indices": "*,-.*", "include_global_state": False})

        # SNAPSHOT picks an older one; a password outside the generated alphabet is refused, never sent
        es.requests.clear()
        done, _ = _run(load, tmp_path / "restore", es, password, {"SNAPSHOT": "20200201t000000z"})
        assert done.returncode == 0 and any(p.startswith("/_snapshot/bbgen-backups/20200201t000000z/_restore") for _, p, _ in es.requests)
        bad = subprocess.run(["sh", "-c", backup["command"][-1]], env={"PATH": os.environ["PATH"], "CREDENTIAL": 'x"y', "HOST": "127.0.0.1", "PORT": str(es.port)},
                             capture_output=True, text=True, timeout=30)
        assert bad.returncode != 0 and "only letters, digits" in bad.stderr
    finally:
        es.close()
