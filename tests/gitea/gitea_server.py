"""A throw-away Gitea server for integration tests.

`GiteaServer` runs the pinned Gitea binary (built by scripts/install-gitea.sh)
on 127.0.0.1 with a fresh work directory: SQLite database, repositories, logs,
config and the HOME of every child process all live below that directory, so
nothing outside it is read or written.

Start-up: write app.ini, `gitea migrate`, create an admin user and an access
token with Gitea's own CLI, run `gitea web` on a free port and wait until
`/api/v1/version` answers. `stop()` terminates the server (then kills it).

The access token is a secret: it is never printed, logged or put in a repr,
and error messages have it redacted.

Only the standard library is used (urllib for HTTP).
"""

from __future__ import annotations

import atexit
import base64
import json as jsonlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

# Keep in sync with GITEA_VERSION in scripts/install-gitea.sh (a test checks it).
GITEA_VERSION = "1.26.0"

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-gitea.sh"

ENV_BIN = "BBGEN_GITEA_BIN"
ENV_DIR = "BBGEN_GITEA_DIR"
ENV_REQUIRE = "BBGEN_REQUIRE_GITEA"

_UNSET: Any = object()


class GiteaError(RuntimeError):
    """Gitea could not be set up, or an API call did not go as expected."""


def default_install_dir(version: str = GITEA_VERSION) -> Path:
    """Where scripts/install-gitea.sh caches the binary for `version`."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    return Path.home() / ".cache" / "bbgen" / "gitea" / version


def find_gitea_binary(version: str = GITEA_VERSION) -> Path | None:
    """$BBGEN_GITEA_BIN if set, else the cached build of `version`; None if neither exists."""
    explicit = os.environ.get(ENV_BIN)
    if explicit:
        path = Path(explicit)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    path = default_install_dir(version) / "gitea"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def gitea_required() -> bool:
    """True when a missing Gitea must fail the tests rather than skip them (CI)."""
    return os.environ.get(ENV_REQUIRE, "").strip().lower() in {"1", "true", "yes", "on"}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the server start retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _jwt_secret() -> str:
    # Gitea wants 32 random bytes, base64url without padding.
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


def clean_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """A copy of the environment without git's and Gitea's own variables.

    GIT_DIR, GIT_WORK_TREE, GIT_CONFIG_* and friends (set, e.g., when the tests
    run from a git hook) or a stray GITEA_* variable would otherwise leak into
    the server or into test git commands.
    """
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not k.startswith(("GIT_", "GITEA_"))
    }
    env.update(extra)
    return env


@dataclass
class ApiResponse:
    """The outcome of one API call (any HTTP status)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return jsonlib.loads(self.body.decode("utf-8")) if self.body else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class GiteaServer:
    """One Gitea instance in its own temporary directory.

    >>> server = GiteaServer(find_gitea_binary())
    >>> server.start()
    >>> server.api("GET", "/user").json()["login"]
    >>> server.stop()

    Attributes once started: `url` (with trailing slash), `admin_user`,
    `admin_password`, `admin_email`, `token` (scope "all", never printed),
    `base_dir`, `work_path`, `config_path`, `log_path`, `version`.
    """

    def __init__(
        self,
        binary: str | os.PathLike[str],
        *,
        base_dir: str | os.PathLike[str] | None = None,
        admin_user: str = "bbgen-admin",
        admin_password: str | None = None,
        admin_email: str = "bbgen-admin@example.invalid",
        startup_timeout: float = 60.0,
        extra_config: Mapping[str, Mapping[str, str]] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.binary = Path(binary)
        self._own_base_dir = base_dir is None
        self._base_dir_arg = Path(base_dir) if base_dir is not None else None
        self.admin_user = admin_user
        self.admin_password = admin_password or "Pw-" + secrets.token_urlsafe(18)
        self.admin_email = admin_email
        self.startup_timeout = startup_timeout
        self.extra_config = {s: dict(kv) for s, kv in (extra_config or {}).items()}
        self.host = host

        self.base_dir: Path | None = None
        self.port: int | None = None
        self.version: str | None = None
        self._token: str | None = None
        self._secrets = {
            "SECRET_KEY": secrets.token_urlsafe(32),
            "INTERNAL_TOKEN": secrets.token_urlsafe(48),
            "JWT_SECRET": _jwt_secret(),
            "LFS_JWT_SECRET": _jwt_secret(),
        }
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_handle: Any = None

    # ------------------------------------------------------------------ paths
    def _require_base(self) -> Path:
        if self.base_dir is None:
            raise GiteaError("the Gitea server has not been started")
        return self.base_dir

    @property
    def work_path(self) -> Path:
        return self._require_base() / "work"

    @property
    def custom_path(self) -> Path:
        return self.work_path / "custom"

    @property
    def config_path(self) -> Path:
        return self.custom_path / "conf" / "app.ini"

    @property
    def home_path(self) -> Path:
        return self._require_base() / "home"

    @property
    def log_dir(self) -> Path:
        return self.work_path / "log"

    @property
    def log_path(self) -> Path:
        """Gitea's own log (the [log] file writer)."""
        return self.log_dir / "gitea.log"

    @property
    def console_log_path(self) -> Path:
        """stdout/stderr of `gitea web`."""
        return self.log_dir / "web-console.log"

    @property
    def repo_root(self) -> Path:
        return self.work_path / "repositories"

    @property
    def url(self) -> str:
        if self.port is None:
            raise GiteaError("the Gitea server has not been started")
        return f"http://{self.host}:{self.port}/"

    @property
    def api_url(self) -> str:
        return self.url + "api/v1"

    @property
    def token(self) -> str:
        if self._token is None:
            raise GiteaError("no access token yet: start() the server first")
        return self._token

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __repr__(self) -> str:  # never shows the token or the password
        state = "running" if self.running else "stopped"
        where = self.url if self.port is not None else "-"
        return f"<GiteaServer {state} {where} version={self.version} admin={self.admin_user!r}>"

    # ----------------------------------------------------------------- config
    def _config_sections(self) -> dict[str, dict[str, str]]:
        work = self.work_path
        data = work / "data"
        sections: dict[str, dict[str, str]] = {
            "": {
                "APP_NAME": "bbgen test Gitea",
                "RUN_MODE": "prod",
                "WORK_PATH": str(work),
                # Tests (and CI) run as root; Gitea refuses that without this
                # top-level key.
                "I_AM_BEING_UNSAFE_RUNNING_AS_ROOT": "true",
            },
            "server": {
                "PROTOCOL": "http",
                "HTTP_ADDR": self.host,
                "HTTP_PORT": str(self.port),
                "DOMAIN": self.host,
                "ROOT_URL": self.url,
                "APP_DATA_PATH": str(data),
                "DISABLE_SSH": "true",
                "START_SSH_SERVER": "false",
                "OFFLINE_MODE": "true",
                "LFS_START_SERVER": "false",
                # Gitea rewrites authorized_keys on start-up even without SSH;
                # keep that file in the temp dir too.
                "SSH_ROOT_PATH": str(self.home_path / ".ssh"),
                "SSH_CREATE_AUTHORIZED_KEYS_FILE": "false",
                "LFS_JWT_SECRET": self._secrets["LFS_JWT_SECRET"],
            },
            "database": {
                "DB_TYPE": "sqlite3",
                "PATH": str(data / "gitea.db"),
                "LOG_SQL": "false",
            },
            "repository": {
                "ROOT": str(self.repo_root),
                "DEFAULT_BRANCH": "main",
            },
            "security": {
                "INSTALL_LOCK": "true",
                "SECRET_KEY": self._secrets["SECRET_KEY"],
                "INTERNAL_TOKEN": self._secrets["INTERNAL_TOKEN"],
            },
            "oauth2": {
                "ENABLED": "false",
                # Also used as Gitea's general signing secret; providing it
                # keeps Gitea from generating one and rewriting app.ini.
                "JWT_SECRET": self._secrets["JWT_SECRET"],
            },
            "service": {
                "DISABLE_REGISTRATION": "true",
                "REQUIRE_SIGNIN_VIEW": "false",
                "ENABLE_NOTIFY_MAIL": "false",
            },
            "mailer": {"ENABLED": "false"},
            "log": {
                "MODE": "file",
                "LEVEL": "info",
                "ROOT_PATH": str(self.log_dir),
            },
            "session": {"PROVIDER": "memory"},
            "cache": {"ADAPTER": "memory"},
            "indexer": {"ISSUE_INDEXER_TYPE": "db", "REPO_INDEXER_ENABLED": "false"},
            "picture": {"DISABLE_GRAVATAR": "true", "ENABLE_FEDERATED_AVATAR": "false"},
            "actions": {"ENABLED": "false"},
            # No phoning home from a test server.
            "cron.update_checker": {"ENABLED": "false"},
        }
        for section, values in self.extra_config.items():
            sections.setdefault(section, {}).update(values)
        return sections

    def _write_config(self) -> None:
        lines: list[str] = []
        sections = self._config_sections()
        for section in ["", *[s for s in sections if s]]:
            if section:
                lines.append(f"\n[{section}]")
            for key, value in sections[section].items():
                lines.append(f"{key} = {value}")
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.config_path.chmod(0o600)

    # ---------------------------------------------------------------- process
    def _env(self) -> dict[str, str]:
        return clean_env(
            HOME=str(self.home_path),
            GITEA_WORK_DIR=str(self.work_path),
            GITEA_CUSTOM=str(self.custom_path),
            USER=os.environ.get("USER", "root"),
        )

    def _global_args(self) -> list[str]:
        return [
            "--work-path", str(self.work_path),
            "--custom-path", str(self.custom_path),
            "--config", str(self.config_path),
        ]

    def _redact(self, text: str) -> str:
        for secret in (self._token, self.admin_password, *self._secrets.values()):
            if secret:
                text = text.replace(secret, "<redacted>")
        return text

    def _cli(self, *args: str, timeout: float = 180.0, what: str | None = None) -> str:
        """Run a Gitea CLI command against this instance; return its stdout."""
        cmd = [str(self.binary), *args, *self._global_args()]
        try:
            proc = subprocess.run(
                cmd,
                cwd=self.work_path,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GiteaError(f"`gitea {what or args[0]}` timed out after {timeout:.0f}s") from None
        if proc.returncode != 0:
            out = (proc.stdout + proc.stderr).decode("utf-8", errors="replace")
            raise GiteaError(
                f"`gitea {what or ' '.join(args)}` failed with exit code {proc.returncode}:\n"
                f"{self._redact(out)[-4000:]}{self._log_tail_block()}"
            )
        return proc.stdout.decode("utf-8", errors="replace")

    def binary_version(self) -> str:
        """The version the binary reports (`gitea --version`)."""
        proc = subprocess.run(
            [str(self.binary), "--version"],
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )
        out = proc.stdout.decode("utf-8", errors="replace")
        parts = out.split()
        if proc.returncode != 0 or len(parts) < 3 or [p.lower() for p in parts[:2]] != ["gitea", "version"]:
            raise GiteaError(f"{self.binary} --version gave an unexpected answer: {out!r}")
        return parts[2]

    def _log_tail(self, lines: int = 60) -> str:
        chunks = []
        for path in (self.console_log_path, self.log_path):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except (OSError, GiteaError):
                continue
            tail = "\n".join(text.splitlines()[-lines:])
            chunks.append(f"--- last lines of {path} ---\n{self._redact(tail)}")
        return "\n".join(chunks)

    def _log_tail_block(self) -> str:
        tail = self._log_tail()
        return f"\n{tail}" if tail else ""

    def start(self) -> "GiteaServer":
        """Prepare a fresh instance and run it; returns self. Idempotent while running."""
        if self.running:
            return self
        if not (self.binary.is_file() and os.access(self.binary, os.X_OK)):
            raise GiteaError(f"Gitea binary not found or not executable: {self.binary}")

        if self._base_dir_arg is not None:
            self.base_dir = self._base_dir_arg
            self.base_dir.mkdir(parents=True, exist_ok=True)
        else:
            self.base_dir = Path(tempfile.mkdtemp(prefix="bbgen-gitea-"))
        for path in (self.work_path, self.custom_path, self.home_path, self.log_dir,
                     self.repo_root, self.work_path / "data"):
            path.mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop)

        try:
            self.version = self.binary_version()
            self.port = free_port(self.host)
            self._write_config()
            self._cli("migrate", what="migrate")
            self._cli(
                "admin", "user", "create",
                "--username", self.admin_user,
                "--password", self.admin_password,
                "--email", self.admin_email,
                "--admin",
                "--must-change-password=false",
                what="admin user create",
            )
            raw = self._cli(
                "admin", "user", "generate-access-token",
                "--username", self.admin_user,
                "--token-name", "bbgen-tests",
                "--scopes", "all",
                "--raw",
                what="admin user generate-access-token",
            )
            token = raw.strip().splitlines()[-1].strip() if raw.strip() else ""
            if not token or " " in token:
                raise GiteaError("`gitea admin user generate-access-token --raw` printed no token")
            self._token = token

            last_error: GiteaError | None = None
            for attempt in range(3):
                if attempt:
                    # Most likely someone else took the port between our probe
                    # and Gitea's bind: pick another one.
                    self.port = free_port(self.host)
                    self._write_config()
                try:
                    self._launch_and_wait()
                    return self
                except GiteaError as exc:
                    last_error = exc
                    port_race = "address already in use" in self._log_tail(200).lower()
                    self._terminate()
                    if not port_race:
                        break
            assert last_error is not None
            raise last_error
        except BaseException:
            self.stop(remove=False)
            raise

    def _launch_and_wait(self) -> None:
        self._log_handle = open(self.console_log_path, "ab")
        self._proc = subprocess.Popen(
            [str(self.binary), "web", *self._global_args()],
            cwd=self.work_path,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise GiteaError(
                    f"gitea web exited with code {code} during start-up (port {self.port})"
                    f"{self._log_tail_block()}"
                )
            try:
                resp = self.api("GET", "/version", token=None, timeout=2.0)
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
            except OSError as exc:  # connection refused, reset, timeout
                last = str(exc)
            time.sleep(0.2)
        raise GiteaError(
            f"Gitea did not answer {self.api_url}/version within {self.startup_timeout:.0f}s "
            f"(last: {last}){self._log_tail_block()}"
        )

    def _terminate(self, grace: float = 15.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=grace)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def stop(self, remove: bool | None = None) -> None:
        """Stop the server (SIGTERM, then SIGKILL). Removes the temp dir it created.

        `remove=None` removes the directory only if this object created it and
        the env var BBGEN_KEEP_GITEA is not set; start-up failures keep it.
        """
        self._terminate()
        if remove is None:
            remove = self._own_base_dir and not os.environ.get("BBGEN_KEEP_GITEA")
        if remove and self.base_dir is not None and self.base_dir.exists():
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> "GiteaServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------------- API
    def api(
        self,
        method: str,
        path: str,
        json: Any = None,
        token: str | None = _UNSET,
        *,
        expect: int | Iterable[int] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> ApiResponse:
        """Call the REST API at /api/v1 + `path`; returns the response for any HTTP status.

        `token` defaults to the admin token; pass None for an anonymous call or
        another string to use that token. `expect` (a status or several) turns
        a different status into a GiteaError.
        """
        if token is _UNSET:
            token = self.token
        url = path if path.startswith(("http://", "https://")) else (
            self.api_url + ("" if path.startswith("/") else "/") + path
        )
        data = None
        req_headers = {"Accept": "application/json"}
        if json is not None:
            data = jsonlib.dumps(json).encode("utf-8")
            req_headers["Content-Type"] = "application/json"
        if token is not None:
            req_headers["Authorization"] = f"token {token}"
        req_headers.update(headers or {})
        request = urllib.request.Request(url, data=data, method=method.upper(), headers=req_headers)
        # Never use a proxy for our loopback server.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=timeout) as resp:
                result = ApiResponse(resp.status, resp.read(), dict(resp.headers.items()))
        except urllib.error.HTTPError as err:
            result = ApiResponse(err.code, err.read(), dict(err.headers.items()))
        if expect is not None:
            wanted = {expect} if isinstance(expect, int) else set(expect)
            if result.status not in wanted:
                raise GiteaError(
                    f"{method.upper()} {path}: HTTP {result.status}, expected "
                    f"{sorted(wanted)}: {self._redact(result.text)[:2000]}"
                )
        return result

    # -------------------------------------------------------------------- git
    def git_auth_args(self, token: str | None = None) -> list[str]:
        """`git -c` arguments that send the token as an HTTP header (never in the URL).

        Note that they show up in the process list; see `git_auth_env` for an
        alternative that keeps the token out of argv.
        """
        return ["-c", f"http.extraHeader=Authorization: token {token or self.token}"]

    def git_auth_env(self, token: str | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """An environment that makes git send the token header (GIT_CONFIG_COUNT), nothing on disk."""
        return clean_env(
            base,
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: token {token or self.token}",
            GIT_TERMINAL_PROMPT="0",
        )

    def repo_clone_url(self, owner: str, repo: str) -> str:
        return f"{self.url}{owner}/{repo}.git"
