"""The splunkd client (splunk/splunkd.py) turns every answer it cannot use into SplunkdError with a short
reason, never another exception: callers (the setup page, the inputs, access) catch SplunkdError only, so
anything else would be a traceback in the user's log instead of a message.

Runs on Python 3.9 too.
"""

from __future__ import annotations

import time

import pytest
from cloudtrail_firehose.splunk.splunkd import MAX_BODY, Splunkd, SplunkdError
from fake_splunkd import ADMIN_TOKEN, FakeSplunkd

SEARCH = {"search": 'search index="main" TERM(x) | stats count AS events', "exec_mode": "oneshot",
          "output_mode": "json"}  # fmt: skip


@pytest.fixture
def splunkd():
    fake = FakeSplunkd()
    yield fake
    fake.close()


def ask(fake: FakeSplunkd, fault: str | None = None, **client) -> SplunkdError:
    fake.search_fault = fault
    with pytest.raises(SplunkdError) as raised:
        Splunkd(fake.url, ADMIN_TOKEN, **client).post("services/search/jobs", SEARCH)
    assert ADMIN_TOKEN not in str(raised.value)
    assert len(str(raised.value)) < 400
    return raised.value


def test_a_clean_answer_is_parsed(splunkd):
    answer = Splunkd(splunkd.url, ADMIN_TOKEN).post("services/search/jobs", SEARCH)
    assert answer["results"] == [{"events": "0"}]


def test_a_status_line_that_is_not_http(splunkd):
    error = ask(splunkd, "garbage_status")
    assert error.status == 0
    assert "sent a broken answer (BadStatusLine" in error.message


def test_a_connection_closed_without_an_answer(splunkd):
    assert "RemoteDisconnected" in ask(splunkd, "disconnect").message


def test_an_html_page_instead_of_json(splunkd):
    error = ask(splunkd, "html")
    assert error.status == 200
    assert "the answer is not JSON" in error.message
    assert "<html>" in error.message  # what came instead, shortly


def test_a_body_that_is_not_utf8(splunkd):
    assert "the answer is not UTF-8 text" in ask(splunkd, "non_utf8").message


def test_a_body_cut_short_of_its_content_length(splunkd):
    assert "cut short" in ask(splunkd, "cut_short").message


def test_truncated_json(splunkd):
    assert "the answer is not JSON" in ask(splunkd, "truncated_json").message


def test_a_body_over_the_cap_is_refused_not_read_whole(splunkd):
    """At most MAX_BODY (64 MiB) is read; the app's answers are a few KB."""
    started = time.monotonic()
    error = ask(splunkd, "huge")
    assert f"the answer is larger than {MAX_BODY} bytes" in error.message
    assert time.monotonic() - started < 60


def test_a_smaller_cap(splunkd):
    assert "larger than 10 bytes" in ask(splunkd, None, max_body=10).message


@pytest.mark.slow
def test_a_slow_answer_times_out(splunkd):
    splunkd.search_delay = 2.0
    started = time.monotonic()
    error = ask(splunkd, None, timeout=0.5)
    assert "did not answer" in error.message
    assert time.monotonic() - started < 2.0


def test_an_http_error_keeps_splunkds_words(splunkd):
    error = ask(splunkd, "http_503")
    assert error.status == 503
    assert error.message.startswith("Search not executed")


def test_tls_to_a_plain_http_port(splunkd):
    client = Splunkd(splunkd.url.replace("http://", "https://"), ADMIN_TOKEN)
    with pytest.raises(SplunkdError) as raised:
        client.post("services/search/jobs", SEARCH)
    assert raised.value.status == 0
    assert "cannot reach splunkd" in raised.value.message


def test_an_empty_body_is_an_empty_answer(splunkd):
    splunkd.search_fault = "empty"
    assert Splunkd(splunkd.url, ADMIN_TOKEN).post("services/search/jobs", SEARCH) == {}
