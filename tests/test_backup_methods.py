"""The rendered backup and restore scripts, run against the real server where one is at hand.

Redis: the CronJob's dump step takes an RDB snapshot of a live server (`appendonly yes`,
`requirepass`, as the redis component runs it); the restore Job's load step puts it on an
empty volume; a server started on that volume with `appendonly yes` must hold the data.
(Redis 7+ never loads dump.rdb while AOF is on, so copying the snapshot is not enough.)
Volume-tar: the same for a data volume (tar and find, as in the client image). Postgres: every
database dumped, one restored online over later changes, the others left alone (the server runs as
nobody when the tests are root). Servers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen.render.build import build_tree
from bbgen.spec import load_platform
from support import REFERENCE

needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None or shutil.which("redis-cli") is None, reason="redis-server not installed")

PASSWORD = "test-only-requirepass"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _script(container: dict[str, Any], tmp: Path, data: Path) -> str:
    """The container's shell script with its volumes moved into ``tmp`` (/backup) and ``data`` (/data)."""
    command = container["command"]
    assert command[:2] == ["/bin/sh", "-c"]
    return str(command[2]).replace("/backup", str(tmp / "backup")).replace('"/data', f'"{data}')


class Redis:
    def __init__(self, data: Path) -> None:
        self.port = _free_port()
        data.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--requirepass", PASSWORD, "--appendonly", "yes",
             "--dir", str(data), "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if self.cli("PING").strip() == "PONG":
                return
            time.sleep(0.1)
        raise AssertionError("redis did not start")

    def cli(self, *args: str) -> str:
        env = {**os.environ, "REDISCLI_AUTH": PASSWORD}
        run = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args], capture_output=True, text=True, env=env, timeout=30)
        return run.stdout

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


@needs_redis
def test_redis_rdb_round_trip(tmp_path: Path) -> None:
    tree = build_tree(load_platform(REFERENCE))
    cron = yaml.safe_load(tree.files["components/redis/base/cronjob-redis-backup.yaml"])
    dump = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["initContainers"][0]
    restore = yaml.safe_load(tree.files["restore/prod/redis.yaml"])
    load = restore["spec"]["template"]["spec"]["containers"][0]
    (tmp_path / "backup").mkdir()

    live = Redis(tmp_path / "live")
    try:
        assert live.cli("SET", "greeting", "hello from the backup").strip() == "OK"
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(live.port), "REDISCLI_AUTH": PASSWORD}
        subprocess.run(["sh", "-c", _script(dump, tmp_path, tmp_path / "live")], check=True, env=env, timeout=60, capture_output=True)
        live.cli("SET", "greeting", "written after the backup")
    finally:
        live.stop()
    assert (tmp_path / "backup" / "dump.rdb").stat().st_size > 0

    restored = tmp_path / "restored"
    restored.mkdir()
    (restored / "dump.rdb").write_bytes(b"stale")  # what a previous life of the volume left behind
    subprocess.run(["sh", "-c", _script(load, tmp_path, restored)], check=True, timeout=60, capture_output=True)
    server = Redis(restored)
    try:
        assert server.cli("GET", "greeting").strip() == "hello from the backup"
        server.cli("SET", "after", "restore")  # the restored server keeps appending to its AOF
    finally:
        server.stop()
    again = Redis(restored)
    try:
        assert again.cli("GET", "after").strip() == "restore"
    finally:
        again.stop()


def test_volume_tar_round_trip(tmp_path: Path) -> None:
    """Gitea's volume: packed read-only beside the pod, unpacked over a volume whose old files go."""
    tree = build_tree(load_platform(REFERENCE))
    cron = yaml.safe_load(tree.files["components/gitea/base/cronjob-gitea-backup.yaml"])
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    dump = pod["initContainers"][0]
    (mount,) = [m for m in dump["volumeMounts"] if m["name"] == "state"]
    assert mount["readOnly"] is True and {"name": "state", "persistentVolumeClaim": {"claimName": "data-gitea-0"}} in pod["volumes"]
    assert "fsGroup" not in pod["securityContext"], "an fsGroup would change the ownership of the live files"
    restore = yaml.safe_load(tree.files["restore/prod/gitea.yaml"])
    load = restore["spec"]["template"]["spec"]["containers"][0]

    def moved(container: dict[str, Any], volume: Path) -> str:
        return str(container["command"][2]).replace("/backup", str(tmp_path / "backup")).replace('"/var/lib/gitea', f'"{volume}')

    live = tmp_path / "live"
    (live / "git" / "repositories" / "org").mkdir(parents=True)
    (live / "git" / "repositories" / "org" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (live / ".hidden").write_text("kept\n", encoding="utf-8")
    (tmp_path / "backup").mkdir()
    subprocess.run(["sh", "-c", moved(dump, live)], check=True, timeout=60, capture_output=True)

    target = tmp_path / "target"
    (target / "stale").mkdir(parents=True)
    (target / "stale" / "file").write_text("old\n", encoding="utf-8")
    subprocess.run(["sh", "-c", moved(load, target)], check=True, timeout=60, capture_output=True)
    assert (target / "git" / "repositories" / "org" / "HEAD").read_text(encoding="utf-8") == "ref: refs/heads/main\n"
    assert (target / ".hidden").exists() and not (target / "stale").exists()


PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None) if Path("/usr/lib/postgresql").is_dir() else None


def _as_nobody(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Postgres refuses to run as root: run as nobody when the tests are root, else as ourselves."""
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, env=env, check=True)


@pytest.mark.skipif(PG_BIN is None or shutil.which("setpriv") is None, reason="no PostgreSQL server binaries")
def test_pg_dump_round_trip() -> None:
    """Every dependant's database dumped with pg_dump -Fc; one restored over later changes, online."""
    import tempfile

    assert PG_BIN is not None
    work = Path(tempfile.mkdtemp(prefix="bbgen-pg-"))
    os.chmod(work, 0o777)
    try:
        data, sock, backup = work / "data", work / "sock", work / "backup"
        for d in (sock, backup):
            d.mkdir()
            os.chmod(d, 0o777)
        _as_nobody([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"])
        port = _free_port()
        _as_nobody([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(work / "log"), "-w", "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"])
        env = {**os.environ, "PATH": f"{PG_BIN}:{os.environ['PATH']}", "PGHOST": "127.0.0.1", "PGPORT": str(port), "PGUSER": "postgres", "CREDENTIAL": "unused-trust"}

        def sql(db: str, statement: str) -> str:
            return _as_nobody([str(PG_BIN / "psql"), "-X", "-q", "-t", "-A", "-d", db, "-c", statement], env).stdout.strip()

        tree = build_tree(load_platform(REFERENCE))
        cron = yaml.safe_load(tree.files["components/postgres/base/cronjob-postgres-backup.yaml"])
        dump = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["initContainers"][0]
        restore = yaml.safe_load(tree.files["restore/prod/postgres.yaml"])
        load = restore["spec"]["template"]["spec"]["containers"][0]
        databases = {e["name"]: e.get("value") for e in dump["env"]}["DATABASES"].split()
        assert "gitea" in databases and "keycloak" in databases
        for db in ("gitea", "keycloak"):
            sql("postgres", f'CREATE DATABASE "{db}"')
            sql(db, f"CREATE TABLE t (v text); INSERT INTO t VALUES ('{db} before')")
        env_dump = {**env, "DATABASES": "gitea keycloak"}
        _as_nobody(["sh", "-c", str(dump["command"][2]).replace("/backup", str(backup))], env_dump)
        assert sorted(p.name for p in backup.iterdir()) == ["gitea.dump", "keycloak.dump"]

        sql("gitea", "UPDATE t SET v = 'gitea after'; CREATE TABLE newer (x int)")
        sql("keycloak", "UPDATE t SET v = 'keycloak after'")
        _as_nobody(["sh", "-c", str(load["command"][2]).replace("/backup", str(backup))], {**env_dump, "RESTORE_DATABASES": "gitea"})
        assert sql("gitea", "SELECT v FROM t") == "gitea before"
        assert sql("keycloak", "SELECT v FROM t") == "keycloak after", "only the databases asked for are restored"
    finally:
        if (work / "data" / "postmaster.pid").exists():
            _as_nobody([str(PG_BIN / "pg_ctl"), "-D", str(work / "data"), "-w", "-m", "fast", "stop"])
        shutil.rmtree(work, ignore_errors=True)
