"""A local HTTP(S) server that misbehaves on purpose, as the servers of issue 21 did: it redirects to
another host over plain HTTP, trickles its answer a byte at a time, sends a status line that is not
HTTP or a 100 KB header line, streams a 300 MB body lazily (counting what it sent), cuts a body short,
closes without answering, or echoes the Authorization header it got back in its error text.

Each request is recorded (method, path, headers, body); `routes` maps a path (without its query) to a
behaviour, `default` answers the rest. Behaviours are functions (connection, request, server) -> None
that write whatever bytes they like; the connection is closed after each.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

MiB = 1024 * 1024


class Request(NamedTuple):
    method: str
    path: str  # as sent, with the query
    headers: dict[str, str]  # names lower-cased
    body: bytes


Behaviour = Callable[[socket.socket, Request, "HostileServer"], None]


class HostileServer:
    def __init__(self, certificate: tuple[Path, Path] | None = None, host: str = "127.0.0.1",
                 name: str | None = None) -> None:  # fmt: skip
        """certificate: (cert, key) to speak HTTPS; name: the host name of the URL (default: host)."""
        self.requests: list[Request] = []
        self.connections = 0
        self.sent = 0  # bytes the streaming behaviours wrote
        self.routes: dict[str, Behaviour] = {}
        self.default: Behaviour = answer(404, {"text": "not found", "code": 404})
        self.closed = threading.Event()
        self.context = None
        if certificate:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(*certificate)
        self.name = name or host
        self.listener = socket.create_server((host, 0))
        self.threads: list[threading.Thread] = []
        self.silent = False  # accept connections, then neither read nor write (a handshake that never ends)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.context else 'http'}://{self.name}:{self.port}"

    def authorizations(self) -> list[str]:
        return [r.headers["authorization"] for r in self.requests if "authorization" in r.headers]

    def close(self) -> None:
        self.closed.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread; close alone leaves it listening
        except OSError:
            pass
        self.listener.close()
        for thread in self.threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(10)
        if self.silent:
            self.closed.wait(10)
            connection.close()
            return
        try:
            if self.context:
                connection = self.context.wrap_socket(connection, server_side=True)
            request = _read_request(connection)
            if request is None:  # a handshake only (the certificate check), or nothing at all
                return
            self.requests.append(request)
            behaviour = self.routes.get(request.path.partition("?")[0], self.default)
            behaviour(connection, request, self)
        except (OSError, ssl.SSLError):  # the client went away: a timeout, a size cap, a refused certificate
            pass
        finally:
            try:
                connection.close()
            except OSError:
                pass


def _read_request(connection: socket.socket) -> Request | None:
    reader = connection.makefile("rb")
    line = reader.readline(65536)
    if not line:
        return None
    parts = line.decode("latin-1").split(" ", 2)
    if len(parts) != 3:
        return None  # not HTTP (a TLS hello to a plain port): nothing to answer
    method, path, _ = parts
    headers = {}
    while True:
        header = reader.readline(65536).decode("latin-1")
        if header in ("\r\n", "\n", ""):
            break
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    return Request(method, path, headers, reader.read(length) if length else b"")


def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} Whatever"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _body(document: bytes | str | dict | list) -> bytes:
    if isinstance(document, bytes):
        return document
    return document.encode() if isinstance(document, str) else json.dumps(document).encode()


# --- behaviours ---------------------------------------------------------------------------------------


def answer(status: int, document: bytes | str | dict | list, content_type: str = "application/json",
           headers: tuple[tuple[str, str], ...] = ()) -> Behaviour:  # fmt: skip
    """A well-formed answer."""
    data = _body(document)

    def behave(connection: socket.socket, request: Request, server: HostileServer) -> None:
        connection.sendall(_head(status, [("Content-Type", content_type), ("Content-Length", str(len(data))),
                                          ("Connection", "close"), *headers]) + data)  # fmt: skip

    return behave


def route(table: dict[str, Behaviour], default: Behaviour) -> Behaviour:
    """Answer by method: table keys are "GET", "POST", ..."""

    def behave(connection: socket.socket, request: Request, server: HostileServer) -> None:
        table.get(request.method, default)(connection, request, server)

    return behave


def redirect(location: str, status: int = 302) -> Behaviour:
    return answer(status, b"", headers=(("Location", location),))


def trickle(status: int = 200, document: bytes | str | dict = b'{"text": "HEC is healthy", "code": 17}',
            interval: float = 0.25) -> Behaviour:  # fmt: skip
    """The whole answer, status line first, one byte per interval: each byte well within any read timeout."""
    data = _body(document)

    def behave(connection: socket.socket, request: Request, server: HostileServer) -> None:
        whole = _head(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]) + data
        for i in range(len(whole)):
            if server.closed.wait(interval):
                return
            connection.sendall(whole[i : i + 1])
            server.sent += 1

    return behave


def raw(data: bytes) -> Behaviour:
    """Bytes as they are (a status line that is not HTTP, ...), then the connection is closed."""

    def behave(connection: socket.socket, request: Request, server: HostileServer) -> None:
        connection.sendall(data)

    return behave


def long_header(size: int = 100 * 1024) -> Behaviour:
    """A 200 whose one header line is `size` bytes long (http.client reads lines of at most 64 KiB)."""
    return raw(_head(200, [("X-Padding", "a" * size), ("Content-Length", "2")]) + b"{}")


def huge(size: int = 300 * MiB, status: int = 200) -> Behaviour:
    """A body of `size` bytes, announced by Content-Length and made as it is sent (never held whole);
    server.sent counts what went out before the client stopped reading."""
    block = b" " * (64 * 1024)

    def behave(connection: socket.socket, request: Request, server: HostileServer) -> None:
        connection.sendall(_head(status, [("Content-Type", "application/json"), ("Content-Length", str(size))]))
        left = size
        while left > 0 and not server.closed.is_set():
            piece = block[: min(left, len(block))]
            connection.sendall(piece)
            server.sent += len(piece)
            left -= len(piece)

    return behave


def truncated(announced: int = 1000, data: bytes = b'{"text": "HEC is hea') -> Behaviour:
    """Content-Length promises `announced` bytes; fewer come, then the connection closes."""
    return raw(_head(200, [("Content-Type", "application/json"), ("Content-Length", str(announced))]) + data)


def disconnect() -> Behaviour:
    """The request is read, then the connection closes without a word."""

    def behave(connection: socket.socket, request: Request, server: HostileServer) -> None:
        return None

    return behave


def echo_authorization(status: int, template: dict | str) -> Behaviour:
    """An error whose text holds the Authorization header as it came ("{auth}" in the template's strings;
    the credential alone as "{credential}")."""

    def behave(connection: socket.socket, request: Request, server: HostileServer) -> None:
        value = request.headers.get("authorization", "")

        def fill(part):
            if isinstance(part, str):
                return part.replace("{auth}", value).replace("{credential}", value.partition(" ")[2])
            if isinstance(part, dict):
                return {k: fill(v) for k, v in part.items()}
            return [fill(v) for v in part] if isinstance(part, list) else part

        answer(status, fill(template))(connection, request, server)

    return behave


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Poll until condition holds (the server's threads record after the client has its answer)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
