"""A small Gitea API client: only the calls push-to-gitea needs, with honest failure modes.

Every call has a timeout; connection errors and 5xx answers are retried a
bounded number of times with backoff; 401/403/404 become messages a person can
act on. The token lives only in memory and in request headers: it is never
formatted into a message, a URL or a file.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from bbgen.errors import GiteaError


@dataclass(frozen=True, kw_only=True)
class Target:
    """Where the repository lives; built from the spec, overridable per option."""

    url: str
    owner: str
    repo: str
    branch: str

    @property
    def clone_url(self) -> str:
        return f"{self.url.rstrip('/')}/{self.owner}/{self.repo}.git"


class GiteaClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        ca_bundle: str | None = None,
        timeout: float = 20.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self._base = base_url.rstrip("/") + "/api/v1"
        self._token = token
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
        self.host = urllib.parse.urlsplit(base_url).netloc

    def __repr__(self) -> str:
        return f"GiteaClient({self._base!r})"

    def call(self, method: str, path: str, body: Any = None, *, allow: tuple[int, ...] = ()) -> tuple[int, Any]:
        """One API call; returns (status, decoded JSON or None). Statuses in ``allow`` are not errors."""
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Accept": "application/json", "Authorization": f"token {self._token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            attempt += 1
            request = urllib.request.Request(self._base + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self._timeout, context=self._context) as response:
                    raw = response.read()
                    return response.status, json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                raw = exc.read()
                if exc.code in allow:
                    return exc.code, _json_or_none(raw)
                if exc.code >= 500 and attempt <= self._retries:
                    time.sleep(self._backoff * 2 ** (attempt - 1))
                    continue
                raise self._http_error(exc.code, method, path, raw) from None
            except ssl.SSLError as exc:
                raise GiteaError(message=f"TLS error talking to {self.host}: {exc.reason or exc} (pass --ca-bundle to trust a private CA)") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, ssl.SSLError):
                    raise GiteaError(message=f"TLS error talking to {self.host}: {reason.reason or reason} (pass --ca-bundle to trust a private CA)") from None
                if attempt <= self._retries:
                    time.sleep(self._backoff * 2 ** (attempt - 1))
                    continue
                raise GiteaError(message=f"cannot reach Gitea at {self.host} after {attempt} attempts: {reason}") from None

    def _http_error(self, status: int, method: str, path: str, raw: bytes) -> GiteaError:
        detail = _json_or_none(raw)
        text = detail.get("message") if isinstance(detail, dict) else None
        if status == 401:
            return GiteaError(status=401, message=f"Gitea at {self.host} rejected the token (401): check the token environment variable")
        if status == 403:
            return GiteaError(status=403, message=f"the token may not {method} {path} (403): it needs the write:repository (and write:organization to create orgs) scope{': ' + text if text else ''}")
        if status == 404:
            return GiteaError(status=404, message=f"not found on {self.host}: {path}")
        return GiteaError(status=status, message=f"Gitea answered {status} to {method} {path}{': ' + text if text else ''}")

    # --- the calls push-to-gitea needs -----------------------------------------------------

    def current_user(self) -> str:
        _, user = self.call("GET", "/user")
        return str(user["login"])

    def repo(self, target: Target) -> dict[str, Any] | None:
        status, body = self.call("GET", f"/repos/{_q(target.owner)}/{_q(target.repo)}", allow=(404,))
        return None if status == 404 else body

    def create_repo(self, target: Target, *, private: bool = True) -> dict[str, Any]:
        """Create under the org (creating it when allowed) or under the token's own user."""
        payload = {"name": target.repo, "private": private, "default_branch": target.branch, "auto_init": False}
        if target.owner == self.current_user():
            _, body = self.call("POST", "/user/repos", payload)
            return dict(body)
        status, _ = self.call("GET", f"/orgs/{_q(target.owner)}", allow=(404,))
        if status == 404:
            status, _ = self.call("GET", f"/users/{_q(target.owner)}", allow=(404,))
            if status != 404:
                raise GiteaError(message=f"{target.owner!r} is another user: a token can only create repositories for itself or an organisation")
            self.call("POST", "/orgs", {"username": target.owner, "visibility": "private"})
        _, body = self.call("POST", f"/orgs/{_q(target.owner)}/repos", payload)
        return dict(body)

    def open_pull(self, target: Target, head: str) -> dict[str, Any] | None:
        _, pulls = self.call("GET", f"/repos/{_q(target.owner)}/{_q(target.repo)}/pulls?state=open&limit=50")
        for pull in pulls or []:
            if pull.get("head", {}).get("ref") == head and pull.get("base", {}).get("ref") == target.branch:
                return dict(pull)
        return None

    def create_or_update_pull(self, target: Target, head: str, title: str, body: str) -> tuple[str, dict[str, Any]]:
        existing = self.open_pull(target, head)
        base = f"/repos/{_q(target.owner)}/{_q(target.repo)}/pulls"
        if existing:
            _, pull = self.call("PATCH", f"{base}/{existing['number']}", {"title": title, "body": body})
            return "updated", dict(pull)
        # Gitea indexes a pushed branch asynchronously; give it a few seconds to appear.
        for attempt in range(20):
            status, pull = self.call("POST", base, {"head": head, "base": target.branch, "title": title, "body": body}, allow=(404, 409, 422))
            if status in (200, 201):
                return "opened", dict(pull)
            time.sleep(0.25 * min(attempt + 1, 4))
        raise GiteaError(status=status, message=f"Gitea did not accept the pull request from {head} into {target.branch} ({status})")


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
