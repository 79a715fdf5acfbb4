"""Drive the CloudFormation stack that holds the AWS side: preflight, plan, apply, status, destroy, export.

CloudFormation does the ordering, rollback and teardown; this module prepares, watches and explains.
Every function takes the flow's Clients (aws/clients.py) (or a boto3 session to build them from; default: the
default credential chain), so tests pass moto-backed ones and AWS_ENDPOINT_URL points everything at
an emulator. A flow's functions pass their Clients on: each client is made once.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional, Union
from urllib.parse import unquote

import boto3
from botocore.exceptions import BotoCoreError, ClientError, WaiterError
from botocore.parsers import ResponseParserError

from cloudtrail_firehose import settings as schema
from cloudtrail_firehose.aws.clients import Clients, clients
from cloudtrail_firehose.aws.errors import PipelineError, explain
from cloudtrail_firehose.certificates import check_hec_certificate
from cloudtrail_firehose.aws.settings import PipelineSettings
from cloudtrail_firehose.firehose.records import FAILED_DELIVERY_PREFIXES

TEMPLATE_PATH = Path(__file__).with_name("template.yaml")
PROCESSOR_PATH = Path(__file__).resolve().parents[1] / "firehose" / "lambda_processor.py"
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
CHANGE_SET_PREFIX = "cloudtrail-firehose-"
DONE = ("_COMPLETE", "_FAILED")
FIREHOSE_SECRET_REFRESH = timedelta(minutes=15)  # Firehose's 10-minute secret cache, and a margin
FAILED_STACK = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "IMPORT_ROLLBACK_COMPLETE",
                "IMPORT_ROLLBACK_FAILED")  # fmt: skip
# The failed-delivery backlog is counted up to this many objects (ten ListObjectsV2 pages), then said in words.
BACKLOG_CAP = 10_000
BACKLOG_MORE = f"more than {BACKLOG_CAP}"
BUCKETS = ("FailedDeliveryBucket", "TrailBucket")  # the template's buckets, in settings.bucket_names order
# The least-privilege policy for whoever deploys (README, Permissions); tests/standins/deploy_permissions.py derives it
# from CloudFormation's resource schemas and the app's own calls.
DEPLOY_POLICY_PATH = Path(__file__).with_name("deploy_policy.json")
# Its statements by Sid, as they split between the person and a CloudFormation service role (README,
# "CloudFormation service role"): the role does the resource work, the person drives the stack and passes it.
PASS_SERVICE_ROLE = "PassTheServiceRoleToCloudFormation"  # noqa: S105 - a statement's Sid, not a password
CALLER_WITH_SERVICE_ROLE = ("DriveTheStack", "AppCalls")  # and iam:PassRole of that role, simulated on its own
NOT_THE_SERVICE_ROLES = ("DriveTheStack", PASS_SERVICE_ROLE)
CLOUDFORMATION = "cloudformation.amazonaws.com"

Progress = Callable[[str], None]
Session = Optional[Union[Clients, boto3.Session]]  # typing's spelling: a runtime alias on Python 3.9


@dataclass
class Check:
    name: str
    ok: bool | None  # None: a warning, deploy may still work
    detail: str


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


def _call(doing: str, function, **kwargs):
    try:
        return function(**kwargs)
    except (ClientError, BotoCoreError) as error:
        raise explain(error, doing) from error


def _stack(cfn, stack_name: str) -> dict | None:
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in error.response.get("Error", {}).get("Message", ""):
            return None
        raise explain(error, f"reading stack {stack_name}") from error
    except BotoCoreError as error:
        raise explain(error, f"reading stack {stack_name}") from error


# --- preflight -----------------------------------------------------------------------------------


def preflight(
    settings: PipelineSettings, session: Session = None, check_certificate: bool = True
) -> list[Check]:
    """Everything that can be checked before deploying, each with what to do when it fails."""
    client = clients(session, settings.region)
    settings.validate()
    identity = client.identity()
    checks = [Check("AWS identity", True, f"{identity['Arn']} in account {identity['Account']}")]
    checks += _permission_checks(client("iam"), settings, identity)
    if check_certificate:
        result = check_hec_certificate(settings.hec_url)
        checks.append(Check("HEC certificate", result.ok, result.detail))
    stack = _stack(client("cloudformation"), settings.stack_name)
    if stack and stack["StackStatus"] in FAILED_STACK:
        checks.append(Check("stack", False, _failed_stack_advice(stack)))
    elif stack:
        checks.append(Check("stack", True, f"{settings.stack_name} exists ({stack['StackStatus']}); apply updates it"))
    else:
        checks += _name_clashes(client, settings, identity["Account"])
    if settings.existing_log_group:
        checks.append(_existing_log_group(client("logs"), settings))
    checks += _trail_checks(client, settings)
    if settings.organization_trail:
        checks += _organization_checks(client, identity["Account"])
    return checks


def _existing_log_group(logs, settings: PipelineSettings) -> Check:
    name = settings.existing_log_group
    groups = _call("looking up the log group", logs.describe_log_groups, logGroupNamePrefix=name)["logGroups"]
    if any(g["logGroupName"] == name for g in groups):
        return Check("existing log group", True, name)
    return Check("existing log group", False, f"{name} does not exist in {settings.region}; name the log group "
                 "your trail writes to, or leave existing_log_group empty to create a trail")  # fmt: skip


def _simulations(policy: dict) -> list[tuple[list[str], dict[str, str]]]:
    """(actions, condition context) to simulate: one run per value of a statement's StringEquals condition."""
    runs = []
    for statement in policy["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        conditions = statement.get("Condition", {}).get("StringEquals", {})
        if not conditions:
            runs.append((actions, {}))
        for key, values in conditions.items():
            runs += [(actions, {key: value}) for value in ([values] if isinstance(values, str) else values)]
    return runs


def _role_behind(iam, arn: str) -> str:
    """The ARN to simulate for a caller: for an assumed-role session, its role's ARN with the role's path.

    The session's ARN (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION) holds no path, and IAM Identity Center
    roles live under /aws-reserved/sso.amazonaws.com/<region>/ (IAM Identity Center User Guide, "Referencing
    permission sets in resource policies, Amazon EKS, and AWS KMS"), so the role's ARN comes from iam:GetRole.
    """
    if ":assumed-role/" not in arn:
        return arn
    name = arn.split(":assumed-role/")[1].split("/")[0]
    return iam.get_role(RoleName=name)["Role"]["Arn"]


def _permissions(iam, arn: str, policy: dict | None = None) -> Check:
    """Simulate every action of deploy_policy.json (or of these statements) for the caller; name each one that is
    not allowed."""
    try:
        principal = _role_behind(iam, arn)
    except ClientError as error:
        name = arn.split(":assumed-role/")[1].split("/")[0]
        if error.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException"):
            why = f"iam:GetRole on role {name} is denied, so its path (and the ARN to simulate) is unknown"
        else:
            why = f"role {name} could not be read ({explain(error, 'reading the role')})"
        return Check("permissions", None, f"could not simulate permissions: {why}. Allow iam:GetRole on it (as "
                     f"{DEPLOY_POLICY_PATH.name} does), or the deploy will say if one is missing")  # fmt: skip
    except BotoCoreError as error:
        return Check("permissions", None, f"could not simulate permissions ({error}); the deploy will say if one is "
                     "missing")  # fmt: skip
    runs = _simulations(policy or json.loads(DEPLOY_POLICY_PATH.read_text()))
    denied: list[str] = []
    try:
        for actions, context in runs:
            entries = [{"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": "string"}
                       for key, value in context.items()]  # fmt: skip
            marker: dict[str, str] = {}
            while True:  # results come in pages (IAM API reference, SimulatePrincipalPolicy: IsTruncated, Marker)
                page = iam.simulate_principal_policy(PolicySourceArn=principal, ActionNames=actions,
                                                     ContextEntries=entries, **marker)  # fmt: skip
                denied += [r["EvalActionName"] + "".join(f" ({v})" for v in context.values())
                           for r in page["EvaluationResults"] if r["EvalDecision"] != "allowed"]  # fmt: skip
                if not page.get("IsTruncated"):
                    break
                marker = {"Marker": page["Marker"]}
    except (ClientError, BotoCoreError, ResponseParserError, NotImplementedError) as error:
        # Simulation is not allowed for every identity (root, some SSO roles) nor in every emulator.
        detail = f"could not simulate permissions ({error}); the deploy will say if one is missing"
        return Check("permissions", None, detail)
    total = len({action for actions, _ in runs for action in actions})
    if denied:
        return Check("permissions", False, f"{principal} is not allowed {len(denied)} of the actions the deploy "
                     f"needs: {', '.join(sorted(denied))}. Attach {DEPLOY_POLICY_PATH.name} (shipped in "
                     "lib/cloudtrail_firehose/aws/; README, Permissions) to it, then retry.")  # fmt: skip
    return Check("permissions", True, f"all {total} actions the deploy needs (deploy_policy.json) are allowed")


def _permission_checks(iam, settings: PipelineSettings, identity: dict) -> list[Check]:
    """The caller's permissions, and with a CloudFormation service role, that role's and the caller's right to pass
    it: CloudFormation then acts with the role's permissions, not the caller's."""
    statements = json.loads(DEPLOY_POLICY_PATH.read_text())["Statement"]

    def only(keep) -> dict:
        return {"Version": "2012-10-17", "Statement": [s for s in statements if keep(s.get("Sid"))]}

    if not settings.cloudformation_role_arn:
        return [_permissions(iam, identity["Arn"], only(lambda sid: sid != PASS_SERVICE_ROLE))]
    checks = [_permissions(iam, identity["Arn"], only(lambda sid: sid in CALLER_WITH_SERVICE_ROLE)),
              _service_role(iam, settings, identity)]  # fmt: skip
    if checks[-1].ok is not False:
        role = _permissions(iam, settings.cloudformation_role_arn, only(lambda sid: sid not in NOT_THE_SERVICE_ROLES))
        checks.append(replace(role, name="service role permissions"))
    return checks


def _service_role(iam, settings: PipelineSettings, identity: dict) -> Check:
    """The CloudFormation service role exists in this account, trusts CloudFormation, and the caller may pass it
    (AWS CloudFormation User Guide, "CloudFormation service role"; IAM User Guide, "Grant a user permissions to
    pass a role to an AWS service")."""
    arn = settings.cloudformation_role_arn
    account, name = arn.split(":")[4], arn.rsplit("/", 1)[1]
    if account != identity["Account"]:
        return Check("service role", False, f"{arn} is in account {account}, not {identity['Account']}: a role is "
                     "passed only within its own account; create the service role in this one")  # fmt: skip
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return Check("service role", False, f"{arn} does not exist: create it (README, CloudFormation service "
                         "role), or clear cloudformation_role_arn")  # fmt: skip
        return Check("service role", None, f"could not read {arn} ({explain(error, 'reading the role')}); the deploy "
                     "says if CloudFormation cannot use it")  # fmt: skip
    if role["Arn"] != arn:
        return Check("service role", False, f"{arn} does not exist; the role named {name} is {role['Arn']}")
    if not _trusts(role.get("AssumeRolePolicyDocument") or {}, CLOUDFORMATION):
        return Check("service role", False, f"{arn} does not let {CLOUDFORMATION} assume it, so CloudFormation "
                     f"refuses it: add a trust policy statement allowing sts:AssumeRole to the service principal "
                     f"{CLOUDFORMATION}")  # fmt: skip
    try:
        principal = _role_behind(iam, identity["Arn"])
    except (ClientError, BotoCoreError) as error:
        return Check("service role", None, f"{arn} trusts CloudFormation; could not read the role behind "
                     f"{identity['Arn']} to simulate whether it may pass it ({error})")  # fmt: skip
    context = [{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": [CLOUDFORMATION],
                "ContextKeyType": "string"}]  # fmt: skip
    try:
        results = iam.simulate_principal_policy(PolicySourceArn=principal, ActionNames=["iam:PassRole"],
                                                ResourceArns=[arn], ContextEntries=context)  # fmt: skip
        results = results["EvaluationResults"]
    except (ClientError, BotoCoreError, ResponseParserError, NotImplementedError) as error:
        return Check("service role", None, f"{arn} trusts CloudFormation; could not simulate whether {principal} "
                     f"may pass it ({error})")  # fmt: skip
    if not results or results[0]["EvalDecision"] != "allowed":
        return Check("service role", False, f"{principal} may not pass {arn} to CloudFormation: allow it "
                     f"iam:PassRole on that role with iam:PassedToService {CLOUDFORMATION} (deploy_policy.json, "
                     f"statement {PASS_SERVICE_ROLE})")  # fmt: skip
    return Check("service role", True, f"{arn} trusts CloudFormation, and {principal} may pass it")


def _trusts(document: dict | str, service: str) -> bool:
    """Whether a role's trust policy lets this service principal assume it."""
    if isinstance(document, str):  # the API's URL-encoded JSON, when no SDK decoded it
        document = json.loads(unquote(document))
    statements = document.get("Statement", [])
    for statement in [statements] if isinstance(statements, dict) else statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else [principal]
        services = [services] if isinstance(services, str) else services
        if statement.get("Effect") == "Allow" and any(a.lower() in ("sts:assumerole", "sts:*", "*") for a in actions) \
                and (service in services or "*" in services):
            return True
    return False


def service_role(settings: PipelineSettings) -> dict[str, str]:
    """RoleARN for CreateChangeSet and DeleteStack: the CloudFormation service role, when one is set."""
    return {"RoleARN": settings.cloudformation_role_arn} if settings.cloudformation_role_arn else {}


def _name_clashes(client, settings: PipelineSettings, account: str) -> list[Check]:
    prefix = settings.name_prefix
    clashes = []
    s3 = client("s3")
    kept = kept_buckets(s3, settings, account)
    for bucket in settings.bucket_names(account):
        if bucket in kept.values():
            continue
        try:
            s3.head_bucket(Bucket=bucket)
            clashes.append(f"S3 bucket {bucket} already exists and was not made by stack {settings.stack_name}")
        except ClientError as error:
            if error.response["Error"]["Code"] in ("403", "AccessDenied"):
                clashes.append(f"S3 bucket {bucket} belongs to another account")
    try:
        client("firehose").describe_delivery_stream(DeliveryStreamName=prefix)
        clashes.append(f"Firehose stream {prefix} already exists")
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise explain(error, "looking for name clashes") from error
    logs = client("logs")
    for group in schema.log_group_names(prefix):
        found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        if any(g["logGroupName"] == group for g in found):
            clashes.append(f"log group {group} already exists")
    checks = []
    if kept:
        checks.append(Check("kept buckets", True, f"{', '.join(kept.values())} kept by an earlier destroy of stack "
                            f"{settings.stack_name}: apply adopts them, with their data"))  # fmt: skip
    if clashes:
        return checks + [Check("names", False, f"name_prefix {prefix!r} clashes with what is already there: "
                               f"{'; '.join(clashes)}. Choose another name_prefix, or remove them.")]  # fmt: skip
    return checks + [Check("names", True, f"no other resource named {prefix}* exists yet")]


def _failed_stack_advice(stack: dict) -> str:
    return (
        f"stack {stack['StackName']} is {stack['StackStatus']} after a failed deploy and cannot be updated: "
        "run destroy, fix the cause shown in its events, then apply again"
    )


# --- trails and organizations already there --------------------------------------------------------

CLOUDTRAIL = "cloudtrail.amazonaws.com"
MAX_SUBSCRIPTION_FILTERS = 2  # per log group, and it cannot be raised (CloudWatch Logs quotas)


@dataclass
class ExistingTrail:
    name: str
    home_region: str
    logging: bool
    log_group: str  # "" when the trail does not send to CloudWatch Logs
    log_group_region: str
    log_group_account: str = ""  # an organization trail's log group is in the management account
    account: str = ""  # the account that owns the trail (its TrailARN's)
    organization: bool = False


def existing_trails(cloudtrail) -> list[ExistingTrail]:
    """Every trail that records this region (its own and multi-region ones from elsewhere), with its state.

    A member account of an organization sees the organization's trail too: its TrailARN and its
    CloudWatchLogsLogGroupArn name the management account (AWS CloudTrail User Guide, "Creating a trail
    for an organization").
    """
    trails = []
    for trail in _call("listing the account's trails", cloudtrail.describe_trails, includeShadowTrails=True)[
            "trailList"]:  # fmt: skip
        status = _call(f"reading the status of trail {trail['Name']}", cloudtrail.get_trail_status,
                       Name=trail.get("TrailARN") or trail["Name"])  # fmt: skip
        # arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*
        parts = (trail.get("CloudWatchLogsLogGroupArn") or "").split(":")
        group, group_region, group_account = (parts[6], parts[3], parts[4]) if len(parts) >= 7 else ("", "", "")
        arn = (trail.get("TrailARN") or "").split(":")
        trails.append(ExistingTrail(trail["Name"], trail.get("HomeRegion", ""), bool(status.get("IsLogging")), group,
                                    group_region, group_account, arn[4] if len(arn) > 4 else "",
                                    bool(trail.get("IsOrganizationTrail"))))  # fmt: skip
    return trails


def _trail_checks(client, settings: PipelineSettings) -> list[Check]:
    try:
        trails = [t for t in existing_trails(client("cloudtrail")) if t.name != settings.stack_name]
    except PipelineError as error:
        return [Check("existing trails", None, f"could not list the account's trails ({error})")]
    account = client.account
    if settings.existing_log_group:
        return [_trail_writes_to(trails, settings, account), _subscription_room(client("logs"), settings)]
    logging = [t for t in trails if t.logging]
    if not logging:
        return [Check("existing trails", True, "no other trail records this region; a new trail is created")]
    # Only a log group in this account can be subscribed from here.
    to_logs = [t for t in logging if t.log_group and t.log_group_region == settings.region
               and t.log_group_account == account]  # fmt: skip
    elsewhere = "".join(f". {_belongs_elsewhere(t)}" for t in logging if t.log_group and t.log_group_account != account)
    if to_logs:
        offer = "; ".join(f"trail {t.name} writes to log group {t.log_group}" for t in to_logs)
        return [Check("existing trails", None, f"{offer}. Set existing_log_group={to_logs[0].log_group} to "
                      "send that trail to Splunk instead of creating a second trail, which CloudTrail charges "
                      f"for (only the first copy of management events is free){elsewhere}")]  # fmt: skip
    names = ", ".join(t.name for t in logging)
    return [Check("existing trails", None, f"trail(s) {names} already record this region; the new trail is a "
                  "second copy of management events, which CloudTrail charges for. To avoid that, send one of them "
                  "to a CloudWatch Logs group in this account and set existing_log_group to "
                  f"it{elsewhere}")]  # fmt: skip


def _belongs_elsewhere(trail: ExistingTrail) -> str:
    owner = "the organization's management account" if trail.organization else "account"
    return (f"Trail {trail.name} belongs to {owner} {trail.log_group_account}: its log group {trail.log_group} is "
            "there, not in this account, so it cannot be used from here (deploy from that account to send it to "
            "Splunk)")  # fmt: skip


def _trail_writes_to(trails: list[ExistingTrail], settings: PipelineSettings, account: str) -> Check:
    group = settings.existing_log_group
    here = [t for t in trails if t.log_group_account == account]
    writers = [t for t in here if t.log_group == group and t.log_group_region == settings.region]
    logging = [t.name for t in writers if t.logging]
    if logging:
        return Check("trail to log group", True, f"trail {logging[0]} writes to {group}")
    if writers:
        return Check("trail to log group", False, f"trail {writers[0].name} writes to {group} but is not logging; "
                     "start it (CloudTrail console, or aws cloudtrail start-logging)")  # fmt: skip
    elsewhere = "".join(f" {_belongs_elsewhere(t)}." for t in trails if t.log_group == group and t not in here)
    return Check("trail to log group", False, f"no trail in this account writes to {group}, so nothing would reach "
                 "Splunk: point a trail's CloudWatch Logs delivery at it, or leave existing_log_group empty to "
                 f"create a trail.{elsewhere}")  # fmt: skip


def _subscription_room(logs, settings: PipelineSettings) -> Check:
    ours = f"{settings.name_prefix}-to-firehose"
    try:
        filters = logs.describe_subscription_filters(logGroupName=settings.existing_log_group)["subscriptionFilters"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return Check("subscription filters", None, "the log group does not exist (see above)")
        raise explain(error, "reading the log group's subscription filters") from error
    others = [f["filterName"] for f in filters if f["filterName"] != ours]
    if len(others) >= MAX_SUBSCRIPTION_FILTERS:
        return Check("subscription filters", False, f"{settings.existing_log_group} already has "
                     f"{len(others)} subscription filters ({', '.join(others)}), the most a log group can have; "
                     "remove one, or use another log group")  # fmt: skip
    return Check("subscription filters", True, f"{len(others)} of {MAX_SUBSCRIPTION_FILTERS} in use by others")


def _organization_checks(client, account: str) -> list[Check]:
    """An organization trail needs an organization with all features enabled, and is created from the management
    account or a delegated administrator for CloudTrail, with trusted access for CloudTrail on (AWS CloudTrail
    User Guide, "Prepare for creating a trail for your organization", "Creating a trail for an organization")."""
    organizations = client("organizations")
    try:
        organization = organizations.describe_organization()["Organization"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "AWSOrganizationsNotInUseException":
            return [Check("organization", False, f"account {account} is not in an organization; turn "
                          "organization_trail off, or deploy from the organization's management account")]  # fmt: skip
        return [Check("organization", None, f"could not read the organization ({explain(error, 'reading it')}); "
                      "the deploy fails unless this is its management or a delegated administrator")]  # fmt: skip
    management = organization["MasterAccountId"]
    if organization.get("FeatureSet") == "CONSOLIDATED_BILLING":
        return [Check("organization", False, f"organization {organization['Id']} has only consolidated billing "
                      "features, and an organization trail needs all of them: enable all features in AWS "
                      f"Organizations (in the management account {management}: aws organizations "
                      "enable-all-features, then every member account approves), or turn organization_trail "
                      "off")]  # fmt: skip
    if management == account:
        role = Check("organization", True, f"{account} is the management account of {organization['Id']}")
    else:
        try:
            delegated = organizations.list_delegated_administrators(ServicePrincipal=CLOUDTRAIL)
            admins = {a["Id"] for a in delegated["DelegatedAdministrators"]}
        except ClientError:  # a member account may not list them: then it is not one
            admins = set()
        if account not in admins:
            return [Check("organization", False, f"{account} is neither the management account ({management}) of "
                          f"{organization['Id']} nor a delegated administrator for CloudTrail: deploy from "
                          f"{management}, or register this account as one: in {management} run aws cloudtrail "
                          f"register-organization-delegated-admin --member-account-id {account} (AWS CloudTrail "
                          "User Guide, \"Add a CloudTrail delegated administrator\"; it also creates CloudTrail's "
                          "service-linked role, which Organizations' own command does not)")]  # fmt: skip
        role = Check("organization", True, f"{account} is a delegated administrator for CloudTrail in "
                     f"{organization['Id']}")  # fmt: skip
    try:
        enabled = {s["ServicePrincipal"] for s in
                   organizations.list_aws_service_access_for_organization()["EnabledServicePrincipals"]}  # fmt: skip
    except ClientError:
        return [role, Check("trusted access", None, "could not read whether trusted access for CloudTrail is on; "
                            "the deploy fails if it is off")]  # fmt: skip
    if CLOUDTRAIL not in enabled:
        return [role, Check("trusted access", False, "trusted access for CloudTrail is off in the organization: "
                            f"in the management account ({management}) run aws organizations "
                            f"enable-aws-service-access --service-principal {CLOUDTRAIL}")]  # fmt: skip
    return [role, Check("trusted access", True, "trusted access for CloudTrail is on")]


# --- plan and apply -------------------------------------------------------------------------------


def plan(settings: PipelineSettings, session: Session = None, sleep=time.sleep) -> Plan:
    """Create a change set and describe what it would do. The change set is kept for apply."""
    settings.validate()
    client = clients(session, settings.region)
    settings = with_organization_id(settings, client)
    cfn = client("cloudformation")
    if not settings.hec_token_secret_arn:
        settings = replace(settings, hec_token_secret_arn=_secret_arn(client, settings))
    stack = _stack(cfn, settings.stack_name)
    if stack and stack["StackStatus"] in FAILED_STACK:
        raise PipelineError(_failed_stack_advice(stack))
    if stack and not stack["StackStatus"].endswith(DONE) and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
        raise PipelineError(f"stack {settings.stack_name} is busy ({stack['StackStatus']}); wait for it to finish")
    stack = _discard_earlier_plans(cfn, stack, sleep, service_role(settings))
    create = stack is None
    name = f"{CHANGE_SET_PREFIX}{datetime.now(timezone.utc):%Y%m%d%H%M%S}"
    _call("creating a change set", cfn.create_change_set, StackName=settings.stack_name, ChangeSetName=name,
          ChangeSetType="CREATE" if create else "UPDATE", TemplateBody=TEMPLATE_PATH.read_text(),
          Parameters=settings.template_parameters(), Capabilities=CAPABILITIES,
          Tags=[{"Key": "created-by", "Value": "cloudtrail_firehose"}], **service_role(settings))  # fmt: skip
    described = _wait_for_change_set(cfn, settings.stack_name, name, sleep)
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
    described = _call("looking up the organization for the organization trail", organizations.describe_organization)
    organization = described["Organization"]
    return replace(settings, organization_id=settings.organization_id or organization["Id"],
                   organization_management_account=settings.organization_management_account
                   or organization["MasterAccountId"])  # fmt: skip


def _secret_arn(client, settings: PipelineSettings) -> str:
    """The token secret's ARN; before the first apply creates it, one of the same shape (a preview only)."""
    try:
        return client("secretsmanager").describe_secret(SecretId=settings.hec_token_secret_name)["ARN"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise explain(error, "reading the HEC token secret") from error
    except BotoCoreError as error:
        raise explain(error, "reading the HEC token secret") from error
    identity = client.identity()
    partition, name = identity["Arn"].split(":")[1], settings.hec_token_secret_name
    return f"arn:{partition}:secretsmanager:{settings.region}:{identity['Account']}:secret:{name}"


def _discard_earlier_plans(cfn, stack: dict | None, sleep, role: dict[str, str] | None = None) -> dict | None:
    """Remove change sets an earlier plan left unexecuted; return the stack, or None if there is none yet.

    A first plan leaves an empty stack in REVIEW_IN_PROGRESS; it holds no resources, so it is deleted
    and the new plan starts clean.
    """
    if stack is None:
        return None
    if stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        _call("removing an earlier, unexecuted plan", cfn.delete_stack, StackName=stack["StackId"], **(role or {}))
        for _ in range(60):
            remaining = _stack(cfn, stack["StackId"])
            if remaining is None or remaining["StackStatus"] == "DELETE_COMPLETE":
                break
            sleep(1)
        return None
    summaries = _call("listing earlier plans", cfn.list_change_sets, StackName=stack["StackId"])["Summaries"]
    for summary in summaries:
        if summary["ChangeSetName"].startswith(CHANGE_SET_PREFIX):
            _call("removing an earlier plan", cfn.delete_change_set, ChangeSetName=summary["ChangeSetId"])
    return stack


def _wait_for_change_set(cfn, stack_name: str, name: str, sleep) -> dict | None:
    delay = 1.0
    for _ in range(120):
        described = _call("reading the change set", cfn.describe_change_set, StackName=stack_name, ChangeSetName=name)
        status = described["Status"]
        if status == "CREATE_COMPLETE":
            return described
        if status == "FAILED":
            reason = described.get("StatusReason", "")
            _call("removing an empty change set", cfn.delete_change_set, StackName=stack_name, ChangeSetName=name)
            if "didn't contain changes" in reason or "No updates" in reason:
                return None
            raise PipelineError(f"CloudFormation rejected the plan: {reason}")
        sleep(delay)
        delay = min(delay * 2, 10)
    raise PipelineError(f"change set {name} was not ready after 10 minutes; look at it in the CloudFormation console")


def ensure_pipeline(
    settings: PipelineSettings,
    session: Session = None,
    progress: Progress = print,
    hec_token: str | None = None,
    sleep=time.sleep,
) -> dict[str, str]:
    """The HEC token secret first, then kept buckets adopted, then the stack converged (apply); return the outputs."""
    client = clients(session, settings.region)
    settings.validate()
    # The secret holds the real token before the stack exists, so Firehose never delivers with another.
    arn = ensure_hec_token_secret(client("secretsmanager"), settings.hec_token_secret_name, hec_token, progress)
    settings = replace(settings, hec_token_secret_arn=arn)
    _adopt_kept_buckets(settings, client, progress, sleep)
    if settings.processor == "lambda":
        settings = _ensure_processor_code(settings, client, progress, sleep)
    _converge(settings, client, progress, sleep)
    return stack_outputs(client("cloudformation"), settings.stack_name)


def processor_zip() -> bytes:
    """The Lambda processor as a deployment package: one file, standard library only."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("lambda_processor.py", date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        archive.writestr(info, PROCESSOR_PATH.read_bytes())
    return buffer.getvalue()


def _ensure_processor_code(settings: PipelineSettings, client: Clients, progress: Progress, sleep) -> PipelineSettings:
    """Upload the processor's code to the failed-delivery bucket (created first if needed)."""
    code = processor_zip()
    key = f"lambda/processor-{hashlib.sha256(code).hexdigest()[:16]}.zip"
    bucket = settings.bucket_names(client.account)[0]
    s3 = client("s3")
    if not _bucket_exists(s3, bucket):
        progress("Creating the stack without the processor first: its code goes into the stack's bucket")
        _converge(replace(settings, processor_code_key=""), client, progress, sleep)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        _call("uploading the processor's code", s3.put_object, Bucket=bucket, Key=key, Body=code)
        progress(f"Processor code uploaded to s3://{bucket}/{key}")
    return replace(settings, processor_code_key=key)


def _converge(settings: PipelineSettings, client: Clients, progress: Progress, sleep) -> None:
    current = plan(settings, client, sleep)
    progress(current.describe())
    if current.has_changes:
        cfn = client("cloudformation")
        before = _event_ids(cfn, settings.stack_name)
        _call("starting the deploy", cfn.execute_change_set, StackName=settings.stack_name,
              ChangeSetName=current.change_set_name)  # fmt: skip
        final = _watch(cfn, settings.stack_name, before, progress, sleep)
        if final not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            raise PipelineError(_failure_reason(cfn, settings.stack_name, before, final))
        progress(f"Stack {settings.stack_name}: {final}")


def ensure_hec_token_secret(secrets, name: str, token: str | None, progress: Progress = print) -> str:
    """Make the secret Firehose reads hold this token (created or restored first); return its ARN.

    With no token, the secret must already hold one. Never logs the token.
    """
    try:
        described = secrets.describe_secret(SecretId=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise explain(error, "reading the HEC token secret") from error
        described = None
    except BotoCoreError as error:
        raise explain(error, "reading the HEC token secret") from error
    if described is None:
        if token is None:
            raise PipelineError(f"the HEC token is not in Secrets Manager yet ({name}): deploy from the setup "
                                "page, or set CLOUDTRAIL_FIREHOSE_HEC_TOKEN to the token and apply again")  # fmt: skip
        created = _call("storing the HEC token", secrets.create_secret, Name=name,
                        Description="Splunk HEC token for the CloudTrail Firehose stream (written by the Splunk app)",
                        SecretString=json.dumps({"hec_token": token}))  # fmt: skip (no Tags: they need TagResource)
        progress("HEC token stored in Secrets Manager for Firehose")
        return created["ARN"]
    if described.get("DeletedDate"):  # an earlier destroy scheduled it for deletion
        _call("restoring the HEC token secret", secrets.restore_secret, SecretId=name)
        progress(f"Restored secret {name}, which an earlier destroy had scheduled for deletion")
    if token is not None:
        current = _call("reading the HEC token secret", secrets.get_secret_value, SecretId=name)
        if json.loads(current.get("SecretString") or "{}").get("hec_token") != token:
            _call("storing the HEC token", secrets.put_secret_value, SecretId=name,
                  SecretString=json.dumps({"hec_token": token}))  # fmt: skip
            progress("HEC token stored in Secrets Manager for Firehose")
    return described["ARN"]


def hec_token_settled_at(settings: PipelineSettings, session: Session = None) -> datetime:
    """When every Firehose cache holds the secret's current token: it refreshes them every 10 minutes
    (Amazon Data Firehose Developer Guide, "Use the secret"), plus a margin for clocks."""
    secrets = clients(session, settings.region)("secretsmanager")
    described = _call("reading the HEC token secret", secrets.describe_secret, SecretId=settings.hec_token_secret_name)
    changed = described.get("LastChangedDate") or described.get("CreatedDate") or datetime.now(timezone.utc)
    return changed + FIREHOSE_SECRET_REFRESH


def _event_ids(cfn, stack_name: str) -> set[str]:
    """Events that happened before an operation (compared by id: the local clock may be off)."""
    try:
        return {e["EventId"] for e in cfn.describe_stack_events(StackName=stack_name)["StackEvents"]}
    except ClientError:
        return set()


def _watch(cfn, stack_name: str, before: set[str], progress: Progress, sleep, timeout: float = 3600) -> str:
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
        stack = _stack(cfn, stack_name)
        status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
        if status.endswith(DONE) and not status.endswith("_IN_PROGRESS"):
            return status
        if waited > timeout:
            raise PipelineError(f"stack {stack_name} still {status} after {timeout / 60:.0f} minutes")
        delay = 2.0 if fresh else min(delay * 1.5, 15)
        sleep(delay)
        waited += delay


def _failure_reason(cfn, stack_name: str, before: set[str], final: str) -> str:
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


def _outputs(stack: dict) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def stack_outputs(cfn, stack_name: str) -> dict[str, str]:
    stack = _stack(cfn, stack_name)
    if stack is None:
        raise PipelineError(f"stack {stack_name} does not exist; run apply first")
    return _outputs(stack)


# --- buckets an earlier destroy kept -----------------------------------------------------------


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


def _adopt_kept_buckets(settings: PipelineSettings, session, progress: Progress, sleep) -> None:
    """Bring the buckets an earlier destroy kept (with their data) into the stack before it would create them:
    into a new stack, or into the existing one when it is about to create one (a switch back to a trail)."""
    client = clients(session, settings.region)
    cfn = client("cloudformation")
    stack = _stack(cfn, settings.stack_name)
    existing = stack if stack and stack["StackStatus"] != "REVIEW_IN_PROGRESS" else None
    if existing and (existing["StackStatus"] in FAILED_STACK or not existing["StackStatus"].endswith("_COMPLETE")):
        return  # failed or busy: plan says what to do
    kept = kept_buckets(client("s3"), settings, client.account)
    if existing and kept:  # the tags also match the buckets the stack holds now
        held = _stack_resources(cfn, settings.stack_name)
        kept = {logical_id: bucket for logical_id, bucket in kept.items() if logical_id not in held}
    if not kept:
        return
    _discard_earlier_plans(cfn, stack, sleep, service_role(settings))
    progress(f"Adopting the S3 bucket(s) an earlier destroy kept, with their data: {', '.join(kept.values())}")
    name = f"{CHANGE_SET_PREFIX}import-{datetime.now(timezone.utc):%Y%m%d%H%M%S}"
    to_import = [{"ResourceType": "AWS::S3::Bucket", "LogicalResourceId": logical_id,
                  "ResourceIdentifier": {"BucketName": bucket}} for logical_id, bucket in kept.items()]  # fmt: skip
    if existing:
        current = _call("reading the stack's template", cfn.get_template, StackName=settings.stack_name)
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
    _call("creating the import of the kept buckets", cfn.create_change_set, StackName=settings.stack_name,
          ChangeSetName=name, ChangeSetType="IMPORT", Capabilities=CAPABILITIES, ResourcesToImport=to_import,
          **target, **service_role(settings))  # fmt: skip
    if _wait_for_change_set(cfn, settings.stack_name, name, sleep) is None:
        raise PipelineError(f"CloudFormation found nothing to import into {settings.stack_name}")
    before = _event_ids(cfn, settings.stack_name)
    _call("importing the kept buckets", cfn.execute_change_set, StackName=settings.stack_name, ChangeSetName=name)
    final = _watch(cfn, settings.stack_name, before, progress, sleep)
    if final != "IMPORT_COMPLETE":
        raise PipelineError(_failure_reason(cfn, settings.stack_name, before, final) + " The buckets and their data "
                            "are untouched.")  # fmt: skip
    progress(f"Stack {settings.stack_name}: IMPORT_COMPLETE")


def _stack_resources(cfn, stack_name: str) -> set[str]:
    """Logical ids of the resources the stack holds now."""
    try:
        pages = cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name)
        return {r["LogicalResourceId"] for page in pages for r in page["StackResourceSummaries"]}
    except (ClientError, BotoCoreError) as error:
        raise explain(error, f"listing the resources of stack {stack_name}") from error


# --- status, destroy, export ---------------------------------------------------------------------


def status(
    settings: PipelineSettings, session: Session = None, sleep=time.sleep, detect_drift: bool = True
) -> dict:
    """The stack's state, outputs, drift, the stream's state and the failed-delivery backlog.

    detect_drift starts a new drift detection; without it the last detection's result is reported.
    """
    client = clients(session, settings.region)
    cfn = client("cloudformation")
    stack = _stack(cfn, settings.stack_name)
    if stack is None:
        return {"stack": settings.stack_name, "status": "NOT_DEPLOYED"}
    outputs = _outputs(stack)
    last_drift = stack.get("DriftInformation", {}).get("StackDriftStatus", "NOT_CHECKED")
    report = {"stack": settings.stack_name, "status": stack["StackStatus"], "outputs": outputs,
              "drift": _drift(cfn, settings.stack_name, sleep) if detect_drift else last_drift}  # fmt: skip
    if "DeliveryStreamName" in outputs:
        try:
            description = client("firehose").describe_delivery_stream(DeliveryStreamName=outputs["DeliveryStreamName"])
            report["delivery_stream"] = description["DeliveryStreamDescription"]["DeliveryStreamStatus"]
        except ClientError as error:
            report["delivery_stream"] = f"unknown ({error.response['Error']['Code']})"
    if "FailedDeliveryBucketName" in outputs:
        report["failed_delivery_objects"] = _backlog(client("s3"), outputs["FailedDeliveryBucketName"])
    return report


def _backlog(s3, bucket: str) -> int | str:
    """Objects Firehose wrote that recovery has not moved yet (recovered/, needs-attention/, lambda/ are not).

    ListObjectsV2 answers at most 1,000 keys a page (Amazon S3 API Reference, ListObjectsV2: MaxKeys), so
    the count follows NextContinuationToken, up to BACKLOG_CAP: beyond it the answer is BACKLOG_MORE.
    """
    count = 0
    try:
        for prefix in FAILED_DELIVERY_PREFIXES:
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
    stack = _stack(cfn, settings.stack_name)
    if stack is None:
        progress(f"Stack {settings.stack_name} does not exist; nothing to remove.")
    else:
        before = _event_ids(cfn, settings.stack_name)
        _call("deleting the stack", cfn.delete_stack, StackName=settings.stack_name, **service_role(settings))
        final = _watch(cfn, settings.stack_name, before, progress, sleep)
        if final != "DELETE_COMPLETE":
            raise PipelineError(_failure_reason(cfn, settings.stack_name, before, final))
        progress(f"Stack {settings.stack_name}: DELETE_COMPLETE")
    _retire_hec_token_secret(client("secretsmanager"), settings.hec_token_secret_name, progress)
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


def _retire_hec_token_secret(secrets, name: str, progress: Progress) -> None:
    """Schedule the token's secret for deletion; the recovery window lets a later apply restore it."""
    try:
        described = secrets.describe_secret(SecretId=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return
        raise explain(error, "reading the HEC token secret") from error
    if not described.get("DeletedDate"):
        _call("deleting the HEC token secret", secrets.delete_secret, SecretId=name, RecoveryWindowInDays=7)
        progress(f"Secret {name} scheduled for deletion in 7 days (apply restores it)")


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


def export(settings: PipelineSettings, directory: Path) -> tuple[Path, Path]:
    """Write the template and a parameters file for teams that deploy the stack themselves."""
    settings.validate()
    directory.mkdir(parents=True, exist_ok=True)
    template = directory / "cloudtrail_firehose.template.yaml"
    parameters = directory / "cloudtrail_firehose.parameters.json"
    template.write_text(TEMPLATE_PATH.read_text())
    parameters.write_text(json.dumps(settings.template_parameters(), indent=2) + "\n")
    (directory / "cloudtrail_firehose.processor.zip").write_bytes(processor_zip())
    return template, parameters
