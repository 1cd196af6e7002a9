"""Talk to a Kubernetes API server through ``kubectl proxy``: kubectl does the authentication.

A kubeconfig can authenticate in many ways (client certificates, tokens, exec plugins,
OIDC); kubectl knows them all, bbgen should not re-implement them. ``kubectl proxy`` on
127.0.0.1 (a random port) turns the cluster into plain HTTP for this process, so every
object gets its own request and its own answer: a rejection always names the object it
is about, which parsing one ``kubectl apply`` run's combined stderr could not promise.

Writes go through ``apply`` only, and ``apply`` dry-runs unless told ``persist=True``,
which only the scratch server's callers pass.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from bbgen.errors import ServerError, ToolMissingError
from bbgen.kube.serverpins import kube_bin_dir

PROXY_START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 60.0
FIELD_MANAGER = "argocd-controller"
"""The manager Argo CD's server-side apply uses, so conflicts look the way a sync would see them."""


def find_kubectl() -> Path:
    """The pinned kubectl scripts/install-kube.sh built, else the one on PATH."""
    pinned = kube_bin_dir() / "kubectl"
    if pinned.is_file():
        return pinned
    found = shutil.which("kubectl")
    if found is None:
        raise ToolMissingError(tool="kubectl", hint="install kubectl, or build the pinned one with scripts/install-kube.sh")
    return Path(found)


@dataclass(frozen=True, kw_only=True)
class Answer:
    """One API response: the status code, the JSON body (a Status on failure) and any Warning headers."""

    status: int
    body: dict[str, Any]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message(self) -> str:
        text = self.body.get("message")
        return str(text) if text else f"HTTP {self.status}"


@dataclass(frozen=True, kw_only=True)
class ApiResource:
    plural: str
    namespaced: bool


def _warnings(values: list[str]) -> tuple[str, ...]:
    """``299 - "text"`` Warning headers → the texts."""
    out: list[str] = []
    for value in values:
        code, _, rest = value.partition(" ")
        _agent, _, text = rest.partition(" ")
        out.append(text.strip().strip('"') if code == "299" else value)
    return tuple(out)


class Cluster:
    """An API server reached through a ``kubectl proxy`` this object started; a context manager."""

    def __init__(self, *, kubeconfig: Path | None = None, context: str | None = None, kubectl: Path | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.kubectl = kubectl or find_kubectl()
        self.where = f"context {context}" if context else "the current kubeconfig context"
        self._proc: subprocess.Popen[str] | None = None
        self.base = ""
        self._resources: dict[tuple[str, str], ApiResource] | None = None

    # -- lifecycle ----------------------------------------------------------
    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        argv = [str(self.kubectl), "proxy", "--port=0", "--address=127.0.0.1"]  # kubectl's default --accept-hosts: loopback only
        if self.kubeconfig is not None:
            argv.append(f"--kubeconfig={self.kubeconfig}")
        if self.context:
            argv.append(f"--context={self.context}")
        self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self._proc.stdout.readline() if self._proc and self._proc.stdout else ""), daemon=True)
        reader.start()
        reader.join(PROXY_START_TIMEOUT)
        text = line[0].strip() if line else ""
        if not text.startswith("Starting to serve on "):
            err = self._stop_and_read_stderr()
            raise ServerError(what=f"kubectl proxy ({self.where})", message=(err or text or "did not start").strip()[-800:], hint="check --context / --kubeconfig / $KUBECONFIG")
        self.base = "http://" + text.removeprefix("Starting to serve on ").strip()
        answer = self.request("GET", "/version")
        if not answer.ok:
            self.stop()
            raise ServerError(what=f"API server ({self.where})", message=f"not reachable: {answer.message}")

    def _stop_and_read_stderr(self) -> str:
        proc, self._proc = self._proc, None
        if proc is None:
            return ""
        if proc.poll() is None:
            proc.kill()
        try:
            _out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            return ""
        return err or ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate(timeout=10)

    # -- HTTP ---------------------------------------------------------------
    def request(self, method: str, path: str, body: dict[str, Any] | None = None, content_type: str = "application/json") -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={"Accept": "application/json"})
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT) as resp:
                return Answer(status=resp.status, body=_json(resp.read()), warnings=_warnings(resp.headers.get_all("Warning") or []))
        except urllib.error.HTTPError as exc:
            payload = _json(exc.read())
            if exc.code in (502, 503) and not payload:
                raise ServerError(what=f"API server ({self.where})", message=f"HTTP {exc.code} through kubectl proxy") from None
            return Answer(status=exc.code, body=payload, warnings=_warnings(exc.headers.get_all("Warning") or []))
        except OSError as exc:
            raise ServerError(what=f"API server ({self.where})", message=f"{method} {path}: {exc}") from None

    def get(self, path: str) -> dict[str, Any]:
        answer = self.request("GET", path)
        if not answer.ok:
            raise ServerError(what=f"API server ({self.where})", message=f"GET {path}: {answer.message}")
        return answer.body

    # -- discovery ----------------------------------------------------------
    def resources(self, *, refresh: bool = False) -> dict[tuple[str, str], ApiResource]:
        """(apiVersion, kind) → resource name and scope, for every served group version."""
        if self._resources is not None and not refresh:
            return self._resources
        versions = ["v1"]
        for group in self.get("/apis").get("groups") or []:
            versions += [str(v["groupVersion"]) for v in group.get("versions") or []]
        out: dict[tuple[str, str], ApiResource] = {}
        for gv in versions:
            answer = self.request("GET", "/api/v1" if gv == "v1" else f"/apis/{gv}")
            for item in answer.body.get("resources") or [] if answer.ok else []:
                if "/" not in str(item.get("name")):  # not a subresource
                    out[(gv, str(item["kind"]))] = ApiResource(plural=str(item["name"]), namespaced=bool(item.get("namespaced")))
        self._resources = out
        return out

    def namespaces(self) -> set[str]:
        return {str(item["metadata"]["name"]) for item in self.get("/api/v1/namespaces").get("items") or []}

    def object_path(self, api_version: str, resource: ApiResource, namespace: str | None, name: str) -> str:
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        where = f"/namespaces/{urllib.parse.quote(namespace, safe='')}" if resource.namespaced and namespace else ""
        return f"{prefix}{where}/{resource.plural}/{urllib.parse.quote(name, safe='')}"

    def apply(self, path: str, doc: dict[str, Any], *, persist: bool = False) -> Answer:
        """Server-side apply with strict field validation, forcing conflicts as Argo CD does; a dry run unless ``persist``."""
        query = {"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict", "force": "true"}
        if not persist:
            query["dryRun"] = "All"
        return self.request("PATCH", f"{path}?{urllib.parse.urlencode(query)}", doc, content_type="application/apply-patch+yaml")


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8", errors="replace")) if raw else {}
    except ValueError:
        return {"message": raw.decode("utf-8", errors="replace").strip()[:500]}
    return value if isinstance(value, dict) else {}
