"""Pipeline health against moto: metrics the test puts into CloudWatch become a verdict."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import boto3
import moto_shims  # noqa: F401
import pytest
from cloudtrail_firehose.aws import pipeline
from cloudtrail_firehose.aws.settings import PipelineSettings
from cloudtrail_firehose.inputs.health import pipeline_health, verdict
from moto import mock_aws

SETTINGS = PipelineSettings(hec_url="https://hec.example.com", region="us-east-1")


@pytest.fixture
def deployed(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    warnings.filterwarnings("ignore", message="Tried to parse")
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        outputs = pipeline.ensure_pipeline(SETTINGS, session, progress=lambda m: None, sleep=lambda s: None)
        yield session, outputs


def put(session, name: str, value: float, when: datetime) -> None:
    session.client("cloudwatch").put_metric_data(Namespace="AWS/Firehose", MetricData=[{
        "MetricName": name, "Value": value, "Timestamp": when,
        "Dimensions": [{"Name": "DeliveryStreamName", "Value": "cloudtrail-firehose"}]}])  # fmt: skip


def test_a_healthy_pipeline_is_flowing(deployed):
    session, _ = deployed
    now = datetime.now(UTC)
    for name, value in (("IncomingRecords", 120), ("DeliveryToSplunk.Success", 1.0),
                        ("DeliveryToSplunk.DataFreshness", 42), ("DeliveryToSplunk.Records", 120)):  # fmt: skip
        put(session, name, value, now - timedelta(minutes=2))
    report = pipeline_health(SETTINGS, session, now=now)
    assert report["state"] == "flowing", report
    assert report["metrics"]["incoming_records"] == 120
    assert report["metrics"]["data_freshness_seconds"] == 42
    assert report["delivery_stream"] == "ACTIVE"
    assert report["stack_status"] == "CREATE_COMPLETE"


def test_failing_deliveries_and_a_backlog_are_called_out(deployed):
    session, outputs = deployed
    now = datetime.now(UTC)
    put(session, "IncomingRecords", 50, now - timedelta(minutes=1))
    put(session, "DeliveryToSplunk.Success", 0.25, now - timedelta(minutes=1))
    report = pipeline_health(SETTINGS, session, now=now)
    assert report["state"] == "failing"
    assert "25%" in report["why"]
    session.client("s3").put_object(Bucket=outputs["FailedDeliveryBucketName"], Key="splunk-failed/x", Body=b"{}")
    put(session, "DeliveryToSplunk.Success", 1.0, now)
    later = pipeline_health(SETTINGS, session, now=now + timedelta(seconds=1))
    assert later["failed_delivery_backlog"] == 1


def test_no_traffic_is_idle_and_old_data_is_stalled():
    base = {"stack_status": "CREATE_COMPLETE", "delivery_stream": "ACTIVE", "failed_delivery_backlog": 0}
    quiet = {"success_rate": None, "data_freshness_seconds": None, "incoming_records": None}
    assert verdict({**base, "metrics": quiet})[0] == "idle"
    stale = {"success_rate": 1.0, "data_freshness_seconds": 3600, "incoming_records": 10}
    assert verdict({**base, "metrics": stale}) == ("stalled", "the oldest undelivered record is 3600 s old")
    assert verdict({"stack_status": "NOT_DEPLOYED", "metrics": quiet})[0] == "not_deployed"
