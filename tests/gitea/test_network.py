"""Network failure modes of push-to-gitea: token scope (403) and TLS trust, against real servers."""

from __future__ import annotations

import base64
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

from gitea_server import GiteaServer

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "profiles" / "betelgeuse.yaml"


def bbgen(*args: str, token: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT")}
    env.update(PYTHONPATH=str(ROOT / "src"), GITEA_TOKEN=token)
    return subprocess.run([sys.executable, "-m", "bbgen", *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.gitea
def test_token_without_write_scope_gets_a_scope_message(gitea: GiteaServer) -> None:
    basic = base64.b64encode(f"{gitea.admin_user}:{gitea.admin_password}".encode()).decode()
    made = gitea.api(
        "POST", f"/users/{gitea.admin_user}/tokens", json={"name": "read-only", "scopes": ["read:repository", "read:user"]},
        token=None, headers={"Authorization": f"Basic {basic}"}, expect=201,
    )
    weak = made.json()["sha1"]
    result = bbgen("push-to-gitea", str(REFERENCE), "--url", gitea.url, "--owner", gitea.admin_user, "--repo", "scoped", "--create", token=weak)
    assert result.returncode == 2
    assert "(403)" in result.stderr and "write:repository" in result.stderr
    assert weak not in result.stderr + result.stdout


class _Api(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.dumps({"name": "r", "login": "o"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert
    finally:
        server.shutdown()


def test_untrusted_certificate_is_a_tls_error_and_ca_bundle_trusts_it(tls_server: tuple[str, Path]) -> None:
    url, cert = tls_server
    where = ["--url", url, "--owner", "o", "--repo", "r"]
    untrusted = bbgen("push-to-gitea", str(REFERENCE), *where, token="t0ken-value")
    assert untrusted.returncode == 2
    assert "TLS error" in untrusted.stderr and "--ca-bundle" in untrusted.stderr
    trusted = bbgen("push-to-gitea", str(REFERENCE), *where, "--ca-bundle", str(cert), token="t0ken-value")
    assert "TLS error" not in trusted.stderr
    assert trusted.returncode == 2  # the stand-in server speaks the API, not git: it fails later, at git
    assert "git" in trusted.stderr and "t0ken-value" not in trusted.stderr
