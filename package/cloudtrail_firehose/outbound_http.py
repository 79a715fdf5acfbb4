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
  are replaced with MASK in the body, the headers and every message it returns, so a server that
  echoes the token cannot put it into a check's message or a log line.
- URLs are checked before anything is sent (parse_url; url_problem for a save's validation): http or
  https, a host that DNS can hold (labels of 1-63 characters, 253 in all, IDNA-encodable) or a
  well-formed IPv4 or bracketed IPv6 address, a numeric port 1-65535, no user name or password.
  Header values must be Latin-1 without control characters, or the call fails before connecting.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
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

MASK = "****"
MIN_SECRET = 4  # shorter strings are not masked: replacing every "ab" would garble the text, not hide a secret
DEFAULT_MAX_BODY = 1024 * 1024  # HEC and ACS answers are a few KB (an ACS page of 100 tokens: ~50 KB)
CHUNK = 64 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}")  # after IDNA encoding; "_" as internal names (service records) use it
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # what may not go in a header value (tab may)


class UrlError(ValueError):
    """A URL that is refused before connecting; str() says what is wrong with it."""


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
class Url:
    """A URL that passed parse_url: host is ASCII (IDNA-encoded), an IPv6 address has no brackets."""

    scheme: str
    host: str
    port: int
    target: str  # path and query, at least "/"
    ipv6: bool = False

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if self.ipv6 else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.authority}"


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


# --- URLs ----------------------------------------------------------------------------------------


def parse_url(url: str, schemes: Iterable[str] = ("https", "http")) -> Url:
    """The URL's parts, or UrlError saying what is wrong (before anything connects)."""
    schemes = tuple(schemes)
    # What a message shows of the URL: never a user name or password before the host.
    shown = repr(re.sub(r"//[^/?#]*@", "//****@", url)[:120]) if isinstance(url, str) else repr(url)[:40]
    if not isinstance(url, str) or not url:
        raise UrlError("no URL was given")
    if any(c.isspace() or _CONTROL.match(c) for c in url):
        raise UrlError(f"{shown} holds spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as error:  # "[::1" without its "]", on every Python
        raise UrlError(f"{shown} is not a URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise UrlError(f"{shown} is not a {wanted} URL")
    netloc = parts.netloc
    if not netloc:
        raise UrlError(f"{shown} has no host name")
    if "@" in netloc:
        # Not shown: the part before "@" may be a password.
        raise UrlError(f"the {scheme}:// URL holds a user name or password before its host; give only the host "
                       "name (and :port)")  # fmt: skip
    ipv6 = netloc.startswith("[")
    if ipv6:
        end = netloc.find("]")
        if end < 0:
            raise UrlError(f"{shown}: the IPv6 address has no closing ]")
        host, rest = netloc[1:end], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise UrlError(f"{shown}: only :port may follow the IPv6 address's ]")
        port_text = rest[1:] if rest else None
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UrlError(f"{shown}: [{host[:60]}] is not an IPv6 address") from None
    else:
        host, colon, port_text = netloc.partition(":")
        if ":" in port_text:
            raise UrlError(f"{shown} has more than one ':'; an IPv6 address goes in brackets ([2001:db8::1])")
        port_text = port_text if colon else None
        host = _host_name(host, shown)
    port = DEFAULT_PORTS[scheme]
    if port_text is not None:
        if not port_text:
            raise UrlError(f"{shown} ends in ':' without a port number")
        if not (port_text.isascii() and port_text.isdigit()):
            raise UrlError(f"{shown}: the port {port_text[:20]!r} is not a number")
        port = int(port_text)
        if not 1 <= port <= 65535:
            raise UrlError(f"{shown}: the port {port} is out of range (1-65535)")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if not target.isascii():
        raise UrlError(f"{shown}: the path holds characters that must be percent-encoded")
    return Url(scheme, host, port, target, ipv6)


def url_problem(url: str, schemes: Iterable[str] = ("https", "http")) -> str | None:
    """What is wrong with a URL, or None: the same check every call makes, for a save's validation."""
    try:
        parse_url(url, schemes)
    except UrlError as error:
        return str(error)
    return None


def _host_name(host: str, shown: str) -> str:
    """A host name as DNS carries it (IDNA for non-ASCII labels), or a dotted IPv4 address."""
    if not host:
        raise UrlError(f"{shown} has no host name")
    if re.fullmatch(r"[0-9.]+", host):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise UrlError(f"{shown}: {host[:60]} is not an IPv4 address") from None
    name = host[:-1] if host.endswith(".") else host  # a fully qualified name may end in its root's dot
    labels = []
    for label in name.split("."):
        if not label:
            raise UrlError(f"{shown}: the host name has an empty label (two dots in a row, or a leading dot)")
        if not label.isascii():
            try:
                label = label.encode("idna").decode("ascii")
            except UnicodeError as error:
                raise UrlError(f"{shown}: the host name label {label[:30]!r} is not a valid international "
                               f"name ({error})") from None  # fmt: skip
        if len(label) > 63:
            raise UrlError(f"{shown}: the host name label {label[:20]}... is {len(label)} characters long; "
                           "a DNS label has at most 63")  # fmt: skip
        if not _LABEL.fullmatch(label):
            raise UrlError(f"{shown}: the host name label {label[:30]!r} may hold only letters, digits, '-' and '_'")
        labels.append(label)
    ascii_name = ".".join(labels)
    if len(ascii_name) > 253:
        raise UrlError(f"{shown}: the host name is {len(ascii_name)} characters long; DNS allows at most 253")
    return ascii_name


# --- secrets ---------------------------------------------------------------------------------------


def mask(text: str, secrets: Iterable[str]) -> str:
    """text with every secret (as sent, percent-encoded or JSON-escaped) replaced with MASK."""
    for variant in _variants(secrets):
        text = text.replace(variant, MASK)
    return text


def _mask_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    for variant in _variants(secrets):
        data = data.replace(variant.encode("utf-8"), MASK.encode())
    return data


def _variants(secrets: Iterable[str]) -> list[str]:
    found = set()
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET:
            found |= {secret, urllib.parse.quote(secret, safe=""), json.dumps(secret)[1:-1]}
    return sorted(found, key=len, reverse=True)  # the longest first, so no variant is half-masked


def header_secrets(headers: Mapping[str, str]) -> list[str]:
    """The credentials a request's headers carry: Authorization's value, and its part after the scheme."""
    found = []
    for name, value in headers.items():
        if name.lower() in ("authorization", "proxy-authorization", "cookie"):
            found += [value, value.partition(" ")[2].strip()]
    return found


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
    return Response(status, mask(reason, secrets), _mask_bytes(data, secrets), answer_headers, origin)


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
        if _CONTROL.search(value) or not _latin1(value):
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
