"""deploy_policy.json: exactly what the deploying person needs, kept in step with the template and the code."""

from __future__ import annotations

import json
import re

import deploy_permissions
import pytest
from cloudtrail_firehose.aws import permissions
from cloudtrail_firehose.aws.services import SHIPPED_SERVICES
from iam_eval import allowed, is_action

POLICY = json.loads(permissions.DEPLOY_POLICY_PATH.read_text())
STATEMENTS = POLICY["Statement"]
REGENERATE = "run 'python3 build.py generate' and review the diff"


def granted() -> set[str]:
    actions = set()
    for statement in STATEMENTS:
        actions |= {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])
    return actions


@pytest.mark.slow
def test_the_policy_grants_every_permission_the_template_and_the_app_need_and_no_other():
    required = deploy_permissions.required_actions()
    missing = sorted(required - granted())
    extra = sorted(granted() - required)
    assert missing == [], f"deploy_policy.json lacks {missing}: {REGENERATE}"
    assert extra == [], f"deploy_policy.json grants {extra}, which nothing needs: {REGENERATE}"


@pytest.mark.slow
def test_every_resource_types_handler_permissions_are_included():
    # CloudFormation's resource schemas (shipped with cfn-lint), handlers create/read/update/delete.
    types = deploy_permissions.template_resource_types()
    assert {"AWS::CloudTrail::Trail", "AWS::KinesisFirehose::DeliveryStream", "AWS::Lambda::Function"} <= types
    for resource_type in types:
        lacking = deploy_permissions.handler_permissions(resource_type) - granted()
        assert not lacking, f"{resource_type}: {sorted(lacking)}"
    for action in ("s3:PutBucketPublicAccessBlock", "s3:PutBucketOwnershipControls", "iam:TagRole",
                   "logs:PutRetentionPolicy", "cloudtrail:PutEventSelectors", "organizations:DescribeOrganization"):
        assert action in granted(), action  # fmt: skip


def test_the_scan_finds_the_apps_own_calls():
    operations = deploy_permissions.direct_operations()
    for operation in ("secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue", "s3:PutObject",
                      "cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet",
                      "cloudformation:DeleteChangeSet", "cloudformation:DetectStackDrift",
                      "cloudformation:DescribeStackEvents", "iam:SimulatePrincipalPolicy",
                      "cloudwatch:GetMetricData", "s3:ListObjectsV2", "s3:CopyObject", "s3:DeleteObject",
                      "organizations:DescribeOrganization"):  # fmt: skip
        assert operation in operations, operation
    assert not any(op.startswith("firehose:PutRecord") for op in operations), "the processor's calls are its role's"


def test_a_new_call_in_the_package_is_found(tmp_path, monkeypatch):
    module = tmp_path / "extra.py"
    module.write_text('import boto3\n\ndef f():\n    boto3.client("sqs").send_message(QueueUrl="u", MessageBody="b")\n')
    monkeypatch.setattr(deploy_permissions, "PACKAGE", tmp_path)
    assert deploy_permissions.direct_operations() == {"sqs:SendMessage"}


def test_every_service_the_app_calls_ships_with_it():
    services = {operation.split(":")[0] for operation in deploy_permissions.direct_operations()}
    assert services <= set(SHIPPED_SERVICES), f"add {sorted(services - set(SHIPPED_SERVICES))} to aws/services.py"


@pytest.mark.slow
def test_roles_are_passed_only_to_the_services_that_assume_them():
    from cfn_render import Rendered, driver_combinations

    principals = set()
    for parameters in driver_combinations().values():
        rendered = Rendered(parameters, "111111111111", "us-east-1")
        for properties in rendered.of_type("AWS::IAM::Role").values():
            principals |= {s["Principal"]["Service"] for s in properties["AssumeRolePolicyDocument"]["Statement"]}
    assert set(deploy_permissions.PASSED_TO) == principals
    for service in principals:
        assert allowed(STATEMENTS, "iam:PassRole", "arn:aws:iam::111111111111:role/x", {"iam:PassedToService": service})
    assert not allowed(STATEMENTS, "iam:PassRole", "arn:aws:iam::111111111111:role/x",
                       {"iam:PassedToService": "ec2.amazonaws.com"})  # fmt: skip


def test_every_action_of_the_policy_is_an_iam_action():
    """Service Authorization Reference (cfn-lint's copy, Policies.json): a permission that is no action, such as an
    S3 API operation's name (Amazon S3 User Guide, "Required permissions for Amazon S3 API operations":
    DeleteBucketCors needs s3:PutBucketCORS), can be granted by no policy; IAM Access Analyzer flags it."""
    unknown = sorted(a for a in granted() if not is_action(a))
    assert unknown == [], f"not IAM actions: {unknown}; map them in deploy_permissions.py, then {REGENERATE}"


def test_s3_operation_names_in_the_resource_schemas_become_their_iam_actions():
    # Amazon S3 User Guide, "Required permissions for Amazon S3 API operations".
    bucket = deploy_permissions.handler_permissions("AWS::S3::Bucket")
    for operation, action in [("s3:DeleteBucketCors", "s3:PutBucketCORS"),
                              ("s3:DeleteBucketEncryption", "s3:PutEncryptionConfiguration"),
                              ("s3:DeleteBucketLifecycle", "s3:PutLifecycleConfiguration"),
                              ("s3:PutBucketReplication", "s3:PutReplicationConfiguration"),
                              ("s3:PutObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration")]:  # fmt: skip
        assert operation not in bucket
        assert action in bucket
    assert "lambda:AssociateRuntimeAlias" not in deploy_permissions.handler_permissions("AWS::Lambda::Function")


def test_the_policy_fits_a_managed_policy():
    # IAM User Guide, "IAM and AWS STS quotas": a managed policy holds at most 6,144 characters, whitespace excluded.
    assert len(re.sub(r"\s", "", permissions.DEPLOY_POLICY_PATH.read_text())) <= 6144


class SimulatingIam:
    """SimulatePrincipalPolicy as the IAM API reference describes it, evaluating the principal's policy.

    Results come in pages of MaxItems (default 100) with IsTruncated and Marker; context entries are
    the request's condition keys. A name that is no IAM action (an S3 API operation's name, say) is never
    allowed, whatever the policy. moto does not implement this operation.
    """

    def __init__(self, statements: list[dict]) -> None:
        self.statements = statements
        self.calls: list[dict] = []

    def get_role(self, RoleName):  # noqa: N803 - boto3's argument name
        return {"Role": {"RoleName": RoleName, "Path": "/", "Arn": f"arn:aws:iam::111111111111:role/{RoleName}"}}

    def simulate_principal_policy(self, PolicySourceArn, ActionNames, ContextEntries=(), Marker=None, MaxItems=100):  # noqa: N803
        self.calls.append({"ActionNames": ActionNames, "ContextEntries": list(ContextEntries)})
        context = {e["ContextKeyName"]: e["ContextKeyValues"][0] for e in ContextEntries}
        start = int(Marker or 0)
        page = ActionNames[start:start + MaxItems]
        results = [{"EvalActionName": a, "EvalResourceName": "*",
                    "EvalDecision": "allowed" if is_action(a) and allowed(self.statements, a, "*", context)
                    else "implicitDeny"}
                   for a in page]  # fmt: skip
        more = start + MaxItems < len(ActionNames)
        marker = {"Marker": str(start + MaxItems)} if more else {}
        return {"EvaluationResults": results, "IsTruncated": more, **marker}


def test_preflight_simulates_the_whole_policy():
    iam = SimulatingIam(STATEMENTS)
    check = permissions._permissions(iam, "arn:aws:iam::111111111111:user/deployer")
    assert check.ok is True
    simulated = {a for call in iam.calls for a in call["ActionNames"]}
    assert simulated == granted()
    assert len(granted()) > 100  # so pages beyond the first were read
    assert f"all {len(granted())} actions" in check.detail


def test_preflight_accepts_a_policy_that_allows_everything():
    # AdministratorAccess: every action the deploy needs is allowed, so none may be reported as denied.
    check = permissions._permissions(SimulatingIam([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
                                  "arn:aws:iam::111111111111:user/admin")  # fmt: skip
    assert check.ok is True, check.detail


@pytest.mark.parametrize("missing", [["s3:PutBucketVersioning"], ["iam:GetRole", "lambda:CreateFunction"]])
def test_preflight_names_each_missing_action(missing):
    narrowed = [{**s, "Action": [a for a in s["Action"] if a not in missing]} if isinstance(s["Action"], list) else s
                for s in STATEMENTS]  # fmt: skip
    check = permissions._permissions(SimulatingIam(narrowed), "arn:aws:sts::111111111111:assumed-role/Admin/me")
    assert check.ok is False
    for action in missing:
        assert action in check.detail
    assert "arn:aws:iam::111111111111:role/Admin" in check.detail
    assert "deploy_policy.json" in check.detail


def test_preflight_names_a_role_that_cannot_be_passed():
    without_pass_role = [s for s in STATEMENTS if s["Action"] != "iam:PassRole"]
    check = permissions._permissions(SimulatingIam(without_pass_role), "arn:aws:iam::111111111111:user/deployer")
    assert check.ok is False
    assert "iam:PassRole" in check.detail
    assert "firehose.amazonaws.com" in check.detail
