"""URLs checked before anything is sent, by every outward call (outbound_http.py) and by a save's
validation (url_problem): http or https, a host that DNS can hold (labels of 1-63 characters, 253 in
all, IDNA-encodable) or a well-formed IPv4 or bracketed IPv6 address, a numeric port 1-65535, no user
name or password. A message shows the URL without whatever precedes an "@" (a password)."""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}")  # after IDNA encoding; "_" as internal names (service records) use it
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # what may not go in a URL or a header value (tab may)


class UrlError(ValueError):
    """A URL that is refused before connecting; str() says what is wrong with it."""


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


def parse_url(url: str, schemes: Iterable[str] = ("https", "http")) -> Url:
    """The URL's parts, or UrlError saying what is wrong (before anything connects)."""
    schemes = tuple(schemes)
    # What a message shows of the URL: never a user name or password before the host.
    shown = repr(re.sub(r"//[^/?#]*@", "//****@", url)[:120]) if isinstance(url, str) else repr(url)[:40]
    if not isinstance(url, str) or not url:
        raise UrlError("no URL was given")
    if any(c.isspace() or CONTROL.match(c) for c in url):
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
