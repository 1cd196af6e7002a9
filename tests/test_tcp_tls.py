"""Raw TCP exposures carry TLS or are refused (issue #17, "exposed TCP only with transport security").

A port reaches `ingress.tcp` only when its component.yaml says how it speaks TLS (`tcpTls`);
the exposure turns that TLS on. PostgreSQL then takes TLS on every TCP connection (its
pg_hba.conf has only `hostssl` rules for addresses beyond the pod), with a cert-manager
certificate for the exposure's public name, and its dependants are told to use TLS. The
rendered configuration is run by a real PostgreSQL where the binaries are installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen.errors import SpecError
from bbgen.render.build import build_tree
from bbgen.spec import load_platform
from manifestkit import free_port as _free_port
from test_consumer_credentials import _pg_bin

BASE = """\
name: demo
domain: demo.example.org
gitops: {url: "https://git.example.org", owner: platform, repo: demo-gitops}
tls: {acmeEmail: ops@example.org}
"""

EXPOSED = """\
ingress:
  tcp:
    - {port: 5432, component: postgres}
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  postgres: {}
  gitea: {}
  keycloak: {}
  n8n: {}
"""


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(BASE + textwrap.dedent(text), encoding="utf-8")
    return path


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = _spec(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        load_platform(path)
    return [str(i).removeprefix(f"{path}:") for i in caught.value.issues]


def _base(files: dict[str, bytes], component: str) -> dict[tuple[str, str], dict[str, Any]]:
    prefix = f"components/{component}/base/"
    docs = [yaml.safe_load(data) for path, data in files.items() if path.startswith(prefix) and not path.endswith("kustomization.yaml")]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _render(tmp_path: Path, text: str) -> dict[str, bytes]:
    return dict(build_tree(load_platform(_spec(tmp_path, text))).files)


# --- the spec: what may be exposed -------------------------------------------------------------


def test_a_port_without_tls_cannot_be_exposed(tmp_path: Path) -> None:
    lines = _errors(tmp_path, """\
        ingress:
          tcp:
            - {port: 9092, component: kafka}
            - {port: 6379, component: redis}
        components:
          kafka: {}
          redis: {}
        """)
    assert sorted(lines) == [
        # Kafka says why in its own words (component.yaml noRawExposure).
        "7:31: ingress.tcp[0].component: kafka's port kafka (9092) cannot be exposed as raw TCP: an external Kafka"
        " listener needs SASL_SSL (TLS with a certificate for the public host) and that host as each broker's"
        " advertised listener, which bbgen does not render yet; reach Kafka from inside the cluster (a dependant,"
        " or kubectl port-forward)",
        "8:31: ingress.tcp[1].component: redis's port redis (6379) cannot be exposed over raw TCP: bbgen renders no TLS"
        " for it, so its traffic and credentials would cross the edge in the clear; reach it from inside the cluster"
        " or through a VPN instead",
    ]


def test_turning_the_tls_off_on_an_exposed_port_is_refused_at_the_setting(tmp_path: Path) -> None:
    lines = _errors(tmp_path, """\
        ingress:
          tcp:
            - {port: 5432, component: postgres}
        components:
          postgres:
            settings:
              tls: false
        """)
    assert len(lines) == 1
    assert lines[0].startswith(
        "11:12: components.postgres.settings.tls: postgres's port postgres (5432) is exposed over raw TCP (ingress.tcp[0])"
        " with settings.tls off: remove that setting or set it to true"
    )


def test_tls_without_an_exposure_is_refused(tmp_path: Path) -> None:
    lines = _errors(tmp_path, """\
        components:
          postgres:
            settings: {tls: true}
        """)
    assert lines == [
        "7:21: components.postgres.settings.tls: settings.tls turns on TLS for postgres's port postgres exposed over raw"
        " TCP, but environment prod exposes no such port (ingress.tcp): add the exposure, or set it to false here",
    ]


def test_an_exposure_needs_a_port_the_component_has(tmp_path: Path) -> None:
    lines = _errors(tmp_path, """\
        ingress:
          tcp:
            - {port: 15432, component: postgres, targetPort: 5433}
        components:
          postgres: {}
        """)
    assert lines == ["7:54: ingress.tcp[0].targetPort: 'postgres' has no port 5433 (its ports: postgres 5432); set targetPort to one of them"]


# --- the render: PostgreSQL with TLS, its dependants told so -------------------------------------


def test_exposed_postgres_requires_tls_with_a_certificate_for_its_public_name(tmp_path: Path) -> None:
    files = _render(tmp_path, EXPOSED)
    base = _base(files, "postgres")
    cert = base[("Certificate", "postgres-tcp")]
    assert cert["spec"]["dnsNames"] == ["postgres.demo.example.org"]
    assert cert["spec"]["secretName"] == "postgres-tcp-tls" and cert["spec"]["privateKey"]["encoding"] == "PKCS8"
    hba = base[("ConfigMap", "postgres-hba")]["data"]["pg_hba.conf"]
    rules = [line.split() for line in hba.splitlines() if line and not line.startswith("#")]
    # Beyond the pod's loopback and socket, only hostssl: a TCP client without TLS matches no rule.
    assert [r[0] for r in rules if r[3:4] not in (["127.0.0.1/32"], ["::1/128"]) and r[0] != "local"] == ["hostssl", "hostssl"]
    assert not any(r[0] in ("host", "hostnossl") and r[3] in ("0.0.0.0/0", "::/0", "all") for r in rules)
    sts = base[("StatefulSet", "postgres")]
    pod = sts["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert {"ssl=on", "ssl_cert_file=/etc/postgresql/tls/tls.crt", "ssl_key_file=/etc/postgresql/tls/tls.key",
            "hba_file=/etc/postgresql/hba/pg_hba.conf", "ssl_min_protocol_version=TLSv1.2"} <= set(c["args"])
    volumes = {v["name"]: v for v in pod["volumes"]}
    # Root-owned, group fsGroup, 0640: the only key permissions PostgreSQL accepts on a root-owned file.
    assert volumes["tls"]["secret"] == {"secretName": "postgres-tcp-tls", "defaultMode": 0o640}
    assert volumes["hba"]["configMap"]["name"] == "postgres-hba"
    # A renewed certificate is loaded by a configuration reload from the liveness probe.
    assert "pg_reload_conf()" in c["livenessProbe"]["exec"]["command"][-1]
    # The dependants connect with TLS, each through its own driver's switch.
    gitea = _env(_base(files, "gitea")[("StatefulSet", "gitea")]["spec"]["template"]["spec"]["containers"][0])
    assert gitea["GITEA__database__SSL_MODE"] == "require"
    keycloak = _env(_base(files, "keycloak")[("Deployment", "keycloak")]["spec"]["template"]["spec"]["containers"][0])
    assert keycloak["KC_DB_URL_PROPERTIES"] == "?sslmode=require"
    n8n = _env(_base(files, "n8n")[("StatefulSet", "n8n")]["spec"]["template"]["spec"]["containers"][0])
    assert n8n["DB_POSTGRESDB_SSL_ENABLED"] == "true"
    # The edge reaches the certificate's HTTP-01 solver in db, which has no public host of its own.
    solver = yaml.safe_load(files["platform/prod/networkpolicy-db-allow-acme-http01-solver.yaml"])
    assert solver["spec"]["podSelector"]["matchLabels"] == {"acme.cert-manager.io/http01-solver": "true"}
    # The generated README lists the name to point at the edge, with its TLS.
    readme = files["README.md"].decode()
    assert "| prod | postgres.demo.example.org | 5432 | postgres | yes |" in readme


def test_internal_postgres_stays_as_it_was(tmp_path: Path) -> None:
    files = _render(tmp_path, """\
        components:
          postgres: {}
          gitea: {}
        """)
    base = _base(files, "postgres")
    assert ("Certificate", "postgres-tcp") not in base and ("ConfigMap", "postgres-hba") not in base
    c = base[("StatefulSet", "postgres")]["spec"]["template"]["spec"]["containers"][0]
    assert not any(a.startswith("ssl") for a in c["args"])
    gitea = _env(_base(files, "gitea")[("StatefulSet", "gitea")]["spec"]["template"]["spec"]["containers"][0])
    assert gitea["GITEA__database__SSL_MODE"] == "disable"


def test_exposed_postgres_under_the_gateway(tmp_path: Path) -> None:
    files = _render(tmp_path, """\
        ingress:
          provider: gateway
          className: cilium
          tcp:
            - {port: 5432, component: postgres, host: sql}
        components:
          cert-manager: {}
          cluster-issuers: {}
          gateway-api: {}
          gateway: {}
          cilium: {settings: {k8sServiceHost: 10.0.0.10}}
          postgres: {}
        """)
    cert = _base(files, "postgres")[("Certificate", "postgres-tcp")]
    assert cert["spec"]["dnsNames"] == ["sql.demo.example.org"]
    gateway = next(d for d in _base(files, "gateway").values() if d["kind"] == "Gateway")
    http = next(item for item in gateway["spec"]["listeners"] if item["name"] == "http")
    assert http["allowedRoutes"]["namespaces"]["selector"]["matchExpressions"][0]["values"] == [gateway["metadata"]["namespace"], "db"]
    solver = yaml.safe_load(files["platform/prod/ciliumnetworkpolicy-db-allow-acme-http01-solver.yaml"])
    assert solver["spec"]["ingress"][0]["fromEntities"] == ["ingress"]


def test_exposed_render_validates(tmp_path: Path, tools: dict[str, str]) -> None:
    from bbgen import api
    from bbgen.validate.charts_source import ChartOptions

    out = tmp_path / "out"
    api.render(_spec(tmp_path, EXPOSED), out)
    report = api.validate(out, charts=ChartOptions(enabled=False))
    assert not report.errors, report.errors


# --- a real PostgreSQL runs the rendered configuration --------------------------------------------


@pytest.fixture
def pg_tls_dir(tmp_path: Path) -> Iterator[tuple[Path, list[str], str]]:
    """The rendered args and pg_hba.conf, a self-signed PKCS#8 certificate in a root-owned 0640 Secret-like folder."""
    binaries = _pg_bin()
    if binaries is None or shutil.which("psql") is None or shutil.which("openssl") is None:
        pytest.skip("PostgreSQL server binaries (or openssl) not installed")
    files = _render(tmp_path, EXPOSED)
    base = _base(files, "postgres")
    args = base[("StatefulSet", "postgres")]["spec"]["template"]["spec"]["containers"][0]["args"]
    hba = base[("ConfigMap", "postgres-hba")]["data"]["pg_hba.conf"]
    yield binaries, args, hba


def test_real_postgres_takes_tls_only(pg_tls_dir: tuple[Path, list[str], str]) -> None:
    import pwd

    binaries, args, hba = pg_tls_dir
    as_user: list[str] = []
    gid = os.getgid()
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres account to run the server as")
        as_user = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups"]
        gid = account.pw_gid
    base = Path(tempfile.mkdtemp(prefix="bbgen-pgtls-"))
    try:
        os.chmod(base, 0o755)
        tls, hba_dir, data, pwfile = base / "tls", base / "hba", base / "data", base / "pw"
        tls.mkdir()
        hba_dir.mkdir()
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=postgres.demo.example.org",
             "-keyout", str(tls / "tls.key"), "-out", str(tls / "tls.crt")],
            check=True, capture_output=True, timeout=60,
        )
        assert (tls / "tls.key").read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, as cert-manager writes it
        for f in tls.iterdir():  # as the kubelet mounts the Secret: owner root (us), group fsGroup, defaultMode 0640
            os.chown(f, os.getuid(), gid)
            os.chmod(f, 0o640)
        password = "Su" + os.urandom(12).hex()
        pwfile.write_text(password, encoding="utf-8")
        if as_user:
            for p in (base, pwfile):
                os.chown(p, account.pw_uid, account.pw_gid)
        subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}"],
                       check=True, capture_output=True, timeout=120)
        # The rendered rules without the pod-loopback ones: this test's client is on loopback, where the pod's
        # own probes are trusted, and stands in for a client from anywhere else.
        (hba_dir / "pg_hba.conf").write_text(
            "".join(line + "\n" for line in hba.splitlines() if "127.0.0.1/32" not in line and "::1/128" not in line), encoding="utf-8")
        rendered = [a.replace("/etc/postgresql/tls", str(tls)).replace("/etc/postgresql/hba", str(hba_dir)) for a in args]
        port = str(_free_port())
        proc = subprocess.Popen(
            [*as_user, str(binaries / "postgres"), "-D", str(data), "-p", port, "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={base}", *rendered],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": port, "PGUSER": "postgres", "PGDATABASE": "postgres", "PGPASSWORD": password}
            for _ in range(100):
                if subprocess.run(["pg_isready", "-q"], env=env, timeout=10).returncode == 0:
                    break
                if proc.poll() is not None:
                    pytest.fail(f"PostgreSQL refused the rendered configuration: {proc.stderr.read().decode() if proc.stderr else ''}")
                time.sleep(0.2)
            else:
                pytest.fail("the throwaway PostgreSQL did not start")

            def psql(mode: str, sql: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run(["psql", "--no-psqlrc", "-tA", "-c", sql], env={**env, "PGSSLMODE": mode},
                                      capture_output=True, text=True, timeout=60)

            plain = psql("disable", "SELECT 1")
            assert plain.returncode != 0 and "no encryption" in plain.stderr
            secured = psql("require", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert secured.returncode == 0, secured.stderr
            assert secured.stdout.strip() == "t"
            rules = psql("require", "SELECT string_agg(type || coalesce(':' || error, ''), ',' ORDER BY line_number) FROM pg_hba_file_rules")
            assert rules.returncode == 0 and rules.stdout.strip() == "local,hostssl,hostssl", rules.stdout + rules.stderr
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(base, ignore_errors=True)
