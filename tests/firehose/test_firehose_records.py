"""Failed-delivery records: every rawData shape gives back its CloudTrail events; anything else is a
clear RecordError, never a crash."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
import vpcflow_corpus
from cloudtrail_firehose.firehose.records import READERS, RecordError, event_time, events_in, parse_failed_record
from corpus import CORPUS, Lazy, cloudtrail_events
from hypothesis import given, settings
from hypothesis import strategies as st

EVENTS = Lazy(lambda: [event for _, event in cloudtrail_events()][:120])


def data_message(events: list[dict]) -> dict:
    return {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/cloudtrail/x",
            "logStream": "123456789012_CloudTrail_us-east-1", "subscriptionFilters": ["f"],
            "logEvents": [{"id": str(i), "timestamp": 1700000000000 + i, "message": json.dumps(e)}
                          for i, e in enumerate(events)]}  # fmt: skip


def record(raw: bytes, code: str = "Splunk.AckTimeout") -> bytes:
    return json.dumps({"attemptsMade": 3, "arrivalTimestamp": 1700000000000, "errorCode": code,
                       "errorMessage": "x", "attemptEndingTimestamp": 1700000360000,
                       "rawData": base64.b64encode(raw).decode(), "EventId": "1.0"}).encode()  # fmt: skip


SHAPES = {
    "gzip CloudWatch Logs payload": lambda events: gzip.compress(json.dumps(data_message(events)).encode()),
    "newline-separated events": lambda events: "\n".join(json.dumps(e) for e in events).encode(),
    "concatenated events": lambda events: "".join(json.dumps(e) for e in events).encode(),
    "decompressed CloudWatch Logs payload": lambda events: json.dumps(data_message(events)).encode(),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_gives_back_the_events_with_their_time(shape):
    parsed = parse_failed_record(record(SHAPES[shape](EVENTS)))
    recovered = list(events_in(parsed.raw))
    assert [json.loads(r.text) for r in recovered] == EVENTS
    assert [r.time for r in recovered] == [event_time(e) for e in EVENTS]
    assert all(r.time is not None for r in recovered)


def test_the_documented_record_is_read():
    line = (CORPUS / "awsdocs-firehose-developer-guide" / "basic-deliver__error-record_splunk.json").read_bytes()
    parsed = parse_failed_record(line)
    assert parsed.error_code == "Splunk.AckTimeout"
    assert parsed.arrival.year == 2017
    assert parsed.raw.startswith(b"2 251620272209 eni-")
    with pytest.raises(RecordError, match="not an event object"):
        list(events_in(parsed.raw))  # a VPC flow log line, not CloudTrail: reported, not recovered


def test_control_messages_hold_no_events():
    control = json.loads((CORPUS / "otel-collector-contrib-awsfirehosereceiver" / "only_control").read_text())
    assert list(events_in(gzip.compress(json.dumps(control).encode()))) == []


def test_truncated_cloudwatch_messages_are_reported():
    payload = (CORPUS / "awsdocs-cloudwatch-logs-user-guide" / "SubscriptionFilters__ex01_CloudTrail_logs.json")
    payload = payload.read_bytes()
    with pytest.raises(RecordError, match="not a CloudTrail JSON event"):
        list(events_in(gzip.compress(payload)))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"{not json", "not a JSON line"),
        (b'{"attemptsMade": 1}', "no rawData"),
        (b'{"rawData": "***"}', "not base64"),
        (b"[1, 2]", "no rawData"),
    ],
)
def test_bad_lines_are_explained(line, message):
    with pytest.raises(RecordError, match=message):
        parse_failed_record(line)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (gzip.compress(b"{}", mtime=0)[:-6], "damaged gzip"),
        (gzip.compress(b"not json", mtime=0), "payload is not JSON"),
        (b"\xff\xfe\x00", "neither gzip nor UTF-8"),
        (b"[1, 2]", "not an event object"),
        (gzip.compress(b'{"messageType": "DATA_MESSAGE"}', mtime=0), "unexpected CloudWatch Logs payload"),
    ],
)
def test_bad_payloads_are_explained(raw, message):
    with pytest.raises(RecordError, match=message):
        list(events_in(raw))


def test_deeply_nested_json_is_refused_not_a_crash():
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(RecordError, match="nested too deeply"):
        list(events_in(deep))
    with pytest.raises(RecordError, match="not a JSON line"):
        parse_failed_record(deep)
    with pytest.raises(RecordError, match="payload is not JSON"):
        list(events_in(gzip.compress(deep)))


def test_a_decompression_bomb_is_refused():
    bomb = gzip.compress(b" " * (70 * 1024 * 1024))
    with pytest.raises(RecordError, match="more than 8 MB"):
        list(events_in(bomb))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
@pytest.mark.slow
def test_arbitrary_bytes_never_crash(raw):
    for candidate in (raw, gzip.compress(raw)):
        try:
            list(events_in(candidate))
        except RecordError:
            pass
    try:
        parse_failed_record(raw)
    except RecordError:
        pass


HUGE = "9" * 5000  # over Python's 4,300-digit limit for int(): json.loads raises ValueError


def cloudwatch_record(log_events: list[dict]) -> bytes:
    payload = {**data_message([]), "logEvents": log_events}
    return record(gzip.compress(json.dumps(payload).encode()))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"rawData": "", "attemptsMade": ' + HUGE.encode() + b"}", "not a JSON line"),
        (record(('{"eventID": "a", "n": ' + HUGE + "}").encode()), "not usable JSON"),
        (cloudwatch_record([{"id": "1", "timestamp": 1, "message": '{"n": ' + HUGE + "}"}]), "not a CloudTrail JSON"),
        (record(gzip.compress(('{"messageType": "DATA_MESSAGE", "n": ' + HUGE + "}").encode())), "payload is not JSON"),
    ],
    ids=["attemptsMade", "extracted event", "log event message", "CloudWatch payload"],
)
def test_numbers_over_4300_digits_are_a_record_error(line, message):
    with pytest.raises(RecordError, match=message):
        list(events_in(parse_failed_record(line).raw))


def test_a_400_digit_log_event_timestamp_is_ignored_not_an_overflow():
    event = {"eventID": "e-1", "eventName": "GetObject"}  # no eventTime: the timestamp would be the fallback
    line = cloudwatch_record([{"id": "1", "timestamp": int("9" * 400), "message": json.dumps(event)},
                              {"id": "2", "timestamp": 1700000000000, "message": json.dumps(event)}])  # fmt: skip
    recovered = list(events_in(parse_failed_record(line).raw))
    assert [r.time for r in recovered] == [None, 1700000000.0]
    assert [json.loads(r.text) for r in recovered] == [event, event]


def test_a_lone_surrogate_without_event_id_is_kept_as_a_json_escape():
    message = '{"eventName": "PutObject", "userAgent": "\\ud800"}'  # JSON text with an escaped lone surrogate
    line = cloudwatch_record([{"id": "1", "timestamp": 1700000000000, "message": message}])
    [recovered] = list(events_in(parse_failed_record(line).raw))
    recovered.text.encode("utf-8")  # what the input writes to splunkd must be UTF-8
    assert json.loads(recovered.text) == {"eventName": "PutObject", "userAgent": "\ud800"}
    assert recovered.event_id is None


def test_event_ids_come_with_the_events():
    recovered = list(events_in(parse_failed_record(record(SHAPES["gzip CloudWatch Logs payload"](EVENTS))).raw))
    assert [r.event_id for r in recovered] == [e["eventID"] for e in EVENTS]


# CloudTrail writes eventTime as ISO 8601 in UTC ("CloudTrail record contents": "The date and time the
# request was made, in coordinated universal time (UTC)"). The same stamp must give the same time on every
# Python Splunk runs the recovery input on: datetime.fromisoformat refuses "Z" on 3.9 and reads a stamp
# without zone as local time on 3.11+. This module runs on 3.9 and 3.13 (build.py test).
@pytest.mark.parametrize(("stamp", "seconds"), [
    ("2024-05-01T12:00:00Z", 1714564800.0),
    ("2024-05-01T12:00:00z", 1714564800.0),
    ("2024-05-01T12:00:00", 1714564800.0),  # no zone: UTC, whatever the machine's zone
    ("2024-05-01T12:00:00.250Z", 1714564800.25),
    ("2024-05-01T12:00:00.123456789Z", 1714564800.123457),
    ("2024-05-01T14:00:00+02:00", 1714564800.0),
    ("2024-05-01T07:30:00-0430", 1714564800.0),
    ("2024-05-01T13:00:00+01", 1714564800.0),
    ("1969-12-31T23:59:59Z", -1.0),
])  # fmt: skip
def test_event_times_parse_the_same_on_every_splunk_python(stamp, seconds, monkeypatch):
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    assert event_time({"eventTime": stamp}) == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize("stamp", ["", "yesterday", "2024-05-01", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z",
                                   "2024-05-01T25:00:00Z", "2024-05-01T12:00:00+2", "20240501T120000Z", 1714564800,
                                   "2024-05-01T12:00:00Z trailing", "２０２４-05-01T12:00:00Z"])  # fmt: skip
def test_a_stamp_that_is_not_an_iso_time_leaves_the_time_to_splunk(stamp):
    assert event_time({"eventTime": stamp}) is None


def default_format_lines() -> list[str]:
    """Every well-formed default-format record of the VPC Flow Logs corpus, as AWS wrote it."""
    return [line for example in vpcflow_corpus.examples() if example.fields == vpcflow_corpus.DEFAULT_FIELDS
            for i, line in enumerate(example.raw) if i not in example.malformed]  # fmt: skip


@pytest.mark.parametrize("shape", ["bare lines", "wrapped", "one wrapped per record, concatenated",
                                   "CloudWatch Logs payload"])  # fmt: skip
def test_flow_log_records_are_read_in_every_shape_firehose_can_hold_them(shape):
    # A flow log record is one line of space-separated fields (Amazon VPC User Guide, "Flow log records"); what
    # Firehose holds of it may be the bare line, the line as {"message": ...}, or, for flow logs taken from a log
    # group, CloudWatch Logs' gzip payload (Amazon CloudWatch Logs User Guide, "Subscription filters").
    lines = default_format_lines()
    assert len(lines) >= 10
    raw = {
        "bare lines": "\n".join(lines).encode(),
        "wrapped": json.dumps({"message": lines[0]}).encode(),
        "one wrapped per record, concatenated": "".join(json.dumps({"message": line}) for line in lines).encode(),
        "CloudWatch Logs payload": gzip.compress(json.dumps({"messageType": "DATA_MESSAGE", "logEvents": [
            {"id": str(i), "timestamp": 0, "message": line} for i, line in enumerate(lines)]}).encode()),
    }[shape]
    read = list(READERS["flow-log-lines"](raw))
    expected = lines[:1] if shape == "wrapped" else lines
    assert [event.text for event in read] == expected
    assert [event.time for event in read] == [float(line.split(" ")[10]) for line in expected]  # start, NODATA too
    assert all(event.event_id is None for event in read)  # found again by their hash


@pytest.mark.parametrize("raw", [b'{"not": "a flow record"}', b'{"message": 5}', b"\xff\xfe", b'{"message": "x"'])
def test_what_is_not_a_flow_log_record_is_said_not_raised(raw):
    with pytest.raises(RecordError):
        list(READERS["flow-log-lines"](raw))
