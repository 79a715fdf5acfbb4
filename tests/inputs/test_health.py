"""Pipeline health against moto: metrics the test puts into CloudWatch become a verdict."""

from __future__ import annotations

import dataclasses
import json
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import botocore.exceptions
import moto_shims  # noqa: F401
import pytest
from cloudtrail_firehose import sources
from cloudtrail_firehose.aws import pipeline
from cloudtrail_firehose.aws.settings import PipelineSettings
from cloudtrail_firehose.inputs.health import HEALTH_LEASE_KEY, pipeline_health, verdict
from cloudtrail_firehose.inputs.s3_lease import LEASE_KEY
from moto import mock_aws
from splunk_conf import read_conf

ROOT = Path(__file__).resolve().parents[2]
ALERT = "CloudTrail via Firehose - Delivery stalled or failing"
SETTINGS = PipelineSettings(hec_url="https://hec.example.com", region="us-east-1")


@pytest.fixture
def deployed(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    warnings.filterwarnings("ignore", message="Tried to parse")
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        outputs = pipeline.ensure_pipeline(SETTINGS, session, progress=lambda m: None,
                                           hec_tokens={"cloudtrail": "test-token"}, sleep=lambda s: None)  # fmt: skip
        yield session, outputs


def put(session, name: str, value: float, when: datetime) -> None:
    session.client("cloudwatch").put_metric_data(Namespace="AWS/Firehose", MetricData=[{
        "MetricName": name, "Value": value, "Timestamp": when,
        "Dimensions": [{"Name": "DeliveryStreamName", "Value": "cloudtrail-firehose"}]}])  # fmt: skip


def test_a_healthy_pipeline_is_flowing(deployed):
    session, _ = deployed
    now = datetime.now(timezone.utc)
    for name, value in (("IncomingRecords", 120), ("DeliveryToSplunk.Success", 1.0),
                        ("DeliveryToSplunk.DataFreshness", 42), ("DeliveryToSplunk.Records", 120)):  # fmt: skip
        put(session, name, value, now - timedelta(minutes=2))
    [report] = pipeline_health(SETTINGS, session, now=now)
    assert report["state"] == "flowing", report
    assert report["metrics"]["incoming_records"] == 120
    assert report["metrics"]["data_freshness_seconds"] == 42
    assert report["delivery_stream"] == "ACTIVE"
    assert report["stack_status"] == "CREATE_COMPLETE"


def test_failing_deliveries_and_a_backlog_are_called_out(deployed):
    session, outputs = deployed
    now = datetime.now(timezone.utc)
    put(session, "IncomingRecords", 50, now - timedelta(minutes=1))
    put(session, "DeliveryToSplunk.Success", 0.25, now - timedelta(minutes=1))
    [report] = pipeline_health(SETTINGS, session, now=now)
    assert report["state"] == "failing"
    assert "25%" in report["why"]
    session.client("s3").put_object(Bucket=outputs["FailedDeliveryBucketName"], Key="splunk-failed/x", Body=b"{}")
    put(session, "DeliveryToSplunk.Success", 1.0, now)
    for done in ("recovered/splunk-failed/y", "needs-attention/splunk-failed/z", LEASE_KEY):
        session.client("s3").put_object(Bucket=outputs["FailedDeliveryBucketName"], Key=done, Body=b"{}")
    [later] = pipeline_health(SETTINGS, session, now=now + timedelta(seconds=1))
    assert later["failed_delivery_backlog"] == 1  # what recovery has done with, and its lease, do not count


def test_no_traffic_is_idle_and_old_data_is_stalled():
    base = {"stack_status": "CREATE_COMPLETE", "delivery_stream": "ACTIVE", "failed_delivery_backlog": 0}
    quiet = {"success_rate": None, "data_freshness_seconds": None, "incoming_records": None}
    assert verdict({**base, "metrics": quiet})[0] == "idle"
    stale = {"success_rate": 1.0, "data_freshness_seconds": 3600, "incoming_records": 10}
    assert verdict({**base, "metrics": stale}) == ("stalled", "the oldest undelivered record is 3600 s old")
    assert verdict({"stack_status": "NOT_DEPLOYED", "metrics": quiet})[0] == "not_deployed"


@pytest.mark.parametrize("code", ["ThrottlingException", "LimitExceededException"])
def test_a_throttled_describe_delivery_stream_is_unknown_not_failing(deployed, code):
    """Throttling says nothing about the pipeline: the stalled-or-failing alert must not fire on it."""
    session, _ = deployed
    now = datetime.now(timezone.utc)
    put(session, "IncomingRecords", 50, now - timedelta(minutes=1))
    put(session, "DeliveryToSplunk.Success", 1.0, now - timedelta(minutes=1))

    def throttle(**kwargs):
        raise botocore.exceptions.ClientError({"Error": {"Code": code, "Message": "Rate exceeded"}},
                                              "DescribeDeliveryStream")  # fmt: skip

    session.events.register("before-call.firehose.DescribeDeliveryStream", throttle)
    [report] = pipeline_health(SETTINGS, session, now=now)
    assert report["state"] == "unknown", report
    assert code in report["why"]
    alert = read_conf(ROOT / "default" / "savedsearches.conf")[ALERT]["search"]
    assert f"state={report['state']}" not in alert


def test_a_delivery_stream_that_is_gone_is_failing():
    base = {"stack_status": "CREATE_COMPLETE", "failed_delivery_backlog": 0,
            "metrics": {"success_rate": None, "data_freshness_seconds": None, "incoming_records": 5}}  # fmt: skip
    assert verdict({**base, "delivery_stream": "unknown (ResourceNotFoundException)"})[0] == "failing"
    assert verdict({**base, "delivery_stream": "DELETING"})[0] == "failing"
    assert verdict({**base, "delivery_stream": "ACTIVE", "failed_delivery_backlog": "unknown (SlowDown)"})[0] == \
        "flowing"


@pytest.mark.slow
def test_one_instance_reports_a_pipeline_however_many_poll_it(deployed):
    # Search head cluster members each run the input; the health lease (S3 conditional writes, as for
    # recovery) lets one of them write the report, so alerts fire once per poll, not once per member.
    session, outputs = deployed
    first = pipeline_health(SETTINGS, session, owner="sh1:firehose_health://cloudtrail-firehose")
    second = pipeline_health(SETTINGS, session, owner="sh2:firehose_health://cloudtrail-firehose")
    again = pipeline_health(SETTINGS, session, owner="sh1:firehose_health://cloudtrail-firehose")
    assert first is not None
    assert second is None
    assert again is not None
    assert first[0]["failed_delivery_backlog"] == 0  # the lease is no backlog
    bucket = outputs["FailedDeliveryBucketName"]
    session.client("s3").put_object(Bucket=bucket, Key=HEALTH_LEASE_KEY,
                                    Body=b'{"owner": "sh1:firehose_health://cloudtrail-firehose", "expires": 0}')
    assert pipeline_health(SETTINGS, session, owner="sh2:firehose_health://cloudtrail-firehose") is not None


@pytest.mark.slow
def test_a_backlog_that_recovery_cannot_write_says_why(deployed):
    """Recovery records with its lease that Splunk's answers were not clean; health says so, since the
    backlog will not shrink until Splunk answers."""
    session, outputs = deployed
    bucket = outputs["FailedDeliveryBucketName"]
    now = datetime.now(timezone.utc)
    put(session, "IncomingRecords", 50, now - timedelta(minutes=1))
    put(session, "DeliveryToSplunk.Success", 1.0, now - timedelta(minutes=1))
    session.client("s3").put_object(Bucket=bucket, Key="splunk-failed/x", Body=b"{}")
    assert "recovery cannot tell" not in pipeline_health(SETTINGS, session, now=now)[0]["why"]
    stuck = {"owner": "sh1:main", "expires": 0, "objects": {},
             "status": {"search_unavailable": "a search peer is down", "since": 1.0}}  # fmt: skip
    session.client("s3").put_object(Bucket=bucket, Key=LEASE_KEY, Body=json.dumps(stuck).encode())
    [report] = pipeline_health(SETTINGS, session, now=now)
    assert report["state"] == "backlog"
    assert "recovery cannot tell what Splunk has, so it writes nothing: a search peer is down" in report["why"]
    assert report["recovery"]["search_unavailable"] == "a search peer is down"


def test_each_source_of_a_pipeline_gets_its_own_report_on_its_own_stream(deployed, monkeypatch):
    # A second source's unit names its stream by a stack output (sources/unit.py): health reads that stream's
    # metrics and judges it on its own, beside the shared stack and backlog, without a change to health.
    session, _ = deployed
    toy = dataclasses.replace(sources.CLOUDTRAIL, name="toy", label="Toy", stream_output="ToyStreamName")
    monkeypatch.setattr(sources, "SOURCES", (sources.CLOUDTRAIL, toy))
    real_status = pipeline.status

    def status_with_toy(*args, **kwargs):  # the stack as it is once the template has the toy's stream
        state = real_status(*args, **kwargs)
        state["outputs"]["ToyStreamName"] = "toy-stream"
        state["delivery_streams"]["toy"] = "ACTIVE"
        return state

    monkeypatch.setattr(pipeline, "status", status_with_toy)
    now = datetime.now(timezone.utc)
    put(session, "IncomingRecords", 120, now - timedelta(minutes=5))
    put(session, "DeliveryToSplunk.Success", 1.0, now - timedelta(minutes=5))
    trail, toys = pipeline_health(SETTINGS, session, now=now)
    assert (trail["log_source"], trail["state"]) == ("cloudtrail", "flowing")
    assert (toys["log_source"], toys["state"]) == ("toy", "idle")
    assert toys["why"] == "no Toy events reached Firehose in the last 15 minutes"
    assert toys["failed_delivery_backlog"] == trail["failed_delivery_backlog"] == 0
