"""The Lambda processor: real captured invocations, CloudTrail events from the corpus, malformed input,
the 6 MB response limit, and property-based checks over arbitrary records."""

from __future__ import annotations

import ast
import base64
import gzip
import json
from unittest import mock

import lambda_cases as cases
import pytest
from cloudtrail_firehose.firehose import lambda_putback
from cloudtrail_firehose.firehose.lambda_processor import (
    MAX_REINGEST,
    REDACTED,
    RESPONSE_LIMIT,
    Options,
    handler,
    process,
)
from cloudtrail_firehose.firehose.lambda_putback import generation_of
from corpus import CORPUS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lambda_records import EVENTS, big_record, payload, record


def output(result: dict) -> str:
    return base64.b64decode(result["data"]).decode()


def check_response(request: dict, response: dict, limit: int = RESPONSE_LIMIT, mode: str = "raw") -> None:
    assert cases.problems(request, response, limit, mode) == []


def test_raw_mode_sends_each_cloudtrail_event_on_its_own_line():
    request = {"records": [record(payload(EVENTS[:40]), "a"), record(payload(EVENTS[40:80]), "b")]}
    response = process(request, Options())
    check_response(request, response)
    assert [r["result"] for r in response["records"]] == ["Ok", "Ok"]
    lines = (output(response["records"][0]) + output(response["records"][1])).splitlines()
    assert [json.loads(line) for line in lines] == EVENTS[:80]


def test_event_mode_uses_seconds_and_a_sourcetype_per_log_group():
    options = Options(mode="event", sourcetype_map={"/aws/lambda/": "aws:lambda"}, host="acme")
    lambda_logs = record(payload(["plain text"], "/aws/lambda/fn"), "r2")
    response = process({"records": [record(payload(EVENTS[:2])), lambda_logs]}, options)
    first = [json.loads(d) for d in output(response["records"][0]).replace("}{", "}\n{").splitlines()]
    assert first[0]["time"] == 1700000000.123  # seconds with fraction, not milliseconds
    assert first[0]["sourcetype"] == "aws:cloudtrail"
    assert first[0]["source"] == "/aws/cloudtrail/org:123456789012_CloudTrail_us-east-1"
    assert first[0]["event"] == EVENTS[0]
    assert first[0]["host"] == "acme"
    lambda_event = json.loads(output(response["records"][1]))
    assert (lambda_event["sourcetype"], lambda_event["event"]) == ("aws:lambda", "plain text")


def test_filters_and_redaction():
    reads = [e for e in EVENTS if e.get("readOnly") is True][:5]
    writes = [e for e in EVENTS if e.get("readOnly") is False and e.get("requestParameters")][:5]
    dropped_call = f"{writes[0]['eventSource']}:{writes[0]['eventName']}"
    options = Options(drop_read_only=True, drop_events=frozenset({dropped_call}),
                      redact_paths=(("requestParameters",),))  # fmt: skip
    response = process({"records": [record(payload(reads + writes))]}, options)
    kept = [json.loads(line) for line in output(response["records"][0]).splitlines()]
    assert all(e["readOnly"] is False for e in kept)
    assert all(e["eventName"] != writes[0]["eventName"] or e["eventSource"] != writes[0]["eventSource"] for e in kept)
    assert all(e["requestParameters"] == REDACTED for e in kept)
    everything_dropped = process({"records": [record(payload(reads))]}, Options(drop_read_only=True))
    assert everything_dropped["records"][0]["result"] == "Dropped"


def test_control_messages_are_dropped_and_bad_records_fail_alone():
    control = json.loads((CORPUS / "otel-collector-contrib-awsfirehosereceiver" / "only_control").read_text())
    request = {"records": [
        record(control, "control"), record(b"\x00not base64!", "garbage"), record(gzip.compress(b"{}")[:-5], "cut"),
        record(b"plain text, no gzip", "text"), record(payload(EVENTS[:3]), "good"),
    ]}  # fmt: skip
    request["records"][1]["data"] = "%%%not base64"
    response = process(request, Options())
    check_response(request, response)
    results = {r["recordId"]: r["result"] for r in response["records"]}
    assert results == {"control": "Dropped", "garbage": "ProcessingFailed", "cut": "ProcessingFailed",
                       "text": "ProcessingFailed", "good": "Ok"}  # fmt: skip


def test_real_captured_invocations():
    toolkit = CORPUS / "splunk-aws-gdi-toolkit"
    def lines(name: str) -> list:
        return [ast.literal_eval(line) for line in (toolkit / name).read_text().splitlines() if line]

    invocations, expected = lines("test_fixtures_events.txt"), lines("test_fixtures_returnRecords.txt")
    assert len(invocations) == len(expected)
    for invocation, theirs in zip(invocations, expected):
        response = process(invocation, Options(mode="event"))
        check_response(invocation, response)
        ours = [json.loads(d) for r in response["records"] for d in output(r).replace("}{", "}\n{").splitlines()]
        theirs_events = [json.loads(d) for r in theirs for d in
                         base64.b64decode(r["data"]).decode().replace("}{", "}\n{").splitlines()]  # fmt: skip
        # Splunk's blueprint also turns tabs into spaces; this processor keeps the message as logged.
        assert [" ".join(e["event"].split()) for e in ours] == [" ".join(e["event"].split()) for e in theirs_events]
        assert [e["time"] for e in ours] == [e["time"] / 1000 for e in theirs_events]  # theirs: milliseconds
    go_event = json.loads((CORPUS / "aws-lambda-go" / "kinesis-firehose-event.json").read_text())
    response = handler(go_event)
    check_response(go_event, response)
    assert {r["result"] for r in response["records"]} == {"ProcessingFailed"}  # not CloudWatch Logs data




def test_the_response_never_exceeds_6_mb_and_what_does_not_fit_is_put_back_in_pieces():
    request = {"records": [big_record(f"r{i}") for i in range(4)]}  # about 16 MB of output in all
    put_back: list[bytes] = []
    response = process(request, Options(), reingest=lambda pieces: (put_back.extend(pieces), [True] * len(pieces))[1])
    check_response(request, response)
    results = [r["result"] for r in response["records"]]
    assert results.count("Ok") >= 1
    assert "Dropped" in results
    pieces = [json.loads(gzip.decompress(p)) for p in put_back]
    assert all(generation_of(p) == 1 for p in put_back)
    # every log event of every dropped record was put back, exactly once
    dropped = sum(r["result"] == "Dropped" for r in response["records"])
    assert sum(len(p["logEvents"]) for p in pieces) == dropped * 400
    # a piece that is put back fits on its own next time
    again = process({"records": [record(pieces[0], "again")]}, Options())
    assert again["records"][0]["result"] == "Ok"


def test_re_ingestion_is_bounded_and_failures_reach_the_failed_delivery_bucket():
    """A record that keeps not fitting is put back at most MAX_REINGEST times, then fails safely."""
    first, small = big_record("first"), record(payload(EVENTS[:5]), "small")
    put_back: list[bytes] = []
    keep = lambda pieces: (put_back.extend(pieces), [True] * len(pieces))[1]  # noqa: E731
    limit = len(json.dumps(process({"records": [first]}, Options()))) + 150  # first fills it
    for generation in range(1, MAX_REINGEST + 1):
        response = process({"records": [first, small]}, Options(), reingest=keep, limit=limit)
        assert response["records"][1]["result"] == "Dropped"
        assert generation_of(put_back[-1]) == generation
        assert gzip.decompress(put_back[-1]) == gzip.decompress(base64.b64decode(small["data"]))  # unchanged data
        small = {"recordId": "small", "data": base64.b64encode(put_back[-1]).decode()}
    response = process({"records": [first, small]}, Options(), reingest=keep, limit=limit)
    assert response["records"][1]["result"] == "ProcessingFailed"  # no endless loop
    alone = process({"records": [small]}, Options())
    assert alone["records"][0]["result"] == "Ok"  # the generation mark does not disturb reading
    refused = process({"records": [big_record("a"), big_record("b")]}, Options(), reingest=lambda p: [False] * len(p))
    assert [r["result"] for r in refused["records"]][1] == "ProcessingFailed"  # not silently dropped


# Property tests: hostile invocations from tests/helpers/lambda_cases.py, as many as the Hypothesis profile says
# (tests/conftest.py: 200 each in the suite, 6,000 with HYPOTHESIS_PROFILE=long); bench/lambda_fuzz.py runs 100,000.
PROPERTY = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])



class StandInFirehose:
    def __init__(self):
        self.calls = []

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict]) -> dict:  # noqa: N803
        self.calls.append(Records)
        return {"FailedPutCount": 0, "RequestResponses": [{"RecordId": str(i)} for i, _ in enumerate(Records)]}


@settings(PROPERTY)
@given(cases.requests, cases.options, st.integers(0, 4000), st.sampled_from([None, True, False]))
def test_any_request_gets_a_valid_answer_within_the_limit(request, options, extra, accept):
    """Small limits and a put-back that may refuse: the deferred paths run as often as the others."""
    count = len(request["records"]) if isinstance(request, dict) and isinstance(request.get("records"), list) else 0
    limit = 400 * count + 15 + extra  # always room for every entry without data
    reingest = None if accept is None else (lambda pieces: [accept] * len(pieces))
    check_response(request, process(request, options, reingest, limit=limit), limit, options.mode)


@settings(PROPERTY)
@given(cases.requests)
def test_the_entry_point_answers_any_event(request):
    with mock.patch.dict(lambda_putback._FIREHOSE_CLIENTS, {"us-east-1": StandInFirehose()}):
        check_response(request, handler(request))


def test_even_a_broken_invocation_does_not_raise():
    for broken in ({}, {"records": None}, {"records": [None, 5, "x"]}, [], None, "x", 5):
        assert "records" in handler(broken)


# The cases issue 13 found, one by one.
def raw_record(text: str, record_id: str = "r1") -> dict:
    return record(gzip.compress(text.encode("utf-8", "surrogatepass")), record_id)


def one_event(message_json: str, timestamp: str = "1700000000000") -> str:
    return ('{"messageType": "DATA_MESSAGE", "logGroup": "/aws/cloudtrail/x", "logStream": "s", "logEvents": '
            '[{"id": "1", "timestamp": ' + timestamp + ', "message": ' + message_json + "}]}")  # fmt: skip


def test_a_number_over_4300_digits_fails_its_record_or_stays_text():
    in_payload = raw_record(one_event('"x"', timestamp="1" * 4301), "payload")
    in_message = raw_record(one_event(json.dumps('{"eventName": "x", "n": ' + "1" * 4301 + "}")), "message")
    write = [e for e in EVENTS if e.get("readOnly") is False][:1]
    request = {"records": [in_payload, in_message, record(payload(write), "good")]}
    for options in (Options(), Options(mode="event"), Options(drop_read_only=True)):
        response = process(request, options)
        check_response(request, response, mode=options.mode)
        assert [r["result"] for r in response["records"]] == ["ProcessingFailed", "Ok", "Ok"]
        assert "1" * 4301 in output(response["records"][1])  # not JSON to Python: sent as the text it is


def test_a_lone_surrogate_is_written_as_its_json_escape():
    message = json.dumps('{"eventName": "\\ud800", "x": 1}')  # the message holds a lone surrogate
    request = {"records": [raw_record(one_event(message))]}
    raw = process(request, Options())
    check_response(request, raw)
    assert json.loads(output(raw["records"][0])) == {"eventName": "\ud800", "x": 1}  # same text as logged
    event = process(request, Options(mode="event"))
    check_response(request, event, mode="event")
    assert json.loads(output(event["records"][0]))["event"]["eventName"] == "\ud800"


def test_a_non_string_event_name_is_kept_when_filters_are_on():
    messages = [json.dumps({"eventName": ["GetObject"], "eventSource": {"a": 1}}),
                json.dumps({"eventName": "GetObject", "eventSource": [["s3"]]})]  # fmt: skip
    request = {"records": [record(payload(messages))]}
    options = Options(drop_events=frozenset({"GetObject", "s3.amazonaws.com:GetObject"}))
    response = process(request, options)
    check_response(request, response)
    assert [json.loads(line) for line in output(response["records"][0]).splitlines()] == [json.loads(messages[0])]


@pytest.mark.parametrize("timestamp", ["1" * 400, "1e999", "NaN", "-5", '"1700000000000"', "true"])
def test_a_timestamp_that_is_not_a_time_leaves_the_time_to_splunk(timestamp):
    request = {"records": [raw_record(one_event(json.dumps('{"eventName": "x", "bad": NaN}'), timestamp))]}
    response = process(request, Options(mode="event"))
    check_response(request, response, mode="event")  # strict JSON: no NaN, no Infinity
    document = json.loads(output(response["records"][0]))
    assert document["time"] is None  # HEC then uses the time it receives the event
    assert document["event"] == '{"eventName": "x", "bad": NaN}'  # NaN is not JSON: sent as text


def deferred(raw: bytes) -> dict:
    """A request in which `raw` comes after a record that fills the response, so it is deferred."""
    first = big_record("first")
    limit = len(json.dumps(process({"records": [first]}, Options()))) + 300
    return {"request": {"records": [first, record(raw, "late")]}, "limit": limit}


def test_a_deferred_record_with_a_bad_gzip_extra_field_fails_alone():
    member = gzip.compress(json.dumps(payload(EVENTS[:3])).encode())
    claims_more = member[:3] + bytes([member[3] | 4]) + member[4:10] + (30).to_bytes(2, "little") + b"CF\x05\x00"
    case = deferred(claims_more + member[10:])
    response = process(case["request"], Options(), reingest=lambda p: [True] * len(p), limit=case["limit"])
    check_response(case["request"], response, case["limit"])
    assert response["records"][0]["result"] == "Ok"


def test_a_deferred_record_with_a_log_event_that_is_not_an_object_fails_alone():
    broken = {**payload(EVENTS[:3]), "logEvents": ["not an object", 5]}
    case = deferred(gzip.compress(json.dumps(broken).encode()))
    split = process(case["request"], Options(), reingest=lambda p: [True] * len(p), limit=case["limit"] // 8)
    check_response(case["request"], split, case["limit"] // 8)
    assert split["records"][1]["result"] == "ProcessingFailed"


def test_one_full_record_and_3000_control_messages_fit_6_mb():
    """Every entry counts, Dropped ones too: the full record goes back into the stream, not over the limit."""
    control = json.loads((CORPUS / "otel-collector-contrib-awsfirehosereceiver" / "only_control").read_text())
    full = record(payload(["x" * 10_000] * 461), "full")  # its output alone is about 6.15 MB of base64
    request = {"records": [full] + [record(control, f"control-{i}") for i in range(2999)]}
    put_back: list[bytes] = []
    response = process(request, Options(), reingest=lambda pieces: (put_back.extend(pieces), [True] * len(pieces))[1])
    check_response(request, response)
    assert response["records"][0]["result"] in ("Ok", "Dropped")
    if response["records"][0]["result"] == "Dropped":
        assert sum(len(json.loads(gzip.decompress(p))["logEvents"]) for p in put_back) == 461  # nothing lost
    assert {r["result"] for r in response["records"][1:]} == {"Dropped"}


def test_the_firehose_client_is_made_only_to_put_back_and_once_per_container(monkeypatch):
    import boto3

    made = []
    stand_in = StandInFirehose()
    monkeypatch.setattr(boto3, "client", lambda *a, **k: (made.append((a, k)), stand_in)[1])
    monkeypatch.setattr(lambda_putback, "_FIREHOSE_CLIENTS", {})
    arn = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/cloudtrail"
    small = {"deliveryStreamArn": arn, "records": [record(payload(EVENTS[:5]))]}
    assert handler(small)["records"][0]["result"] == "Ok"
    assert made == []  # nothing to put back: no client, no boto3 set-up cost
    big = {"deliveryStreamArn": arn, "records": [big_record(f"r{i}") for i in range(3)]}
    for _ in range(2):
        assert "Dropped" in [r["result"] for r in handler(big)["records"]]
    assert made == [(("firehose",), {"region_name": "eu-west-1"})]  # one client for both invocations
    assert stand_in.calls


def test_wrong_settings_fail_every_record_with_a_clear_error(monkeypatch, caplog):
    monkeypatch.setenv("SOURCETYPE_MAP", '["not", "an object"]')
    request = {"records": [record(payload(EVENTS[:2]), "a"), record(payload(EVENTS[:2]), "b")]}
    response = handler(request)
    check_response(request, response)
    assert [r["result"] for r in response["records"]] == ["ProcessingFailed"] * 2  # into the failed-delivery bucket
    assert "SOURCETYPE_MAP must be a JSON object" in caplog.text
