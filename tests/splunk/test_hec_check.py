"""An existing HEC token on another tier is checked the way Firehose uses it, with nothing indexed, and
each outcome says what to do ("HTTP Event Collector REST API endpoints", "Troubleshoot HTTP Event
Collector"), against tests/standins/fake_hec.py."""

from __future__ import annotations

import socket

import pytest
from cloudtrail_firehose.sources import CLOUDTRAIL
from cloudtrail_firehose.splunk.hec import ensure_hec_input
from cloudtrail_firehose.splunk.hec_check import check_hec_token, settings_from_splunkd
from cloudtrail_firehose.splunk.splunkd import Splunkd
from fake_hec import FakeHec
from fake_splunkd import ADMIN_TOKEN, FakeSplunkd

RIGHT = {"source": "http:cloudtrail_firehose", "sourcetype": "aws:cloudtrail", "index": "aws_cloudtrail",
         "indexes": ["aws_cloudtrail"]}  # fmt: skip


@pytest.fixture
def hec(tmp_path):
    fake = FakeHec(tmp_path)
    yield fake
    fake.close()


def check(hec: FakeHec, token: str, **kwargs):
    return check_hec_token(hec.url, token, cafile=str(hec.cert), timeout=5, spec=CLOUDTRAIL.token, **kwargs)


def test_a_good_token_passes_without_indexing_anything(hec):
    result = check(hec, hec.add_token(), index="aws_cloudtrail", token_settings=RIGHT)
    assert (result.ok, result.step, result.warnings) == (True, "done", ())
    assert "indexer acknowledgement is on" in result.message
    assert hec.indexed == []
    paths = [path for _, path, _ in hec.requests]
    assert paths == ["/services/collector/health", "/services/collector/ack", "/services/collector/raw"]
    channels = {headers.get("X-Splunk-Request-Channel") for _, _, headers in hec.requests}
    assert len(channels) == 1  # one channel, as Firehose keeps per connection


def test_acknowledgement_off_is_named_with_the_setting_to_change(hec):
    result = check(hec, hec.add_token(ack=False))
    assert (result.ok, result.step) == (False, "ack")
    assert "code 14" in result.message
    assert "useACK = 1" in result.message


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda h: "00000000-0000-0000-0000-000000000000", "code 4 (Invalid token)"),
        (lambda h: h.add_token(disabled=True), "code 1 (Token disabled)"),
    ],
)
def test_a_bad_token_is_refused_with_what_to_do(hec, make, words):
    result = check(hec, make(hec))
    assert (result.ok, result.step) == (False, "token")
    assert words in result.message
    assert "HEC tier" in result.message


def test_a_busy_or_unhealthy_hec_is_reported(hec):
    token = hec.add_token()
    hec.busy = True
    busy = check(hec, token)
    assert (busy.ok, busy.step) == (False, "ack")
    assert "code 9" in busy.message
    assert "Splunk.IndexerBusy" in busy.message
    hec.unhealthy = 19
    unhealthy = check(hec, token)
    assert (unhealthy.ok, unhealthy.step) == (False, "health")
    assert "acknowledgement service is unavailable" in unhealthy.message


def test_an_unreachable_url_is_explained():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    result = check_hec_token(f"https://localhost:{port}", "00000000-0000-0000-0000-000000000000", timeout=2)
    assert (result.ok, result.step) == (False, "tls")
    assert "cannot connect" in result.message


def test_an_untrusted_certificate_stops_before_the_token_is_sent(hec):
    result = check_hec_token(hec.url, hec.add_token(), timeout=5)  # no cafile: self-signed, as Firehose sees it
    assert (result.ok, result.step) == (False, "tls")
    assert "Splunk.SSLUnverified" in result.message
    assert hec.requests == []


def test_plain_http_and_empty_tokens_are_refused_up_front():
    assert check_hec_token("http://hec.example.com:8088", "x").step == "url"
    assert check_hec_token("https://hec.example.com:8088", " ").step == "token"


def test_source_and_sourcetype_are_checked_when_known_and_explained_when_not(hec):
    token = hec.add_token()
    unknown = check(hec, token, index="aws_cloudtrail")
    assert unknown.ok
    assert "source = http:cloudtrail_firehose and sourcetype = aws:cloudtrail" in unknown.warnings[0]
    wrong = check(hec, token, index="aws_cloudtrail",
                  token_settings={"source": "", "sourcetype": "_json", "indexes": ["main"]})  # fmt: skip
    assert wrong.ok
    assert len(wrong.warnings) == 3
    assert "default sourcetype is _json; set it to aws:cloudtrail" in wrong.warnings[1]
    assert "add aws_cloudtrail to its allowed indexes" in wrong.warnings[2]


def test_settings_read_from_the_hec_tier_feed_the_check(hec):
    tier = FakeSplunkd()
    try:
        splunkd = Splunkd(tier.url, ADMIN_TOKEN)
        value = ensure_hec_input(splunkd, CLOUDTRAIL.token, "aws_cloudtrail").token
        settings = settings_from_splunkd(splunkd, value)
        assert (settings["source"], settings["sourcetype"]) == ("http:cloudtrail_firehose", "aws:cloudtrail")
        assert settings_from_splunkd(splunkd, "00000000-0000-0000-0000-000000000000") is None
        hec.tokens[value] = {"ack": True, "disabled": False}
        assert check(hec, value, index="aws_cloudtrail", token_settings=settings).warnings == ()
    finally:
        tier.close()
