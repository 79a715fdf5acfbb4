"""Each outward caller against servers that misbehave on purpose (issue 21, tests/standins/hostile_http.py): the
HEC check (splunk/hec_check.py), ACS (splunk/acs.py), the recovery input's search through splunkd
(inputs/indexed.py) and the certificate check (certificates.py). No secret reaches another host or
a message, a trickling server ends the call at its deadline, a huge body is cut at the cap, and every
malformed answer or URL is the caller's own clear result, never an exception from below.

Runs on Python 3.9 too.
"""

from __future__ import annotations

import datetime
import time
import uuid
from pathlib import Path

import hostile_http as hostile
import pytest
from certificates import self_signed
from cloudtrail_firehose.certificates import check_hec_certificate
from cloudtrail_firehose.inputs import indexed
from cloudtrail_firehose.inputs.indexed import indexed_identities
from cloudtrail_firehose.inputs.outputs import SearchUnavailableError
from cloudtrail_firehose.splunk.acs import Acs, AcsError
from cloudtrail_firehose.splunk.hec_check import MAX_ANSWER, check_hec_token
from cloudtrail_firehose.splunk.splunkd import Splunkd
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fake_acs import JWT, STACK
from fake_splunkd import ADMIN_TOKEN
from identities import BUCKET, INDEX, output, trail_event

TOKEN = "5f4dcc3b-5aa7-65d6-1d83-27de2b882cf9"
HEALTH, ACK, RAW = "/services/collector/health", "/services/collector/ack", "/services/collector/raw"
BAD_URLS = [
    ("https://localhost:99999", "port 99999 is out of range"),
    ("https://localhost:abc", "port 'abc' is not a number"),
    ("https://[::1", "not a URL"),
    ("https://" + "h" * 64 + ".example.com", "a DNS label has at most 63"),
]


@pytest.fixture
def elsewhere():
    """Another host, over plain HTTP, that records whatever reaches it and would welcome any token."""
    server = hostile.HostileServer()
    server.default = hostile.answer(200, {"acks": {"0": False}, "http_event_collectors": []})
    yield server
    server.close()


# --- the HEC check ------------------------------------------------------------------------------------


@pytest.fixture
def hec(tmp_path):
    """HEC as "HTTP Event Collector REST API endpoints" answers a good token, over HTTPS for localhost."""
    server = hostile.HostileServer(self_signed(tmp_path, "localhost"), name="localhost")
    server.routes = {HEALTH: hostile.answer(200, {"text": "HEC is healthy", "code": 17}),
                     ACK: hostile.answer(200, {"acks": {"0": False}}),
                     RAW: hostile.answer(400, {"text": "No data", "code": 5})}  # fmt: skip
    server.cafile = str(tmp_path / "localhost.pem")
    yield server
    server.close()


def check(hec: hostile.HostileServer, token: str = TOKEN, timeout: float = 2.0, url: str | None = None):
    result = check_hec_token(url or hec.url, token, cafile=hec.cafile, timeout=timeout)
    assert TOKEN not in result.message
    assert len(result.message) < 800
    return result


def test_the_stand_in_answers_as_hec(hec):
    assert check(hec).ok


@pytest.mark.parametrize(("path", "status", "step"), [(ACK, 302, "ack"), (RAW, 301, "raw"), (HEALTH, 307, "health")])
def test_hec_check_never_takes_the_token_to_where_a_redirect_points(hec, elsewhere, path, status, step):
    """Issue 21, point 1: a 302 from /services/collector/ack to another host over plain HTTP got
    "Authorization: Splunk <token>" sent there, and the token reported good; a 301 on raw leaked it too."""
    hec.routes[path] = hostile.redirect(f"{elsewhere.url}{path}", status)
    result = check(hec)
    assert (result.ok, result.step) == (False, step)
    assert f"redirected ({status}) to {elsewhere.url} over plain HTTP" in result.message
    assert "Firehose does not follow redirects" in result.message
    assert elsewhere.authorizations() == []
    assert elsewhere.connections == 0


def test_hec_check_masks_a_token_the_server_echoes(hec):
    """Issue 21, point 2: HEC's error text quoting the Authorization header ended up in the message."""
    hec.routes[ACK] = hostile.echo_authorization(403, {"text": "Invalid token {auth} ({credential})", "code": 4})
    result = check(hec)
    assert (result.ok, result.step) == (False, "token")
    assert "code 4 (Invalid token **** (****))" in result.message


@pytest.mark.slow
def test_hec_check_ends_at_its_deadline_against_a_trickling_server(hec):
    """Issue 21, point 3: a server sending a byte at a time kept a 2-3 s check running 20-25 s."""
    hec.routes[HEALTH] = hostile.trickle(interval=0.25)
    started = time.monotonic()
    result = check(hec, timeout=1.0)
    assert time.monotonic() - started < 1.0 * 3 + 1  # the TLS check and the health call, each within 1 s
    assert (result.ok, result.step) == (False, "health")
    assert "no complete answer" in result.message
    assert "in time" in result.message


def test_hec_check_stops_reading_a_huge_answer_at_its_cap(hec):
    """Issue 21, point 3: a 300 MB body added 900 MB of memory."""
    hec.routes[HEALTH] = hostile.huge(300 * hostile.MiB)
    result = check(hec)
    assert (result.ok, result.step) == (False, "health")
    assert f"larger than {MAX_ANSWER} bytes" in result.message
    hostile.wait_for(lambda: not any(t.is_alive() for t in hec.threads))
    assert hec.sent < MAX_ANSWER + 32 * hostile.MiB


@pytest.mark.parametrize(
    ("path", "behaviour", "words"),
    [
        (HEALTH, hostile.raw(b"SPLUNK/9 OK\r\n\r\n"), "BadStatusLine"),
        (HEALTH, hostile.long_header(100 * 1024), "LineTooLong"),
        (ACK, hostile.truncated(500, b'{"acks": {"0"'), "cut short after 13 bytes"),
        (RAW, hostile.disconnect(), "RemoteDisconnected"),
    ],
)
def test_hec_check_turns_a_malformed_answer_into_a_result(hec, path, behaviour, words):
    """Issue 21, point 4: a garbage status line, a 100 KB header line or a truncated body raised."""
    hec.routes[path] = behaviour
    result = check(hec)
    assert not result.ok
    assert words in result.message
    assert "not HTTP" in result.message


@pytest.mark.parametrize("token", ["5f4dcc3b-5aa7-65d6-1d83-27de2b882cfé", "5f4dcc3b-5aa7-65d6-1d83-27de2b882cf\x7f"])
def test_hec_check_refuses_a_token_no_header_can_carry_before_connecting(hec, token):
    """Issue 21, point 4: a non-latin-1 token raised UnicodeEncodeError."""
    result = check(hec, token)
    assert (result.ok, result.step) == (False, "token")
    assert "cannot carry" in result.message
    assert hec.connections == 0


@pytest.mark.parametrize(("url", "words"), BAD_URLS)
def test_hec_check_says_what_is_wrong_with_a_url_instead_of_raising(hec, url, words):
    """Issue 21, point 4: port 99999 or abc, "[::1" and a 64-character DNS label raised (the label as
    "'idna' codec ... label too long")."""
    result = check(hec, url=url)
    assert (result.ok, result.step) == (False, "url")
    assert words in result.message
    assert hec.connections == 0


# --- ACS ---------------------------------------------------------------------------------------------


@pytest.fixture
def acs_server():
    server = hostile.HostileServer()
    yield server
    server.close()


def acs(server: hostile.HostileServer, attempts: int = 2, timeout: float = 2.0) -> Acs:
    return Acs(STACK, JWT, base_url=server.url, timeout=timeout, attempts=attempts, poll_interval=0, poll_timeout=5,
               sleep=lambda seconds: None)  # fmt: skip


def acs_failure(server: hostile.HostileServer, **kwargs) -> AcsError:
    with pytest.raises(AcsError) as raised:
        acs(server, **kwargs).list_hec_tokens()
    assert JWT not in str(raised.value)
    assert JWT.split(".")[1] not in str(raised.value)
    return raised.value


def test_acs_never_takes_the_jwt_to_where_a_redirect_points(acs_server, elsewhere):
    """Issue 21, point 1: an ACS 302 sent "Bearer <JWT>" to the other host."""
    acs_server.default = hostile.redirect(f"{elsewhere.url}/{STACK}/adminconfig/v2/inputs/http-event-collectors")
    error = acs_failure(acs_server)
    assert error.code == "redirect"
    assert f"redirected (302) to {elsewhere.url} over plain HTTP" in str(error)
    assert elsewhere.authorizations() == []
    assert elsewhere.connections == 0
    assert len(acs_server.requests) == 1  # not retried


def test_acs_masks_a_jwt_the_server_echoes(acs_server):
    """Issue 21, point 2."""
    acs_server.default = hostile.echo_authorization(401, {"code": "401-unauthorized",
                                                         "message": "token {credential} is expired"})  # fmt: skip
    error = acs_failure(acs_server)
    assert error.status == 401
    assert "token **** is expired" in str(error)


@pytest.mark.slow
def test_acs_ends_each_call_at_its_deadline_against_a_trickling_server(acs_server):
    """Issue 21, point 3: each attempt ends at its deadline; the error says it was a timeout."""
    acs_server.default = hostile.trickle(200, {"http_event_collectors": []}, interval=0.25)
    started = time.monotonic()
    error = acs_failure(acs_server, attempts=2, timeout=1.0)
    assert time.monotonic() - started < 2 * 1.0 * 3
    assert error.code == "timeout"
    assert "ACS did not answer in time" in str(error)


def test_acs_stops_reading_a_huge_answer_at_its_cap(acs_server):
    """Issue 21, point 3: a 300 MB body added 900 MB of memory."""
    acs_server.default = hostile.huge(300 * hostile.MiB)
    error = acs_failure(acs_server, attempts=1)
    assert error.code == "answer-too-large"
    hostile.wait_for(lambda: not any(t.is_alive() for t in acs_server.threads))
    assert acs_server.sent < 33 * hostile.MiB


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Please sign in to the web proxy</body></html>",  # read as "no tokens" before
        b'{"http_event_collectors": [{"spec": {"name": "a"}}, 42]}',  # AttributeError before
        b'{"http_event_collectors": "none"}',
        b'{"http_event_collectors": [{"spec": "cloudtrail_firehose"}]}',
        b'{"http_event_collectors": [{"spec": {"name": "a", "allowedIndexes": 7}}]}',
        b"[]",
        b'{"http_event_co',
        b"",
    ],
)
def test_a_200_that_is_not_acs_json_is_an_acs_error_not_no_tokens(acs_server, body):
    """Issue 21, point 4: malformed ACS JSON raised AttributeError; an HTML 200 read as "no tokens"."""
    acs_server.default = hostile.answer(200, body, "text/html" if body.startswith(b"<") else "application/json")
    error = acs_failure(acs_server)
    assert error.code == "not-acs-json"
    assert "ACS answered something that is not ACS's JSON" in str(error)


def test_describe_of_an_unexpected_shape_is_an_acs_error(acs_server):
    acs_server.default = hostile.answer(200, {"http-event-collector": "cloudtrail_firehose"})
    with pytest.raises(AcsError, match="not ACS's JSON"):
        acs(acs_server).describe_hec_token("cloudtrail_firehose")


@pytest.mark.parametrize("behaviour", [hostile.raw(b"garbage\r\n\r\n"), hostile.truncated(900, b'{"http_'),
                                       hostile.long_header(100 * 1024)])  # fmt: skip
def test_a_broken_acs_answer_is_an_acs_error(acs_server, behaviour):
    """Issue 21, point 4: BadStatusLine, LineTooLong and a truncated body raised from http.client."""
    acs_server.default = behaviour
    error = acs_failure(acs_server)
    assert error.code == "broken-answer"
    assert "ACS's answer was unusable" in str(error)


def test_an_acs_token_no_header_can_carry_is_refused_before_connecting(acs_server):
    with pytest.raises(ValueError, match="cannot carry"):
        Acs(STACK, JWT + "é", base_url=acs_server.url)
    assert acs_server.connections == 0


# --- the recovery input's search through splunkd --------------------------------------------------------


@pytest.fixture
def splunkd_server():
    server = hostile.HostileServer()
    yield server
    server.close()


def search(server: hostile.HostileServer) -> SearchUnavailableError:
    event_id = str(uuid.uuid4())
    with pytest.raises(SearchUnavailableError) as raised:
        indexed_identities(Splunkd(server.url, ADMIN_TOKEN), INDEX, [output(trail_event(event_id), event_id)], BUCKET)
    assert ADMIN_TOKEN not in str(raised.value)
    return raised.value


@pytest.mark.slow
def test_the_search_ends_at_its_deadline_against_a_trickling_splunkd(splunkd_server, monkeypatch):
    """Issue 21, point 3: SEARCH_TIMEOUT bounded each read, so a trickle could hold the input much longer."""
    monkeypatch.setattr(indexed, "SEARCH_TIMEOUT", 1.0)
    splunkd_server.default = hostile.trickle(200, {"preview": False, "messages": [], "results": [{"events": "0"}]})
    started = time.monotonic()
    error = search(splunkd_server)
    assert time.monotonic() - started < 1.0 * 3
    assert "did not answer in time" in str(error)


def test_the_search_stops_reading_a_huge_answer_at_its_cap(splunkd_server):
    """Issue 21, point 3: a 300 MB search answer added 600 MB of memory; the search's cap is SEARCH_MAX_BODY."""
    splunkd_server.default = hostile.huge(300 * hostile.MiB)
    error = search(splunkd_server)
    assert f"larger than {indexed.SEARCH_MAX_BODY} bytes" in str(error)
    hostile.wait_for(lambda: not any(t.is_alive() for t in splunkd_server.threads))
    assert splunkd_server.sent < indexed.SEARCH_MAX_BODY + 32 * hostile.MiB


def test_the_search_never_takes_the_session_key_to_where_a_redirect_points(splunkd_server, elsewhere):
    splunkd_server.default = hostile.redirect(f"{elsewhere.url}/services/search/jobs")
    error = search(splunkd_server)
    assert f"redirected (302) to {elsewhere.url}" in str(error)
    assert elsewhere.authorizations() == []


@pytest.mark.parametrize("status", [200, 500])
def test_the_search_masks_a_session_key_splunkd_echoes(splunkd_server, status):
    splunkd_server.default = hostile.echo_authorization(status, {"messages": [
        {"type": "ERROR", "text": "session {credential} is not valid"}]})  # fmt: skip
    assert "session **** is not valid" in str(search(splunkd_server))


# --- the certificate check --------------------------------------------------------------------------------


def private_ca(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A private CA and a certificate it issued for host: (CA certificate, certificate, key)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Corp Private Root CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    leaf = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = directory / "private-ca.pem", directory / f"{host}-leaf.pem", directory / f"{host}-leaf.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return paths


def test_a_private_ca_this_server_trusts_still_fails_as_in_firehose(tmp_path, monkeypatch):
    """Issue 21, point 13: with a private CA in the Splunk server's trust store the check passed, while
    Firehose refuses it (Splunk.SSLUnverified): Amazon Data Firehose Developer Guide, "Choose Splunk for
    your destination" wants a certificate signed by a trusted (public) CA. The check uses public roots."""
    ca, cert, key = private_ca(tmp_path, "localhost")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the host's trust store: OpenSSL's default verify file
    server = hostile.HostileServer((cert, key), name="localhost")
    try:
        result = check_hec_certificate(server.url, timeout=5)
        assert not result.ok
        assert "Splunk.SSLUnverified" in result.detail
        assert "private-CA" in result.detail
        assert "even when this server trusts that CA" in result.detail
        trusted = check_hec_certificate(server.url, timeout=5, cafile=str(ca))  # as if the CA were public
        assert trusted.ok, trusted.detail
        assert "issued by Example Corp Private Root CA" in trusted.detail
        assert "not against this server's trust store" in trusted.detail
    finally:
        server.close()


@pytest.mark.parametrize(("url", "words"), BAD_URLS)
def test_the_certificate_check_says_what_is_wrong_with_a_url_instead_of_raising(url, words):
    """Issue 21, point 4: urlsplit's port raised ValueError, the IDNA codec UnicodeError."""
    result = check_hec_certificate(url, timeout=2)
    assert not result.ok
    assert words in result.detail
