"""The one outbound HTTP client (outbound_http.py) against servers that misbehave on purpose (issue 21,
tests/standins/hostile_http.py): no redirect followed, one deadline per call, a capped body, every malformed
answer an HttpError, the secrets it sent masked, URLs and header values refused before connecting.

Runs on Python 3.9 too.
"""

from __future__ import annotations

import json
import socket
import time
import tracemalloc

import hostile_http as hostile
import pytest
from certificates import self_signed
from cloudtrail_firehose import outbound_http
from cloudtrail_firehose.masking import MASK
from cloudtrail_firehose.outbound_http import HttpError, request
from cloudtrail_firehose.urls import Url, UrlError, parse_url, url_problem

TOKEN = "5f4dcc3b-5aa7-65d6-1d83-27de2b882cf9"
AUTH = {"Authorization": f"Splunk {TOKEN}"}


@pytest.fixture
def server():
    started = hostile.HostileServer()
    yield started
    started.close()


@pytest.fixture
def elsewhere():
    """Another host (by name and scheme) that records whatever reaches it."""
    started = hostile.HostileServer(host="127.0.0.1", name="127.0.0.1")
    started.default = hostile.answer(200, {"acks": {"0": False}})
    yield started
    started.close()


def call(server: hostile.HostileServer, timeout: float = 2.0, **kwargs) -> outbound_http.Response:
    return request("POST", f"{server.url}/services/collector/ack", b"{}", AUTH, timeout=timeout, **kwargs)


def failure(server: hostile.HostileServer, **kwargs) -> HttpError:
    with pytest.raises(HttpError) as raised:
        call(server, **kwargs)
    assert TOKEN not in str(raised.value)
    return raised.value


def test_a_plain_answer_is_read_with_its_status_and_json(server):
    server.default = hostile.answer(400, {"text": "No data", "code": 5})
    answer = call(server)
    assert (answer.status, answer.json(dict)) == (400, {"text": "No data", "code": 5})
    [sent] = server.requests
    assert (sent.method, sent.path, sent.body, sent.headers["authorization"]) == (
        "POST", "/services/collector/ack", b"{}", f"Splunk {TOKEN}")  # fmt: skip


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_host_over_plain_http_is_not_followed(server, elsewhere, status):
    """Issue 21, point 1: following it sent "Authorization: Splunk <token>" to the other host."""
    server.default = hostile.redirect(f"{elsewhere.url}/services/collector/ack?leak={TOKEN}", status)
    error = failure(server)
    assert (error.kind, error.status) == ("redirect", status)
    assert f"to {elsewhere.url} over plain HTTP" in str(error)
    assert "not followed" in str(error)
    assert elsewhere.connections == 0
    assert elsewhere.authorizations() == []


def test_a_redirect_on_the_same_host_is_not_followed_either(server):
    server.default = hostile.redirect("/services/collector/raw")
    error = failure(server)
    assert error.kind == "redirect"
    assert "same host" in error.location
    assert len(server.requests) == 1


@pytest.mark.slow
def test_a_trickling_server_cannot_stretch_the_call_past_its_deadline(server):
    """Issue 21, point 3: one byte every 0.25 s kept each socket read alive; the deadline is per call."""
    server.default = hostile.trickle(interval=0.25)
    started = time.monotonic()
    error = failure(server, timeout=1.0)
    elapsed = time.monotonic() - started
    assert error.kind == "timeout"
    assert "within 1 s" in str(error)
    assert elapsed < 3.0  # the answer would take ~25 s at this pace


def test_a_huge_body_is_refused_at_the_cap_without_being_read(server):
    """Issue 21, point 3: a 300 MB body cost 900 MB of memory; now at most the cap is held, and the server
    gets to send little more than the cap (plus what the sockets buffer) before the client hangs up."""
    server.default = hostile.huge(300 * hostile.MiB)
    tracemalloc.start()
    try:
        error = failure(server, max_body=hostile.MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.kind == "too_large"
    assert error.detail == f"the answer is larger than {hostile.MiB} bytes"
    assert peak < 4 * hostile.MiB
    hostile.wait_for(lambda: not any(t.is_alive() for t in server.threads))
    assert server.sent < 32 * hostile.MiB


@pytest.mark.parametrize(
    ("behaviour", "words"),
    [
        (hostile.raw(b"HELLO THERE\r\n\r\n"), "BadStatusLine"),
        (hostile.long_header(100 * 1024), "LineTooLong"),
        (hostile.truncated(1000, b'{"text": "HEC'), "cut short after 13 bytes, 987 missing"),
        (hostile.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"te"), "cut short"),
        (hostile.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), "broken answer"),
        (hostile.disconnect(), "RemoteDisconnected"),
    ],
)
def test_every_malformed_answer_is_a_broken_answer(server, behaviour, words):
    """Issue 21, point 4: these raised http.client's exceptions (or IncompleteRead) instead of a result."""
    server.default = behaviour
    error = failure(server)
    assert error.kind == "broken"
    assert words in str(error)
    assert len(str(error)) < 400


def test_an_answer_without_length_is_read_to_the_close_and_chunks_are_joined(server):
    server.default = hostile.raw(b'HTTP/1.1 200 OK\r\n\r\n{"code": 17}')
    assert call(server).json(dict) == {"code": 17}
    chunks = b'6\r\n{"a": \r\n2\r\n1}\r\n0\r\n\r\n'
    server.default = hostile.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
    assert call(server).json(dict) == {"a": 1}


def test_a_token_echoed_in_the_answer_is_masked_everywhere(server):
    """Issue 21, point 2: the server's error text quoted the Authorization header back."""
    server.default = hostile.echo_authorization(403, {"text": "Invalid token: {auth}", "code": 4,
                                                      "hint": TOKEN.replace("-", "%2D")})  # fmt: skip
    answer = call(server)
    assert TOKEN not in answer.text()
    assert answer.json(dict)["text"] == f"Invalid token: {MASK}"
    server.default = hostile.answer(302, b"", headers=(("Location", f"https://other.example/?t={TOKEN}"),
                                                        ("X-Echo", TOKEN)))  # fmt: skip
    assert TOKEN not in str(failure(server))


def test_the_caller_names_further_secrets_to_mask(server):
    server.default = hostile.answer(200, {"message": "password hunter22 rejected"})
    answer = request("GET", server.url, timeout=2, secrets=("hunter22",))
    assert answer.json(dict) == {"message": f"password {MASK} rejected"}


@pytest.mark.parametrize("token", ["токен-значение", "abc\r\nX-Injected: 1", "tab\x00null"])
def test_a_header_value_http_cannot_carry_fails_before_connecting(server, token):
    """Issue 21, point 4: a non-latin-1 token raised UnicodeEncodeError from http.client."""
    with pytest.raises(HttpError) as raised:
        request("GET", server.url, headers={"Authorization": f"Bearer {token}"}, timeout=2)
    assert raised.value.kind == "header"
    assert "Authorization header" in str(raised.value)
    assert token not in str(raised.value)
    assert server.connections == 0


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://hec.example.com:99999", "port 99999 is out of range"),
        ("https://hec.example.com:0", "port 0 is out of range"),
        ("https://hec.example.com:abc", "port 'abc' is not a number"),
        ("https://hec.example.com:", "without a port number"),
        ("https://[::1", "not a URL"),
        ("https://[::1]x:8088", "only :port may follow"),
        ("https://[zz::1]:8088", "IPv6 address"),
        ("https://::1:8088", "IPv6 address goes in brackets"),
        ("https://" + "a" * 64 + ".example.com", "64 characters long; a DNS label has at most 63"),
        ("https://" + ".".join(["a" * 63] * 4) + ".com", "DNS allows at most 253"),
        ("https://hec..example.com", "empty label"),
        ("https://hec example.com", "spaces or control characters"),
        ("https://hec.example.com/\r\nX: 1", "spaces or control characters"),
        ("https://hec_$.example.com", "may hold only letters"),
        ("https://300.1.2.3", "is not an IPv4 address"),
        ("ftp://hec.example.com", "is not a https:// or http:// URL"),
        ("https://admin:hunter22@hec.example.com", "user name or password"),
        ("https://", "has no host name"),
        ("", "no URL"),
    ],
)
def test_urls_are_checked_before_connecting(url, words):
    """Issue 21, point 4: port 99999 or abc, "[::1", a 64-character label raised ValueError or
    "'idna' codec ... label too long" inside the check instead of saying what is wrong."""
    problem = url_problem(url)
    assert problem is not None
    assert words in problem
    assert "hunter22" not in problem
    with pytest.raises(HttpError) as raised:
        request("GET", url, timeout=1)
    assert raised.value.kind == "url"


def test_good_urls_are_parsed_to_what_is_sent():
    assert parse_url("https://HEC.example.com:8088") == Url("https", "HEC.example.com", 8088, "/")
    v6 = parse_url("https://[2001:db8::1]:8089/services/x?a=1")
    assert (v6.host, v6.port, v6.target, v6.authority) == ("2001:db8::1", 8089, "/services/x?a=1", "[2001:db8::1]:8089")
    international = parse_url("https://bücher.example/")
    assert (international.host, international.origin) == ("xn--bcher-kva.example", "https://xn--bcher-kva.example")
    assert parse_url("http://127.0.0.1").port == 80
    assert parse_url("https://hec.example.com.").host == "hec.example.com"
    with pytest.raises(UrlError, match="is not a https:// URL"):
        parse_url("http://hec.example.com", ("https",))


def test_json_that_is_not_json_or_not_the_shape_asked_for_is_an_http_error(server):
    server.default = hostile.answer(200, "<html><body>Sign in to the proxy</body></html>", "text/html")
    with pytest.raises(HttpError, match="200 with not JSON .*<html>") as raised:
        call(server).json(dict)
    assert raised.value.kind == "not_json"
    server.default = hostile.answer(200, [1, 2])
    with pytest.raises(HttpError, match="a JSON array where a JSON object belongs"):
        call(server).json(dict)
    server.default = hostile.answer(200, b"\xff\xfe")
    with pytest.raises(HttpError, match="not UTF-8"):
        call(server).json()
    server.default = hostile.answer(204, b"")
    assert call(server).json(dict, empty={}) == {}


def test_a_connection_refused_and_a_name_that_does_not_resolve(server):
    port = server.port
    server.close()
    with pytest.raises(HttpError) as raised:
        request("GET", f"http://127.0.0.1:{port}", timeout=2)
    assert raised.value.kind == "connect"
    with pytest.raises(HttpError) as raised:
        request("GET", "http://does-not-exist.invalid", timeout=2)
    assert raised.value.kind == "resolve"


@pytest.mark.slow
def test_a_slow_name_lookup_counts_against_the_deadline(monkeypatch):
    """The resolver has no time limit of its own to pass; the call still ends at its deadline."""
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: time.sleep(3) or [])
    started = time.monotonic()
    with pytest.raises(HttpError) as raised:
        request("GET", "https://slow-dns.example.com", timeout=0.5)
    assert raised.value.kind == "timeout"
    assert "not resolved within 0.5 s" in str(raised.value)
    assert time.monotonic() - started < 1.5


@pytest.mark.slow
def test_https_verifies_the_certificate_and_the_handshake_shares_the_deadline(tmp_path):
    tls = hostile.HostileServer(self_signed(tmp_path, "localhost"), name="localhost")
    tls.default = hostile.answer(200, {"code": 17})
    silent = hostile.HostileServer(name="localhost")  # accepts, reads nothing, never answers the handshake
    silent.silent = True
    try:
        with pytest.raises(HttpError) as raised:
            request("GET", tls.url, timeout=2)  # certifi's public roots do not hold the test's own certificate
        assert raised.value.kind == "certificate"
        assert "self-signed" in raised.value.reason
        context = outbound_http.public_context(str(tmp_path / "localhost.pem"))
        assert request("GET", tls.url, timeout=2, context=context).json(dict) == {"code": 17}
        started = time.monotonic()
        with pytest.raises(HttpError) as raised:
            request("GET", silent.url.replace("http://", "https://"), timeout=1, context=context)
        assert raised.value.kind == "timeout"
        assert time.monotonic() - started < 3.0
    finally:
        tls.close()
        silent.close()


def test_the_request_sent_is_plain_http_11_with_one_connection_per_call(server):
    server.default = hostile.answer(200, {})
    request("PUT", f"{server.url}/a%2Fb?x=1", json.dumps({"k": "v"}).encode(), {"Content-Type": "application/json"},
            timeout=2)  # fmt: skip
    [sent] = server.requests
    assert (sent.method, sent.path, sent.body) == ("PUT", "/a%2Fb?x=1", b'{"k": "v"}')
    assert (sent.headers["connection"], sent.headers["content-length"]) == ("close", "10")
    assert sent.headers["host"] == f"127.0.0.1:{server.port}"
