"""Buckets an earlier destroy kept, with their data, brought back into the stack by a CloudFormation import,
and the cut of template.yaml (a small YAML cutter on its text) that the import needs."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from botocore.exceptions import BotoCoreError, ClientError

from cloudtrail_firehose.aws.change_sets import (
    CAPABILITIES,
    CHANGE_SET_PREFIX,
    FAILED_STACK,
    TEMPLATE_PATH,
    Progress,
    discard_earlier_plans,
    event_ids,
    failure_reason,
    read_stack,
    service_role,
    wait_for_change_set,
    watch,
)
from cloudtrail_firehose.aws.clients import Session, clients
from cloudtrail_firehose.aws.errors import PipelineError, aws_call, explain
from cloudtrail_firehose.aws.settings import PipelineSettings

BUCKETS = ("FailedDeliveryBucket", "TrailBucket")  # the template's buckets, in settings.bucket_names order


def kept_buckets(s3, settings: PipelineSettings, account: str) -> dict[str, str]:
    """Logical id -> name of each of the stack's buckets that exists outside any stack, made by this stack.

    CloudFormation tags what it creates with aws:cloudformation:stack-name and :logical-id, and the tags
    stay when a destroy keeps the bucket; a bucket of that name without them is someone else's.
    """
    kept = {}
    for logical_id, bucket in zip(BUCKETS, settings.bucket_names(account)):
        try:
            tags = s3.get_bucket_tagging(Bucket=bucket, ExpectedBucketOwner=account)["TagSet"]
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchBucket", "NoSuchTagSet", "404", "403", "AccessDenied"):
                continue
            raise explain(error, f"reading the tags of bucket {bucket}") from error
        except BotoCoreError as error:
            raise explain(error, f"reading the tags of bucket {bucket}") from error
        tags = {t["Key"]: t["Value"] for t in tags}
        if (tags.get("aws:cloudformation:stack-name"), tags.get("aws:cloudformation:logical-id")) == (
                settings.stack_name, logical_id):  # fmt: skip
            kept[logical_id] = bucket
    return kept


def import_template(logical_ids: list[str]) -> str:
    """The template cut down to these resources, with its Parameters and Conditions, and no Outputs.

    An import may only bring resources in (AWS CloudFormation User Guide, "Import AWS resources into a
    CloudFormation stack"). The cut is taken from template.yaml's text, so the buckets are declared once.
    """
    sections = _blocks(TEMPLATE_PATH.read_text(), indent="")
    resources = _blocks(sections["Resources"].split("\n", 1)[1], indent="  ")
    return "".join([sections["AWSTemplateFormatVersion"], sections["Parameters"], sections["Conditions"],
                    "Resources:\n", *(resources[i] for i in logical_ids)])  # fmt: skip


def _blocks(text: str, indent: str) -> dict[str, str]:
    """YAML mapping entries at this indent, by key, each with the lines below it (comments dropped)."""
    blocks: dict[str, str] = {}
    key = None
    for line in text.splitlines(keepends=True):
        if line.startswith(indent) and line[len(indent):len(indent) + 1] not in ("", " ", "#", "\n"):
            key = line[len(indent):].split(":", 1)[0]
            blocks[key] = ""
        if key is not None and not line.strip().startswith("#"):
            blocks[key] += line
    return blocks


def import_into(current: str, logical_ids: list[str]) -> str:
    """The stack's current template (GetTemplate) plus these resources from template.yaml, unconditionally.

    An import into an existing stack changes nothing else: the template is the stack's own, parameters keep
    their values, and a resource that template.yaml creates only under a condition (TrailBucket: CreateTrail)
    loses it here, since the stack's current parameters may make it false (AWS CloudFormation User Guide,
    "Import AWS resources into a CloudFormation stack"). The update that follows puts the condition back.
    """
    sections = _blocks(current, indent="")
    ours = _blocks(_blocks(TEMPLATE_PATH.read_text(), indent="")["Resources"].split("\n", 1)[1], indent="  ")
    added = "".join(re.sub(r"(?m)^    Condition: .*\n", "", ours[i]) for i in logical_ids)
    sections["Resources"] = sections["Resources"].rstrip("\n") + "\n\n" + added.rstrip("\n") + "\n\n"
    return "".join(sections.values())


def adopt_kept_buckets(settings: PipelineSettings, session: Session, progress: Progress, sleep) -> None:
    """Bring the buckets an earlier destroy kept (with their data) into the stack before it would create them:
    into a new stack, or into the existing one when it is about to create one (a switch back to a trail)."""
    client = clients(session, settings.region)
    cfn = client("cloudformation")
    stack = read_stack(cfn, settings.stack_name)
    existing = stack if stack and stack["StackStatus"] != "REVIEW_IN_PROGRESS" else None
    if existing and (existing["StackStatus"] in FAILED_STACK or not existing["StackStatus"].endswith("_COMPLETE")):
        return  # failed or busy: plan says what to do
    kept = kept_buckets(client("s3"), settings, client.account)
    if existing and kept:  # the tags also match the buckets the stack holds now
        held = _stack_resources(cfn, settings.stack_name)
        kept = {logical_id: bucket for logical_id, bucket in kept.items() if logical_id not in held}
    if not kept:
        return
    discard_earlier_plans(cfn, stack, sleep, service_role(settings))
    progress(f"Adopting the S3 bucket(s) an earlier destroy kept, with their data: {', '.join(kept.values())}")
    name = f"{CHANGE_SET_PREFIX}import-{datetime.now(timezone.utc):%Y%m%d%H%M%S}"
    to_import = [{"ResourceType": "AWS::S3::Bucket", "LogicalResourceId": logical_id,
                  "ResourceIdentifier": {"BucketName": bucket}} for logical_id, bucket in kept.items()]  # fmt: skip
    if existing:
        current = aws_call("reading the stack's template", cfn.get_template, StackName=settings.stack_name)
        if not isinstance(current["TemplateBody"], str):  # boto3 hands a JSON template back parsed
            raise PipelineError(f"stack {settings.stack_name} has a JSON template, not the app's: import "
                                f"{', '.join(kept.values())} into it yourself, or delete them, then apply "
                                "again")  # fmt: skip
        target = {"TemplateBody": import_into(current["TemplateBody"], list(kept)),
                  "Parameters": [{"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
                                 for p in existing.get("Parameters", [])]}  # fmt: skip
    else:
        target = {"TemplateBody": import_template(list(kept)), "Parameters": settings.template_parameters(),
                  "Tags": [{"Key": "created-by", "Value": "cloudtrail_firehose"}]}  # fmt: skip
    aws_call("creating the import of the kept buckets", cfn.create_change_set, StackName=settings.stack_name,
             ChangeSetName=name, ChangeSetType="IMPORT", Capabilities=CAPABILITIES, ResourcesToImport=to_import,
             **target, **service_role(settings))  # fmt: skip
    if wait_for_change_set(cfn, settings.stack_name, name, sleep) is None:
        raise PipelineError(f"CloudFormation found nothing to import into {settings.stack_name}")
    before = event_ids(cfn, settings.stack_name)
    aws_call("importing the kept buckets", cfn.execute_change_set, StackName=settings.stack_name, ChangeSetName=name)
    final = watch(cfn, settings.stack_name, before, progress, sleep)
    if final != "IMPORT_COMPLETE":
        raise PipelineError(failure_reason(cfn, settings.stack_name, before, final) + " The buckets and their data "
                            "are untouched.")  # fmt: skip
    progress(f"Stack {settings.stack_name}: IMPORT_COMPLETE")


def _stack_resources(cfn, stack_name: str) -> set[str]:
    """Logical ids of the resources the stack holds now."""
    try:
        pages = cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name)
        return {r["LogicalResourceId"] for page in pages for r in page["StackResourceSummaries"]}
    except (ClientError, BotoCoreError) as error:
        raise explain(error, f"listing the resources of stack {stack_name}") from error
