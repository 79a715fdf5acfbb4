"""The stack's life over several applies and destroys, the accounts it meets, and how it is driven."""

from __future__ import annotations

import json
from dataclasses import replace

import moto_shims  # registers the CloudFormation resources moto lacks
import pytest
from botocore.exceptions import ClientError
from cloudtrail_firehose.__main__ import run
from cloudtrail_firehose.aws import change_sets, kept_buckets, permissions, pipeline
from cloudtrail_firehose.aws.clients import Clients
from cloudtrail_firehose.aws.errors import PipelineError
from cloudtrail_firehose.inputs import health
from cloudtrail_firehose.sources.vpcflow import FORMATS, log_format
from deployments import ACCOUNT, REGION, SETTINGS, deploy, no_sleep
from iam_eval import allowed

GROUP = "/aws/cloudtrail/company"
TRAIL_BUCKET = f"cloudtrail-firehose-trail-{ACCOUNT}-{REGION}"
FAILED_BUCKET = f"cloudtrail-firehose-failed-{ACCOUNT}-{REGION}"




def held(aws) -> dict[str, str]:
    """Logical id -> physical id of what the stack holds."""
    summaries = aws.client("cloudformation").list_stack_resources(StackName=SETTINGS.stack_name)
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries["StackResourceSummaries"]
            if r["LogicalResourceId"]}  # fmt: skip


def stack_status(aws) -> str:
    return aws.client("cloudformation").describe_stacks(StackName=SETTINGS.stack_name)["Stacks"][0]["StackStatus"]


# --- point 10: kept buckets adopted into an existing stack ------------------------------------------


@pytest.mark.slow
def test_switching_back_to_a_trail_adopts_the_trail_bucket_an_earlier_destroy_kept(aws):
    """AWS CloudFormation User Guide, "Import AWS resources into a CloudFormation stack": an existing stack
    takes in a kept bucket through an IMPORT change set (its own template plus the bucket, parameters as
    they are) before the update that would otherwise try to create it and fail with "already exists"."""
    deploy(aws)  # with a trail
    s3 = aws.client("s3")
    s3.put_object(Bucket=TRAIL_BUCKET, Key="AWSLogs/old-trail-log.json.gz", Body=b"kept")
    assert sorted(pipeline.destroy(SETTINGS, aws, progress=lambda m: None, sleep=no_sleep)) == sorted(
        [FAILED_BUCKET, TRAIL_BUCKET])  # fmt: skip
    aws.client("logs").create_log_group(logGroupName=GROUP)
    deploy(aws, replace(SETTINGS, existing_log_group=GROUP), token=None)  # no trail, no trail bucket
    assert "TrailBucket" not in held(aws)

    outputs, messages = deploy(aws, token=None)  # back to a trail
    assert any(m.startswith("Adopting the S3 bucket(s) an earlier destroy kept") and TRAIL_BUCKET in m
               for m in messages)  # fmt: skip
    assert "Stack cloudtrail-firehose: IMPORT_COMPLETE" in messages
    assert stack_status(aws) == "UPDATE_COMPLETE"
    assert held(aws)["TrailBucket"] == TRAIL_BUCKET
    assert held(aws)["FailedDeliveryBucket"] == FAILED_BUCKET
    assert outputs["TrailBucketName"] == TRAIL_BUCKET
    assert s3.get_object(Bucket=TRAIL_BUCKET, Key="AWSLogs/old-trail-log.json.gz")["Body"].read() == b"kept"
    parameters = aws.client("cloudformation").describe_stacks(StackName=SETTINGS.stack_name)["Stacks"][0]["Parameters"]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in parameters}["ExistingLogGroupName"] == ""
    # And nothing left over: the same settings again change nothing.
    _, messages = deploy(aws, token=None)
    assert any(m.startswith("Nothing to change") for m in messages)


def test_the_emulated_cloudformation_fails_on_a_bucket_that_exists_as_documented(aws):
    """AWS CloudFormation User Guide, "Troubleshooting CloudFormation": a named resource that already exists
    fails with "<name> already exists" and the stack rolls back (a new stack to ROLLBACK_COMPLETE)."""
    aws.client("s3").create_bucket(Bucket=FAILED_BUCKET)
    with pytest.raises(PipelineError, match=f"deploy failed at FailedDeliveryBucket .*{FAILED_BUCKET} already exists"):
        deploy(aws)
    assert stack_status(aws) == "ROLLBACK_COMPLETE"


@pytest.mark.slow
def test_the_emulated_cloudformation_imports_into_an_existing_stack_as_documented(aws):
    """AWS CloudFormation User Guide, "Import AWS resources into a CloudFormation stack": an import into an
    existing stack may only add the resources it imports; anything else modified is refused, and so is a
    resource the template would not create (its Condition false with the stack's parameters)."""
    settings = replace(SETTINGS, existing_log_group=GROUP)
    aws.client("logs").create_log_group(logGroupName=GROUP)
    deploy(aws, settings)
    aws.client("s3").create_bucket(Bucket=TRAIL_BUCKET)
    cfn = aws.client("cloudformation")
    current = cfn.get_template(StackName=SETTINGS.stack_name)["TemplateBody"]
    previous = [{"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
                for p in cfn.describe_stacks(StackName=SETTINGS.stack_name)["Stacks"][0]["Parameters"]]  # fmt: skip
    to_import = [{"ResourceType": "AWS::S3::Bucket", "LogicalResourceId": "TrailBucket",
                  "ResourceIdentifier": {"BucketName": TRAIL_BUCKET}}]  # fmt: skip
    changed = [{**p, "UsePreviousValue": False, "ParameterValue": "7"} if p["ParameterKey"] == "LogRetentionDays"
               else p for p in previous]  # fmt: skip
    for template, parameters, reason in (
            (kept_buckets.import_into(current, ["TrailBucket"]), changed, "You have modified resources"),
            (kept_buckets.import_into(current, ["TrailBucket"]).replace("RetentionInDays: ", "RetentionInDays: 1#"),
             previous, "You have modified resources"),
            (pipeline.TEMPLATE_PATH.read_text(), previous, "its Condition is false")):  # fmt: skip
        with pytest.raises(ClientError, match=reason):
            cfn.create_change_set(StackName=SETTINGS.stack_name, ChangeSetName="import", ChangeSetType="IMPORT",
                                  TemplateBody=template, Parameters=parameters, ResourcesToImport=to_import,
                                  Capabilities=change_sets.CAPABILITIES)  # fmt: skip
    cfn.create_change_set(StackName=SETTINGS.stack_name, ChangeSetName="import", ChangeSetType="IMPORT",
                          TemplateBody=kept_buckets.import_into(current, ["TrailBucket"]), Parameters=previous,
                          ResourcesToImport=to_import, Capabilities=change_sets.CAPABILITIES)  # fmt: skip
    cfn.execute_change_set(StackName=SETTINGS.stack_name, ChangeSetName="import")
    assert stack_status(aws) == "IMPORT_COMPLETE"
    assert held(aws)["TrailBucket"] == TRAIL_BUCKET
    assert len([s for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"]) == 1


# --- point 15: a member account, and a backlog of more than one page ----------------------------------

MANAGEMENT = "111111111111"
ORG_GROUP = "aws-controltower/CloudTrailLogs"


class _MemberCloudTrail:
    """CloudTrail as a member account sees it: the organization's trail, owned by the management account, whose
    log group is there too (AWS CloudTrail User Guide, "Creating a trail for an organization"), and maybe one
    of its own. moto's trails are always the caller's own."""

    def __init__(self, own: bool = False) -> None:
        name = "aws-controltower-BaselineCloudTrail"
        self.trails = [{"Name": name, "HomeRegion": REGION, "IsOrganizationTrail": True,
                        "TrailARN": f"arn:aws:cloudtrail:{REGION}:{MANAGEMENT}:trail/{name}",
                        "CloudWatchLogsLogGroupArn": f"arn:aws:logs:{REGION}:{MANAGEMENT}:log-group:{ORG_GROUP}:*"}]
        if own:
            self.trails.append({"Name": "team", "HomeRegion": REGION, "IsOrganizationTrail": False,
                                "TrailARN": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/team",
                                "CloudWatchLogsLogGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:*"})
        # fmt: skip

    def describe_trails(self, includeShadowTrails: bool) -> dict:  # noqa: N803 - boto3's argument name
        return {"trailList": self.trails}

    def get_trail_status(self, Name: str) -> dict:  # noqa: N803
        return {"IsLogging": True}


def member_preflight(aws, settings=SETTINGS, own: bool = False) -> dict[str, pipeline.Check]:
    client = Clients(aws, REGION)
    client._made["cloudtrail"] = _MemberCloudTrail(own)
    return {c.name: c for c in pipeline.preflight(settings, client, check_certificate=False)}


@pytest.mark.slow
def test_a_member_account_is_not_offered_the_management_accounts_log_group(aws):
    """An organization trail's log group is in the management account: a member account can neither subscribe
    to it nor read it, so preflight there suggests only log groups of its own account."""
    check = member_preflight(aws)["existing trails"]
    assert f"existing_log_group={ORG_GROUP}" not in check.detail
    assert f"belongs to the organization's management account {MANAGEMENT}" in check.detail
    assert "second copy of management events" in check.detail
    check = member_preflight(aws, own=True)["existing trails"]
    assert f"Set existing_log_group={GROUP}" in check.detail
    assert f"existing_log_group={ORG_GROUP}" not in check.detail

    check = member_preflight(aws, replace(SETTINGS, existing_log_group=ORG_GROUP))["trail to log group"]
    assert check.ok is False
    assert f"no trail in this account writes to {ORG_GROUP}" in check.detail
    assert f"management account {MANAGEMENT}" in check.detail


@pytest.mark.slow
def test_the_backlog_counts_past_the_first_page_of_a_thousand_keys(aws, monkeypatch):
    """Amazon S3 API Reference, ListObjectsV2: at most 1,000 keys a response (MaxKeys), the rest behind
    NextContinuationToken; the stand-in pages as S3 does. Beyond the cap the count is said in words, and
    health calls the backlog out with a number the dashboard can chart."""
    from moto.s3.models import s3_backends

    outputs, _ = deploy(aws)
    s3 = aws.client("s3")
    bucket = outputs["FailedDeliveryBucketName"]
    stored = s3_backends[ACCOUNT]["aws"]  # the objects go straight into the stand-in: 1,500 PutObject calls took 8 s
    for n in range(1500):
        stored.put_object(bucket, f"splunk-failed/2026/01/01/{n:05}", b"")
    page = s3.list_objects_v2(Bucket=bucket, MaxKeys=5000)
    assert (page["KeyCount"], page["IsTruncated"]) == (1000, True)
    assert pipeline.status(SETTINGS, aws, detect_drift=False)["failed_delivery_objects"] == 1500

    monkeypatch.setattr(pipeline, "BACKLOG_CAP", 1200)
    monkeypatch.setattr(pipeline, "BACKLOG_MORE", "more than 1200")
    assert pipeline.status(SETTINGS, aws, detect_drift=False)["failed_delivery_objects"] == "more than 1200"
    [report] = health.pipeline_health(SETTINGS, aws)
    assert report["failed_delivery_backlog"] == 1201
    assert (report["state"], report["why"]) == ("backlog", "more than 1200 failed-delivery object(s) wait for "
                                                "recovery")  # fmt: skip


# --- point 16: a CloudFormation service role ------------------------------------------------------

SERVICE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/cloudformation-deployer"


def trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})  # fmt: skip


@pytest.mark.slow
def test_the_command_line_runs_every_change_set_and_delete_with_the_service_role(aws, monkeypatch):
    """AWS CloudFormation User Guide, "CloudFormation service role": CreateChangeSet and DeleteStack take the
    role as RoleARN, and CloudFormation refuses one that does not exist or does not trust it."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("CLOUDTRAIL_FIREHOSE_HEC_TOKEN", "0a1b2c3d-0000-4000-8000-000000000001")
    moto_shims.ROLES_USED.clear()
    out: list[str] = []
    args = ["--hec-url", "https://hec.example.com", "--cloudformation-role-arn", SERVICE_ROLE]
    assert run(["apply", *args], out=out.append) == 1
    assert f"Role {SERVICE_ROLE} is invalid or cannot be assumed" in out[-1]  # it does not exist yet
    iam = aws.client("iam")
    iam.create_role(RoleName="cloudformation-deployer", AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))
    assert run(["apply", *args], out=out.append) == 1
    assert f"Role {SERVICE_ROLE} is invalid or cannot be assumed" in out[-1]  # it does not trust CloudFormation
    iam.update_assume_role_policy(RoleName="cloudformation-deployer",
                                  PolicyDocument=trust("cloudformation.amazonaws.com"))  # fmt: skip

    assert run(["apply", *args], out=out.append) == 0, out
    assert run(["destroy", *args], out=out.append) == 0, out
    assert run(["apply", *args], out=out.append) == 0, out  # adopts the kept buckets: an IMPORT change set
    assert "Stack cloudtrail-firehose: IMPORT_COMPLETE" in out
    assert [operation for operation, role in moto_shims.ROLES_USED if role == SERVICE_ROLE].count(
        "CreateChangeSet") >= 3  # fmt: skip
    assert ("DeleteStack", SERVICE_ROLE) in moto_shims.ROLES_USED
    assert set(_change_sets_created(aws)) == {SERVICE_ROLE}


def _change_sets_created(aws) -> list[str]:
    """The RoleARN moto kept on each change set of the stack."""
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[ACCOUNT][REGION]
    return [c.role_arn for c in backend.change_sets.values() if c.stack_name == SETTINGS.stack_name]


class _Iam:
    """IAM for preflight: GetRole from moto, SimulatePrincipalPolicy (which moto lacks) evaluating each principal's
    policy as the IAM API reference describes it, ResourceArns and context keys included."""

    def __init__(self, real, policies: dict[str, list[dict]]) -> None:
        self.real, self.policies = real, policies

    def get_role(self, RoleName: str) -> dict:  # noqa: N803 - boto3's argument names
        return self.real.get_role(RoleName=RoleName)

    def simulate_principal_policy(self, PolicySourceArn, ActionNames, ContextEntries=(),  # noqa: N803
                                  ResourceArns=("*",), Marker=None):  # noqa: N803 # fmt: skip
        context = {e["ContextKeyName"]: e["ContextKeyValues"][0] for e in ContextEntries}
        statements = self.policies[PolicySourceArn]
        return {"IsTruncated": False, "EvaluationResults": [
            {"EvalActionName": a, "EvalDecision": "allowed" if allowed(statements, a, ResourceArns[0], context)
             else "implicitDeny"} for a in ActionNames]}  # fmt: skip


def statements(*sids: str) -> list[dict]:
    return [s for s in json.loads(permissions.DEPLOY_POLICY_PATH.read_text())["Statement"] if s["Sid"] in sids]


CALLER = f"arn:aws:iam::{ACCOUNT}:user/deployer"
NARROW = ("DriveTheStack", "AppCalls", permissions.PASS_SERVICE_ROLE)  # what a person needs with a service role
WHOLE = ("DriveTheStack", "AppCalls", "StackResources", "PassTheStackRolesToTheirServices")


WITH_ROLE = replace(SETTINGS, cloudformation_role_arn=SERVICE_ROLE)


def role_preflight(aws, monkeypatch, caller: tuple[str, ...], role: tuple[str, ...] = WHOLE,
                   settings=WITH_ROLE) -> dict[str, pipeline.Check]:  # fmt: skip
    client = Clients(aws, REGION)
    client._made["iam"] = _Iam(aws.client("iam"), {CALLER: statements(*caller), SERVICE_ROLE: statements(*role)})
    monkeypatch.setattr(client, "identity", lambda: {"Arn": CALLER, "Account": ACCOUNT, "UserId": "AIDA"})
    return {c.name: c for c in pipeline.preflight(settings, client, check_certificate=False)}


@pytest.mark.slow
def test_preflight_checks_the_service_role_and_asks_the_person_only_for_what_they_do(aws, monkeypatch):
    """AWS CloudFormation User Guide, "CloudFormation service role", and IAM User Guide, "Grant a user permissions
    to pass a role to an AWS service": the role exists, trusts cloudformation.amazonaws.com and holds the deploy
    policy; the person may pass it (iam:PassedToService) and needs no permission for the stack's resources."""
    checks = role_preflight(aws, monkeypatch, NARROW)
    assert checks["service role"].ok is False
    assert "does not exist" in checks["service role"].detail
    iam = aws.client("iam")
    iam.create_role(RoleName="cloudformation-deployer", AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))
    checks = role_preflight(aws, monkeypatch, NARROW)
    assert checks["service role"].ok is False
    assert "does not let cloudformation.amazonaws.com assume it" in checks["service role"].detail
    iam.update_assume_role_policy(RoleName="cloudformation-deployer",
                                  PolicyDocument=trust("cloudformation.amazonaws.com"))  # fmt: skip

    checks = role_preflight(aws, monkeypatch, NARROW)
    assert checks["service role"].ok is True, checks["service role"].detail
    assert checks["permissions"].ok is True, checks["permissions"].detail
    assert checks["service role permissions"].ok is True, checks["service role permissions"].detail

    checks = role_preflight(aws, monkeypatch, ("DriveTheStack", "AppCalls"))
    assert checks["service role"].ok is False
    assert f"may not pass {SERVICE_ROLE} to CloudFormation" in checks["service role"].detail
    checks = role_preflight(aws, monkeypatch, NARROW, role=("AppCalls", "PassTheStackRolesToTheirServices"))
    assert checks["service role permissions"].ok is False
    assert "firehose:CreateDeliveryStream" in checks["service role permissions"].detail
    # Without a service role the same person lacks what CloudFormation then does with their permissions.
    checks = role_preflight(aws, monkeypatch, NARROW, settings=SETTINGS)
    assert checks["permissions"].ok is False
    assert "firehose:CreateDeliveryStream" in checks["permissions"].detail
    assert "service role" not in checks
    assert role_preflight(aws, monkeypatch, WHOLE, settings=SETTINGS)["permissions"].ok is True


# --- issue 23: CloudTrail, VPC Flow Logs, or both ------------------------------------------------------------


def with_flow_logs(aws, **changes):
    """Settings that collect VPC Flow Logs, their token's secret stored first (as the deploy does for CloudTrail's)."""
    settings = replace(SETTINGS, collect_vpc_flow_logs=True, **changes)
    aws.client("secretsmanager").create_secret(Name=settings.vpcflow_hec_token_secret_name,
                                               SecretString=json.dumps({"hec_token": "vpcflow-token"}))  # fmt: skip
    return settings


def flow_logs(aws) -> dict[str, dict]:
    return {f["ResourceId"]: f for f in aws.client("ec2").describe_flow_logs()["FlowLogs"]}


@pytest.mark.slow
def test_vpc_flow_logs_alone_deploy_their_stream_and_one_flow_log_per_vpc_and_leave_with_the_stack(aws):
    ec2 = aws.client("ec2")
    made = [ec2.create_vpc(CidrBlock=f"10.{n}.0.0/16")["Vpc"]["VpcId"] for n in (1, 2)]
    every = sorted(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"])  # moto's default VPC too
    settings = with_flow_logs(aws, collect_cloudtrail=False, vpc_flow_record_format="default",
                              vpc_flow_traffic_type="REJECT", vpc_flow_aggregation_interval=60)  # fmt: skip
    outputs, _ = deploy(aws, settings)
    assert {"VpcFlowDeliveryStreamName", "VpcFlowDeliveryStreamArn", "VpcFlowHecTokenSecretArn"} <= set(outputs)
    assert not {"DeliveryStreamName", "TrailName", "LogGroupName", "HecTokenSecretArn"} & set(outputs)
    assert outputs["VpcFlowDeliveryStreamName"] == "cloudtrail-firehose-vpcflow"
    logged = flow_logs(aws)
    assert sorted(logged) == every  # vpc_ids empty: every VPC of the region, listed at plan
    stream = outputs["VpcFlowDeliveryStreamArn"]
    for flow_log in logged.values():
        assert (flow_log["LogDestinationType"], flow_log["LogDestination"]) == ("kinesis-data-firehose", stream)
        assert (flow_log["TrafficType"], flow_log["MaxAggregationInterval"]) == ("REJECT", 60)
        assert flow_log["LogFormat"] == log_format(FORMATS["default"])
    tags = aws.client("firehose").list_tags_for_delivery_stream(DeliveryStreamName=outputs["VpcFlowDeliveryStreamName"])
    assert {"Key": "LogDeliveryEnabled", "Value": "true"} in tags["Tags"]
    resources = held(aws)
    assert not {"Trail", "DeliveryStream"} & set(resources)
    assert {f"VpcFlowLog{v[4:]}" for v in every} <= set(resources)
    secret = aws.client("secretsmanager").describe_secret(SecretId=settings.vpcflow_hec_token_secret_name)["ARN"]
    assert outputs["VpcFlowHecTokenSecretArn"] == secret
    report = pipeline.status(settings, aws, sleep=no_sleep, detect_drift=False)
    assert report["delivery_streams"] == {"vpcflow": "ACTIVE"}

    # Fewer VPCs: the others' flow logs go, the one kept keeps its logical id (not replaced).
    kept = resources[f"VpcFlowLog{made[0][4:]}"]
    deploy(aws, replace(settings, vpc_ids=made[0]), token=None)
    assert list(flow_logs(aws)) == [made[0]]
    assert held(aws)[f"VpcFlowLog{made[0][4:]}"] == kept

    pipeline.destroy(settings, aws, progress=lambda m: None, sleep=no_sleep)
    assert flow_logs(aws) == {}


@pytest.mark.slow
def test_cloudtrail_and_vpc_flow_logs_deploy_side_by_side_and_cloudtrail_alone_has_no_vpc_part(aws):
    vpc = aws.client("ec2").create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    outputs, _ = deploy(aws)  # CloudTrail alone, as before
    assert not [key for key in outputs if key.startswith("VpcFlow")]
    assert flow_logs(aws) == {}
    outputs, _ = deploy(aws, with_flow_logs(aws, vpc_ids=vpc), token=None)
    assert {"DeliveryStreamName", "TrailBucketName", "VpcFlowDeliveryStreamName"} <= set(outputs)  # (moto: no Trail)
    assert list(flow_logs(aws)) == [vpc]
    assert flow_logs(aws)[vpc]["LogFormat"] == log_format(FORMATS["recommended"])
    streams = aws.client("logs").describe_log_streams(logGroupName="/aws/kinesisfirehose/cloudtrail-firehose")
    assert {s["logStreamName"] for s in streams["logStreams"]} == {"SplunkDelivery", "BackupDelivery",
                                                                   "VpcFlowSplunkDelivery", "VpcFlowBackupDelivery"}
    report = pipeline.status(SETTINGS, aws, sleep=no_sleep, detect_drift=False)
    assert report["delivery_streams"] == {"cloudtrail": "ACTIVE", "vpcflow": "ACTIVE"}


@pytest.mark.slow
def test_flow_logs_already_in_a_log_group_are_subscribed_and_no_flow_log_is_created(aws):
    aws.client("ec2").create_vpc(CidrBlock="10.4.0.0/16")
    aws.client("logs").create_log_group(logGroupName="/vpc/flow-logs")
    settings = with_flow_logs(aws, collect_cloudtrail=False, vpc_flow_log_group="/vpc/flow-logs")
    outputs, messages = deploy(aws, settings)
    assert flow_logs(aws) == {}
    assert "VpcFlowDeliveryStreamArn" in outputs
    # moto has no AWS::Logs::SubscriptionFilter: the plan says it is created (tests/aws/test_aws_iam.py checks it).
    assert any("AWS::Logs::SubscriptionFilter" in m and "VpcFlowSubscriptionFilter" in m for m in messages)
    assert "VpcFlowLogsToFirehoseRole" in held(aws)
    assert not [m for m in messages if "AWS::EC2::FlowLog" in m]


def test_the_emulated_flow_log_is_as_strict_as_the_documents():
    good = {"ResourceType": "VPC", "ResourceId": "vpc-0a1b2c3d", "TrafficType": "ALL", "MaxAggregationInterval": "600",
            "LogFormat": log_format(FORMATS["recommended"]), "LogDestinationType": "kinesis-data-firehose",
            "LogDestination": f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/x"}  # fmt: skip
    problems = moto_shims.flow_log_problems
    assert problems(good, ACCOUNT, REGION) == [f"LogDestination {good['LogDestination']}: no such delivery stream"]
    for change, expected in [
        ({"Colour": "blue"}, "unknown property Colour"),
        ({"TrafficType": "SOME"}, "TrafficType 'SOME' is not ACCEPT, REJECT or ALL"),
        ({"MaxAggregationInterval": "300"}, "MaxAggregationInterval '300' is not 60 or 600"),
        ({"LogFormat": "${version}  ${srcaddr}"}, "is not ${field} names separated by single spaces"),
        ({"LogFormat": "${version} ${colour}"}, "no flow log field 'colour'"),
        ({"LogGroupName": "/x"}, "LogGroupName and DestinationOptions are for CloudWatch Logs and S3"),
        ({"LogDestination": "arn:aws:s3:::bucket"}, "is not a Firehose stream ARN"),
        ({"LogDestination": f"arn:aws:firehose:{REGION}:999999999999:deliverystream/x"},
         "needs DeliverLogsPermissionArn"),
        ({"ResourceType": "Instance"}, "ResourceType 'Instance' is not one of"),
    ]:
        assert any(expected in p for p in problems({**good, **change}, ACCOUNT, REGION)), change


def test_the_shims_flow_log_fields_are_the_corpus_field_table():
    from vpcflow_corpus import FIELD_VERSIONS

    assert set(FIELD_VERSIONS) <= moto_shims.FLOW_LOG_FIELDS
    assert set(FORMATS["recommended"]) <= moto_shims.FLOW_LOG_FIELDS
