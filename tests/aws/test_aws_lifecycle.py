"""The stack's life over several applies and destroys, the accounts it meets, and how it is driven."""

from __future__ import annotations

import json
from dataclasses import replace

import moto_shims  # noqa: F401 - registers the CloudFormation resources moto lacks
import pytest
from botocore.exceptions import ClientError
from cloudtrail_firehose.__main__ import run
from cloudtrail_firehose.aws import change_sets, kept_buckets, permissions, pipeline
from cloudtrail_firehose.aws.clients import Clients
from cloudtrail_firehose.aws.errors import PipelineError
from cloudtrail_firehose.inputs import health
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
