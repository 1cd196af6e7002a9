"""A unit that dumps itself at start (Neo4j Community): the backup CronJob's steps against a real API server.

The rendered objects are the reference render's (output-example/, kept current by the golden
test): the CronJob's ServiceAccount, Role and RoleBinding are applied to a scratch API server,
a token is requested for that ServiceAccount, and the CronJob's `dump` step runs (its shell
script, the machine's curl) with the token and CA where a pod would find them. The StatefulSet
controller and kubelet are played by the test: once the API server has deleted the pod, the
StatefulSet's own `dump` init container script runs on the same data directory. Its
`neo4j-admin` is a stand-in script that writes the named dump file (the real tool needs a Neo4j
installation this machine has not got); everything else is the rendered shell, as it would run.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "output-example" / "components" / "neo4j" / "base"
NAMESPACE = "restart-dump-test"
"""Not the rendered `graph`: the API server is shared by the session's other tests, whose dry-runs of that namespace
must not meet this test's bare pods (Pod Security warns about them)."""
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def _doc(name: str) -> dict[str, Any]:
    """A rendered object, moved to the test's own namespace (its RoleBinding's subject too)."""
    doc = yaml.safe_load((BASE / name).read_text(encoding="utf-8"))
    assert isinstance(doc, dict) and doc["metadata"]["namespace"] == "graph"
    doc["metadata"]["namespace"] = NAMESPACE
    for subject in doc.get("subjects", []):
        subject["namespace"] = NAMESPACE
    return doc


def _kubectl(server: Any, kubectl: Path, *args: str, doc: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(kubectl), f"--kubeconfig={server.kubeconfig}", *args], input=json.dumps(doc) if doc else None,
        capture_output=True, text=True, timeout=60, check=False,
    )


def _container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == name]
    return found


def _script_env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: str(e["value"]) for e in container["env"] if "value" in e}


def _pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"containers": [{"name": "c", "image": "registry.invalid/none:1"}]}}


@pytest.fixture(scope="module")
def cluster(kube_server: Any, kube_binaries: Path) -> tuple[Any, Path]:
    kubectl = kube_binaries / "kubectl"
    _kubectl(kube_server, kubectl, "create", "namespace", NAMESPACE)
    _kubectl(kube_server, kubectl, "-n", NAMESPACE, "create", "serviceaccount", "default")  # no controller makes it here
    for name in ("serviceaccount-neo4j-backup.yaml", "role-neo4j-backup.yaml", "rolebinding-neo4j-backup.yaml"):
        done = _kubectl(kube_server, kubectl, "apply", "-f", "-", doc=_doc(name))
        assert done.returncode == 0, done.stderr
    return kube_server, kubectl


class Node:
    """Where the two pods' files are: the shared data volume, the backup pod's /backup, /tmp and token."""

    def __init__(self, base: Path, server: Any, kubectl: Path, account: str) -> None:
        self.data, self.backup, self.tmp, self.sa, self.bin = (base / d for d in ("data", "backup", "tmp", "sa", "bin"))
        for d in (self.data, self.backup, self.tmp, self.sa, self.bin):
            d.mkdir(parents=True)
        token = _kubectl(server, kubectl, "-n", NAMESPACE, "create", "token", account, "--duration=10m")
        assert token.returncode == 0, token.stderr
        (self.sa / "token").write_text(token.stdout.strip(), encoding="utf-8")
        (self.sa / "ca.crt").write_bytes((server.pki / "ca.crt").read_bytes())
        self.port = server.port

    def local(self, script: str) -> str:
        """The pod's paths, here (the script itself is the rendered one)."""
        here = {SA_DIR: str(self.sa), "/backup/": f"{self.backup}/", "/tmp/": f"{self.tmp}/"}
        return re.sub("|".join(map(re.escape, here)), lambda m: here[m.group(0)], script)  # one pass: no path is replaced twice

    def stand_in_admin(self, *, fails: bool) -> None:
        """`neo4j-admin database dump DB --to-path=DIR ...`: writes DIR/DB.dump, or fails like a locked store."""
        tool = self.bin / "neo4j-admin"
        body = 'echo "store is locked" >&2; exit 1' if fails else 'for a; do case "$a" in --to-path=*) d="${a#--to-path=}" ;; esac; done; echo "dump of $3" > "$d/$3.dump"'
        tool.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)

    def run(self, shell: str, container: dict[str, Any], timeout: float) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **_script_env(container), "NAMESPACE": NAMESPACE, "DATA_DIR": str(self.data), "WAIT_SECONDS": "60",
               "KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(self.port),
               "PATH": f"{self.bin}:{os.environ['PATH']}"}
        return subprocess.run([shell, "-c", self.local(container["command"][-1])], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _statefulset_restarts(server: Any, kubectl: Path, node: Node, init: dict[str, Any], out: dict[str, Any]) -> None:
    """Once the pod is gone from the API server, start it again: its `dump` init container runs first."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _kubectl(server, kubectl, "-n", NAMESPACE, "get", "pod", "neo4j-0").returncode != 0:
            out["init"] = node.run("/bin/bash", init, timeout=30)
            return
        time.sleep(0.2)
    out["init"] = None


def _backup(cluster: tuple[Any, Path], tmp_path: Path, *, fails: bool) -> tuple[subprocess.CompletedProcess[str], Node, dict[str, Any]]:
    server, kubectl = cluster
    cron = _doc("cronjob-neo4j-backup.yaml")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    sts = _doc("statefulset-neo4j.yaml")["spec"]["template"]["spec"]
    node = Node(tmp_path, server, kubectl, cron["serviceAccountName"])
    node.stand_in_admin(fails=fails)
    for name in ("neo4j-0", "neo4j-other"):
        _kubectl(server, kubectl, "-n", NAMESPACE, "delete", "pod", name, "--ignore-not-found", "--grace-period=0")
        assert _kubectl(server, kubectl, "create", "-f", "-", doc=_pod(name)).returncode == 0
    out: dict[str, Any] = {}
    restarts = threading.Thread(target=_statefulset_restarts, args=(server, kubectl, node, _container(sts, "dump"), out))
    restarts.start()
    step = node.run("/bin/sh", _container(cron, "dump"), timeout=90)
    restarts.join(timeout=60)
    assert out.get("init") is not None, f"the pod was never deleted: {step.stderr}"
    assert out["init"].returncode == 0, "the unit's init container never keeps its server down"
    return step, node, out


def test_the_backup_restarts_the_pod_and_collects_its_dumps(cluster: tuple[Any, Path], tmp_path: Path) -> None:
    step, node, out = _backup(cluster, tmp_path, fails=False)
    assert step.returncode == 0, step.stderr
    assert sorted(p.name for p in node.backup.iterdir()) == ["neo4j.dump", "system.dump"]
    assert list((node.data / ".bbgen-backup").iterdir()) == [], "request, markers and dumps are cleaned up"
    assert "dumped database system" in out["init"].stdout
    server, kubectl = cluster
    assert _kubectl(server, kubectl, "-n", NAMESPACE, "get", "pod", "neo4j-other").returncode == 0, "no other pod is touched"


def test_a_failed_dump_fails_the_backup_but_not_the_unit(cluster: tuple[Any, Path], tmp_path: Path) -> None:
    step, node, out = _backup(cluster, tmp_path, fails=True)
    assert step.returncode == 1
    assert f"the dump failed: kubectl -n {NAMESPACE} logs neo4j-0 -c dump" in step.stderr
    assert "starting without a backup" in out["init"].stderr
    assert list(node.backup.iterdir()) == []
    assert not (node.data / ".bbgen-backup" / "requested").exists(), "an ordinary restart later does not dump"


def test_the_backup_account_may_delete_that_pod_only(cluster: tuple[Any, Path], tmp_path: Path) -> None:
    server, kubectl = cluster
    node = Node(tmp_path, server, kubectl, "neo4j-backup")
    empty = tmp_path / "kubeconfig"
    empty.write_text("apiVersion: v1\nkind: Config\n", encoding="utf-8")
    account = [f"--kubeconfig={empty}", f"--server=https://127.0.0.1:{server.port}", f"--certificate-authority={node.sa / 'ca.crt'}",
               f"--token={(node.sa / 'token').read_text(encoding='utf-8')}"]

    def can(verb: str, resource: str) -> str:
        done = subprocess.run([str(kubectl), *account, "-n", NAMESPACE, "auth", "can-i", verb, resource], capture_output=True, text=True, timeout=60, check=False)
        return done.stdout.strip()

    assert can("delete", "pods/neo4j-0") == "yes"
    for verb, resource in (("delete", "pods/neo4j-other"), ("get", "pods/neo4j-0"), ("patch", "statefulsets.apps/neo4j"), ("get", "secrets/neo4j-credentials")):
        assert can(verb, resource) == "no", (verb, resource)


def test_an_old_request_is_ignored_at_start(cluster: tuple[Any, Path], tmp_path: Path) -> None:
    server, kubectl = cluster
    sts = _doc("statefulset-neo4j.yaml")["spec"]["template"]["spec"]
    node = Node(tmp_path, server, kubectl, "neo4j-backup")
    node.stand_in_admin(fails=False)
    marker = node.data / ".bbgen-backup"
    marker.mkdir()
    (marker / "requested").write_text(str(int(time.time()) - 3600), encoding="utf-8")
    done = node.run("/bin/bash", _container(sts, "dump"), timeout=30)
    assert done.returncode == 0 and "older than 60s: ignored" in done.stdout
    assert list(marker.iterdir()) == [], "nothing dumped, the request taken back"
