"""preflight, plan, apply, status, destroy against moto (in-process), and how failures are explained."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import zipfile
from dataclasses import replace

import boto3
import moto_shims  # noqa: F401 - registers the CloudFormation resources moto lacks
import pytest
from botocore.exceptions import ClientError
from cloudtrail_firehose.aws import change_sets, kept_buckets, permissions, pipeline, preflight
from cloudtrail_firehose.aws.clients import Clients
from cloudtrail_firehose.aws.errors import PipelineError
from cloudtrail_firehose.aws.settings import PipelineSettings, SettingsError
from deployments import ACCOUNT, REGION, SETTINGS, TOKEN, deploy, no_sleep
from moto.cloudformation.models import cloudformation_backends


def count_calls(session, operation: str) -> list[str]:
    calls: list[str] = []
    session.events.register(f"before-call.*.{operation}", lambda **kw: calls.append(operation))
    return calls


def test_plan_lists_every_resource_to_create(aws):
    plan = pipeline.plan(SETTINGS, aws, sleep=no_sleep)
    created = {(c.resource_type, c.logical_id) for c in plan.changes if c.action == "Add"}
    assert ("AWS::KinesisFirehose::DeliveryStream", "DeliveryStream") in created
    assert ("AWS::CloudTrail::Trail", "Trail") in created
    assert ("AWS::Logs::SubscriptionFilter", "SubscriptionFilter") in created
    # moto lists conditional resources too (the Lambda processor's three); CloudFormation would not.
    assert len({c for c in created if not c[1].startswith("Processor")}) == 14  # the secret is made before the stack
    assert f"{len(plan.changes)} change(s)" in plan.describe()
    assert "+ create  AWS::S3::Bucket" in plan.describe()


def test_an_existing_log_group_gets_the_subscription_and_no_trail_is_created(aws):
    # moto's change sets ignore Conditions, so look at what the deploy created.
    aws.client("logs").create_log_group(logGroupName="/aws/cloudtrail/org")
    settings = PipelineSettings(hec_url=SETTINGS.hec_url, region=REGION, existing_log_group="/aws/cloudtrail/org")
    outputs, _ = deploy(aws, settings)
    resources = aws.client("cloudformation").list_stack_resources(StackName=settings.stack_name)
    logical_ids = {r["LogicalResourceId"] for r in resources["StackResourceSummaries"]}
    assert "TrailBucket" not in logical_ids
    assert "TrailLogGroup" not in logical_ids
    assert outputs["LogGroupName"] == "/aws/cloudtrail/org"
    assert "TrailName" not in outputs


def test_the_emulated_log_group_arn_has_the_shape_cloudformation_documents(aws):
    # CloudFormation, "AWS::Logs::LogGroup", return values: Arn ends in ":*" (moto_shims makes moto agree).
    deploy(aws)
    stack = next(iter(cloudformation_backends[ACCOUNT][REGION].stacks.values()))
    arn = stack.resource_map["TrailLogGroup"].get_cfn_attribute("Arn")
    assert arn == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/cloudtrail/{SETTINGS.name_prefix}:*"


def test_an_organization_trail_is_planned_with_the_organization_id_looked_up(aws):
    organization = aws.client("organizations").create_organization(FeatureSet="ALL")["Organization"]
    settings = PipelineSettings(hec_url=SETTINGS.hec_url, region=REGION, organization_trail=True)
    planned = pipeline.plan(settings, aws, sleep=no_sleep)
    described = aws.client("cloudformation").describe_change_set(StackName=settings.stack_name,
                                                                 ChangeSetName=planned.change_set_name)  # fmt: skip
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert parameters["OrganizationId"] == organization["Id"]
    assert parameters["OrganizationTrail"] == "true"
    # The trail's owner, which the bucket policy's aws:SourceArn names (tests/aws/test_aws_iam.py).
    assert parameters["OrganizationManagementAccountId"] == organization["MasterAccountId"] == ACCOUNT


def test_an_organization_trail_outside_an_organization_is_explained(aws):
    settings = PipelineSettings(hec_url=SETTINGS.hec_url, region=REGION, organization_trail=True)
    with pytest.raises(PipelineError, match="organization"):
        pipeline.plan(settings, aws, sleep=no_sleep)


def test_apply_deploys_the_pipeline_and_stores_the_token_only_in_secrets_manager(aws):
    outputs, messages = deploy(aws, token="11111111-2222-3333-4444-555555555555")
    assert "Stack cloudtrail-firehose: CREATE_COMPLETE" in messages
    stream = aws.client("firehose").describe_delivery_stream(DeliveryStreamName=outputs["DeliveryStreamName"])
    splunk = stream["DeliveryStreamDescription"]["Destinations"][0]["SplunkDestinationDescription"]
    assert splunk["HECEndpoint"] == SETTINGS.hec_url
    assert splunk["HECEndpointType"] == "Raw"
    secret = aws.client("secretsmanager").get_secret_value(SecretId=outputs["HecTokenSecretArn"])
    assert json.loads(secret["SecretString"]) == {"hec_token": "11111111-2222-3333-4444-555555555555"}
    everything_said = json.dumps([messages, outputs, aws.client("cloudformation").describe_stacks()], default=str)
    assert "11111111-2222" not in everything_said


@pytest.mark.slow
def test_the_real_token_is_in_secrets_manager_before_the_stack_is_created(aws):
    secrets = aws.client("secretsmanager")
    seen_at_create: list[str] = []

    def read_secret(**kwargs):
        value = secrets.get_secret_value(SecretId=SETTINGS.hec_token_secret_name)["SecretString"]
        seen_at_create.append(json.loads(value)["hec_token"])

    aws.events.register("before-call.cloudformation.ExecuteChangeSet", read_secret)
    outputs, _ = deploy(aws)
    assert seen_at_create == [TOKEN]
    assert outputs["HecTokenSecretArn"] == secrets.describe_secret(SecretId=SETTINGS.hec_token_secret_name)["ARN"]
    stream = aws.client("firehose").describe_delivery_stream(DeliveryStreamName=outputs["DeliveryStreamName"])
    splunk = stream["DeliveryStreamDescription"]["Destinations"][0]["SplunkDestinationDescription"]
    assert splunk["SecretsManagerConfiguration"]["SecretARN"] == outputs["HecTokenSecretArn"]


def test_a_first_apply_without_a_token_stops_before_creating_anything(aws):
    missing = "the CloudTrail HEC token is not in Secrets Manager yet .* or set CLOUDTRAIL_FIREHOSE_HEC_TOKEN"
    with pytest.raises(PipelineError, match=missing):
        deploy(aws, token=None)
    assert pipeline.status(SETTINGS, aws)["status"] == "NOT_DEPLOYED"


def test_destroy_schedules_the_secret_for_deletion_and_apply_restores_it(aws):
    deploy(aws)
    pipeline.destroy(SETTINGS, aws, delete_data=True, progress=lambda m: None, sleep=no_sleep)
    secrets = aws.client("secretsmanager")
    assert "DeletedDate" in secrets.describe_secret(SecretId=SETTINGS.hec_token_secret_name)
    _, messages = deploy(aws, token=None)  # the token is still in the restored secret
    assert any("Restored secret" in m for m in messages)
    value = secrets.get_secret_value(SecretId=SETTINGS.hec_token_secret_name)["SecretString"]
    assert json.loads(value) == {"hec_token": TOKEN}


@pytest.mark.slow
def test_applying_the_same_settings_again_changes_nothing_and_says_so(aws):
    deploy(aws, token="token-one")
    executions = count_calls(aws, "ExecuteChangeSet")
    puts = count_calls(aws, "PutSecretValue")
    _, messages = deploy(aws, token="token-one")
    assert messages[0] == "Nothing to change: stack cloudtrail-firehose already matches these settings."
    assert executions == []
    assert puts == []


@pytest.mark.slow
def test_status_reports_stack_outputs_stream_and_backlog(aws):
    outputs, _ = deploy(aws)
    s3 = aws.client("s3")
    s3.put_object(Bucket=outputs["FailedDeliveryBucketName"], Key="splunk-failed/x", Body=b"{}")
    # Recovery's own prefixes and the processor's code are not waiting for anything.
    for key in ("recovered/splunk-failed/y", "needs-attention/splunk-failed/z", "lambda/processor-1.zip"):
        s3.put_object(Bucket=outputs["FailedDeliveryBucketName"], Key=key, Body=b"{}")
    report = pipeline.status(SETTINGS, aws, sleep=no_sleep)
    assert report["status"] == "CREATE_COMPLETE"
    assert report["delivery_streams"] == {"cloudtrail": "ACTIVE"}
    assert report["failed_delivery_objects"] == 1
    for key in ("processing-failed/a", "decompression-failed/b"):
        s3.put_object(Bucket=outputs["FailedDeliveryBucketName"], Key=key, Body=b"{}")
    assert pipeline.status(SETTINGS, aws, detect_drift=False)["failed_delivery_objects"] == 3
    assert report["outputs"]["DeliveryStreamName"] == "cloudtrail-firehose"
    assert "drift" in report


def test_status_of_nothing_deployed(aws):
    assert pipeline.status(SETTINGS, aws)["status"] == "NOT_DEPLOYED"


@pytest.mark.slow
def test_destroy_keeps_buckets_with_data_unless_asked(aws):
    outputs, _ = deploy(aws)
    s3 = aws.client("s3")
    s3.put_object(Bucket=outputs["FailedDeliveryBucketName"], Key="splunk-failed/a", Body=b"{}")
    messages: list[str] = []
    kept = pipeline.destroy(SETTINGS, aws, progress=messages.append, sleep=no_sleep)
    assert sorted(kept) == sorted([outputs["FailedDeliveryBucketName"], outputs["TrailBucketName"]])
    assert any("--delete-data" in m for m in messages)
    assert pipeline.status(SETTINGS, aws)["status"] == "NOT_DEPLOYED"
    assert pipeline.destroy(SETTINGS, aws, delete_data=True, progress=messages.append, sleep=no_sleep) == []
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert outputs["FailedDeliveryBucketName"] not in names


def test_preflight_on_a_clean_account(aws):
    checks = {c.name: c for c in pipeline.preflight(SETTINGS, aws, check_certificate=False)}
    assert checks["AWS identity"].ok
    assert ACCOUNT in checks["AWS identity"].detail
    assert checks["names"].ok
    assert checks["permissions"].ok is not False


SSO_ROLE = "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
SSO_PATH = "/aws-reserved/sso.amazonaws.com/eu-west-1/"  # where IAM Identity Center puts its roles


def sso_session(aws, policy: dict) -> boto3.Session:
    """An IAM Identity Center user's session: a role under /aws-reserved/sso.amazonaws.com/<region>/ (IAM Identity
    Center User Guide, "Referencing permission sets in resource policies, Amazon EKS, and AWS KMS")."""
    iam = aws.client("iam")
    saml = {"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE"}
    trust = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithSAML", "Principal": saml}]}
    role = iam.create_role(RoleName=SSO_ROLE, Path=SSO_PATH, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName=SSO_ROLE, PolicyName="permission-set", PolicyDocument=json.dumps(policy))
    keys = aws.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="admin@example.com")["Credentials"]
    return boto3.Session(aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"],
                         aws_session_token=keys["SessionToken"], region_name=REGION)  # fmt: skip


@pytest.mark.slow
def test_the_iam_stand_in_names_a_role_by_its_whole_arn_as_iam_does(aws):
    # IAM API Reference, "SimulatePrincipalPolicy": PolicySourceArn names the entity; none at that ARN is NoSuchEntity.
    sso_session(aws, json.loads(permissions.DEPLOY_POLICY_PATH.read_text()))
    iam = aws.client("iam")
    with pytest.raises(ClientError) as caught:
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/{SSO_ROLE}",
                                      ActionNames=["s3:CreateBucket"])  # fmt: skip
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"
    answer = iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role{SSO_PATH}{SSO_ROLE}",
                                           ActionNames=["s3:CreateBucket", "ec2:RunInstances"])  # fmt: skip
    assert [r["EvalDecision"] for r in answer["EvaluationResults"]] == ["allowed", "implicitDeny"]


@pytest.mark.slow
def test_preflight_simulates_the_permissions_of_an_iam_identity_center_role(aws):
    """The session's ARN has no path; the role's ARN, with /aws-reserved/sso.amazonaws.com/eu-west-1/, comes from
    iam:GetRole, so every SSO user gets a real answer rather than "could not simulate permissions"."""
    deploy_policy = json.loads(permissions.DEPLOY_POLICY_PATH.read_text())
    session = sso_session(aws, deploy_policy)
    checks = {c.name: c for c in pipeline.preflight(SETTINGS, session, check_certificate=False)}
    assert f"assumed-role/{SSO_ROLE}/admin@example.com" in checks["AWS identity"].detail
    assert checks["permissions"].ok is True, checks["permissions"].detail
    assert "actions the deploy needs (deploy_policy.json) are allowed" in checks["permissions"].detail

    narrowed = {**deploy_policy, "Statement": [{**s, "Action": [a for a in s["Action"] if a != "s3:CreateBucket"]}
                                               if isinstance(s["Action"], list) else s
                                               for s in deploy_policy["Statement"]]}  # fmt: skip
    aws.client("iam").put_role_policy(RoleName=SSO_ROLE, PolicyName="permission-set",
                                      PolicyDocument=json.dumps(narrowed))  # fmt: skip
    check = permissions._permissions(session.client("iam"), checks["AWS identity"].detail.split()[0])
    assert check.ok is False
    assert f"arn:aws:iam::{ACCOUNT}:role{SSO_PATH}{SSO_ROLE} is not allowed 1 of the actions" in check.detail
    assert "s3:CreateBucket" in check.detail


class _NoGetRole:
    """An IAM client whose caller may simulate but not call iam:GetRole."""

    def get_role(self, RoleName):  # noqa: N803 - boto3's argument name
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": f"not authorized to perform iam:GetRole on "
                                     f"{RoleName}"}}, "GetRole")  # fmt: skip


def test_preflight_says_when_iam_get_role_is_denied():
    check = permissions._permissions(_NoGetRole(), f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/admin@example.com")
    assert check.ok is None
    assert f"iam:GetRole on role {SSO_ROLE} is denied" in check.detail
    assert "Allow iam:GetRole" in check.detail


def test_preflight_finds_a_name_already_taken(aws):
    aws.client("s3").create_bucket(Bucket=f"cloudtrail-firehose-failed-{ACCOUNT}-{REGION}")
    checks = {c.name: c for c in pipeline.preflight(SETTINGS, aws, check_certificate=False)}
    assert checks["names"].ok is False
    assert "already exists" in checks["names"].detail
    assert "Choose another name_prefix" in checks["names"].detail


def test_preflight_checks_an_existing_log_group_is_there(aws):
    settings = PipelineSettings(hec_url=SETTINGS.hec_url, region=REGION, existing_log_group="/aws/cloudtrail/none")
    checks = {c.name: c for c in pipeline.preflight(settings, aws, check_certificate=False)}
    assert checks["existing log group"].ok is False
    assert "does not exist" in checks["existing log group"].detail


def test_a_stack_left_in_rollback_complete_is_explained(aws):
    deploy(aws)
    for stack in cloudformation_backends[ACCOUNT][REGION].stacks.values():
        stack.status = "ROLLBACK_COMPLETE"
    with pytest.raises(PipelineError, match="ROLLBACK_COMPLETE.*run destroy.*apply again"):
        pipeline.plan(SETTINGS, aws, sleep=no_sleep)
    checks = {c.name: c for c in pipeline.preflight(SETTINGS, aws, check_certificate=False)}
    assert checks["stack"].ok is False


def test_no_credentials_is_explained(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(PipelineError, match="no AWS credentials found. Give --profile"):
        pipeline.preflight(SETTINGS, boto3.Session(region_name=REGION), check_certificate=False)


def test_access_denied_says_which_call_and_what_to_do(aws):
    def deny(**kwargs):
        from botocore.awsrequest import AWSResponse

        body = (b'<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not '
                b"authorized to perform: cloudformation:CreateChangeSet</Message></Error></ErrorResponse>")  # fmt: skip
        return AWSResponse("https://cloudformation", 403, {}, _Raw(body))

    aws.events.register("before-send.cloudformation.CreateChangeSet", deny)
    with pytest.raises(PipelineError) as caught:
        pipeline.plan(SETTINGS, aws, sleep=no_sleep)
    assert "creating a change set: AWS said AccessDenied" in str(caught.value)
    assert "cloudformation:CreateChangeSet" in str(caught.value)
    assert "grant it" in str(caught.value)


@pytest.mark.slow
def test_throttling_is_retried(aws):
    attempts = []

    def throttle_twice(**kwargs):
        from botocore.awsrequest import AWSResponse

        attempts.append(1)
        if len(attempts) <= 2:
            body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded"
                    b"</Message></Error></ErrorResponse>")  # fmt: skip
            return AWSResponse("https://cloudformation", 400, {}, _Raw(body))
        return None

    aws.events.register("before-send.cloudformation.DescribeStacks", throttle_twice)
    assert pipeline.status(SETTINGS, aws)["status"] == "NOT_DEPLOYED"
    assert len(attempts) == 3


def test_bad_settings_make_no_aws_call(aws):
    calls = []
    aws.events.register("before-call.*.*", lambda **kw: calls.append(kw.get("event_name")))
    bad = PipelineSettings(hec_url="http://hec.example.com", region=REGION)
    for action in (lambda: pipeline.preflight(bad, aws), lambda: pipeline.plan(bad, aws),
                   lambda: pipeline.ensure_pipeline(bad, aws, progress=lambda m: None)):  # fmt: skip
        with pytest.raises(SettingsError, match="must start with https://"):
            action()
    assert calls == []


def test_a_failed_deploy_names_the_resource_and_the_reason():
    class FakeCloudFormation:
        def describe_stack_events(self, StackName):  # noqa: N803 - boto3's argument name
            return {"StackEvents": [
                {"EventId": "3", "ResourceStatus": "ROLLBACK_COMPLETE", "LogicalResourceId": "cloudtrail-firehose",
                 "ResourceType": "AWS::CloudFormation::Stack"},
                {"EventId": "2", "ResourceStatus": "CREATE_FAILED", "LogicalResourceId": "FailedDeliveryBucket",
                 "ResourceType": "AWS::S3::Bucket", "ResourceStatusReason": "Resource creation cancelled"},
                {"EventId": "1", "ResourceStatus": "CREATE_FAILED", "LogicalResourceId": "DeliveryStream",
                 "ResourceType": "AWS::KinesisFirehose::DeliveryStream",
                 "ResourceStatusReason": "cloudtrail-firehose already exists in stack arn:aws:..."},
                {"EventId": "0", "ResourceStatus": "CREATE_FAILED", "LogicalResourceId": "Old",
                 "ResourceType": "AWS::S3::Bucket", "ResourceStatusReason": "from an earlier deploy"},
            ]}  # fmt: skip

    text = change_sets.failure_reason(FakeCloudFormation(), "cloudtrail-firehose", {"0"}, "ROLLBACK_COMPLETE")
    assert text.startswith("deploy failed at DeliveryStream (AWS::KinesisFirehose::DeliveryStream)")
    assert "choose another name_prefix" in text
    assert "run destroy before applying again" in text


def test_export_writes_the_template_and_parameters(tmp_path):
    template, parameters = pipeline.export(SETTINGS, tmp_path)
    assert template.read_text() == pipeline.TEMPLATE_PATH.read_text()
    values = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(parameters.read_text())}
    assert values["HecUrl"] == SETTINGS.hec_url


class _Raw:
    """The raw body botocore reads from an injected response."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs):
        yield self.body

    def read(self, *args):
        return self.body


@pytest.mark.slow
def test_the_lambda_option_uploads_the_processor_and_deploys_it(aws, tmp_path):
    settings = PipelineSettings(hec_url=SETTINGS.hec_url, region=REGION, processor="lambda")
    outputs, messages = deploy(aws, settings)
    assert any("without the processor first" in m for m in messages)
    bucket = outputs["FailedDeliveryBucketName"]
    [key] = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=bucket, Prefix="lambda/")["Contents"]]
    with zipfile.ZipFile(io.BytesIO(aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())) as archive:
        assert archive.namelist() == ["lambda_processor.py", "lambda_putback.py"]
        assert all(archive.read(p.name) == p.read_bytes() for p in pipeline.PROCESSOR_FILES)
        archive.extractall(tmp_path)
    # As Lambda runs it: the zip's top level on the path, the app's package nowhere (handler lambda_processor.handler).
    code = ("import json, sys; sys.path.insert(0, '.'); import lambda_processor as f; "
            "print(json.dumps(f.handler({'records': []})))")
    answer = subprocess.run([sys.executable, "-I", "-c", code],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert (answer.returncode, answer.stdout.strip()) == (0, '{"records": []}'), answer.stderr
    # The second step passes the code's key, which switches the stream to the processor. (moto sees no
    # change when only parameters change, so it does not create the function; cfn-lint and checkov
    # check those resources, tests/aws/test_aws_template.py.)
    sent = []

    def record_parameters(params, **kwargs):
        sent.append({p["ParameterKey"]: p["ParameterValue"] for p in params["Parameters"]})

    aws.events.register("provide-client-params.cloudformation.CreateChangeSet", record_parameters)
    deploy(aws, settings)
    assert sent[-1]["Processor"] == "lambda"
    assert sent[-1]["ProcessorCodeKey"] == key


@pytest.mark.slow
def test_apply_after_destroy_adopts_the_kept_buckets_with_their_data(aws):
    outputs, _ = deploy(aws)
    s3 = aws.client("s3")
    s3.put_object(Bucket=outputs["FailedDeliveryBucketName"], Key="splunk-failed/kept", Body=b"{}")
    kept = pipeline.destroy(SETTINGS, aws, progress=lambda m: None, sleep=no_sleep)
    assert len(kept) == 2
    checks = {c.name: c for c in pipeline.preflight(SETTINGS, aws, check_certificate=False)}
    assert checks["names"].ok, checks["names"].detail
    assert checks["kept buckets"].ok
    assert "apply adopts" in checks["kept buckets"].detail
    again, messages = deploy(aws, token=None)
    assert any(m.startswith("Adopting the S3 bucket(s) an earlier destroy kept") for m in messages)
    assert "Stack cloudtrail-firehose: IMPORT_COMPLETE" in messages
    assert any(m.endswith("CREATE_COMPLETE") or m.endswith("UPDATE_COMPLETE") for m in messages)
    assert (again["FailedDeliveryBucketName"], again["TrailBucketName"]) == (
        outputs["FailedDeliveryBucketName"], outputs["TrailBucketName"])  # fmt: skip
    assert s3.get_object(Bucket=outputs["FailedDeliveryBucketName"], Key="splunk-failed/kept")["Body"].read() == b"{}"
    resources = aws.client("cloudformation").list_stack_resources(StackName=SETTINGS.stack_name)
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources["StackResourceSummaries"]}
    assert physical["FailedDeliveryBucket"] == outputs["FailedDeliveryBucketName"]
    assert physical["TrailBucket"] == outputs["TrailBucketName"]
    # And round again: the adopted buckets are the stack's, so a destroy keeps them and an apply adopts them.
    pipeline.destroy(SETTINGS, aws, progress=lambda m: None, sleep=no_sleep)
    _, messages = deploy(aws, token=None)
    assert "Stack cloudtrail-firehose: IMPORT_COMPLETE" in messages


def test_a_bucket_of_that_name_the_stack_did_not_make_is_not_adopted(aws):
    aws.client("s3").create_bucket(Bucket=f"cloudtrail-firehose-failed-{ACCOUNT}-{REGION}")
    assert kept_buckets.kept_buckets(aws.client("s3"), SETTINGS, ACCOUNT) == {}
    checks = {c.name: c for c in pipeline.preflight(SETTINGS, aws, check_certificate=False)}
    assert checks["names"].ok is False
    assert "was not made by stack cloudtrail-firehose" in checks["names"].detail


@pytest.mark.slow
def test_the_emulated_cloudformation_tags_and_imports_as_documented(aws):
    # AWS CloudFormation User Guide, "Tag your CloudFormation resources": a stack tags what it creates with
    # aws:cloudformation:stack-name, :logical-id and :stack-id (moto_shims makes moto do so for buckets).
    outputs, _ = deploy(aws)
    tags = aws.client("s3").get_bucket_tagging(Bucket=outputs["FailedDeliveryBucketName"])["TagSet"]
    tags = {t["Key"]: t["Value"] for t in tags}
    assert tags["aws:cloudformation:stack-name"] == SETTINGS.stack_name
    assert tags["aws:cloudformation:logical-id"] == "FailedDeliveryBucket"
    assert tags["created-by"] == "cloudtrail_firehose"  # the stack's own tag
    # AWS CloudFormation User Guide, "Import AWS resources into a CloudFormation stack": an import only brings
    # resources in; moto_shims rejects one that would create others or add Outputs, as CloudFormation does.
    cfn = aws.client("cloudformation")
    settings = replace(SETTINGS, hec_token_secret_arn=outputs["HecTokenSecretArn"])
    to_import = [{"ResourceType": "AWS::S3::Bucket", "LogicalResourceId": "FailedDeliveryBucket",
                  "ResourceIdentifier": {"BucketName": outputs["FailedDeliveryBucketName"]}}]  # fmt: skip
    for template, reason in ((pipeline.TEMPLATE_PATH.read_text(), "an import cannot create resources"),
                             (kept_buckets.import_template(["FailedDeliveryBucket"]) + "Outputs:\n  X:\n    Value: y\n",
                              "cannot modify or add \\[Outputs\\]")):  # fmt: skip
        with pytest.raises(ClientError, match=reason):
            cfn.create_change_set(StackName="other", ChangeSetName="import", ChangeSetType="IMPORT",
                                  TemplateBody=template, Parameters=settings.template_parameters(),
                                  Capabilities=change_sets.CAPABILITIES, ResourcesToImport=to_import)  # fmt: skip


def trail_to_logs(aws, name: str, group: str, logging: bool = True) -> None:
    aws.client("s3").create_bucket(Bucket=f"{name}-bucket")
    aws.client("logs").create_log_group(logGroupName=group)
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"
    cloudtrail = aws.client("cloudtrail")
    cloudtrail.create_trail(Name=name, S3BucketName=f"{name}-bucket", IsMultiRegionTrail=True,
                            CloudWatchLogsLogGroupArn=arn,
                            CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/trail")  # fmt: skip
    if logging:
        cloudtrail.start_logging(Name=name)


def test_preflight_offers_a_trail_that_already_sends_to_cloudwatch_logs(aws):
    trail_to_logs(aws, "company", "/aws/cloudtrail/company")
    checks = {c.name: c for c in pipeline.preflight(SETTINGS, aws, check_certificate=False)}
    assert checks["existing trails"].ok is None  # a warning: deploying still works, at a price
    assert "trail company writes to log group /aws/cloudtrail/company" in checks["existing trails"].detail
    assert "existing_log_group=/aws/cloudtrail/company" in checks["existing trails"].detail
    assert "charges" in checks["existing trails"].detail


def test_preflight_warns_about_paying_twice_for_a_trail_without_cloudwatch_logs(aws):
    aws.client("s3").create_bucket(Bucket="audit-bucket")
    aws.client("cloudtrail").create_trail(Name="audit", S3BucketName="audit-bucket", IsMultiRegionTrail=True)
    aws.client("cloudtrail").start_logging(Name="audit")
    checks = {c.name: c for c in pipeline.preflight(SETTINGS, aws, check_certificate=False)}
    assert checks["existing trails"].ok is None
    assert "trail(s) audit already record this region" in checks["existing trails"].detail
    assert "second copy" in checks["existing trails"].detail


def test_preflight_on_a_clean_account_has_no_trail_to_offer(aws):
    checks = {c.name: c for c in pipeline.preflight(SETTINGS, aws, check_certificate=False)}
    assert checks["existing trails"].ok is True


@pytest.mark.slow
def test_an_existing_log_group_needs_a_trail_writing_to_it_and_room_for_a_filter(aws):
    group = "/aws/cloudtrail/company"
    settings = replace(SETTINGS, existing_log_group=group)
    aws.client("logs").create_log_group(logGroupName=group)
    checks = {c.name: c for c in pipeline.preflight(settings, aws, check_certificate=False)}
    assert checks["trail to log group"].ok is False
    assert "no trail in this account writes to /aws/cloudtrail/company" in checks["trail to log group"].detail
    assert checks["subscription filters"].ok is True

    trail_to_logs(aws, "company", "/aws/cloudtrail/other")  # writes elsewhere
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"
    aws.client("cloudtrail").update_trail(Name="company", CloudWatchLogsLogGroupArn=group_arn,
                                          CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/trail")  # fmt: skip
    logs = aws.client("logs")
    destination = {"RoleARN": f"arn:aws:iam::{ACCOUNT}:role/x", "BucketARN": "arn:aws:s3:::company-bucket"}
    stream = aws.client("firehose").create_delivery_stream(
        DeliveryStreamName="other", ExtendedS3DestinationConfiguration=destination)["DeliveryStreamARN"]  # fmt: skip
    for name in ("security-tool", "archive"):
        logs.put_subscription_filter(logGroupName=group, filterName=name, filterPattern="",
                                     destinationArn=stream, roleArn=f"arn:aws:iam::{ACCOUNT}:role/x")  # fmt: skip
    checks = {c.name: c for c in pipeline.preflight(settings, aws, check_certificate=False)}
    assert checks["trail to log group"].ok is True
    assert checks["subscription filters"].ok is False
    assert "already has 2 subscription filters (security-tool, archive)" in checks["subscription filters"].detail


def test_an_organization_trail_needs_the_management_account_and_trusted_access(aws):
    settings = replace(SETTINGS, organization_trail=True)
    checks = {c.name: c for c in pipeline.preflight(settings, aws, check_certificate=False)}
    assert checks["organization"].ok is False
    assert "not in an organization" in checks["organization"].detail

    organizations = aws.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    checks = {c.name: c for c in pipeline.preflight(settings, aws, check_certificate=False)}
    assert checks["organization"].ok is True
    assert "management account" in checks["organization"].detail
    assert checks["trusted access"].ok is False
    assert "enable-aws-service-access --service-principal cloudtrail.amazonaws.com" in checks["trusted access"].detail

    organizations.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    checks = {c.name: c for c in pipeline.preflight(settings, aws, check_certificate=False)}
    assert checks["trusted access"].ok is True


def test_an_organization_trail_needs_all_features_enabled(aws):
    """AWS CloudTrail User Guide, "Prepare for creating a trail for your organization": the organization must
    have all features enabled; an organization of consolidated billing only cannot have an organization trail."""
    organizations = aws.client("organizations")
    organizations.create_organization(FeatureSet="CONSOLIDATED_BILLING")
    assert organizations.describe_organization()["Organization"]["FeatureSet"] == "CONSOLIDATED_BILLING"  # moto too
    organizations.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    checks = {c.name: c for c in pipeline.preflight(replace(SETTINGS, organization_trail=True), aws,
                                                     check_certificate=False)}  # fmt: skip
    assert checks["organization"].ok is False
    assert "enable all features in AWS Organizations" in checks["organization"].detail
    assert "aws organizations enable-all-features" in checks["organization"].detail


def test_a_member_account_is_told_where_to_deploy_an_organization_trail(aws):
    checks = preflight._organization_checks(_Organization(master="111111111111", delegated=[]), ACCOUNT)
    assert checks[0].ok is False
    assert "neither the management account (111111111111)" in checks[0].detail
    # AWS CloudTrail User Guide, "Add a CloudTrail delegated administrator": CloudTrail's own command, which also
    # creates the service-linked role (Organizations' register-delegated-administrator does not).
    assert f"aws cloudtrail register-organization-delegated-admin --member-account-id {ACCOUNT}" in checks[0].detail
    assert "aws organizations register-delegated-administrator" not in checks[0].detail
    checks = preflight._organization_checks(_Organization(master="111111111111", delegated=[ACCOUNT]), ACCOUNT)
    assert checks[0].ok is True
    assert "delegated administrator" in checks[0].detail


class _Organization:
    """An organizations client as a member account sees it (moto's account is always the management one)."""

    def __init__(self, master: str, delegated: list[str]) -> None:
        self.master, self.delegated = master, delegated

    def __call__(self, service: str):
        assert service == "organizations"
        return self

    def describe_organization(self):
        return {"Organization": {"Id": "o-abcdefghij", "MasterAccountId": self.master, "FeatureSet": "ALL"}}

    def list_delegated_administrators(self, ServicePrincipal):  # noqa: N803 - boto3's argument name
        return {"DelegatedAdministrators": [{"Id": account} for account in self.delegated]}

    def list_aws_service_access_for_organization(self):
        return {"EnabledServicePrincipals": [{"ServicePrincipal": "cloudtrail.amazonaws.com"}]}


# --- VPC Flow Logs preflight ----------------------------------------------------------------------------------------

# The settings of issue 23 (settings.py: collect_cloudtrail, collect_vpc_flow_logs, vpc_ids, vpc_flow_log_group,
# vpc_flow_record_format). Until the schema declares them, a stand-in adds those it lacks to PipelineSettings.
VPC_SETTINGS = {"collect_cloudtrail": (bool, True), "collect_vpc_flow_logs": (bool, False), "vpc_ids": (str, ""),
                "vpc_flow_log_group": (str, ""), "vpc_flow_record_format": (str, "recommended")}  # fmt: skip
_LACKING = [(name, kind, dataclasses.field(default=default)) for name, (kind, default) in VPC_SETTINGS.items()
            if name not in {f.name for f in dataclasses.fields(PipelineSettings)}]  # fmt: skip
VpcSettings = dataclasses.make_dataclass("VpcSettings", _LACKING, bases=(PipelineSettings,), frozen=True)


def vpc_settings(**values) -> PipelineSettings:
    return VpcSettings(**{"hec_url": SETTINGS.hec_url, "region": REGION, "collect_vpc_flow_logs": True, **values})


@pytest.fixture
def vpc_aws(aws, monkeypatch):
    """moto with EC2 but without its list of public AMIs, which it loads for every new backend (0.15 s each)."""
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    return aws


def vpc_checks(aws, settings) -> dict:
    return {c.name: c for c in preflight._vpc_flow_checks(Clients(aws, REGION), settings)}


def make_vpc(aws, name: str = "") -> str:
    tags = [{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}] if name else []
    return aws.client("ec2").create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=tags)["Vpc"]["VpcId"]


def default_vpc(aws) -> str:
    return next(v["VpcId"] for v in aws.client("ec2").describe_vpcs()["Vpcs"] if v["IsDefault"])


def ec2_error(aws, operation: str, code: str, status: int = 403) -> None:
    """Every call of this EC2 operation answered with this error (EC2's error shape: Response/Errors/Error)."""
    from botocore.awsrequest import AWSResponse

    body = (f"<Response><Errors><Error><Code>{code}</Code><Message>You are not authorized to perform this "
            f"operation.</Message></Error></Errors><RequestID>r</RequestID></Response>").encode()  # fmt: skip
    aws.events.register(f"before-send.ec2.{operation}", lambda **kw: AWSResponse("https://ec2", status, {}, _Raw(body)))


def test_preflight_says_every_vpc_of_the_region_is_covered(vpc_aws):
    aws = vpc_aws
    prod = make_vpc(aws, "prod")
    checks = vpc_checks(aws, vpc_settings())
    assert checks["VPCs"].ok is True
    assert f"every VPC of the region (2 in {REGION}): {default_vpc(aws)}, {prod} (prod)" in checks["VPCs"].detail
    assert "a VPC made later is covered by the next deploy" in checks["VPCs"].detail
    assert checks["existing flow logs"].ok is True
    assert checks["existing flow logs"].detail == "no other flow log on these VPCs"


def test_preflight_checks_the_chosen_vpcs_are_the_regions(vpc_aws):
    aws = vpc_aws
    prod, default = make_vpc(aws, "prod"), default_vpc(aws)
    checks = vpc_checks(aws, vpc_settings(vpc_ids=f" {prod}, {prod},"))
    assert checks["VPCs"].ok is True
    assert checks["VPCs"].detail == f"1 chosen VPC(s) in {REGION}: {prod} (prod); deploy creates a flow log on each"

    checks = vpc_checks(aws, vpc_settings(vpc_ids=f"{prod},vpc-0123456789abcdef0"))
    assert checks["VPCs"].ok is False
    detail = checks["VPCs"].detail
    assert f"vpc-0123456789abcdef0 is not a VPC of account {ACCOUNT} in {REGION}" in detail
    assert f"the region's VPCs are {default}, {prod} (prod)" in detail
    assert '"Flow log limitations"' in detail
    assert checks["existing flow logs"].ok is True  # the known one is still looked at


def test_preflight_fails_in_a_region_without_a_vpc(vpc_aws):
    aws = vpc_aws
    ec2 = aws.client("ec2")
    for subnet in ec2.describe_subnets()["Subnets"]:
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    for gateway in ec2.describe_internet_gateways()["InternetGateways"]:
        for attachment in gateway["Attachments"]:
            ec2.detach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"], VpcId=attachment["VpcId"])
        ec2.delete_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"])
    ec2.delete_vpc(VpcId=default_vpc(aws))
    checks = vpc_checks(aws, vpc_settings())
    assert checks["VPCs"].ok is False
    assert f"account {ACCOUNT} has no VPC in {REGION}" in checks["VPCs"].detail
    assert "turn collect_vpc_flow_logs off" in checks["VPCs"].detail
    assert "existing flow logs" not in checks


def test_preflight_lists_existing_flow_logs_with_what_a_second_one_costs(vpc_aws):
    aws = vpc_aws
    vpc, other = make_vpc(aws, "prod"), default_vpc(aws)
    ec2 = aws.client("ec2")
    aws.client("logs").create_log_group(logGroupName="/vpc/flows")
    aws.client("s3").create_bucket(Bucket="flow-archive")
    made = [ec2.create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="ALL", **destination)
            for destination in ({"LogDestinationType": "cloud-watch-logs", "LogGroupName": "/vpc/flows",
                                 "DeliverLogsPermissionArn": f"arn:aws:iam::{ACCOUNT}:role/flow-logs"},
                                {"LogDestinationType": "s3", "LogDestination": "arn:aws:s3:::flow-archive"})]
    made.append(ec2.create_flow_logs(ResourceIds=[other], ResourceType="VPC", TrafficType="REJECT",
                                     LogDestinationType="kinesis-data-firehose",
                                     LogDestination=f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/siem"))
    # One the stack made on an earlier deploy is not a second one: its destination is the stack's stream.
    made.append(ec2.create_flow_logs(ResourceIds=[other], ResourceType="VPC", TrafficType="ALL",
                                     LogDestinationType="kinesis-data-firehose",
                                     LogDestination=f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/"
                                                    f"{SETTINGS.name_prefix}-vpcflow"))  # fmt: skip
    cwl, s3, firehose, ours = (m["FlowLogIds"][0] for m in made)
    check = vpc_checks(aws, vpc_settings())["existing flow logs"]
    assert check.ok is None  # a warning: deploying works, at a price
    assert check.detail.startswith("3 flow log(s) already on these VPCs: ")
    assert f"{cwl} on {vpc} to cloud-watch-logs log group /vpc/flows (traffic ALL, delivery SUCCESS)" in check.detail
    assert f"{s3} on {vpc} to s3 arn:aws:s3:::flow-archive (traffic ALL, delivery SUCCESS)" in check.detail
    assert (f"{firehose} on {other} to kinesis-data-firehose arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/siem "
            "(traffic REJECT, delivery SUCCESS)") in check.detail  # fmt: skip
    assert ours not in check.detail
    assert f"1 made by stack {SETTINGS.stack_name}, which apply keeps" in check.detail
    # Amazon VPC User Guide, "Publish flow logs to Amazon Data Firehose": charged as vended logs.
    assert "charged as vended logs per GB delivered" in check.detail
    assert '"Publish flow logs to Amazon Data Firehose"' in check.detail
    assert "doubles that charge" in check.detail
    assert "set vpc_flow_log_group=/vpc/flows to take the records that log group already gets" in check.detail


def test_a_flow_log_to_another_accounts_log_group_is_not_offered():
    record = {"FlowLogId": "fl-1", "ResourceId": "vpc-1", "LogDestinationType": "cloud-watch-logs",
              "LogDestination": "arn:aws:logs:eu-west-1:111111111111:log-group:/central/flows:*",
              "TrafficType": "ALL", "DeliverLogsStatus": "FAILED", "DeliverLogsErrorMessage": "Access error"}
    flow_log = preflight._flow_log(record, ACCOUNT, REGION)
    assert (flow_log.log_group, flow_log.log_group_elsewhere) == ("/central/flows", "account 111111111111, region "
                                                                                     "eu-west-1")  # fmt: skip
    assert flow_log.describe() == "fl-1 on vpc-1 to cloud-watch-logs log group /central/flows (traffic ALL, " \
                                  "delivery FAILED: Access error)"  # fmt: skip


def test_the_log_group_path_needs_the_group_room_for_a_filter_and_flow_logs_in_the_chosen_format(vpc_aws):
    aws = vpc_aws
    group = "/vpc/flows"
    settings = vpc_settings(vpc_flow_log_group=group)
    checks = vpc_checks(aws, settings)
    assert checks["VPC flow log group"].ok is False
    assert f"{group} does not exist in {REGION}" in checks["VPC flow log group"].detail
    assert checks["VPC flow log group subscription filters"].ok is None
    assert checks["flow logs to log group"].ok is False
    assert "nothing would reach Splunk" in checks["flow logs to log group"].detail
    assert "VPCs" not in checks  # the stack makes no flow log on this path

    aws.client("logs").create_log_group(logGroupName=group)
    aws.client("logs").create_log_group(logGroupName=group + "-old")  # matches the prefix, not the name
    vpc = make_vpc(aws)
    flow_log = aws.client("ec2").create_flow_logs(  # AWS's default format (moto writes it out)
        ResourceIds=[vpc], ResourceType="VPC", TrafficType="ALL", LogDestinationType="cloud-watch-logs",
        LogGroupName=group, DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/flow-logs")["FlowLogIds"][0]
    checks = vpc_checks(aws, settings)
    assert checks["VPC flow log group"].ok is True
    assert checks["VPC flow log group subscription filters"].ok is True
    assert checks["flow logs to log group"].ok is True
    assert f"{flow_log} on {vpc} to cloud-watch-logs log group {group}" in checks["flow logs to log group"].detail
    assert checks["flow log format"].ok is False
    assert f"vpc_flow_record_format is recommended, but {flow_log} writes the default format" in \
        checks["flow log format"].detail  # fmt: skip
    assert vpc_checks(aws, replace(settings, vpc_flow_record_format="default"))["flow log format"].ok is True


def test_the_log_group_path_needs_room_for_the_stacks_subscription_filter(vpc_aws):
    aws = vpc_aws
    group = "/vpc/flows"
    logs = aws.client("logs")
    logs.create_log_group(logGroupName=group)
    destination = {"RoleARN": f"arn:aws:iam::{ACCOUNT}:role/x", "BucketARN": "arn:aws:s3:::company-bucket"}
    stream = aws.client("firehose").create_delivery_stream(
        DeliveryStreamName="other", ExtendedS3DestinationConfiguration=destination)["DeliveryStreamARN"]  # fmt: skip
    for name in ("security-tool", f"{SETTINGS.name_prefix}-vpcflow-to-firehose"):  # the second is the stack's own
        logs.put_subscription_filter(logGroupName=group, filterName=name, filterPattern="", destinationArn=stream,
                                     roleArn=f"arn:aws:iam::{ACCOUNT}:role/x")  # fmt: skip
    settings = vpc_settings(vpc_flow_log_group=group)
    check = vpc_checks(aws, settings)["VPC flow log group subscription filters"]
    assert (check.ok, check.detail) == (True, "1 of 2 in use by others")
    logs.delete_subscription_filter(logGroupName=group, filterName=f"{SETTINGS.name_prefix}-vpcflow-to-firehose")
    logs.put_subscription_filter(logGroupName=group, filterName="archive", filterPattern="", destinationArn=stream,
                                 roleArn=f"arn:aws:iam::{ACCOUNT}:role/x")  # fmt: skip
    check = vpc_checks(aws, settings)["VPC flow log group subscription filters"]
    assert check.ok is False
    assert f"{group} already has 2 subscription filters (" in check.detail
    assert "(CloudWatch Logs quotas)" in check.detail


def test_a_denied_describe_flow_logs_is_a_warning_not_a_failure(vpc_aws):
    aws = vpc_aws
    ec2_error(aws, "DescribeFlowLogs", "UnauthorizedOperation")
    check = vpc_checks(aws, vpc_settings())["existing flow logs"]
    assert check.ok is None
    assert "could not list the flow logs already on these VPCs" in check.detail
    assert "UnauthorizedOperation" in check.detail
    check = vpc_checks(aws, vpc_settings(vpc_flow_log_group="/vpc/flows"))["flow logs to log group"]
    assert check.ok is None


def test_a_denied_describe_vpcs_is_a_warning_and_chosen_vpcs_are_still_looked_at(vpc_aws):
    aws = vpc_aws
    vpc = make_vpc(aws)
    ec2_error(aws, "DescribeVpcs", "UnauthorizedOperation")
    checks = vpc_checks(aws, vpc_settings(vpc_ids=vpc))
    assert checks["VPCs"].ok is None
    assert "could not list the VPCs of us-east-1" in checks["VPCs"].detail
    assert checks["existing flow logs"].ok is True


class _Throttled:
    """An EC2 client whose every page is throttled, as after the client's own retries (they are not waited for)."""

    def get_paginator(self, operation):
        return self

    def paginate(self, **kwargs):
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeFlowLogs")


def test_throttled_describe_flow_logs_is_a_warning():
    check = preflight._flow_log_check(_Throttled(), vpc_settings(), ["vpc-1"], ACCOUNT)
    assert check.ok is None
    assert "Throttling" in check.detail
    assert "charged as vended logs" in check.detail  # what it would cost is said anyway
    check, covered = preflight._vpc_check(_Throttled(), vpc_settings(), ACCOUNT)
    assert (check.ok, covered) == (None, [])


def test_flow_logs_are_listed_in_batches_of_resource_ids_and_every_page(vpc_aws):
    aws = vpc_aws
    vpcs = [make_vpc(aws) for _ in range(3)]
    for vpc in vpcs:
        aws.client("ec2").create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="ALL",
                                           LogDestinationType="kinesis-data-firehose",
                                           LogDestination=f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/x")
    calls = count_calls(aws, "DescribeFlowLogs")
    ec2 = Clients(aws, REGION)("ec2")
    original = preflight.RESOURCE_IDS_PER_CALL
    try:
        preflight.RESOURCE_IDS_PER_CALL = 2
        found = preflight.existing_flow_logs(ec2, ACCOUNT, REGION, resource_ids=vpcs)
    finally:
        preflight.RESOURCE_IDS_PER_CALL = original
    assert sorted(f.resource for f in found) == sorted(vpcs)
    assert len(calls) == 2


@pytest.mark.slow
def test_preflight_for_vpc_flow_logs_only(vpc_aws):
    aws = vpc_aws
    """With CloudTrail off, no trail is looked at; the flow logs' stream name is checked for clashes."""
    settings = vpc_settings(collect_cloudtrail=False)
    destination = {"RoleARN": f"arn:aws:iam::{ACCOUNT}:role/x", "BucketARN": "arn:aws:s3:::company-bucket"}
    aws.client("firehose").create_delivery_stream(DeliveryStreamName=f"{SETTINGS.name_prefix}-vpcflow",
                                                  ExtendedS3DestinationConfiguration=destination)  # fmt: skip
    checks = {c.name: c for c in pipeline.preflight(settings, aws, check_certificate=False)}
    assert "existing trails" not in checks
    assert checks["VPCs"].ok is True
    assert checks["existing flow logs"].ok is True
    assert checks["names"].ok is False
    assert f"Firehose stream {SETTINGS.name_prefix}-vpcflow already exists" in checks["names"].detail


def test_preflight_simulates_the_vpc_calls():
    """The calls above are the app's own, so deploy_policy.json grants them (AppCalls) and preflight simulates them."""
    policy = json.loads(permissions.DEPLOY_POLICY_PATH.read_text())
    simulated = {action for actions, _ in permissions._simulations(policy) for action in actions}
    assert {"ec2:DescribeVpcs", "ec2:DescribeFlowLogs", "logs:DescribeLogGroups",
            "logs:DescribeSubscriptionFilters"} <= simulated  # fmt: skip
