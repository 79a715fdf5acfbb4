"""The Lambda processor: real captured invocations, CloudTrail events from the corpus, malformed input,
the 6 MB response limit, and property-based checks over arbitrary records."""

from __future__ import annotations

import ast
import base64
import gzip
import json

from cloudtrail_firehose.firehose.lambda_processor import (
    MAX_REINGEST,
    REDACTED,
    RESPONSE_LIMIT,
    Options,
    _generation,
    handler,
    process,
)
from corpus import CORPUS, cloudtrail_events
from hypothesis import given, settings
from hypothesis import strategies as st

EVENTS = [event for _, event in cloudtrail_events()]
RESULTS = {"Ok", "Dropped", "ProcessingFailed"}


def payload(events: list, group: str = "/aws/cloudtrail/org", **extra) -> dict:
    return {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": group,
            "logStream": "123456789012_CloudTrail_us-east-1", "subscriptionFilters": ["f"],
            "logEvents": [{"id": str(i), "timestamp": 1700000000123 + i,
                           "message": e if isinstance(e, str) else json.dumps(e)} for i, e in enumerate(events)],
            **extra}  # fmt: skip


def record(data: bytes | dict, record_id: str = "r1") -> dict:
    raw = gzip.compress(json.dumps(data).encode()) if isinstance(data, dict) else data
    return {"recordId": record_id, "approximateArrivalTimestamp": 1700000000000, "data": base64.b64encode(raw).decode()}


def output(result: dict) -> str:
    return base64.b64decode(result["data"]).decode()


def check_response(request: dict, response: dict) -> None:
    ids = [r["recordId"] for r in request["records"]]
    assert [r["recordId"] for r in response["records"]] == ids  # every record once, in order
    assert all(r["result"] in RESULTS for r in response["records"])
    for r in response["records"]:
        base64.b64decode(r.get("data", ""), validate=True)
    assert len(json.dumps(response)) <= RESPONSE_LIMIT


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
    for invocation, theirs in zip(invocations, expected, strict=True):
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


def big_record(record_id: str, events: int = 400, size: int = 10_000) -> dict:
    filler = [{**EVENTS[i % len(EVENTS)], "requestParameters": {"blob": "x" * size}} for i in range(events)]
    return record(payload(filler), record_id)


def test_the_response_never_exceeds_6_mb_and_what_does_not_fit_is_put_back_in_pieces():
    request = {"records": [big_record(f"r{i}") for i in range(4)]}  # about 16 MB of output in all
    put_back: list[bytes] = []
    response = process(request, Options(), reingest=lambda pieces: (put_back.extend(pieces), [True] * len(pieces))[1])
    check_response(request, response)
    results = [r["result"] for r in response["records"]]
    assert results.count("Ok") >= 1
    assert "Dropped" in results
    pieces = [json.loads(gzip.decompress(p)) for p in put_back]
    assert all(_generation(p) == 1 for p in put_back)
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
    budget = len(process({"records": [first]}, Options())["records"][0]["data"]) + 500  # first fills it
    for generation in range(1, MAX_REINGEST + 1):
        response = process({"records": [first, small]}, Options(), reingest=keep, budget=budget)
        assert response["records"][1]["result"] == "Dropped"
        assert _generation(put_back[-1]) == generation
        assert gzip.decompress(put_back[-1]) == gzip.decompress(base64.b64decode(small["data"]))  # unchanged data
        small = {"recordId": "small", "data": base64.b64encode(put_back[-1]).decode()}
    response = process({"records": [first, small]}, Options(), reingest=keep, budget=budget)
    assert response["records"][1]["result"] == "ProcessingFailed"  # no endless loop
    alone = process({"records": [small]}, Options())
    assert alone["records"][0]["result"] == "Ok"  # the generation mark does not disturb reading
    refused = process({"records": [big_record("a"), big_record("b")]}, Options(), reingest=lambda p: [False] * len(p))
    assert [r["result"] for r in refused["records"]][1] == "ProcessingFailed"  # not silently dropped


json_values = st.recursive(
    st.none() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
cloudwatch_like = st.fixed_dictionaries({"messageType": st.sampled_from(["DATA_MESSAGE", "CONTROL_MESSAGE", "X"]),
                                         "logEvents": json_values})  # fmt: skip
record_data = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
    st.one_of(json_values, cloudwatch_like).map(
        lambda value: base64.b64encode(gzip.compress(json.dumps(value).encode())).decode()
    ),
)
records_strategy = st.lists(
    st.fixed_dictionaries({"recordId": st.text(min_size=1, max_size=12), "data": record_data}),
    max_size=8, unique_by=lambda r: r["recordId"],
)


@settings(max_examples=250, deadline=None)
@given(records_strategy, st.sampled_from(["raw", "event"]))
def test_any_input_gives_a_valid_response(records, mode):
    request = {"records": records}
    response = process(request, Options(mode=mode, redact_paths=(("a", "b"),), drop_read_only=True))
    check_response(request, response)


def test_even_a_broken_invocation_does_not_raise():
    for broken in ({}, {"records": None}, {"records": [None, 5, "x"]}, []):
        assert "records" in process(broken, Options())
