"""Firehose records of CloudWatch Logs payloads, as the Lambda processor receives them."""

from __future__ import annotations

import base64
import gzip
import json

from corpus import Lazy, cloudtrail_events

EVENTS = Lazy(lambda: [event for _, event in cloudtrail_events()])


def payload(events: list, group: str = "/aws/cloudtrail/org", **extra) -> dict:
    return {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": group,
            "logStream": "123456789012_CloudTrail_us-east-1", "subscriptionFilters": ["f"],
            "logEvents": [{"id": str(i), "timestamp": 1700000000123 + i,
                           "message": e if isinstance(e, str) else json.dumps(e)} for i, e in enumerate(events)],
            **extra}  # fmt: skip


def record(data: bytes | dict, record_id: str = "r1") -> dict:
    raw = gzip.compress(json.dumps(data).encode()) if isinstance(data, dict) else data
    return {"recordId": record_id, "approximateArrivalTimestamp": 1700000000000, "data": base64.b64encode(raw).decode()}


def big_record(record_id: str, events: int = 400, size: int = 10_000) -> dict:
    filler = [{**EVENTS[i % len(EVENTS)], "requestParameters": {"blob": "x" * size}} for i in range(events)]
    return record(payload(filler), record_id)
