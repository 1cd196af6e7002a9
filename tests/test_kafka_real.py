"""The rendered Kafka node script and users Job against a real Kafka broker on 127.0.0.1.

Kafka's own jars (Apache Kafka 4.3.1, the image's version, from Maven Central:
org.apache.kafka:kafka_2.13 and kafka-tools with their dependencies) and a JVM are needed;
without them the test skips. Point $BBGEN_KAFKA_JARS at the directory of jars, or put them
in ~/.cache/bbgen/kafka/4.3.1/lib. The scripts run unchanged except for paths: the image's
/opt/kafka/bin tools become small launchers of the same Kafka classes, and the pod's /tmp
and data volume become temporary directories.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbgen.render.build import build_tree
from bbgen.spec import load_platform

from support import MINIMAL_SPEC
from manifestkit import docs as _docs, free_port as _free_port

VERSION = "4.3.1"
TOOLS = {
    "kafka-storage.sh": "kafka.tools.StorageTool",
    "kafka-server-start.sh": "kafka.Kafka",
    "kafka-configs.sh": "kafka.admin.ConfigCommand",
    "kafka-acls.sh": "org.apache.kafka.tools.AclCommand",
    "kafka-broker-api-versions.sh": "org.apache.kafka.tools.BrokerApiVersionsCommand",
    "kafka-topics.sh": "org.apache.kafka.tools.TopicCommand",
}
SPEC = MINIMAL_SPEC + """\
components:
  kafka: {}
  kafka-ui: {host: ""}
apps:
  worker:
    image: registry.example.org/demo/worker:1.0.0
    dependsOn: [kafka]
    topics: [shared.events]
"""


def _jars() -> Path | None:
    found = Path(os.environ.get("BBGEN_KAFKA_JARS", Path.home() / ".cache" / "bbgen" / "kafka" / VERSION / "lib"))
    return found if (found / f"kafka_2.13-{VERSION}.jar").is_file() else None


@pytest.fixture(scope="module")
def kafka_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    jars, java = _jars(), shutil.which("java")
    if jars is None or java is None:
        if os.environ.get("BBGEN_REQUIRE_KAFKA"):
            pytest.fail(f"BBGEN_REQUIRE_KAFKA is set but Kafka {VERSION}'s jars or java are missing: run scripts/install-kafka.sh")
        pytest.skip(f"no Kafka {VERSION} jars (BBGEN_KAFKA_JARS or ~/.cache/bbgen/kafka/{VERSION}/lib) or no java")
    bin_dir = tmp_path_factory.mktemp("kafka-bin")
    for tool, main in TOOLS.items():
        launcher = bin_dir / tool
        launcher.write_text(
            "#!/bin/bash\n"
            f'exec "{java}" ${{KAFKA_HEAP_OPTS:--Xmx256m}} -XX:TieredStopAtLevel=1 -Xshare:auto ${{KAFKA_LOG4J_OPTS:-}} '
            f'-cp "{jars}/*" {main} "$@"\n',
            encoding="utf-8",
        )
        launcher.chmod(0o755)
    return bin_dir


def _rendered() -> tuple[dict[str, Any], dict[str, Any]]:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        spec = Path(d) / "platform.yaml"
        spec.write_text(SPEC, encoding="utf-8")
        files = dict(build_tree(load_platform(spec)).files)
    node = _docs(files["components/kafka/base/statefulset-kafka.yaml"])[0]["spec"]["template"]["spec"]["containers"][0]
    job = _docs(files["components/kafka/base/job-kafka-users.yaml"])[0]["spec"]["template"]["spec"]["containers"][0]
    return node, job


@pytest.fixture(scope="module")
def broker(kafka_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One combined broker+controller started by the rendered node script, its ports on 127.0.0.1."""
    node, job = _rendered()
    work = tmp_path_factory.mktemp("kafka-node")
    port, cport = _free_port(), _free_port()
    env = {e["name"]: e.get("value", "") for e in node["env"]}
    properties = []
    for line in env["SERVER_PROPERTIES"].splitlines():
        if line.startswith("controller.quorum.voters="):
            line = f"controller.quorum.voters=0@127.0.0.1:{cport}"
        elif line.startswith("listeners="):
            line = f"listeners=CLIENT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}"
        elif line.startswith("log.dirs="):
            line = f"log.dirs={work / 'data'}"
        properties.append(line)
    admin_password = "A" + os.urandom(12).hex()
    env.update({
        "POD_NAME": "kafka-0", "ADVERTISED_HOST": "127.0.0.1", "KAFKA_CLIENT_PORT": str(port), "KAFKA_CONTROLLER_PORT": str(cport),
        "ADMIN_PASSWORD": admin_password, "SERVER_PROPERTIES": "\n".join(properties), "LOG_DIR": str(work / "logs"),
        "KAFKA_LOG4J_OPTS": f"-Dlog4j2.configurationFile={work / 'kafka' / 'log4j2.properties'}", "KAFKA_HEAP_OPTS": "-Xmx512m",
    })
    script = node["command"][-1].replace("/opt/kafka/bin", str(kafka_bin)).replace("/tmp/kafka", str(work / "kafka"))
    log = (work / "node.log").open("wb")
    proc = subprocess.Popen(["/bin/bash", "-c", script], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(1)
        else:
            pytest.fail("Kafka did not start: " + (work / "node.log").read_text(encoding="utf-8", errors="replace")[-3000:])
        server_properties = (work / "kafka" / "server.properties").read_text(encoding="utf-8")
        yield {"port": port, "admin": admin_password, "job": job, "bin": kafka_bin, "work": work, "node_env": env,
               "properties": server_properties, "mode": (work / "kafka" / "server.properties").stat().st_mode & 0o777}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()


def _run_job(b: dict[str, Any], passwords: dict[str, str]) -> subprocess.CompletedProcess[str]:
    job = b["job"]
    work: Path = b["work"] / "job"
    credentials = work / "credentials"
    for name, password in passwords.items():
        (credentials / name).mkdir(parents=True, exist_ok=True)
        (credentials / name / "password").write_text(password, encoding="utf-8")
    env = {e["name"]: e.get("value", "") for e in job["env"]}
    env.update({"BOOTSTRAP": f"127.0.0.1:{b['port']}", "CREDENTIALS": str(credentials), "ADMIN_PASSWORD": b["admin"], "LOG_DIR": str(work / "logs")})
    script = job["command"][-1].replace("/tmp/", f"{work}/").replace("/opt/kafka/bin", str(b["bin"]))
    return subprocess.run(["/bin/bash", "-c", script], env={**os.environ, **env}, capture_output=True, text=True, timeout=240)


def _as(b: dict[str, Any], user: str, password: str, *args: str) -> subprocess.CompletedProcess[str]:
    """kafka-topics.sh as ``user`` over SCRAM-SHA-512, as a dependant connects."""
    config = b["work"] / f"client-{user}.properties"
    config.write_text(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
        f'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="{user}" password="{password}";\n',
        encoding="utf-8",
    )
    return subprocess.run([str(b["bin"] / "kafka-topics.sh"), "--bootstrap-server", f"127.0.0.1:{b['port']}", "--command-config", str(config), *args],
                          capture_output=True, text=True, timeout=120)


def test_users_and_acls_against_a_real_kafka(broker: dict[str, Any]) -> None:
    b = broker
    assert b["mode"] == 0o600, "the node's properties hold the admin password: owner-only"
    passwords = {"kafka-ui": "U" + os.urandom(12).hex(), "worker": "W" + os.urandom(12).hex()}
    done = _run_job(b, passwords)
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert not any(p in output for p in [*passwords.values(), b["admin"]]), "no password in the Job's output"
    assert "user worker in place" in output and "ACLs of kafka-ui in place" in output
    worker, ui = passwords["worker"], passwords["kafka-ui"]
    # the worker owns its prefix and nothing else
    made = _as(b, "worker", worker, "--create", "--topic", "worker.events", "--partitions", "1", "--replication-factor", "1")
    assert made.returncode == 0, made.stdout + made.stderr
    shared = _as(b, "worker", worker, "--create", "--topic", "shared.events", "--partitions", "1", "--replication-factor", "1")
    assert shared.returncode == 0, shared.stdout + shared.stderr  # a topic it declares in `topics`
    other = _as(b, "worker", worker, "--create", "--topic", "billing.events", "--partitions", "1", "--replication-factor", "1")
    assert other.returncode != 0 and "Authorization" in other.stdout + other.stderr
    # Kafka UI sees every topic, creates none
    listed = _as(b, "kafka-ui", ui, "--list")
    assert listed.returncode == 0 and "worker.events" in listed.stdout, listed.stdout + listed.stderr
    assert _as(b, "worker", worker, "--delete", "--topic", "shared.events").returncode != 0, "shared: no Delete"
    refused = _as(b, "kafka-ui", ui, "--create", "--topic", "kafka-ui.x", "--partitions", "1", "--replication-factor", "1")
    assert refused.returncode != 0
    # a wrong password does not sign in; a rotated one takes effect on the next run
    assert _as(b, "worker", "wrong" + worker, "--list").returncode != 0
    old = worker
    passwords["worker"] = "R" + os.urandom(12).hex()
    again = _run_job(b, passwords)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _as(b, "worker", old, "--list").returncode != 0
    assert _as(b, "worker", passwords["worker"], "--list").returncode == 0
