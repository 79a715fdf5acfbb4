"""The one HTTP client of the app's outward calls: the HEC check, ACS, splunkd and the certificate check.

Standard library only (http.client for the parsing, ssl), one request per connection. Servers that
misbehave, by accident or on purpose, shaped it:

- No redirect is followed. A 3xx is an HttpError (kind "redirect") naming the scheme and host the
  Location points at: following it would hand the Authorization header (a HEC token, an ACS JWT, a
  splunkd session key) to whatever host, over whatever scheme, the answer names.
- One deadline per call (`timeout`): the name lookup, connecting, the TLS handshake, sending and
  every read of the answer share it. Before each socket operation the socket's timeout is set to
  what is left, so a server trickling one byte a second cannot stretch a call past its deadline.
- At most `max_body` bytes of body are read, in chunks; more is an HttpError (kind "too_large"), so
  a huge answer costs at most about max_body of memory.
- Whatever is not a well-formed answer (a status line that is not HTTP, a line over http.client's
  64 KiB, a connection closed before or during the answer, a body cut short of its Content-Length
  or chunks) is an HttpError (kind "broken"); Response.json() turns a body that is not JSON, or not
  the JSON shape asked for, into one too (kind "not_json"). Callers catch HttpError only.
- The secrets a call sends (the credential of its Authorization header, and any the caller names)
  are masked (masking.py) in the body, the headers and every message it returns, so a server that
  echoes the token cannot put it into a check's message or a log line.
- URLs are checked before anything is sent (urls.py: parse_url). Header values must be Latin-1
  without control characters, or the call fails before connecting.
"""

from __future__ import annotations

import http.client
import io
import json
import re
import selectors
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cloudtrail_firehose.masking import header_secrets, mask, mask_bytes
from cloudtrail_firehose.urls import CONTROL, Url, UrlError, parse_url

DEFAULT_MAX_BODY = 1024 * 1024  # HEC and ACS answers are a few KB (an ACS page of 100 tokens: ~50 KB)
CHUNK = 64 * 1024


class HttpError(Exception):
    """A call that gave no usable answer.

    kind: url | header | resolve | connect | certificate | tls | timeout | redirect | broken | too_large
    | not_json. detail is the reason alone (the origin is in str()); status is the HTTP status when one
    came; location the redirect's target (scheme://host[:port], secrets masked); reason the
    certificate verifier's own words for kind certificate.
    """

    def __init__(self, kind: str, message: str, detail: str = "", status: int = 0, location: str = "",
                 reason: str = "") -> None:  # fmt: skip
        super().__init__(message)
        self.kind, self.detail, self.status = kind, detail or message, status
        self.location, self.reason = location, reason

    @property
    def message(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Response:
    """An answer read whole (below the cap), secrets masked. Any status but 3xx: callers judge 4xx and 5xx."""

    status: int
    reason: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    origin: str = ""

    def text(self, limit: int | None = None) -> str:
        text = self.body.decode("utf-8", errors="replace")
        return text if limit is None else text[:limit]

    def json(self, shape: type | tuple[type, ...] | None = None, empty: Any = None) -> Any:
        """The body as JSON (an empty body is `empty` when given); kind not_json when it is not JSON
        or not of the shape asked for (dict, list, ...)."""
        if not self.body.strip() and empty is not None:
            return empty
        try:
            document = json.loads(self.body.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise self._not_json(f"not UTF-8 text (byte {error.start} of {len(self.body)})") from None
        except (ValueError, RecursionError):
            raise self._not_json(f"not JSON ({len(self.body)} bytes, starting {self.text(60)!r})") from None
        if shape is not None and not isinstance(document, shape):
            wanted = " or ".join(_json_kind(t) for t in (shape if isinstance(shape, tuple) else (shape,)))
            raise self._not_json(f"a JSON {_json_kind(type(document))} where a JSON {wanted} belongs "
                                 f"(starting {self.text(60)!r})")  # fmt: skip
        return document

    def _not_json(self, detail: str) -> HttpError:
        return HttpError("not_json", f"{self.origin} answered {self.status} with {detail}", detail, self.status)


def _json_kind(kind: type) -> str:
    return {dict: "object", list: "array", str: "string", bool: "true/false", type(None): "null"}.get(
        kind, "number")


# --- the call ---------------------------------------------------------------------------------------


def public_context(cafile: str | None = None) -> ssl.SSLContext:
    """TLS as a public client verifies it: certifi's roots (Mozilla's list of public CAs), not this host's
    trust store, where a private CA may be installed. cafile replaces them (tests' own CA)."""
    import certifi  # here, not at import: the splunkd client (most calls) never needs it

    return ssl.create_default_context(cafile=cafile or certifi.where())


def request(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    timeout: float,
    max_body: int = DEFAULT_MAX_BODY,
    context: ssl.SSLContext | None = None,
    secrets: Iterable[str] = (),
) -> Response:
    """One request, its answer read whole within `timeout` seconds; HttpError for anything else (see the
    module's docstring). context: TLS for https (default public_context())."""
    headers = dict(headers or {})
    secrets = [*secrets, *header_secrets(headers)]
    try:
        target = parse_url(url)
    except UrlError as error:
        raise HttpError("url", mask(str(error), secrets)) from None
    deadline = _Deadline(timeout)
    head = _request_head(method, target, headers, body)
    origin = target.origin
    sock = _connect(target, deadline, context, secrets)
    try:
        try:
            _send(sock, head + (body or b""), deadline)
            response = http.client.HTTPResponse(_Source(sock, deadline), method=method)  # type: ignore[arg-type]
            response.begin()
            status, reason = response.status, response.reason
            answer_headers = {k.lower(): mask(v, secrets) for k, v in response.getheaders()}
            if 300 <= status < 400:
                raise _redirect(origin, status, answer_headers.get("location", ""), target, secrets)
            data = _read_body(response, origin, max_body, status)
        except socket.timeout:  # socket.timeout is TimeoutError from 3.10; on 3.9 an OSError of its own
            raise HttpError("timeout", f"{origin} gave no complete answer within {timeout:g} s",
                            f"no complete answer within {timeout:g} s") from None  # fmt: skip
        except (http.client.HTTPException, ValueError, OSError) as error:  # not HTTP, cut short, reset
            detail = mask(_reason(error), secrets)
            raise HttpError("broken", f"{origin} sent a broken answer ({detail})", detail) from None
    finally:
        sock.close()
    return Response(status, mask(reason, secrets), mask_bytes(data, secrets), answer_headers, origin)


def peer_certificate(url: str, timeout: float, context: ssl.SSLContext) -> dict:
    """Connect and do the TLS handshake only (nothing is sent); the verified peer's certificate as
    ssl.getpeercert() gives it. HttpError (url, resolve, connect, certificate, tls, timeout) otherwise."""
    try:
        target = parse_url(url, ("https",))
    except UrlError as error:
        raise HttpError("url", str(error)) from None
    sock = _connect(target, _Deadline(timeout), context, ())
    try:
        return sock.getpeercert() or {}  # type: ignore[attr-defined]
    finally:
        sock.close()


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds, self.end = seconds, time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise socket.timeout(f"no complete answer within {self.seconds:g} s")
        return left


def _request_head(method: str, target: Url, headers: dict[str, str], body: bytes | None) -> bytes:
    if not re.fullmatch(r"[A-Z]+", method):
        raise HttpError("header", f"{method[:20]!r} is not an HTTP method")
    lines = [f"{method} {target.target} HTTP/1.1", f"Host: {target.authority}", "Accept-Encoding: identity",
             "Connection: close", "User-Agent: cloudtrail_firehose"]  # fmt: skip
    for name, value in headers.items():
        if not re.fullmatch(r"[A-Za-z0-9-]+", name):
            raise HttpError("header", f"{name[:40]!r} is not a header name")
        if CONTROL.search(value) or not _latin1(value):
            # The value may be a secret: name the header, never show it.
            raise HttpError("header", f"the {name} header holds characters HTTP cannot carry (outside Latin-1, or "
                                      "line breaks and other control characters); nothing was sent")  # fmt: skip
        lines.append(f"{name}: {value}")
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _connect(target: Url, deadline: _Deadline, context: ssl.SSLContext | None, secrets: Iterable[str]) -> socket.socket:
    where = f"{target.host}:{target.port}"
    addresses = _resolve(target, deadline)
    failure: OSError | None = None
    for family, kind, protocol, _, address in addresses:
        sock = socket.socket(family, kind, protocol)
        try:
            sock.settimeout(deadline.left())
            sock.connect(address)
        except OSError as error:
            sock.close()
            failure = error
            continue
        break
    else:
        if isinstance(failure, socket.timeout):
            raise HttpError("timeout", f"cannot connect to {where} within {deadline.seconds:g} s",
                            f"no connection within {deadline.seconds:g} s")  # fmt: skip
        raise HttpError("connect", f"cannot connect to {where} ({_reason(failure)})", _reason(failure))
    if target.scheme != "https":
        return sock
    context = context or public_context()
    try:
        return _handshake(sock, target.host, context, deadline)
    except ssl.SSLCertVerificationError as error:
        sock.close()
        reason = mask(error.verify_message or str(error), secrets)
        raise HttpError("certificate", f"the certificate of {target.host} was refused ({reason})", reason,
                        reason=reason) from None  # fmt: skip
    except socket.timeout:
        sock.close()
        raise HttpError("timeout", f"no TLS handshake with {where} within {deadline.seconds:g} s",
                        f"no TLS handshake within {deadline.seconds:g} s") from None  # fmt: skip
    except OSError as error:  # ssl.SSLError included: not TLS, a protocol error, a reset
        sock.close()
        detail = mask(_reason(error), secrets)
        raise HttpError("tls", f"TLS handshake with {where} failed ({detail})", detail) from None


def _resolve(target: Url, deadline: _Deadline) -> list:
    """getaddrinfo within the deadline: a name is looked up on a thread of its own (the resolver has no
    time limit to pass), an address is used as it is."""
    found: dict[str, Any] = {}

    def look_up() -> None:
        try:
            found["addresses"] = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            found["error"] = error

    if target.ipv6 or re.fullmatch(r"[0-9.]+", target.host):
        look_up()
    else:
        thread = threading.Thread(target=look_up, name="outbound_http-resolve", daemon=True)
        thread.start()
        thread.join(max(deadline.end - time.monotonic(), 0))
    if "error" in found:
        raise HttpError("resolve", f"{target.host} does not resolve ({_reason(found['error'])})")
    if "addresses" not in found:  # the lookup goes on, on its daemon thread, and is forgotten
        raise HttpError("timeout", f"{target.host} was not resolved within {deadline.seconds:g} s",
                        f"no name lookup within {deadline.seconds:g} s")  # fmt: skip
    return found["addresses"]


def _handshake(sock: socket.socket, host: str, context: ssl.SSLContext, deadline: _Deadline) -> ssl.SSLSocket:
    """The handshake, non-blocking so that the whole of it, not each read, is bounded by the deadline."""
    tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    tls.setblocking(False)
    with selectors.DefaultSelector() as selector:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                events = selectors.EVENT_READ
            except ssl.SSLWantWriteError:
                events = selectors.EVENT_WRITE
            selector.register(tls, events)
            ready = selector.select(deadline.left())
            selector.unregister(tls)
            if not ready:
                raise socket.timeout("TLS handshake")
    tls.setblocking(True)
    return tls


def _send(sock: socket.socket, data: bytes, deadline: _Deadline) -> None:
    view, sent = memoryview(data), 0
    while sent < len(data):
        sock.settimeout(deadline.left())
        sent += sock.send(view[sent : sent + CHUNK])


class _Reader(io.RawIOBase):
    """The socket as http.client reads it: every read waits at most what is left of the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        super().__init__()
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        self.sock.settimeout(self.deadline.left())
        return self.sock.recv_into(buffer)


class _Source:
    """What http.client.HTTPResponse takes for a socket: it only calls makefile("rb")."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self.sock, self.deadline = sock, deadline

    def makefile(self, mode: str, *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self.sock, self.deadline), CHUNK)


def _read_body(response: http.client.HTTPResponse, origin: str, max_body: int, status: int) -> bytes:
    data = bytearray()
    while True:
        piece = response.read(min(CHUNK, max_body + 1 - len(data)))
        if not piece:
            break
        data += piece
        if len(data) > max_body:
            detail = f"the answer is larger than {max_body} bytes"
            raise HttpError("too_large", f"{origin}: {detail}; it was not read further", detail, status)
    if response.length:  # what Content-Length announced and did not come (http.client does not raise)
        detail = f"the answer was cut short after {len(data)} bytes, {response.length} missing"
        raise HttpError("broken", f"{origin} sent a broken answer ({detail})", detail, status)
    return bytes(data)


def _redirect(origin: str, status: int, location: str, target: Url, secrets: Iterable[str]) -> HttpError:
    """A 3xx as an error that says where it pointed (scheme and host only; never followed)."""
    pointed = urllib.parse.urlsplit(location) if location else None
    if pointed is None:
        where = "nowhere (no Location)"
    elif not pointed.netloc:
        where = f"{target.origin} (another path on the same host)"
    else:
        where = mask(f"{pointed.scheme or target.scheme}://{pointed.netloc.rpartition('@')[2]}", secrets)[:200]
    plain = " over plain HTTP" if location.lower().startswith("http://") else ""
    detail = f"redirected ({status}) to {where}{plain}; redirects are not followed, so nothing was sent there"
    return HttpError("redirect", f"{origin} {detail}", detail, status, location=where)


def _reason(error: object) -> str:
    """A short reason: the exception's words, or its name when it has none."""
    if isinstance(error, http.client.IncompleteRead):
        missing = f", {error.expected} missing" if error.expected is not None else ""
        return f"the answer was cut short after {len(error.partial)} bytes{missing}"
    words = str(error).strip()
    name = type(error).__name__
    return f"{name}: {words[:200]}" if words else name
