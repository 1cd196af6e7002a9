"""The rendered backup and restore scripts, run against the real server where one is at hand.

Redis: the CronJob's dump step takes an RDB snapshot of a live server (`appendonly yes`,
`requirepass`, as the redis component runs it); the restore Job's load step puts it on an
empty volume; a server started on that volume with `appendonly yes` must hold the data.
(Redis 7+ never loads dump.rdb while AOF is on, so copying the snapshot is not enough.)
Servers listen on 127.0.0.1 only.
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

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None or shutil.which("redis-cli") is None, reason="redis-server not installed")

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
