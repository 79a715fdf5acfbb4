"""The ACS stand-in answers as "Manage HTTP Event Collector (HEC) tokens in Splunk Cloud Platform",
"Troubleshoot ACS error messages" and the ACS OpenAPI document say ACS does."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from fake_acs import JWT, STACK, FakeAcs


@pytest.fixture
def acs():
    fake = FakeAcs(lag=1)
    yield fake
    fake.close()


def call(fake: FakeAcs, method: str, path: str, body=None, token: str = JWT) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{fake.url}/{path}", data=data, method=method,  # noqa: S310 - 127.0.0.1
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


HECS = f"{STACK}/adminconfig/v2/inputs/http-event-collectors"


def test_errors_have_the_documented_code_and_message_shape(acs):
    assert call(acs, "GET", HECS, token="not-a-jwt") == (
        401, {"code": "401-unauthorized", "message": "call not properly authenticated"})
    status, body = call(acs, "GET", "other-stack/adminconfig/v2/inputs/http-event-collectors")
    assert (status, body["code"]) == (404, "404-stack-not-found")
    status, body = call(acs, "GET", f"{HECS}/missing")
    assert (status, body["code"]) == (404, "404-hec-not-found")


def test_creation_is_accepted_then_visible_later(acs):
    spec = {"name": "t1", "defaultIndex": "main", "allowedIndexes": ["main"], "useACK": True}
    status, body = call(acs, "POST", HECS, spec)
    assert status == 202
    assert body["http-event-collector"]["name"] == "t1"
    assert call(acs, "GET", f"{HECS}/t1")[0] == 404  # asynchronous: not there yet
    status, body = call(acs, "GET", f"{HECS}/t1")
    assert status == 200
    described = body["http-event-collector"]
    assert described["spec"]["useACK"] is True
    assert described["spec"]["allowedIndexes"] == ["main"]
    assert described["token"]
    assert call(acs, "POST", HECS, spec)[1]["code"] == "409-object-already-exists"


def test_list_is_paged_by_count_and_offset(acs):
    for n in range(35):
        acs.seed(f"t{n:02d}")
    status, body = call(acs, "GET", HECS)
    assert status == 200
    assert len(body["http_event_collectors"]) == 30
    assert len(call(acs, "GET", f"{HECS}?count=100&offset=30")[1]["http_event_collectors"]) == 5
    assert call(acs, "GET", f"{HECS}?count=101")[0] == 400


def test_update_and_delete_are_accepted_then_applied(acs):
    acs.seed("t1", defaultIndex="main", useACK=False)
    assert call(acs, "PUT", f"{HECS}/t1", {"name": "t1", "useAck": True})[0] == 202
    assert call(acs, "GET", f"{HECS}/t1")[1]["http-event-collector"]["spec"]["useACK"] is False
    assert call(acs, "GET", f"{HECS}/t1")[1]["http-event-collector"]["spec"]["useACK"] is True
    assert call(acs, "DELETE", f"{HECS}/t1", {})[0] == 202
    call(acs, "GET", f"{HECS}/t1")
    assert call(acs, "GET", f"{HECS}/t1")[0] == 404


def test_queued_faults_answer_once_each(acs):
    acs.fail(429, "429-too-many-requests", "rate limit exceeded", times=2)
    assert call(acs, "GET", HECS)[0] == 429
    assert call(acs, "GET", HECS)[0] == 429
    assert call(acs, "GET", HECS)[0] == 200
