"""A small fault-injecting HTTP proxy on 127.0.0.1, in front of the real Gitea test server.

Everything bbgen sends (API calls and git's smart HTTP) goes through it when
``--url`` points at :attr:`FaultProxy.url`. Rules pick requests by method and a
path pattern and say what happens to them, a bounded number of times:

* ``pass``      forward to Gitea, answer with Gitea's answer
* ``500``       answer 500 without forwarding
* ``html``      answer 200 with an HTML login page without forwarding
* ``drop``      close the connection without forwarding or answering
* ``truncate``  answer 200 with a Content-Length longer than the body, then close
* ``lost``      forward (Gitea acts on it), then close without answering
* ``late500``   forward (Gitea acts on it), then answer 500 (a gateway failing after the upstream succeeded)
* ``late``      forward (Gitea acts on it), answer after ``delay`` seconds
* ``hold``      wait until :meth:`FaultProxy.release` (at most ``delay`` seconds), then forward and answer

Every request is recorded in :attr:`FaultProxy.seen` as (method, path, action).
Threads are daemons and delays are bounded, so a test can never hang on it.
"""

from __future__ import annotations

import http.client
import http.server
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

HTML = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>login</form></body></html>\n"
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection", "te", "upgrade"}


@dataclass
class Rule:
    method: str
    path: re.Pattern[str]
    action: str
    times: int
    delay: float


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rules: list[Rule] = []
        self.seen: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _any  # noqa: N815 (http.server's naming)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def inject(self, method: str, path: str, action: str, *, times: int = 1, delay: float = 0.0) -> None:
        """The next ``times`` requests matching ``method`` and the regex ``path`` get ``action``."""
        assert action in {"pass", "500", "html", "drop", "truncate", "lost", "late500", "late", "hold"}, action
        assert delay <= 60, "delays are bounded"
        self.rules.append(Rule(method.upper(), re.compile(path), action, times, delay))

    def release(self) -> None:
        """Let every held request go on now."""
        self._released.set()

    def count(self, method: str, path: str) -> int:
        pattern = re.compile(path)
        return sum(1 for m, p, _ in self.seen if m == method.upper() and pattern.search(p))

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def _pick(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.times > 0 and rule.method in (method, "*") and rule.path.search(path):
                    rule.times -= 1
                    return rule
        return None

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        method, path = handler.command, handler.path
        body = _read_body(handler)
        rule = self._pick(method, path)
        action = rule.action if rule else "pass"
        with self._lock:
            self.seen.append((method, path, action))
        if action == "500":
            return _answer(handler, 500, {"Content-Type": "application/json"}, b'{"message":"injected failure"}')
        if action == "html":
            return _answer(handler, 200, {"Content-Type": "text/html; charset=utf-8"}, HTML)
        if action == "drop":
            handler.close_connection = True
            return None
        if action == "truncate":
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", "4096")
            handler.end_headers()
            handler.wfile.write(b'{"login": "tr')
            handler.wfile.flush()
            handler.close_connection = True
            return None
        if action == "hold" and rule:
            self._released.wait(rule.delay)
        status, headers, data = self._forward(method, path, dict(handler.headers.items()), body)
        if action == "lost":
            handler.close_connection = True
            return None
        if action == "late500":
            return _answer(handler, 500, {"Content-Type": "text/html"}, b"<html><body>502 Bad Gateway</body></html>")
        if action == "late" and rule:
            time.sleep(rule.delay)
        try:
            _answer(handler, status, headers, data, head=method == "HEAD")
        except OSError:
            pass  # the client gave up waiting (a timeout test): nothing to answer
        return None

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            out = {k: v for k, v in headers.items() if k.lower() not in _HOP}
            out["Content-Length"] = str(len(body))
            conn.request(method, path, body=body, headers=out)
            response = conn.getresponse()
            data = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in _HOP}
            return response.status, kept, data
        finally:
            conn.close()


def _read_body(handler: http.server.BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                break
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        return b"".join(chunks)
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _answer(handler: Any, status: int, headers: dict[str, str], data: bytes, *, head: bool = False) -> None:
    handler.send_response(status)
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    if not head:
        handler.wfile.write(data)
    handler.wfile.flush()
    handler.close_connection = True
