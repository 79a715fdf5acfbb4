"""Drive the CloudFormation stack that holds the AWS side: preflight, plan, apply, status, destroy, export.

CloudFormation does the ordering, rollback and teardown; these modules prepare, watch and explain. This
one is the entry point (apply is ensure_pipeline); each job has its own module: preflight.py (with
permissions.py), change_sets.py (plan, converge, stack events), hec_secret.py (the HEC token's secret),
kept_buckets.py (buckets an earlier destroy kept). Every function takes the flow's Clients
(aws/clients.py) or a boto3 session to build them from (default: the default credential chain), so
tests pass moto-backed ones and AWS_ENDPOINT_URL points everything at an emulator. A flow's functions
pass their Clients on: each client is made once.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, WaiterError
from botocore.parsers import ResponseParserError

from cloudtrail_firehose import sources
from cloudtrail_firehose.aws import change_sets, hec_secret, kept_buckets, rendering
from cloudtrail_firehose.aws.change_sets import (
    TEMPLATE_PATH,
    Plan,
    Progress,
    event_ids,
    failure_reason,
    outputs_of,
    plan,
    read_stack,
    service_role,
    stack_outputs,
    watch,
)
from cloudtrail_firehose.aws.checks import Check
from cloudtrail_firehose.aws.clients import Clients, Session, clients
from cloudtrail_firehose.aws.errors import PipelineError, aws_call, explain
from cloudtrail_firehose.aws.hec_secret import ensure_hec_token_secret, hec_token_settled_at
from cloudtrail_firehose.aws.preflight import preflight
from cloudtrail_firehose.aws.settings import PipelineSettings
from cloudtrail_firehose.firehose.records import failed_delivery_prefixes

# The entry point's API: its own functions and the jobs' that its callers (CLI, setup handler, health input) use.
__all__ = ["TEMPLATE_PATH", "Check", "Plan", "Progress", "Session", "destroy", "ensure_hec_token_secret",
           "ensure_pipeline", "export", "hec_token_settled_at", "plan", "preflight", "processor_zip", "stack_outputs",
           "status"]  # fmt: skip

PROCESSOR_FILES = tuple(Path(__file__).resolve().parents[1] / "firehose" / name
                        for name in ("lambda_processor.py", "lambda_putback.py"))  # the handler's module first
# The failed-delivery backlog is counted up to this many objects (ten ListObjectsV2 pages), then said in words.
BACKLOG_CAP = 10_000
BACKLOG_MORE = f"more than {BACKLOG_CAP}"


def ensure_pipeline(
    settings: PipelineSettings,
    session: Session = None,
    progress: Progress = print,
    hec_tokens: Mapping[str, str] | None = None,
    sleep=time.sleep,
) -> dict[str, str]:
    """Each collected source's HEC token secret first (hec_tokens: source name -> token; a source without one
    must have its secret already), then kept buckets adopted, then the stack converged (apply); return the
    outputs."""
    client = clients(session, settings.region)
    settings.validate()
    # The secret holds the real token before the stack exists, so Firehose never delivers with another.
    for source in sources.chosen(vars(settings)):
        arn = ensure_hec_token_secret(client("secretsmanager"), hec_secret.secret_name(settings, source),
                                      (hec_tokens or {}).get(source.name), progress, source)  # fmt: skip
        settings = replace(settings, **{hec_secret.arn_setting(source): arn})
    kept_buckets.adopt_kept_buckets(settings, client, progress, sleep)
    if settings.processor == "lambda":
        settings = _ensure_processor_code(settings, client, progress, sleep)
    change_sets.converge(settings, client, progress, sleep)
    return stack_outputs(client("cloudformation"), settings.stack_name)


def processor_zip() -> bytes:
    """The Lambda processor as a deployment package: its two files at the top, standard library only."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in PROCESSOR_FILES:
            info = zipfile.ZipInfo(path.name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _ensure_processor_code(settings: PipelineSettings, client: Clients, progress: Progress, sleep) -> PipelineSettings:
    """Upload the processor's code to the failed-delivery bucket (created first if needed)."""
    code = processor_zip()
    key = f"lambda/processor-{hashlib.sha256(code).hexdigest()[:16]}.zip"
    bucket = settings.bucket_names(client.account)[0]
    s3 = client("s3")
    if not _bucket_exists(s3, bucket):
        progress("Creating the stack without the processor first: its code goes into the stack's bucket")
        change_sets.converge(replace(settings, processor_code_key=""), client, progress, sleep)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        aws_call("uploading the processor's code", s3.put_object, Bucket=bucket, Key=key, Body=code)
        progress(f"Processor code uploaded to s3://{bucket}/{key}")
    return replace(settings, processor_code_key=key)


def status(
    settings: PipelineSettings, session: Session = None, sleep=time.sleep, detect_drift: bool = True
) -> dict:
    """The stack's state, outputs, drift, each deployed source's stream state (delivery_streams, by source
    name) and the failed-delivery backlog.

    detect_drift starts a new drift detection; without it the last detection's result is reported.
    """
    client = clients(session, settings.region)
    cfn = client("cloudformation")
    stack = read_stack(cfn, settings.stack_name)
    if stack is None:
        return {"stack": settings.stack_name, "status": "NOT_DEPLOYED"}
    outputs = outputs_of(stack)
    last_drift = stack.get("DriftInformation", {}).get("StackDriftStatus", "NOT_CHECKED")
    report = {"stack": settings.stack_name, "status": stack["StackStatus"], "outputs": outputs,
              "drift": _drift(cfn, settings.stack_name, sleep) if detect_drift else last_drift}  # fmt: skip
    report["delivery_streams"] = {
        source.name: _stream_state(client("firehose"), outputs[source.stream_output])
        for source in sources.SOURCES if source.stream_output in outputs
    }  # fmt: skip
    if "FailedDeliveryBucketName" in outputs:
        report["failed_delivery_objects"] = _backlog(client("s3"), outputs["FailedDeliveryBucketName"])
    return report


def _stream_state(firehose, name: str) -> str:
    try:
        return firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"][
            "DeliveryStreamStatus"]
    except ClientError as error:
        return f"unknown ({error.response['Error']['Code']})"


def _backlog(s3, bucket: str) -> int | str:
    """Objects Firehose wrote that recovery has not moved yet (recovered/, needs-attention/, lambda/ are not).

    ListObjectsV2 answers at most 1,000 keys a page (Amazon S3 API Reference, ListObjectsV2: MaxKeys), so
    the count follows NextContinuationToken, up to BACKLOG_CAP: beyond it the answer is BACKLOG_MORE.
    """
    count = 0
    try:
        for prefix in failed_delivery_prefixes():
            token: dict[str, str] = {}
            while count <= BACKLOG_CAP:
                page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1000, **token)
                count += page.get("KeyCount", 0)
                if not page.get("IsTruncated"):
                    break
                token = {"ContinuationToken": page["NextContinuationToken"]}
    except ClientError as error:
        return f"unknown ({error.response['Error']['Code']})"
    return BACKLOG_MORE if count > BACKLOG_CAP else count


def _drift(cfn, stack_name: str, sleep) -> str:
    try:
        detection = cfn.detect_stack_drift(StackName=stack_name)["StackDriftDetectionId"]
        for _ in range(30):
            result = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
            if result["DetectionStatus"] != "DETECTION_IN_PROGRESS":
                return result.get("StackDriftStatus", "UNKNOWN")
            sleep(2)
    except (ClientError, BotoCoreError, ResponseParserError, NotImplementedError) as error:
        return f"unknown ({type(error).__name__})"
    return "UNKNOWN (detection still running)"


def destroy(
    settings: PipelineSettings,
    session: Session = None,
    delete_data: bool = False,
    progress: Progress = print,
    sleep=time.sleep,
) -> list[str]:
    """Delete the stack. Its buckets are kept (they may hold data) unless delete_data; return kept buckets."""
    client = clients(session, settings.region)
    cfn = client("cloudformation")
    stack = read_stack(cfn, settings.stack_name)
    if stack is None:
        progress(f"Stack {settings.stack_name} does not exist; nothing to remove.")
    else:
        before = event_ids(cfn, settings.stack_name)
        aws_call("deleting the stack", cfn.delete_stack, StackName=settings.stack_name, **service_role(settings))
        final = watch(cfn, settings.stack_name, before, progress, sleep)
        if final != "DELETE_COMPLETE":
            raise PipelineError(failure_reason(cfn, settings.stack_name, before, final))
        progress(f"Stack {settings.stack_name}: DELETE_COMPLETE")
    for source in sources.SOURCES:  # every source's, also one no longer collected
        hec_secret.retire(client("secretsmanager"), hec_secret.secret_name(settings, source), progress)
    s3 = client("s3")
    buckets = [b for b in settings.bucket_names(client.account) if _bucket_exists(s3, b)]
    if not delete_data:
        for bucket in buckets:
            progress(f"Kept S3 bucket {bucket}: it may hold CloudTrail logs or failed deliveries. "
                     "Run destroy again with --delete-data to delete it and everything in it.")  # fmt: skip
        return buckets
    for bucket in buckets:
        _empty_and_delete_bucket(s3, bucket)
        progress(f"Deleted S3 bucket {bucket} and its contents")
    return []


def _bucket_exists(s3, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise explain(error, f"checking bucket {bucket}") from error


def _empty_and_delete_bucket(s3, bucket: str) -> None:
    try:
        paginator = s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]  # fmt: skip
            if doomed:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
        s3.delete_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchBucket":
            raise explain(error, f"deleting bucket {bucket}") from error
    except WaiterError as error:
        raise explain(error, f"deleting bucket {bucket}") from error


def export(settings: PipelineSettings, directory: Path, session: Session = None) -> tuple[Path, Path]:
    """Write the template and a parameters file for teams that deploy the stack themselves (session: to list
    the region's VPCs when the flow logs are to cover every VPC; the default credential chain if none)."""
    settings.validate()
    directory.mkdir(parents=True, exist_ok=True)
    template = directory / "cloudtrail_firehose.template.yaml"
    parameters = directory / "cloudtrail_firehose.parameters.json"
    template.write_text(rendering.template_text(settings, session))  # one flow log per VPC
    parameters.write_text(json.dumps(settings.template_parameters(), indent=2) + "\n")
    (directory / "cloudtrail_firehose.processor.zip").write_bytes(processor_zip())
    return template, parameters
