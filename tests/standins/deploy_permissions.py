"""What the person who deploys needs: CloudFormation's handler permissions for the template's resource
types, plus the app's own AWS calls. tests/aws/test_deploy_policy.py holds deploy_policy.json to exactly this.

`python3 build.py generate` rewrites package/cloudtrail_firehose/aws/deploy_policy.json from it.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import botocore.session
import cfnlint
from botocore import xform_name
from cfn_render import Rendered, driver_combinations

PACKAGE = Path(__file__).resolve().parents[2] / "package" / "cloudtrail_firehose"
SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"
HANDLERS = ("create", "read", "update", "delete")  # what CloudFormation runs for a stack; "list" is not used

# Handler permissions for features the template does not use. Each schema lists the permissions of
# every optional feature of its type; these stay out of the policy. By service, for the types of other services
# (a type's own service is never an unused feature: AWS::EC2::FlowLog needs ec2:CreateFlowLogs), then by type.
UNUSED_FEATURES = {
    "ec2": "no VPC configuration on the Lambda function or the Firehose stream (AWS::EC2::FlowLog's own are kept)",
    "kms": "no customer-managed keys: SSE-S3, Firehose's AWS-owned key, the aws/secretsmanager key",
    "s3tables": "no Iceberg / S3 Tables destination",
    "elasticfilesystem": "no file system on the Lambda function",
    "s3files": "no file system on the Lambda function",
}
UNUSED_PERMISSIONS = {
    "AWS::EC2::FlowLog": {
        "ec2:DescribeTags": "no TagFieldSpecifications: flow records are not enriched with the resources' tags",
        "autoscaling:DescribeTags": "no TagFieldSpecifications: flow records are not enriched with the resources' tags",
    },
}

# Code that runs elsewhere, or calls that need no permission of the deploying identity.
NOT_THE_DEPLOYERS = {
    "firehose/lambda_processor.py": "runs in Lambda with the processor's own role (template: ProcessorRole)",
    "firehose/lambda_putback.py": "runs in Lambda with the processor's own role (template: ProcessorRole)",
}
NO_PERMISSION = {
    "sts:GetCallerIdentity": "STS API reference, GetCallerIdentity: no permissions are required",
    "sts:AssumeRole": "assume-role mode: the base identity assumes the deploying role; the role's trust decides",
}

# Operations whose IAM action has another name (Amazon S3 User Guide, "Required permissions for Amazon S3
# API operations"; Service Authorization Reference, "Actions, resources, and condition keys for Amazon S3"),
# for the app's own calls and for the resource schemas' handler permissions, some of which name the S3 API
# operation instead of its action.
ACTION_FOR_OPERATION = {
    "s3:HeadBucket": ["s3:ListBucket"],
    "s3:HeadObject": ["s3:GetObject"],
    "s3:ListObjectsV2": ["s3:ListBucket"],
    "s3:ListObjectVersions": ["s3:ListBucketVersions"],
    "s3:DeleteObjects": ["s3:DeleteObject", "s3:DeleteObjectVersion"],  # the app deletes versions by id
    "s3:CopyObject": ["s3:GetObject", "s3:PutObject"],
    "s3:DeleteBucketAnalyticsConfiguration": ["s3:PutAnalyticsConfiguration"],
    "s3:DeleteBucketCors": ["s3:PutBucketCORS"],
    "s3:DeleteBucketEncryption": ["s3:PutEncryptionConfiguration"],
    "s3:DeleteBucketLifecycle": ["s3:PutLifecycleConfiguration"],
    "s3:DeleteBucketMetricsConfiguration": ["s3:PutMetricsConfiguration"],
    "s3:DeleteBucketReplication": ["s3:PutReplicationConfiguration"],
    "s3:PutBucketReplication": ["s3:PutReplicationConfiguration"],
    "s3:PutObjectLockConfiguration": ["s3:PutBucketObjectLockConfiguration"],
}
# Handler permissions that are no IAM action at all (in no action list: Service Authorization Reference, nor
# cfn-lint's copy of it), so no policy can grant them and IAM Access Analyzer flags them.
NOT_ACTIONS = {
    "lambda:AssociateRuntimeAlias": "in no action list of AWS Lambda (Service Authorization Reference)",
}


def template_resource_types() -> set[str]:
    types = set()
    for parameters in driver_combinations().values():
        rendered = Rendered(parameters, "111111111111", "us-east-1")
        types |= {resource["Type"] for resource in rendered.resources.values()}
    return types


def handler_permissions(resource_type: str) -> set[str]:
    index = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())
    schema = json.loads((SCHEMAS / "resources" / f"{index[resource_type]}.json").read_text())
    permissions = set()
    own = resource_type.split("::")[1].lower()  # AWS::EC2::FlowLog: ec2
    for handler in HANDLERS:
        for permission in schema.get("handlers", {}).get(handler, {}).get("permissions", []):
            service, action = permission.split(":", 1)
            # Schemas spell some prefixes in mixed case (CloudTrail:...); IAM prefixes are case-insensitive.
            permission = f"{service.lower()}:{action}"
            unused = (service.lower() in UNUSED_FEATURES and service.lower() != own
                      or permission in UNUSED_PERMISSIONS.get(resource_type, {}))  # fmt: skip
            if not unused and action.isalnum() and permission not in NOT_ACTIONS:
                permissions |= set(ACTION_FOR_OPERATION.get(permission, [permission]))
    return permissions


def direct_operations() -> set[str]:
    """service:Operation for every AWS call in the package's source, found by name in botocore's models.

    A client is recognised by a call with a service name as its only argument (session.client("s3"),
    client("sts")); a method by a name that is one of those services' operations (also when passed as a
    value, as in _call("...", client.describe_stacks), or named in get_paginator).
    """
    session = botocore.session.get_session()
    known = set(session.get_available_services())
    services, names = set(), set()
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).as_posix() in NOT_THE_DEPLOYERS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                value = node.args[0].value
                if isinstance(value, str) and len(node.args) == 1 and value in known:
                    services.add(value)
                if isinstance(value, str):
                    names.add(value)  # get_paginator("list_objects_v2")
    operations = set()
    for service in services:
        model = session.get_service_model(service)
        # The client's name is the IAM service prefix for every service the app uses.
        operations |= {f"{service}:{op}" for op in model.operation_names if xform_name(op) in names}
    return operations


def direct_actions() -> set[str]:
    actions = set()
    for operation in direct_operations():
        if operation not in NO_PERMISSION:
            actions |= set(ACTION_FOR_OPERATION.get(operation, [operation]))
    return actions


def required_actions() -> set[str]:
    actions = direct_actions()
    for resource_type in template_resource_types():
        actions |= handler_permissions(resource_type)
    return actions


PASSED_TO = ["cloudtrail.amazonaws.com", "firehose.amazonaws.com", "lambda.amazonaws.com", "logs.amazonaws.com"]


def policy_document() -> dict:
    """The statements by who needs them: with a CloudFormation service role (setting cloudformation_role_arn), the
    person who deploys needs DriveTheStack, AppCalls and PassTheServiceRoleToCloudFormation, and the role the rest
    (AWS CloudFormation User Guide, "CloudFormation service role"); without one, the person needs all but the last.
    """
    actions = required_actions()
    pass_role = {"iam:PassRole"}
    stack = sorted(a for a in actions - pass_role if a.startswith("cloudformation:"))
    app = sorted(direct_actions() - pass_role - set(stack))
    resources = sorted(actions - pass_role - set(stack) - set(app))
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "DriveTheStack", "Effect": "Allow", "Action": stack, "Resource": "*"},
            {"Sid": "AppCalls", "Effect": "Allow", "Action": app, "Resource": "*"},
            {"Sid": "StackResources", "Effect": "Allow", "Action": resources, "Resource": "*"},
            {"Sid": "PassTheStackRolesToTheirServices", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
             "Condition": {"StringEquals": {"iam:PassedToService": PASSED_TO}}},
            {"Sid": "PassTheServiceRoleToCloudFormation", "Effect": "Allow", "Action": "iam:PassRole",
             "Resource": "*",
             "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}},
        ],
    }  # fmt: skip

