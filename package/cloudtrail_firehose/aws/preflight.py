"""Everything that can be checked before deploying, each with what to do when it fails: the caller's identity
and permissions (permissions.py), the HEC certificate, the stack's state, names already taken, and the
trails and organization already there."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from cloudtrail_firehose import settings as schema
from cloudtrail_firehose.aws.change_sets import FAILED_STACK, failed_stack_advice, read_stack
from cloudtrail_firehose.aws.checks import Check
from cloudtrail_firehose.aws.clients import Clients, Session, clients
from cloudtrail_firehose.aws.errors import PipelineError, aws_call, explain
from cloudtrail_firehose.aws.kept_buckets import kept_buckets
from cloudtrail_firehose.aws.permissions import permission_checks
from cloudtrail_firehose.aws.settings import PipelineSettings
from cloudtrail_firehose.certificates import check_hec_certificate

CLOUDTRAIL = "cloudtrail.amazonaws.com"
MAX_SUBSCRIPTION_FILTERS = 2  # per log group, and it cannot be raised (CloudWatch Logs quotas)


def preflight(
    settings: PipelineSettings, session: Session = None, check_certificate: bool = True
) -> list[Check]:
    """Everything that can be checked before deploying, each with what to do when it fails."""
    client = clients(session, settings.region)
    settings.validate()
    identity = client.identity()
    checks = [Check("AWS identity", True, f"{identity['Arn']} in account {identity['Account']}")]
    checks += permission_checks(client("iam"), settings, identity)
    if check_certificate:
        result = check_hec_certificate(settings.hec_url)
        checks.append(Check("HEC certificate", result.ok, result.detail))
    stack = read_stack(client("cloudformation"), settings.stack_name)
    if stack and stack["StackStatus"] in FAILED_STACK:
        checks.append(Check("stack", False, failed_stack_advice(stack)))
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
    groups = aws_call("looking up the log group", logs.describe_log_groups, logGroupNamePrefix=name)["logGroups"]
    if any(g["logGroupName"] == name for g in groups):
        return Check("existing log group", True, name)
    return Check("existing log group", False, f"{name} does not exist in {settings.region}; name the log group "
                 "your trail writes to, or leave existing_log_group empty to create a trail")  # fmt: skip


def _name_clashes(client: Clients, settings: PipelineSettings, account: str) -> list[Check]:
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
    for trail in aws_call("listing the account's trails", cloudtrail.describe_trails, includeShadowTrails=True)[
            "trailList"]:  # fmt: skip
        status = aws_call(f"reading the status of trail {trail['Name']}", cloudtrail.get_trail_status,
                          Name=trail.get("TrailARN") or trail["Name"])  # fmt: skip
        # arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*
        parts = (trail.get("CloudWatchLogsLogGroupArn") or "").split(":")
        group, group_region, group_account = (parts[6], parts[3], parts[4]) if len(parts) >= 7 else ("", "", "")
        arn = (trail.get("TrailARN") or "").split(":")
        trails.append(ExistingTrail(trail["Name"], trail.get("HomeRegion", ""), bool(status.get("IsLogging")), group,
                                    group_region, group_account, arn[4] if len(arn) > 4 else "",
                                    bool(trail.get("IsOrganizationTrail"))))  # fmt: skip
    return trails


def _trail_checks(client: Clients, settings: PipelineSettings) -> list[Check]:
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


def _organization_checks(client: Clients, account: str) -> list[Check]:
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
