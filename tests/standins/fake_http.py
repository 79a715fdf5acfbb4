"""What the tests' HTTP stand-ins share: a quiet handler that reads each request whole and sends the
stand-in's answer back as JSON."""

from __future__ import annotations

import json
import socketserver
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import NamedTuple

# serve_forever checks for shutdown() once per poll, 0.5 s by default: each test that closed a server paid it.
POLL_SECONDS = 0.01


def serve(server: socketserver.BaseServer) -> None:
    """Serve on a daemon thread, polling often enough that shutdown() returns at once."""
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True).start()


class Raw(NamedTuple):
    """An answer sent byte for byte (status line and headers included), then the connection is closed:
    for answers no HTTP server should give."""

    data: bytes


class Request(NamedTuple):
    method: str
    path: str  # as sent, not unquoted
    query: dict[str, str]
    headers: Message
    body: bytes


def json_handler(answer: Callable[[Request], tuple[int, object]],
                 methods: Iterable[str]) -> type[BaseHTTPRequestHandler]:  # fmt: skip
    """A handler class for the given methods (others get http.server's 501)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _answer(self, method: str) -> None:
            parts = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            query = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
            status, reply = answer(Request(method, parts.path, query, self.headers, body))
            try:
                if isinstance(reply, Raw):
                    self.close_connection = True
                    self.wfile.write(reply.data)
                    return
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout, a size cap)
                self.close_connection = True

    for method in methods:
        setattr(Handler, f"do_{method}", lambda self, m=method: self._answer(m))
    return Handler
