"""Failed-delivery objects as Firehose writes them, for the recovery tests."""

from __future__ import annotations

import base64
import gzip
import json

import moto_s3_conditional  # noqa: F401 - atomic conditional PutObject, as S3 documents it
from corpus import CORPUS, Lazy, cloudtrail_events

BUCKET = "cloudtrail-firehose-failed-123456789012-us-east-1"
EVENTS = Lazy(lambda: [event for _, event in cloudtrail_events()][:60])


def record(raw: bytes, code: str = "Splunk.AckTimeout", arrival: int = 1764200000000) -> bytes:
    return json.dumps({"attemptsMade": 4, "arrivalTimestamp": arrival, "errorCode": code,
                       "errorMessage": "Did not receive an acknowledgement", "attemptEndingTimestamp": arrival + 300000,
                       "rawData": base64.b64encode(raw).decode(), "EventId": "4957.0"}).encode()  # fmt: skip


def data_message(events: list[dict], messages: list[str] | None = None, timestamp: int = 1764200000000) -> bytes:
    texts = messages if messages is not None else [json.dumps(e) for e in events]
    payload = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/cloudtrail/x",
               "logStream": "s", "subscriptionFilters": ["f"],
               "logEvents": [{"id": str(i), "timestamp": timestamp, "message": m}
                             for i, m in enumerate(texts)]}  # fmt: skip
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
