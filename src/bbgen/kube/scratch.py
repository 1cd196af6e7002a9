"""A throw-away Kubernetes API server: kube-apiserver over kine (SQLite), on 127.0.0.1, in one directory.

``bbgen validate --previous`` needs a cluster it may write to (it applies the previous
render, then dry-runs the new one against that state) and a live cluster must never be
written to; the tests need a real API server too. Both start this one. It runs no
controllers and no kubelet: objects are stored and validated (schemas, strict fields,
CEL, admission, immutability), nothing is scheduled.

Everything lives in ``base``: kine's database, a CA, the serving certificate, the
service-account key pair (made with openssl), an admin client certificate (group
system:masters) and the ``kubeconfig`` naming it. ``stop`` always kills both processes.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from bbgen.errors import ServerError, ToolMissingError
from bbgen.kube.serverpins import KUBE_VERSION, kube_bin_dir

START_TIMEOUT = 90.0
"""Seconds kube-apiserver may take to report ready (about 4 s on an idle machine; CI is shared)."""
INSTALL_HINT = "build them once with scripts/install-kube.sh (cached in ~/.cache/bbgen/kube, or $BBGEN_KUBE_DIR)"
_HOST = "127.0.0.1"


def binary(name: str) -> Path:
    """The cached pinned binary ``name`` (kube-apiserver, kine, kubectl), or ToolMissingError saying how to build it."""
    path = kube_bin_dir() / name
    if not (path.is_file() and path.stat().st_mode & 0o111):
        raise ToolMissingError(tool=name, hint=f"the pinned one (Kubernetes {KUBE_VERSION}) is not at {path}; {INSTALL_HINT}")
    return path


def binaries_present() -> bool:
    return all((kube_bin_dir() / name).is_file() for name in ("kube-apiserver", "kine", "kubectl"))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the tiny race with another process is accepted in exchange for simplicity)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    tool = shutil.which("openssl")
    if tool is None:
        raise ToolMissingError(tool="openssl", hint="the scratch API server's certificates and keys are made with it; install openssl")
    done = subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise ServerError(what="scratch API server", message=f"openssl {args[0]} failed: {done.stderr.strip()[-500:]}")


def _make_pki(pki: Path) -> None:
    """CA, serving cert (127.0.0.1/localhost), admin client cert (system:masters), service-account keys; EC P-256 (fast)."""
    pki.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "7", "-subj", "/CN=bbgen-scratch-ca", cwd=pki)
    exts = {
        "server": "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        "admin": "extendedKeyUsage=clientAuth\n",
    }
    subjects = {"server": "/CN=kube-apiserver", "admin": "/O=system:masters/CN=bbgen-admin"}
    for name, ext in exts.items():
        (pki / f"{name}.ext").write_text(ext, encoding="utf-8")
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subjects[name], cwd=pki)
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "7", "-extfile", f"{name}.ext", cwd=pki,
        )
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key", cwd=pki)
    _openssl("ec", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def _kubeconfig(url: str, pki: Path) -> str:
    """An admin kubeconfig (JSON is YAML) with file references, context ``bbgen-scratch``."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "bbgen-scratch", "cluster": {"server": url, "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": "bbgen-admin", "user": {"client-certificate": str(pki / "admin.crt"), "client-key": str(pki / "admin.key")}}],
        "contexts": [{"name": "bbgen-scratch", "context": {"cluster": "bbgen-scratch", "user": "bbgen-admin"}}],
        "current-context": "bbgen-scratch",
    }
    return json.dumps(config, indent=2) + "\n"


@dataclass(kw_only=True)
class ScratchServer:
    """kine + kube-apiserver under ``base``; use as a context manager, or ``start()`` / ``stop()``."""

    base: Path
    start_timeout: float = START_TIMEOUT
    port: int = 0
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://{_HOST}:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.base / "kubeconfig"

    @property
    def pki(self) -> Path:
        return self.base / "pki"

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the server against the scratch CA and presents the admin certificate."""
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return ctx

    def start(self) -> None:
        apiserver, kine = binary("kube-apiserver"), binary("kine")
        self.base.mkdir(parents=True, exist_ok=True)
        _make_pki(self.pki)
        kine_port, self.port = free_port(), free_port()
        try:
            self._spawn("kine", [
                str(kine), f"--listen-address={_HOST}:{kine_port}", "--metrics-bind-address=0",
                f"--endpoint=sqlite://{self.base / 'kine.db'}?_journal=WAL&cache=shared&_busy_timeout=30000",
            ])
            self._spawn("kube-apiserver", [
                str(apiserver),
                f"--etcd-servers=http://{_HOST}:{kine_port}",
                f"--bind-address={_HOST}", f"--advertise-address={_HOST}", f"--secure-port={self.port}",
                f"--cert-dir={self.base / 'certs'}",
                f"--tls-cert-file={self.pki / 'server.crt'}", f"--tls-private-key-file={self.pki / 'server.key'}",
                f"--client-ca-file={self.pki / 'ca.crt'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={self.pki / 'sa.pub'}",
                f"--service-account-signing-key-file={self.pki / 'sa.key'}",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",  # as every real cluster's API server (CNI and node agents run privileged)
                "--endpoint-reconciler-type=none",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
            ])
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.kubeconfig.write_text(_kubeconfig(self.url, self.pki), encoding="utf-8")

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = (self.base / f"{name}.log").open("wb")
        try:
            self._procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.base))
        finally:
            log.close()

    def log_tail(self, name: str = "kube-apiserver", lines: int = 15) -> str:
        path = self.base / f"{name}.log"
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        ctx = self.ssl_context()
        last = "no answer yet"
        while time.monotonic() < deadline:
            for proc, name in zip(self._procs, ("kine", "kube-apiserver")):
                if proc.poll() is not None:
                    raise ServerError(what="scratch API server", message=f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=ctx, timeout=5) as resp:
                    if resp.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                last = f"/readyz said {exc.code}"
            except (OSError, ssl.SSLError) as exc:
                last = str(exc)
            time.sleep(0.25)
        raise ServerError(
            what="scratch API server",
            message=f"not ready after {self.start_timeout:.0f}s ({last}):\n{self.log_tail()}",
        )

    def stop(self) -> None:
        """Stop kube-apiserver, then kine: SIGTERM, then SIGKILL after 10 s; safe to call twice."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self._procs.clear()

    def __enter__(self) -> ScratchServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
