"""Recovery's outputs and the CloudTrail events they carry, for the identity search tests."""

from __future__ import annotations

import json

from cloudtrail_firehose.inputs.outputs import Output

INDEX = "aws_cloudtrail"
BUCKET = "cloudtrail-firehose-failed-123456789012-us-east-1"
SOURCE = f"firehose_recovery:s3://{BUCKET}/splunk-failed/2026/11/27/part-1"
T0 = 1_764_200_000.0


def trail_event(event_id: str | None = None, padding: int = 0, time: float = T0, **nested) -> str:
    """A CloudTrail event as CloudTrail writes it: eventID after requestParameters and responseElements."""
    event = {"eventVersion": "1.11", "eventTime": "2025-11-26T23:33:20Z", "eventSource": "s3.amazonaws.com",
             "eventName": "PutBucketPolicy", "awsRegion": "us-east-1",
             "requestParameters": {"bucketName": "b", "policy": "x" * padding, **nested},
             "responseElements": None, "requestID": "R1"}  # fmt: skip
    if event_id is not None:
        event["eventID"] = event_id
    event.update({"readOnly": False, "eventType": "AwsApiCall", "recipientAccountId": "123456789012"})
    return json.dumps(event, separators=(",", ":"))


def output(text: str, identity: str, time: float = T0, sourcetype: str = "aws:cloudtrail", source: str = SOURCE):
    return Output(text, time, sourcetype, source, identity)
