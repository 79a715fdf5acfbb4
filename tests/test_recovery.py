"""Recovery of failed deliveries against moto S3: every event back exactly once, with its time,
through crashes at every point; unreadable lines reported and their objects kept."""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter

import boto3
import botocore.exceptions
import pytest
from cloudtrail_firehose.firehose.records import event_time
from cloudtrail_firehose.inputs.recovery import Checkpoint, Recovery
from corpus import CORPUS, cloudtrail_events
from moto import mock_aws

BUCKET = "cloudtrail-firehose-failed-123456789012-us-east-1"
EVENTS = [event for _, event in cloudtrail_events()][:60]


def record(raw: bytes, code: str = "Splunk.AckTimeout", arrival: int = 1764200000000) -> bytes:
    return json.dumps({"attemptsMade": 4, "arrivalTimestamp": arrival, "errorCode": code,
                       "errorMessage": "Did not receive an acknowledgement", "attemptEndingTimestamp": arrival + 300000,
                       "rawData": base64.b64encode(raw).decode(), "EventId": "4957.0"}).encode()  # fmt: skip


def data_message(events: list[dict]) -> bytes:
    payload = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/cloudtrail/x",
               "logStream": "s", "subscriptionFilters": ["f"],
               "logEvents": [{"id": str(i), "timestamp": 1764200000000, "message": json.dumps(e)}
                             for i, e in enumerate(events)]}  # fmt: skip
    return gzip.compress(json.dumps(payload).encode(), mtime=0)


def put_objects(s3) -> dict[str, list[dict]]:
    """Failed-delivery objects in every shape; returns the CloudTrail events each one holds."""
    s3.create_bucket(Bucket=BUCKET)
    first, second, third = EVENTS[:20], EVENTS[20:40], EVENTS[40:60]
    docs_record = (CORPUS / "awsdocs-firehose-developer-guide" / "basic-deliver__error-record_splunk.json").read_bytes()
    lines = [
        record(data_message(first[:10]), "Splunk.SSLUnverified"),
        record("\n".join(json.dumps(e) for e in first[10:15]).encode()),
        b"this line is not a record",
        record("".join(json.dumps(e) for e in first[15:]).encode(), "Splunk.InvalidToken"),
        json.dumps(json.loads(docs_record)).encode(),  # a VPC flow log line, not CloudTrail
    ]
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/2026/11/27/part-1", Body=b"\n".join(lines) + b"\n")
    gz = gzip.compress(b"\n".join(record(json.dumps(e).encode(), "Splunk.ConnectionTimeout") for e in second), mtime=0)
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/2026/11/27/part-2.gz", Body=gz)
    s3.put_object(Bucket=BUCKET, Key="processing-failed/2026/11/27/part-3",
                  Body=b"\n".join(record(data_message([e])) for e in third))  # fmt: skip
    return {"part-1": first, "part-2": second, "part-3": third}


class Splunk:
    """What the test's Splunk received: outputs in order, and which identities it has indexed."""

    def __init__(self) -> None:
        self.outputs = []

    def write(self, output) -> None:
        self.outputs.append(output)

    def already_indexed(self, identities: list[str]) -> set[str]:
        have = {o.identity for o in self.outputs}
        return {i for i in identities if i in have}


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


def recovery(s3, splunk: Splunk, checkpoint_path, batch_size: int = 7, waits: list | None = None) -> Recovery:
    sleep = (waits.append if waits is not None else lambda seconds: None)
    return Recovery(s3, BUCKET, splunk.write, Checkpoint(checkpoint_path), splunk.already_indexed, batch_size, sleep)


def test_every_event_comes_back_once_with_its_time_and_a_source_naming_the_object(s3, tmp_path):
    expected = put_objects(s3)
    splunk = Splunk()
    summary = recovery(s3, splunk, tmp_path / "cp.json").run()
    trail = [o for o in splunk.outputs if o.sourcetype == "aws:cloudtrail"]
    in_key_order = expected["part-3"] + expected["part-1"] + expected["part-2"]  # processing-failed/ sorts first
    assert [json.loads(o.text) for o in trail] == in_key_order
    assert [o.time for o in trail] == [event_time(e) for e in in_key_order]
    assert all(o.source.startswith(f"firehose_recovery:s3://{BUCKET}/") for o in splunk.outputs)
    assert summary.events == 60
    errors = [json.loads(o.text) for o in splunk.outputs if o.sourcetype == "aws:firehose:error"]
    assert len(errors) == 5 + 20 + 20  # one per failed record or unreadable line
    codes = Counter(e["errorCode"] for e in errors)
    assert codes["Recovery.UnreadableLine"] == 2  # the garbage line and the VPC flow log record
    invalid_token = next(e for e in errors if e["errorCode"] == "Splunk.InvalidToken")
    assert "setup page" in invalid_token["remediation"]
    assert invalid_token["events_recovered"] == 5


def test_objects_are_moved_never_deleted_and_unreadable_ones_are_kept_apart(s3, tmp_path):
    put_objects(s3)
    recovery(s3, Splunk(), tmp_path / "cp.json").run()
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {
        "needs-attention/splunk-failed/2026/11/27/part-1",
        "recovered/splunk-failed/2026/11/27/part-2.gz",
        "recovered/processing-failed/2026/11/27/part-3",
    }
    again = Splunk()
    assert recovery(s3, again, tmp_path / "cp.json").run().objects == 0
    assert again.outputs == []


def test_events_firehose_may_have_delivered_are_not_indexed_twice(s3, tmp_path):
    """After Splunk.AckTimeout, Splunk may already hold the events; recovery checks before writing."""
    put_objects(s3)
    splunk = Splunk()
    delivered_anyway = EVENTS[10:15]  # part-1's second record failed with Splunk.AckTimeout
    splunk.outputs += [type("Indexed", (), {"identity": e["eventID"]})() for e in delivered_anyway]
    summary = recovery(s3, splunk, tmp_path / "cp.json").run()
    recovered_ids = [json.loads(o.text)["eventID"] for o in splunk.outputs[5:] if o.sourcetype == "aws:cloudtrail"]
    assert sorted(recovered_ids) == sorted(e["eventID"] for e in EVENTS if e not in delivered_anyway)
    assert summary.skipped_as_indexed == 5


class CrashError(Exception):
    pass


def counting(limit: int):
    """Raise CrashError when the limit-th operation (a write, a checkpoint save, an S3 move) starts."""
    state = {"count": 0}

    def tick() -> None:
        state["count"] += 1
        if state["count"] == limit:
            raise CrashError(limit)

    return tick, state


def test_a_crash_at_any_point_then_a_restart_loses_nothing_and_duplicates_nothing(tmp_path):
    with mock_aws():
        reference = Splunk()
        s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        put_objects(s3)
        recovery(s3, reference, tmp_path / "reference.json").run()
    expected = Counter((o.identity, o.text) for o in reference.outputs)
    total_operations = None
    limit = 1
    while total_operations is None or limit <= total_operations:
        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
            put_objects(s3)
            splunk = Splunk()
            path = tmp_path / f"cp-{limit}.json"
            tick, state = counting(limit)
            crashing = recovery(s3, splunk, path)
            crashing.write = lambda output, w=splunk.write, t=tick: (t(), w(output))
            crashing.checkpoint.save = lambda save=crashing.checkpoint.save, t=tick: (t(), save())
            s3.meta.events.register("before-call.s3.CopyObject", lambda t=tick, **kw: t())
            s3.meta.events.register("before-call.s3.DeleteObject", lambda t=tick, **kw: t())
            try:
                crashing.run()
                total_operations = state["count"]  # no crash: this many operations in a whole run
            except CrashError:
                pass
            s3.meta.events.unregister("before-call.s3.CopyObject")
            s3.meta.events.unregister("before-call.s3.DeleteObject")
            fresh = boto3.client("s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
            recovery(fresh, splunk, path).run()  # the restart
            got = Counter((o.identity, o.text) for o in splunk.outputs)
            assert got == expected, f"crash at operation {limit}"
        limit += 1 if limit < 40 else 7
    assert total_operations > 60


def test_an_object_that_cannot_be_read_does_not_block_the_others(s3, tmp_path):
    put_objects(s3)

    def deny_part_1(params, **kwargs):
        if params.get("Key", "").endswith("part-1"):
            raise botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject")

    s3.meta.events.register("before-parameter-build.s3.GetObject", deny_part_1)
    splunk = Splunk()
    summary = recovery(s3, splunk, tmp_path / "cp.json").run()
    assert (summary.objects, summary.failed_objects) == (2, 1)
    assert summary.events == 40
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert "splunk-failed/2026/11/27/part-1" in keys  # left in place for the next run


def test_after_a_crash_recovery_waits_for_recent_events_to_become_searchable(s3, tmp_path):
    put_objects(s3)
    splunk = Splunk()
    crashing = recovery(s3, splunk, tmp_path / "cp.json")
    writes = {"count": 0}

    def crash_on_third(output, w=splunk.write):
        writes["count"] += 1
        if writes["count"] == 3:
            raise CrashError
        w(output)

    crashing.write = crash_on_third
    with pytest.raises(CrashError):
        crashing.run()
    waits: list[float] = []
    recovery(s3, splunk, tmp_path / "cp.json", waits=waits).run()
    assert len(waits) == 1
    assert 50 < waits[0] <= 60  # the crash was a moment ago: wait out Splunk's search latency
