"""The ACS client manages the Firehose HEC token on Splunk Cloud as "Manage HTTP Event Collector (HEC)
tokens in Splunk Cloud Platform" describes, and explains every documented error ("Troubleshoot ACS
error messages"), against tests/standins/fake_acs.py."""

from __future__ import annotations

import logging
import socket

import pytest
from cloudtrail_firehose.sources import CLOUDTRAIL
from cloudtrail_firehose.splunk.acs import Acs, AcsError
from cloudtrail_firehose.splunk.cloud_tokens import (
    FIREHOSE_SUPPORT_CAVEAT,
    app_tokens,
    desired_token,
    ensure_hec_token,
    firehose_endpoint,
    retire_app_tokens,
)
from fake_acs import JWT, STACK, FakeAcs


@pytest.fixture
def fake():
    server = FakeAcs(lag=2)
    yield server
    server.close()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def acs(fake, sleeps):
    return Acs(STACK, JWT, base_url=fake.url, timeout=5, attempts=4, poll_interval=0, poll_timeout=10,
               sleep=sleeps.append)


def writes(fake: FakeAcs) -> list[tuple[str, dict]]:
    return [(method, body) for method, _, body in fake.requests if method != "GET"]


def test_a_new_token_is_created_with_ack_the_index_source_and_sourcetype(fake, acs):
    result = ensure_hec_token(acs, CLOUDTRAIL.token, "aws_cloudtrail")
    assert result.outcome == "created"
    assert writes(fake) == [("POST", {
        "name": "cloudtrail_firehose", "defaultIndex": "aws_cloudtrail", "allowedIndexes": ["aws_cloudtrail"],
        "defaultSource": "http:cloudtrail_firehose", "defaultSourcetype": "aws:cloudtrail",
        "useACK": True, "disabled": False,
    })]  # fmt: skip
    assert result.token.value == fake.tokens["cloudtrail_firehose"]["token"]  # waited until ACS had made it
    assert result.endpoint == "https://http-inputs-firehose-acme.splunkcloud.com"


def test_a_right_token_is_reused_without_writing(fake, acs):
    value = fake.seed("cloudtrail_firehose", defaultIndex="aws_cloudtrail", allowedIndexes=["aws_cloudtrail"],
                      defaultSource="http:cloudtrail_firehose", defaultSourcetype="aws:cloudtrail", useAck=True,
                      disabled=False)  # fmt: skip
    result = ensure_hec_token(acs, CLOUDTRAIL.token, "aws_cloudtrail")
    assert (result.outcome, result.token.value, writes(fake)) == ("reused", value, [])


def test_a_drifted_token_is_corrected_and_keeps_its_value(fake, acs):
    value = fake.seed("cloudtrail_firehose", defaultIndex="main", allowedIndexes=["main"], useACK=False,
                      defaultSourcetype="_json")  # fmt: skip
    result = ensure_hec_token(acs, CLOUDTRAIL.token, "aws_cloudtrail")
    assert result.outcome == "updated"
    assert result.token.value == value
    assert [m for m, _ in writes(fake)] == ["PUT"]
    stored = fake.tokens["cloudtrail_firehose"]
    assert (stored["useACK"], stored["allowedIndexes"], stored["defaultSourcetype"]) == (
        True, ["aws_cloudtrail"], "aws:cloudtrail")


def test_rotation_makes_the_new_token_before_the_old_one_is_retired(fake, acs):
    old = fake.seed("cloudtrail_firehose", defaultIndex="aws_cloudtrail", useACK=True)
    result = ensure_hec_token(acs, CLOUDTRAIL.token, "aws_cloudtrail", rotate=True)
    assert (result.outcome, result.token.name) == ("rotated", "cloudtrail_firehose-2")
    assert result.token.value not in ("", old)
    assert fake.tokens["cloudtrail_firehose"]["token"] == old  # still delivering until Firehose switches
    assert retire_app_tokens(acs, CLOUDTRAIL.token, keep=result.token.name) == ["cloudtrail_firehose"]
    assert sorted(fake.tokens) == ["cloudtrail_firehose-2"]
    assert retire_app_tokens(acs, CLOUDTRAIL.token, keep=result.token.name) == []
    again = ensure_hec_token(acs, CLOUDTRAIL.token, "aws_cloudtrail", rotate=True)
    assert again.token.name == "cloudtrail_firehose-3"


def test_the_newest_of_the_apps_tokens_is_the_one_in_use(fake, acs):
    """After a rotation the rotated token is the app's token: a later deploy reuses it rather than making a new
    cloudtrail_firehose beside it."""
    fake.seed("cloudtrail_firehose-2", defaultIndex="aws_cloudtrail", allowedIndexes=["aws_cloudtrail"],
              defaultSource="http:cloudtrail_firehose", defaultSourcetype="aws:cloudtrail", useACK=True)  # fmt: skip
    value = fake.seed("cloudtrail_firehose-10", defaultIndex="aws_cloudtrail", allowedIndexes=["aws_cloudtrail"],
                      defaultSource="http:cloudtrail_firehose", defaultSourcetype="aws:cloudtrail", useACK=True)
    fake.seed("cloudtrail_firehose_extra")  # not a name the app gives
    result = ensure_hec_token(acs, CLOUDTRAIL.token, "aws_cloudtrail")
    assert (result.outcome, result.token.name, result.token.value) == ("reused", "cloudtrail_firehose-10", value)
    assert writes(fake) == []
    assert [t.name for t in app_tokens(acs, CLOUDTRAIL.token)] == ["cloudtrail_firehose-2", "cloudtrail_firehose-10"]


def test_rate_limits_and_running_deployments_are_waited_out(fake, acs, sleeps):
    fake.fail(429, "429-too-many-requests", "rate limit exceeded", times=2)
    fake.fail(424, "424-dependency-incomplete", "A deployment task is still in progress. Please try later",
              method="POST")  # fmt: skip
    assert ensure_hec_token(acs, CLOUDTRAIL.token, "main").outcome == "created"
    assert len([s for s in sleeps if s > 0]) == 3


def test_a_failed_dependency_is_not_retried_and_says_what_to_do(fake, acs):
    fake.fail(424, "424-failed-dependency", "previous operation failed", method="POST")
    with pytest.raises(AcsError) as raised:
        ensure_hec_token(acs, CLOUDTRAIL.token, "main")
    assert raised.value.status == 424
    assert "Retry failed operations" in str(raised.value)
    assert fake.tokens == {}


@pytest.mark.parametrize(
    ("status", "code", "message", "advice"),
    [
        (401, "401-unauthorized", "call not properly authenticated", "Create a new authentication token"),
        (403, "403-forbidden", "insufficient permission(s) to perform this operation", "sc_admin"),
        (500, "500-internal-server-error", "internal error", "single-instance"),
        (503, "503-service-unavailable", "service unavailable", "tried 4 times"),
        (429, "429-too-many-requests", "rate limit exceeded", "tried 4 times"),
    ],
)
def test_each_documented_error_says_what_failed_and_what_to_do(fake, acs, status, code, message, advice):
    fake.fail(status, code, message, times=10)
    with pytest.raises(AcsError) as raised:
        ensure_hec_token(acs, CLOUDTRAIL.token, "main")
    text = str(raised.value)
    assert text.startswith("list HEC tokens failed")  # the first call: which of the app's tokens is the newest
    assert code in text
    assert message in text
    assert advice in text
    assert JWT not in text


def test_a_wrong_stack_name_points_at_the_url(fake):
    client = Acs("other", JWT, base_url=fake.url, attempts=1, sleep=lambda s: None)
    with pytest.raises(AcsError, match="404-stack-not-found.*https://<stack>.splunkcloud.com"):
        client.list_hec_tokens()


def test_a_token_created_meanwhile_is_reused(fake, acs):
    # Another setup run created it; ACS's listing does not show it yet, its create answers 409.
    value = fake.seed("cloudtrail_firehose", lag=1, defaultIndex="main", allowedIndexes=["main"])
    result = ensure_hec_token(acs, CLOUDTRAIL.token, "main")
    assert (result.outcome, result.token.value) == ("updated", value)  # its settings are corrected


def test_acs_out_of_reach_is_explained(sleeps):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    client = Acs(STACK, JWT, base_url=f"http://127.0.0.1:{port}", timeout=2, attempts=2, sleep=sleeps.append)
    with pytest.raises(AcsError, match="could not be reached.*admin.splunk.com"):
        client.list_hec_tokens()


def test_all_pages_are_listed(fake, acs):
    for n in range(130):
        fake.seed(f"t{n:03d}")
    assert len(acs.list_hec_tokens()) == 130


def test_the_token_value_is_never_logged(fake, acs, caplog):
    caplog.set_level(logging.DEBUG)
    fake.fail(429, "429-too-many-requests", "rate limit exceeded")
    # The app's loggers do not propagate (log.py); pytest before 9 listens at the root logger only.
    acs.log.addHandler(caplog.handler)
    try:
        result = ensure_hec_token(acs, CLOUDTRAIL.token, "main")
    finally:
        acs.log.removeHandler(caplog.handler)
    assert result.token.value
    assert result.token.value not in caplog.text
    assert result.token.value not in repr(result)
    assert "retrying" in caplog.text


def test_stack_names_and_the_firehose_endpoint():
    assert firehose_endpoint("acme-prod") == "https://http-inputs-firehose-acme-prod.splunkcloud.com"
    for bad in ("", "Acme.splunkcloud.com", "https://acme", "-acme"):
        with pytest.raises(ValueError, match="first part of your Splunk Cloud URL"):
            firehose_endpoint(bad)
    assert "Splunk Support" in FIREHOSE_SUPPORT_CAVEAT.format(stack="acme")
    with pytest.raises(ValueError, match="not its id"):
        Acs(STACK, "two words")


def test_creating_a_name_that_is_taken_says_so(fake, acs):
    fake.seed("cloudtrail_firehose")
    with pytest.raises(AcsError, match="409-object-already-exists.*already exists on the stack; reuse it"):
        acs.create_hec_token(desired_token(CLOUDTRAIL.token, "main"))
