"""A small Gitea API client: only the calls push-to-gitea needs, with honest failure modes.

Every call has a timeout. Idempotent calls (GET, PATCH) are retried a bounded
number of times with backoff on connection errors and 5xx answers; a POST is
never blindly repeated: after a lost answer the caller looks (GET) whether it
took effect before trying again, so a slow server cannot make bbgen create a
repository twice or report failure for one it created. 401/403/404 and answers
that are not JSON (a proxy or login page) become messages a person can act on.
The token lives only in memory and in request headers, and every message passes
through :mod:`bbgen.redact`.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bbgen.errors import GiteaError
from bbgen.redact import redact, register

T = TypeVar("T")
_IDEMPOTENT = frozenset({"GET", "HEAD", "PATCH", "PUT", "DELETE"})


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

    @property
    def where(self) -> str:
        return f"{self.owner}/{self.repo}@{self.branch}"


def usable_token(raw: str) -> str:
    """The token without surrounding whitespace (a token file saved with CRLF); refused if whitespace is inside.

    A ``\r`` or newline would otherwise reach an HTTP header and crash deep in
    urllib with the token in the message. The refusal never shows the token.
    """
    register(raw)
    token = raw.strip()
    if not token:
        raise GiteaError(message="the Gitea token is empty (only whitespace)")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in token):
        raise GiteaError(
            message="the Gitea token contains whitespace or control characters (a line break inside?): "
            "export only the token itself, e.g. GITEA_TOKEN=$(tr -d '\\r\\n' < token.txt)"
        )
    register(token)
    return token


def plain_url(url: str, *, what: str = "--url") -> str:
    """``url`` refused when it carries credentials (``user:pass@``): the token goes through --token-env only."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        register(parts.password)
        register(parts.username)
        raise GiteaError(
            message=f"{what} must not carry credentials (user:password@ in the URL); "
            "pass the Gitea base URL alone and the token in the environment (--token-env)"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GiteaError(message=f"{what} is not an http(s) URL of a Gitea server")
    return url


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
        register(token)
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
        self.host = urllib.parse.urlsplit(base_url).hostname or "?"
        port = urllib.parse.urlsplit(base_url).port
        self.host += f":{port}" if port else ""
        self._me: str | None = None

    def __repr__(self) -> str:
        return f"GiteaClient({self._base!r})"

    def call(self, method: str, path: str, body: Any = None, *, allow: tuple[int, ...] = ()) -> tuple[int, Any]:
        """One API call; returns (status, decoded JSON or None). Statuses in ``allow`` are not errors.

        Only idempotent methods are retried here; a POST whose answer is lost
        raises a ``transient`` error and the caller decides (see :meth:`_create`).
        """
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Accept": "application/json", "Authorization": f"token {self._token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        retries = self._retries if method in _IDEMPOTENT else 0
        attempt = 0
        while True:
            attempt += 1
            request = urllib.request.Request(self._base + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self._timeout, context=self._context) as response:
                    raw = response.read()
                    return response.status, self._decode(response.status, method, path, raw, response.headers.get("Content-Type"))
            except urllib.error.HTTPError as exc:
                try:
                    raw = exc.read()
                except (OSError, http.client.HTTPException):
                    raw = b""
                if exc.code in allow:
                    return exc.code, _json_or_none(raw)
                if exc.code >= 500 and attempt <= retries:
                    time.sleep(self._backoff * 2 ** (attempt - 1))
                    continue
                error = self._http_error(exc.code, method, path, raw)
                error.transient = exc.code >= 500 and method not in _IDEMPOTENT  # it may have acted before failing
                raise error from None
            except ssl.SSLError as exc:
                raise GiteaError(message=f"TLS error talking to {self.host}: {exc.reason or exc} (pass --ca-bundle to trust a private CA)") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, ssl.SSLError):
                    raise GiteaError(message=f"TLS error talking to {self.host}: {reason.reason or reason} (pass --ca-bundle to trust a private CA)") from None
                if attempt <= retries:
                    time.sleep(self._backoff * 2 ** (attempt - 1))
                    continue
                what = type(reason).__name__ if not str(reason) else str(reason)
                if method not in _IDEMPOTENT:
                    raise GiteaError(
                        transient=True,
                        message=f"no answer from Gitea at {self.host} to {method} {path} ({what}); it may or may not have been applied",
                    ) from None
                raise GiteaError(message=f"cannot reach Gitea at {self.host} after {attempt} attempts: {what}") from None

    def _decode(self, status: int, method: str, path: str, raw: bytes, content_type: str | None) -> Any:
        """JSON, or a clear error: a 200 HTML page means something else answered (a proxy, a login page)."""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            kind = (content_type or "").split(";")[0].strip() or "unknown content"
            looks = "an HTML page" if b"<html" in raw[:2048].lower() or kind == "text/html" else f"{kind}"
            raise GiteaError(
                status=status,
                message=f"{self.host} answered {status} to {method} {path} with {looks}, not Gitea's JSON API: "
                "is --url the Gitea base URL (a proxy or login page in front of it?)",
            ) from None

    def _http_error(self, status: int, method: str, path: str, raw: bytes) -> GiteaError:
        detail = _json_or_none(raw)
        text = detail.get("message") if isinstance(detail, dict) else None
        text = redact(str(text)[:300]) if text else None
        if status == 401:
            return GiteaError(status=401, message=f"Gitea at {self.host} rejected the token (401): check the token environment variable")
        if status == 403:
            return GiteaError(status=403, message=f"the token may not {method} {path} (403): it needs the write:repository (and write:organization to create orgs) scope{': ' + text if text else ''}")
        if status == 404:
            return GiteaError(status=404, message=f"not found on {self.host}: {path}")
        return GiteaError(status=status, message=f"Gitea answered {status} to {method} {path}{': ' + text if text else ''}")

    def _create(self, path: str, payload: Any, *, lookup: Callable[[], T | None], what: str) -> T | Any:
        """POST, made idempotent: after a lost answer look (GET) before trying again; 409/422 "exists" is success if it does."""
        attempt = 0
        while True:
            attempt += 1
            try:
                status, body = self.call("POST", path, payload, allow=(409, 422))
            except GiteaError as exc:
                if not exc.transient:
                    raise
                found = lookup()
                if found is not None:
                    return found
                if attempt > self._retries:
                    raise GiteaError(message=f"cannot create {what} on {self.host}: no answer after {attempt} attempts") from None
                time.sleep(self._backoff * 2 ** (attempt - 1))
                continue
            if status in (409, 422):
                found = lookup()
                if found is not None:
                    return found
                text = body.get("message") if isinstance(body, dict) else None
                raise GiteaError(status=status, message=f"Gitea refused to create {what} ({status}){': ' + str(text)[:300] if text else ''}")
            return body

    # --- the calls push-to-gitea needs -----------------------------------------------------

    def current_user(self) -> str:
        if self._me is None:
            _, user = self.call("GET", "/user")
            if not isinstance(user, dict) or not isinstance(user.get("login"), str):
                raise GiteaError(message=f"{self.host} answered GET /user without a login: is --url a Gitea server?")
            self._me = user["login"]
        return self._me

    def repo(self, target: Target) -> dict[str, Any] | None:
        status, body = self.call("GET", f"/repos/{_q(target.owner)}/{_q(target.repo)}", allow=(404,))
        return dict(body) if status != 404 and isinstance(body, dict) else None

    def owner_kind(self, owner: str) -> str | None:
        """``"me"``, ``"org"``, ``"user"`` (someone else) or None (no such owner, as far as this token can see)."""
        if owner.lower() == self.current_user().lower():
            return "me"
        if self.call("GET", f"/orgs/{_q(owner)}", allow=(404,))[0] != 404:
            return "org"
        if self.call("GET", f"/users/{_q(owner)}", allow=(404,))[0] != 404:
            return "user"
        return None

    def missing_repo(self, target: Target, *, action: str) -> GiteaError:
        """Why ``target`` is not there, in words that do not send a person to --create when that cannot help.

        A private repository of another user answers 404 exactly like a missing
        one, so anything not owned by the token's user says "or cannot see it".
        """
        name = f"{target.owner}/{target.repo}"
        kind = self.owner_kind(target.owner)
        then = "nothing to compare with yet: `bbgen push-to-gitea --create` creates it" if action == "diff" else "pass --create to create it"
        if kind == "me":
            message = f"repository {name} does not exist on {self.host}; {then}"
        elif kind == "user":
            message = (
                f"repository {name} does not exist on {self.host}, or this token cannot see it: {target.owner} is another user "
                "(a token can only create repositories for itself or an organisation)"
            )
        elif kind == "org":
            message = f"repository {name} does not exist on {self.host}, or this token cannot see it; {then} in organisation {target.owner} (needs permission there)"
        else:
            message = f"repository {name} does not exist on {self.host} (there is no user or organisation {target.owner!r}); {then}"
        return GiteaError(status=404, message=message)

    def create_repo(self, target: Target, *, private: bool = True) -> dict[str, Any]:
        """Create under the org (creating it when allowed) or under the token's own user; safe to repeat."""
        payload = {"name": target.repo, "private": private, "default_branch": target.branch, "auto_init": False}
        name = f"repository {target.owner}/{target.repo}"
        kind = self.owner_kind(target.owner)
        if kind == "me":
            return dict(self._create("/user/repos", payload, lookup=lambda: self.repo(target), what=name))
        if kind == "user":
            raise GiteaError(message=f"{target.owner!r} is another user: a token can only create repositories for itself or an organisation")
        if kind is None:
            org = {"username": target.owner, "visibility": "private"}
            self._create("/orgs", org, lookup=lambda: self._org(target.owner), what=f"organisation {target.owner}")
        return dict(self._create(f"/orgs/{_q(target.owner)}/repos", payload, lookup=lambda: self.repo(target), what=name))

    def _org(self, owner: str) -> dict[str, Any] | None:
        status, body = self.call("GET", f"/orgs/{_q(owner)}", allow=(404,))
        return dict(body) if status != 404 and isinstance(body, dict) else None

    def pulls(self, target: Target, head: str, *, state: str) -> list[dict[str, Any]]:
        """Pull requests from ``head`` into the target branch, newest first."""
        _, pulls = self.call("GET", f"/repos/{_q(target.owner)}/{_q(target.repo)}/pulls?state={state}&sort=newest&limit=50")
        return [
            dict(p) for p in (pulls if isinstance(pulls, list) else [])
            if isinstance(p, dict) and (p.get("head") or {}).get("ref") == head and (p.get("base") or {}).get("ref") == target.branch
        ]

    def open_pull(self, target: Target, head: str) -> dict[str, Any] | None:
        found = self.pulls(target, head, state="open")
        return found[0] if found else None

    def create_or_update_pull(self, target: Target, head: str, title: str, body: str) -> tuple[str, dict[str, Any]]:
        """The open PR from ``head`` is updated; else the newest closed, unmerged one is re-opened; else one is opened."""
        base = f"/repos/{_q(target.owner)}/{_q(target.repo)}/pulls"
        existing = self.open_pull(target, head)
        if existing:
            _, pull = self.call("PATCH", f"{base}/{existing['number']}", {"title": title, "body": body})
            return "updated", dict(pull)
        for closed in self.pulls(target, head, state="closed")[:1]:
            if not closed.get("merged"):
                status, pull = self.call("PATCH", f"{base}/{closed['number']}", {"title": title, "body": body, "state": "open"}, allow=(409, 422))
                if status < 300 and isinstance(pull, dict) and pull.get("state") == "open":
                    return "re-opened", dict(pull)
        # Gitea indexes a pushed branch asynchronously; give it a few seconds to appear.
        status = 0
        for attempt in range(20):
            try:
                status, pull = self.call("POST", base, {"head": head, "base": target.branch, "title": title, "body": body}, allow=(404, 409, 422))
            except GiteaError as exc:
                if not exc.transient:
                    raise
                status, pull = 0, None
            if status in (200, 201) and isinstance(pull, dict):
                return "opened", dict(pull)
            if status in (0, 409):  # answer lost, or one exists already (ours, or a concurrent run's): look
                found = self.open_pull(target, head)
                if found:
                    _, pull = self.call("PATCH", f"{base}/{found['number']}", {"title": title, "body": body})
                    return "opened" if status == 0 else "updated", dict(pull)
            time.sleep(0.25 * min(attempt + 1, 4))
        raise GiteaError(status=status, message=f"Gitea did not accept the pull request from {head} into {target.branch} ({status})")


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
