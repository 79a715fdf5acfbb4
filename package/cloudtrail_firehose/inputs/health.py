"""How a deployed pipeline is doing: Firehose's delivery metrics, the stack, and the backlog of
failed deliveries, as one aws:firehose:health event with a verdict an admin can read at a glance."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from botocore.exceptions import BotoCoreError, ClientError

from cloudtrail_firehose import sources
from cloudtrail_firehose.aws import pipeline
from cloudtrail_firehose.aws.clients import PARSE_ERRORS, Clients, Session, clients, not_aws
from cloudtrail_firehose.aws.errors import PipelineError, explain
from cloudtrail_firehose.aws.settings import PipelineSettings
from cloudtrail_firehose.inputs.s3_lease import LEASE_KEY, Lease, LeaseHeldError
from cloudtrail_firehose.log import get_logger

# CloudWatch metric (namespace AWS/Firehose) -> (statistic, field name in the health event)
METRICS = {
    "DeliveryToSplunk.Success": ("Average", "success_rate"),
    "DeliveryToSplunk.DataFreshness": ("Maximum", "data_freshness_seconds"),
    "DeliveryToSplunk.DataAckLatency": ("Average", "ack_latency_seconds"),
    "DeliveryToSplunk.Records": ("Sum", "records_delivered"),
    "DeliveryToSplunk.Bytes": ("Sum", "bytes_delivered"),
    "IncomingRecords": ("Sum", "incoming_records"),
    "ThrottledRecords": ("Sum", "throttled_records"),
}
STALE_AFTER_SECONDS = 900
HEALTH_LEASE_KEY = "cloudtrail-firehose-health.lease"  # beside recovery's lease, outside Firehose's prefixes
# Answers that say AWS declined to tell us now, not that the pipeline is broken.
THROTTLED = ("ThrottlingException", "Throttling", "LimitExceededException", "TooManyRequestsException",
             "RequestLimitExceeded", "SlowDown", "ServiceUnavailable", "ServiceUnavailableException")


def delivery_metrics(cloudwatch, stream: str, now: datetime, window: timedelta = timedelta(minutes=15)) -> dict:
    """Each metric over the window (None when Firehose reported nothing)."""
    queries = [
        {"Id": f"m{i}", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": "AWS/Firehose", "MetricName": name,
                       "Dimensions": [{"Name": "DeliveryStreamName", "Value": stream}]},
            "Period": int(window.total_seconds()), "Stat": statistic}}
        for i, (name, (statistic, _)) in enumerate(METRICS.items())
    ]  # fmt: skip
    try:
        answer = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=now - window, EndTime=now)
    except (ClientError, BotoCoreError) as error:
        raise explain(error, "reading Firehose metrics from CloudWatch") from error
    values = {field: None for _, field in METRICS.values()}
    for result in answer["MetricDataResults"]:
        field = list(METRICS.values())[int(result["Id"][1:])][1]
        if result["Values"]:
            values[field] = result["Values"][0]
    return values


def verdict(report: dict) -> tuple[str, str]:
    """(state, why): not_deployed, unknown, failing, stalled, backlog, idle or flowing."""
    if report.get("stack_status") in (None, "NOT_DEPLOYED"):
        return "not_deployed", "no pipeline is deployed; run Deploy on the setup page"
    metrics = report["metrics"]
    stream = report.get("delivery_stream")
    code = _unknown_code(stream)
    if code is not None and code != "ResourceNotFoundException":
        # Throttled or denied: the stream's state is not known, which is no reason to raise the alert.
        advice = "AWS is throttling requests; the next poll retries" if code in THROTTLED else \
            "check the AWS identity's firehose:DescribeDeliveryStream permission"
        return "unknown", f"the delivery stream's state could not be read ({code}): {advice}"
    if stream not in (None, "ACTIVE"):
        return "failing", f"the delivery stream is {stream}"
    if metrics["success_rate"] is not None and metrics["success_rate"] < 1:
        return "failing", (f"only {metrics['success_rate']:.0%} of deliveries to Splunk succeed; "
                           "see the aws:firehose:error events for the reason")  # fmt: skip
    if (metrics["data_freshness_seconds"] or 0) > STALE_AFTER_SECONDS:
        return "stalled", f"the oldest undelivered record is {metrics['data_freshness_seconds']:.0f} s old"
    if isinstance(report.get("failed_delivery_backlog"), int) and report["failed_delivery_backlog"]:
        stuck = (report.get("recovery") or {}).get("search_unavailable")
        why = f"; recovery cannot tell what Splunk has, so it writes nothing: {stuck}" if stuck else ""
        count = report["failed_delivery_backlog"]
        count = pipeline.BACKLOG_MORE if count > pipeline.BACKLOG_CAP else count
        return "backlog", f"{count} failed-delivery object(s) wait for recovery{why}"
    if not metrics["incoming_records"]:
        label = {s.name: s.label for s in sources.SOURCES}.get(report.get("log_source"), "")
        return "idle", f"no {label + ' ' if label else ''}events reached Firehose in the last 15 minutes"
    return "flowing", "events reach Splunk"


def _unknown_code(state: object) -> str | None:
    """The AWS error code in pipeline.status's "unknown (<code>)" answer, else None."""
    if isinstance(state, str) and state.startswith("unknown (") and state.endswith(")"):
        return state.removeprefix("unknown (").removesuffix(")")
    return None


def recovery_status(s3, bucket: str) -> dict:
    """Why the recovery input is stuck, as it records it with its lease: {} when it is not (or unknown)."""
    try:
        body = s3.get_object(Bucket=bucket, Key=LEASE_KEY)["Body"].read()
        status = json.loads(body).get("status")
    except (ClientError, BotoCoreError, ValueError, AttributeError):
        return {}
    return status if isinstance(status, dict) else {}


def reports_here(s3, bucket: str, owner: str) -> bool:
    """Whether this owner holds (or now takes) the health lease in the pipeline's bucket."""
    try:
        Lease(s3, bucket, owner, key=HEALTH_LEASE_KEY).acquire()
    except LeaseHeldError:
        return False
    except ClientError as error:
        # Without s3:PutObject there is no lease: report (perhaps twice) rather than fall silent.
        code = error.response.get("Error", {}).get("Code", "Unknown")
        get_logger("health").warning("health lease in %s not taken (%s); reporting anyway", bucket, code)
    return True


def pipeline_health(settings: PipelineSettings, session: Session = None, now: datetime | None = None,
                    owner: str | None = None) -> list[dict] | None:  # fmt: skip
    """The pipeline's health: one report per source it delivers (sources/), each with its stream's state
    and metrics beside what they share (the stack, its drift, the failed-delivery backlog); one report
    without a source when nothing is deployed.

    With owner (this Splunk instance and stanza), only the holder of the pipeline's health lease
    reports, so the members of a search head cluster write one report per poll between them: None
    when another member holds it.
    """
    now = now or datetime.now(timezone.utc)
    client: Clients = clients(session, settings.region)
    state = _answered(settings.region, "reading the stack's state", pipeline.status, settings, client,
                      detect_drift=False)  # fmt: skip
    shared = {"pipeline": settings.stack_name, "region": settings.region, "stack_status": state["status"]}
    streams = state.get("delivery_streams") or {}
    if state["status"] == "NOT_DEPLOYED" or not streams:
        report = {**shared, "metrics": {field: None for _, field in METRICS.values()}}
        report["state"], report["why"] = verdict(report)
        return [report]
    bucket = state["outputs"].get("FailedDeliveryBucketName")
    if owner and bucket and not _answered(settings.region, "taking the health lease", reports_here,
                                          client("s3"), bucket, owner):  # fmt: skip
        return None
    backlog = state.get("failed_delivery_objects")
    # A number for the dashboard's chart: beyond the count's cap, one more than it (the verdict says so).
    backlog = pipeline.BACKLOG_CAP + 1 if backlog == pipeline.BACKLOG_MORE else backlog
    shared.update(drift=state["drift"], failed_delivery_backlog=backlog)
    if bucket:
        shared["recovery"] = recovery_status(client("s3"), bucket)
    reports = []
    for source in sources.SOURCES:
        if source.name not in streams:
            continue
        report = {**shared, "log_source": source.name, "delivery_stream": streams[source.name]}
        report["metrics"] = _answered(settings.region, "reading Firehose metrics", delivery_metrics,
                                      client("cloudwatch"), state["outputs"][source.stream_output], now)  # fmt: skip
        report["state"], report["why"] = verdict(report)
        reports.append(report)
    return reports


def _answered(region: str, doing: str, call, *args, **kwargs):
    """call(...), with an answer that is not AWS's API (botocore's parse errors, or a result missing what
    every real answer has, as from a proxy's HTML page) raised as a PipelineError that says so."""
    try:
        return call(*args, **kwargs)
    except PARSE_ERRORS as error:
        raise PipelineError(not_aws(region, doing)) from error
