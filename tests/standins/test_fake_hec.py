"""The HEC stand-in answers with the reply codes of "Troubleshoot HTTP Event Collector" (as listed in
the shared corpus's splunkadmins_hec_reply_code_lookup.csv) on the endpoints of "HTTP Event Collector
REST API endpoints"."""

from __future__ import annotations

import csv
import json
import ssl
import urllib.error
import urllib.request
import uuid

import pytest
from corpus import corpus_dir
from fake_hec import FakeHec


@pytest.fixture
def hec(tmp_path):
    fake = FakeHec(tmp_path)
    yield fake
    fake.close()


def call(hec: FakeHec, method: str, path: str, token: str | None = None, body: bytes | None = None,
         channel: str | None = None, scheme: str = "Splunk") -> tuple[int, dict]:  # fmt: skip
    headers = {}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    if channel is not None:
        headers["X-Splunk-Request-Channel"] = channel
    request = urllib.request.Request(f"{hec.url}/{path}", data=body, method=method, headers=headers)  # noqa: S310
    context = ssl.create_default_context(cafile=str(hec.cert))
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def documented() -> dict[int, tuple[int, str]]:
    codes = corpus_dir() / "SplunkAdmins" / "splunkadmins_hec_reply_code_lookup.csv"
    with codes.open(encoding="utf-8-sig") as rows:
        return {int(r["status_code"]): (int(r["http_status_code_id"]), r["status_message"])
                for r in csv.DictReader(rows)}  # fmt: skip


def test_each_answer_has_the_documented_status_code_and_text(hec):
    codes = documented()
    good, no_ack, off = hec.add_token(), hec.add_token(ack=False), hec.add_token(disabled=True)
    channel = str(uuid.uuid4())
    answers = {
        17: call(hec, "GET", "services/collector/health"),
        2: call(hec, "POST", "services/collector/ack", body=b"{}"),
        3: call(hec, "POST", "services/collector/ack", good, b"{}", scheme="Bearer"),
        4: call(hec, "POST", "services/collector/ack", str(uuid.uuid4()), b"{}", channel),
        1: call(hec, "POST", "services/collector/ack", off, b"{}", channel),
        14: call(hec, "POST", "services/collector/ack", no_ack, b'{"acks": [0]}', channel),
        10: call(hec, "POST", "services/collector/raw", good, b"data"),
        11: call(hec, "POST", "services/collector/raw", good, b"data", "not-a-guid"),
        5: call(hec, "POST", "services/collector/raw", good, b"", channel),
    }
    hec.busy = True
    answers[9] = call(hec, "POST", "services/collector/ack", good, b"{}", channel)
    hec.unhealthy = 18
    answers[18] = call(hec, "GET", "services/collector/health")
    for code, (status, body) in answers.items():
        assert (status, body["code"], body["text"]) == (codes[code][0], code, codes[code][1])
    assert hec.indexed == []


def test_ack_answers_per_id_and_only_sent_data_is_indexed(hec):
    token, channel = hec.add_token(), str(uuid.uuid4())
    unsent = call(hec, "POST", "services/collector/ack", token, b'{"acks": [0]}', channel)
    assert unsent == (200, {"acks": {"0": False}})
    status, body = call(hec, "POST", "services/collector/raw", token, b'{"eventID": "1"}', channel)
    assert (status, body["ackId"]) == (200, 0)
    assert call(hec, "POST", "services/collector/ack", token, b'{"acks": [0, 1]}', channel)[1] == {
        "acks": {"0": True, "1": False}}
    assert hec.indexed == [b'{"eventID": "1"}']
