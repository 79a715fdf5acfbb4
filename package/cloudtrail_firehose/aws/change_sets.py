"""CloudFormation's change sets and stack events: plan (a change set, described), converge (plan, execute,
watch), the stack's state and outputs, and why a deploy failed, in words an admin can act on."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from botocore.exceptions import BotoCoreError, ClientError

from cloudtrail_firehose import sources
from cloudtrail_firehose.aws.clients import Clients, Session, clients
from cloudtrail_firehose.aws.errors import PipelineError, aws_call, explain
from cloudtrail_firehose.aws.hec_secret import arn_setting, secret_arn
from cloudtrail_firehose.aws.rendering import TEMPLATE_PATH as TEMPLATE_PATH  # re-exported: others read it here
from cloudtrail_firehose.aws.rendering import template_text
from cloudtrail_firehose.aws.settings import PipelineSettings

CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
CHANGE_SET_PREFIX = "cloudtrail-firehose-"
DONE = ("_COMPLETE", "_FAILED")
FAILED_STACK = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "IMPORT_ROLLBACK_COMPLETE",
                "IMPORT_ROLLBACK_FAILED")  # fmt: skip

Progress = Callable[[str], None]


@dataclass
class Change:
    action: str  # Add, Modify, Remove
    logical_id: str
    resource_type: str
    replacement: str = ""

    def __str__(self) -> str:
        verb = {"Add": "+ create", "Modify": "~ change", "Remove": "- remove"}.get(self.action, self.action)
        note = " (replaced)" if self.replacement == "True" else ""
        return f"  {verb:9} {self.resource_type:38} {self.logical_id}{note}"


@dataclass
class Plan:
    stack_name: str
    change_set_name: str | None
    changes: list[Change] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def describe(self) -> str:
        if not self.has_changes:
            return f"Nothing to change: stack {self.stack_name} already matches these settings."
        return f"Stack {self.stack_name}: {len(self.changes)} change(s)\n" + "\n".join(map(str, self.changes))


def read_stack(cfn, stack_name: str) -> dict | None:
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in error.response.get("Error", {}).get("Message", ""):
            return None
        raise explain(error, f"reading stack {stack_name}") from error
    except BotoCoreError as error:
        raise explain(error, f"reading stack {stack_name}") from error


def outputs_of(stack: dict) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def stack_outputs(cfn, stack_name: str) -> dict[str, str]:
    stack = read_stack(cfn, stack_name)
    if stack is None:
        raise PipelineError(f"stack {stack_name} does not exist; run apply first")
    return outputs_of(stack)


def service_role(settings: PipelineSettings) -> dict[str, str]:
    """RoleARN for CreateChangeSet and DeleteStack: the CloudFormation service role, when one is set."""
    return {"RoleARN": settings.cloudformation_role_arn} if settings.cloudformation_role_arn else {}


def failed_stack_advice(stack: dict) -> str:
    return (
        f"stack {stack['StackName']} is {stack['StackStatus']} after a failed deploy and cannot be updated: "
        "run destroy, fix the cause shown in its events, then apply again"
    )


def plan(settings: PipelineSettings, session: Session = None, sleep=time.sleep) -> Plan:
    """Create a change set and describe what it would do. The change set is kept for apply."""
    settings.validate()
    client = clients(session, settings.region)
    settings = with_organization_id(settings, client)
    cfn = client("cloudformation")
    for source in sources.chosen(vars(settings)):
        if not getattr(settings, arn_setting(source)):
            settings = replace(settings, **{arn_setting(source): secret_arn(client, settings, source)})
    stack = read_stack(cfn, settings.stack_name)
    if stack and stack["StackStatus"] in FAILED_STACK:
        raise PipelineError(failed_stack_advice(stack))
    if stack and not stack["StackStatus"].endswith(DONE) and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
        raise PipelineError(f"stack {settings.stack_name} is busy ({stack['StackStatus']}); wait for it to finish")
    stack = discard_earlier_plans(cfn, stack, sleep, service_role(settings))
    create = stack is None
    name = f"{CHANGE_SET_PREFIX}{datetime.now(timezone.utc):%Y%m%d%H%M%S}"
    aws_call("creating a change set", cfn.create_change_set, StackName=settings.stack_name, ChangeSetName=name,
             ChangeSetType="CREATE" if create else "UPDATE", TemplateBody=template_text(settings, client),
             Parameters=settings.template_parameters(), Capabilities=CAPABILITIES,
             Tags=[{"Key": "created-by", "Value": "cloudtrail_firehose"}], **service_role(settings))  # fmt: skip
    described = wait_for_change_set(cfn, settings.stack_name, name, sleep)
    if described is None:
        return Plan(settings.stack_name, None)
    changes = [
        Change(c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"],
               c["ResourceChange"]["ResourceType"], str(c["ResourceChange"].get("Replacement", "")))
        for c in described.get("Changes", [])
    ]  # fmt: skip
    return Plan(settings.stack_name, name, changes)


def with_organization_id(settings: PipelineSettings, session: Session = None) -> PipelineSettings:
    """An organization trail's bucket policy names the organization's id and its management account, looked up here.

    The management account owns the trail also when a delegated administrator creates it, so CloudTrail's
    aws:SourceArn names that account (AWS CloudTrail User Guide, "Organization delegated administrator").
    """
    if not settings.organization_trail or (settings.organization_id and settings.organization_management_account):
        return settings
    organizations = clients(session, settings.region)("organizations")
    described = aws_call("looking up the organization for the organization trail", organizations.describe_organization)
    organization = described["Organization"]
    return replace(settings, organization_id=settings.organization_id or organization["Id"],
                   organization_management_account=settings.organization_management_account
                   or organization["MasterAccountId"])  # fmt: skip


def discard_earlier_plans(cfn, stack: dict | None, sleep, role: dict[str, str] | None = None) -> dict | None:
    """Remove change sets an earlier plan left unexecuted; return the stack, or None if there is none yet.

    A first plan leaves an empty stack in REVIEW_IN_PROGRESS; it holds no resources, so it is deleted
    and the new plan starts clean.
    """
    if stack is None:
        return None
    if stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        aws_call("removing an earlier, unexecuted plan", cfn.delete_stack, StackName=stack["StackId"], **(role or {}))
        for _ in range(60):
            remaining = read_stack(cfn, stack["StackId"])
            if remaining is None or remaining["StackStatus"] == "DELETE_COMPLETE":
                break
            sleep(1)
        return None
    summaries = aws_call("listing earlier plans", cfn.list_change_sets, StackName=stack["StackId"])["Summaries"]
    for summary in summaries:
        if summary["ChangeSetName"].startswith(CHANGE_SET_PREFIX):
            aws_call("removing an earlier plan", cfn.delete_change_set, ChangeSetName=summary["ChangeSetId"])
    return stack


def wait_for_change_set(cfn, stack_name: str, name: str, sleep) -> dict | None:
    delay = 1.0
    for _ in range(120):
        described = aws_call("reading the change set", cfn.describe_change_set, StackName=stack_name,
                             ChangeSetName=name)  # fmt: skip
        status = described["Status"]
        if status == "CREATE_COMPLETE":
            return described
        if status == "FAILED":
            reason = described.get("StatusReason", "")
            aws_call("removing an empty change set", cfn.delete_change_set, StackName=stack_name, ChangeSetName=name)
            if "didn't contain changes" in reason or "No updates" in reason:
                return None
            raise PipelineError(f"CloudFormation rejected the plan: {reason}")
        sleep(delay)
        delay = min(delay * 2, 10)
    raise PipelineError(f"change set {name} was not ready after 10 minutes; look at it in the CloudFormation console")


def converge(settings: PipelineSettings, client: Clients, progress: Progress, sleep) -> None:
    current = plan(settings, client, sleep)
    progress(current.describe())
    if current.has_changes:
        cfn = client("cloudformation")
        before = event_ids(cfn, settings.stack_name)
        aws_call("starting the deploy", cfn.execute_change_set, StackName=settings.stack_name,
                 ChangeSetName=current.change_set_name)  # fmt: skip
        final = watch(cfn, settings.stack_name, before, progress, sleep)
        if final not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            raise PipelineError(failure_reason(cfn, settings.stack_name, before, final))
        progress(f"Stack {settings.stack_name}: {final}")


def event_ids(cfn, stack_name: str) -> set[str]:
    """Events that happened before an operation (compared by id: the local clock may be off)."""
    try:
        return {e["EventId"] for e in cfn.describe_stack_events(StackName=stack_name)["StackEvents"]}
    except ClientError:
        return set()


def watch(cfn, stack_name: str, before: set[str], progress: Progress, sleep, timeout: float = 3600) -> str:
    """Print stack events as they happen, backing off while nothing changes; return the final status."""
    seen = set(before)
    delay, waited = 2.0, 0.0
    while True:
        try:
            events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
        except ClientError as error:
            if "does not exist" in error.response["Error"].get("Message", ""):
                return "DELETE_COMPLETE"
            raise explain(error, "reading stack events") from error
        fresh = [e for e in events if e["EventId"] not in seen]
        for event in reversed(fresh):
            seen.add(event["EventId"])
            reason = f" - {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
            progress(f"{event['Timestamp']:%H:%M:%S} {event['ResourceStatus']:24} {event['ResourceType']:38} "
                     f"{event['LogicalResourceId']}{reason}")  # fmt: skip
        stack = read_stack(cfn, stack_name)
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        if status.endswith(DONE) and not status.endswith("_IN_PROGRESS"):
            return status
        if waited > timeout:
            raise PipelineError(f"stack {stack_name} still {status} after {timeout / 60:.0f} minutes")
        delay = 2.0 if fresh else min(delay * 1.5, 15)
        sleep(delay)
        waited += delay


def failure_reason(cfn, stack_name: str, before: set[str], final: str) -> str:
    events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    failures = [e for e in reversed(events) if e["EventId"] not in before and e["ResourceStatus"].endswith("_FAILED")
                and "cancelled" not in e.get("ResourceStatusReason", "")]  # fmt: skip
    if not failures:
        return f"deploy ended {final}; see the stack's events in the CloudFormation console"
    first = failures[0]
    reason = first.get("ResourceStatusReason", "no reason given")
    advice = "fix the cause, then run apply again"
    if "already exists" in reason:
        advice = "a resource with that name exists outside the stack: remove it or choose another name_prefix"
    elif "not authorized" in reason or "AccessDenied" in reason:
        advice = "grant the missing permission to the deploying identity, then apply again"
    rollback = " CloudFormation rolled back; run destroy before applying again." if final == "ROLLBACK_COMPLETE" else ""
    return f"deploy failed at {first['LogicalResourceId']} ({first['ResourceType']}): {reason}. {advice}.{rollback}"
