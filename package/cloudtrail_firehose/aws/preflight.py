"""Everything that can be checked before deploying, each with what to do when it fails: the caller's identity
and permissions (permissions.py), the HEC certificate, the stack's state, names already taken, the
trails and organization already there, and for VPC Flow Logs the VPCs, their flow logs and the log group."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from cloudtrail_firehose import settings as schema
from cloudtrail_firehose.aws.change_sets import FAILED_STACK, failed_stack_advice, read_stack
from cloudtrail_firehose.aws.checks import Check
from cloudtrail_firehose.aws.clients import Clients, Session, clients
from cloudtrail_firehose.aws.errors import PipelineError, aws_call, explain
from cloudtrail_firehose.aws.kept_buckets import kept_buckets
from cloudtrail_firehose.aws.permissions import permission_checks
from cloudtrail_firehose.aws.settings import PipelineSettings
from cloudtrail_firehose.certificates import check_hec_certificate
from cloudtrail_firehose.sources.vpcflow import FORMATS, log_format

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
    if _collects_cloudtrail(settings):
        if settings.existing_log_group:
            checks.append(_existing_log_group(client("logs"), settings))
        checks += _trail_checks(client, settings)
        if settings.organization_trail:
            checks += _organization_checks(client, identity["Account"])
    if _collects_vpc_flow_logs(settings):
        checks += _vpc_flow_checks(client, settings)
    return checks


# The sources' switches (settings.py: collect_cloudtrail, collect_vpc_flow_logs, vpc_ids, vpc_flow_log_group), read
# with getattr while the schema that declares them is landing: a PipelineSettings without them is CloudTrail only.
def _collects_cloudtrail(settings: PipelineSettings) -> bool:
    return bool(getattr(settings, "collect_cloudtrail", True))


def _collects_vpc_flow_logs(settings: PipelineSettings) -> bool:
    return bool(getattr(settings, "collect_vpc_flow_logs", False))


def _chosen_vpc_ids(settings: PipelineSettings) -> list[str]:
    """The vpc_ids setting as ids, in order, once each; [] means every VPC of the region."""
    ids = [part.strip() for part in str(getattr(settings, "vpc_ids", "") or "").split(",")]
    return list(dict.fromkeys(i for i in ids if i))


def _vpc_flow_log_group(settings: PipelineSettings) -> str:
    return str(getattr(settings, "vpc_flow_log_group", "") or "").strip()


def _existing_log_group(logs, settings: PipelineSettings) -> Check:
    return _log_group_exists(logs, settings.existing_log_group, settings.region, "existing log group",
                             "name the log group your trail writes to, or leave existing_log_group empty to create "
                             "a trail")  # fmt: skip


def _log_group_exists(logs, name: str, region: str, check: str, advice: str) -> Check:
    """Whether a log group of exactly this name is in the account and region (logGroupNamePrefix matches more)."""
    groups = aws_call("looking up the log group", logs.describe_log_groups, logGroupNamePrefix=name)["logGroups"]
    if any(g["logGroupName"] == name for g in groups):
        return Check(check, True, name)
    return Check(check, False, f"{name} does not exist in {region}; {advice}")


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
    streams = [prefix] + ([vpcflow_stream_name(settings)] if _collects_vpc_flow_logs(settings) else [])
    for stream in streams:
        try:
            client("firehose").describe_delivery_stream(DeliveryStreamName=stream)
            clashes.append(f"Firehose stream {stream} already exists")
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
        return [_trail_writes_to(trails, settings, account),
                _subscription_room(client("logs"), settings.existing_log_group, f"{settings.name_prefix}-to-firehose",
                                   "subscription filters")]  # fmt: skip
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


def _subscription_room(logs, group: str, ours: str, check: str) -> Check:
    """Room for the stack's subscription filter (named ours) on a log group the stack does not own."""
    try:
        filters = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return Check(check, None, "the log group does not exist (see above)")
        raise explain(error, "reading the log group's subscription filters") from error
    others = [f["filterName"] for f in filters if f["filterName"] != ours]
    if len(others) >= MAX_SUBSCRIPTION_FILTERS:
        return Check(check, False, f"{group} already has {len(others)} subscription filters "
                     f"({', '.join(others)}), the most a log group can have (CloudWatch Logs quotas); remove one, "
                     "or use another log group")  # fmt: skip
    return Check(check, True, f"{len(others)} of {MAX_SUBSCRIPTION_FILTERS} in use by others")


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


# --- VPC Flow Logs -------------------------------------------------------------------------------------------------

# The flow logs' own Firehose stream and, on the log-group path, the stack's subscription filter on that group.
VPCFLOW_STREAM = "{prefix}-vpcflow"
VPCFLOW_FILTER = "{prefix}-vpcflow-to-firehose"
STACK_NAME_TAG = "aws:cloudformation:stack-name"  # CloudFormation tags what a stack creates with its name
RESOURCE_IDS_PER_CALL = 200  # resource-id filter values per DescribeFlowLogs request: a modest batch
LISTED = 20  # VPCs named in a check's detail; the rest are counted
FLOW_LOG_COST = ('flow logs are charged as vended logs per GB delivered (Amazon VPC User Guide, "Publish flow logs '
                 'to Amazon Data Firehose"), so a second flow log on the same VPC doubles that charge for the same '
                 "traffic")  # fmt: skip


def vpcflow_stream_name(settings: PipelineSettings) -> str:
    return VPCFLOW_STREAM.format(prefix=settings.name_prefix)


@dataclass
class Vpc:
    id: str
    name: str = ""  # its Name tag

    def __str__(self) -> str:
        return f"{self.id} ({self.name})" if self.name else self.id


def region_vpcs(ec2) -> list[Vpc]:
    """Every VPC of the account in the client's region (ec2:DescribeVpcs, every page)."""
    try:
        pages = list(ec2.get_paginator("describe_vpcs").paginate())
    except (ClientError, BotoCoreError) as error:
        raise explain(error, "listing the region's VPCs") from error
    return [Vpc(vpc["VpcId"], next((t["Value"] for t in vpc.get("Tags", []) if t["Key"] == "Name"), ""))
            for page in pages for vpc in page.get("Vpcs", [])]  # fmt: skip


@dataclass
class ExistingFlowLog:
    id: str
    resource: str  # the VPC, subnet or network interface it records
    destination_type: str  # cloud-watch-logs | s3 | kinesis-data-firehose
    destination: str  # the destination's ARN, or the log group's name when AWS gives no ARN
    log_group: str  # the log group it writes to, "" for another destination type
    log_group_elsewhere: str  # "" when the log group is in this account and region, else where it is
    traffic_type: str
    status: str  # DeliverLogsStatus: SUCCESS | FAILED
    error: str  # DeliverLogsErrorMessage
    log_format: str
    stack: str  # the CloudFormation stack that made it, "" when none did

    def describe(self) -> str:
        status = self.status or "unknown"
        if self.error:
            status += f": {self.error}"
        where = f"log group {self.log_group}" if self.log_group else self.destination
        return (f"{self.id} on {self.resource} to {self.destination_type} {where} "
                f"(traffic {self.traffic_type or 'unknown'}, delivery {status})")  # fmt: skip


def _flow_log(record: dict, account: str, region: str) -> ExistingFlowLog:
    destination = record.get("LogDestination") or record.get("LogGroupName") or ""
    kind = record.get("LogDestinationType") or ("cloud-watch-logs" if record.get("LogGroupName") else "")
    group, elsewhere = "", ""
    if kind == "cloud-watch-logs":
        group = record.get("LogGroupName") or ""
        arn = (record.get("LogDestination") or "").split(":")  # arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]
        if len(arn) >= 7:
            group = group or arn[6]
            if (arn[3], arn[4]) != (region, account):
                elsewhere = f"account {arn[4]}, region {arn[3]}"
    tags = {t["Key"]: t["Value"] for t in record.get("Tags", [])}
    return ExistingFlowLog(record["FlowLogId"], record.get("ResourceId", ""), kind, destination, group, elsewhere,
                           record.get("TrafficType", ""), record.get("DeliverLogsStatus", ""),
                           record.get("DeliverLogsErrorMessage", ""), record.get("LogFormat", ""),
                           tags.get(STACK_NAME_TAG, ""))  # fmt: skip


def existing_flow_logs(ec2, account: str, region: str, resource_ids: list[str] | None = None,
                       log_group: str = "") -> list[ExistingFlowLog]:  # fmt: skip
    """The flow logs on these resources, or those writing to this log group (ec2:DescribeFlowLogs, every page)."""
    if log_group:
        batches = [[{"Name": "log-group-name", "Values": [log_group]}]]
    else:
        ids = resource_ids or []
        batches = [[{"Name": "resource-id", "Values": ids[i:i + RESOURCE_IDS_PER_CALL]}]
                   for i in range(0, len(ids), RESOURCE_IDS_PER_CALL)]  # fmt: skip
    records = []
    try:
        for filters in batches:
            for page in ec2.get_paginator("describe_flow_logs").paginate(Filters=filters):
                records += page.get("FlowLogs", [])
    except (ClientError, BotoCoreError) as error:
        raise explain(error, "listing the existing flow logs") from error
    return [_flow_log(record, account, region) for record in records]


def _named(vpcs: list[Vpc]) -> str:
    names = ", ".join(str(v) for v in vpcs[:LISTED])
    return names + (f" and {len(vpcs) - LISTED} more" if len(vpcs) > LISTED else "")


def _vpc_flow_checks(client: Clients, settings: PipelineSettings) -> list[Check]:
    group = _vpc_flow_log_group(settings)
    if group:
        return _vpc_flow_log_group_checks(client, settings, group)
    check, covered = _vpc_check(client("ec2"), settings, client.account)
    return [check] + ([_flow_log_check(client("ec2"), settings, covered, client.account)] if covered else [])


def _vpc_check(ec2, settings: PipelineSettings, account: str) -> tuple[Check, list[str]]:
    """Which VPCs deploy covers: every VPC of the region, or the chosen ones, each of which must be one of them.
    Returns the check and the ids whose flow logs to look at."""
    chosen = _chosen_vpc_ids(settings)
    region = settings.region
    try:
        vpcs = region_vpcs(ec2)
    except PipelineError as error:
        return Check("VPCs", None, f"could not list the VPCs of {region} ({error}); the deploy fails if vpc_ids "
                     "names one that is not there"), chosen  # fmt: skip
    if not vpcs:
        return Check("VPCs", False, f"account {account} has no VPC in {region}, so there is no traffic to log: "
                     "choose the region your VPCs are in, or turn collect_vpc_flow_logs off"), []  # fmt: skip
    if not chosen:
        return Check("VPCs", True, f"every VPC of the region ({len(vpcs)} in {region}): {_named(vpcs)}. Deploy "
                     "creates a flow log on each; a VPC made later is covered by the next deploy"), \
            [v.id for v in vpcs]  # fmt: skip
    known = {v.id: v for v in vpcs}
    unknown = [i for i in chosen if i not in known]
    if unknown:
        verb = "is not a VPC" if len(unknown) == 1 else "are not VPCs"
        return Check("VPCs", False, f"{', '.join(unknown)} {verb} of account {account} in {region}; the region's "
                     f"VPCs are {_named(vpcs)}. A flow log is created only on a VPC of this account and region, "
                     "not on a peered VPC of another account (Amazon VPC User Guide, \"Flow log limitations\"): "
                     "correct vpc_ids, or leave it empty for every VPC of the region"), \
            [i for i in chosen if i in known]  # fmt: skip
    return Check("VPCs", True, f"{len(chosen)} chosen VPC(s) in {region}: {_named([known[i] for i in chosen])}; "
                 "deploy creates a flow log on each"), chosen  # fmt: skip


def _flow_log_check(ec2, settings: PipelineSettings, vpc_ids: list[str], account: str) -> Check:
    """The flow logs already on the VPCs deploy covers: each one the deploy adds is paid again."""
    try:
        found = existing_flow_logs(ec2, account, settings.region, resource_ids=vpc_ids)
    except PipelineError as error:
        return Check("existing flow logs", None, f"could not list the flow logs already on these VPCs ({error}); "
                     f"if there are some, the flow log deploy adds is paid again: {FLOW_LOG_COST}")  # fmt: skip
    stream = f":deliverystream/{vpcflow_stream_name(settings)}"
    ours = [f for f in found if f.stack == settings.stack_name or f.destination.endswith(stream)]
    others = [f for f in found if f not in ours]
    kept = f"; {len(ours)} made by stack {settings.stack_name}, which apply keeps" if ours else ""
    if not others:
        return Check("existing flow logs", True, f"no other flow log on these VPCs{kept}")
    listed = "; ".join(f.describe() for f in others)
    detail = (f"{len(others)} flow log(s) already on these VPCs: {listed}{kept}. Deploy adds one more per VPC: "
              f"{FLOW_LOG_COST}.")  # fmt: skip
    groups = list(dict.fromkeys(f.log_group for f in others if f.log_group and not f.log_group_elsewhere))
    if groups:
        detail += (f" To avoid that, set vpc_flow_log_group={groups[0]} to take the records that log group already "
                   "gets through a subscription filter instead of a second flow log")  # fmt: skip
        if len(groups) > 1:
            detail += f" (other log groups with flow logs: {', '.join(groups[1:])})"
        detail += "."
    return Check("existing flow logs", None, detail)


def _vpc_flow_log_group_checks(client: Clients, settings: PipelineSettings, group: str) -> list[Check]:
    """The log-group path: the group is there, has room for the stack's subscription filter, and flow logs in
    the format the app's extraction expects write to it."""
    logs = client("logs")
    checks = [_log_group_exists(logs, group, settings.region, "VPC flow log group",
                                "name the log group your flow logs write to, or leave vpc_flow_log_group empty to "
                                "publish flow logs straight to Firehose"),  # fmt: skip
              _subscription_room(logs, group, VPCFLOW_FILTER.format(prefix=settings.name_prefix),
                                 "VPC flow log group subscription filters")]  # fmt: skip
    try:
        writers = existing_flow_logs(client("ec2"), client.account, settings.region, log_group=group)
    except PipelineError as error:
        return checks + [Check("flow logs to log group", None, f"could not list the flow logs writing to {group} "
                               f"({error}); nothing reaches Splunk unless one does")]  # fmt: skip
    if not writers:
        return checks + [Check("flow logs to log group", False, f"no flow log in this account and {settings.region} "
                               f"writes to {group}, so nothing would reach Splunk: point a flow log at it, or leave "
                               "vpc_flow_log_group empty to publish flow logs straight to Firehose")]  # fmt: skip
    delivering = [f for f in writers if f.status != "FAILED"]
    listed = "; ".join(f.describe() for f in writers)
    if not delivering:
        checks.append(Check("flow logs to log group", None, f"every flow log writing to {group} fails to deliver: "
                            f"{listed}"))  # fmt: skip
    else:
        checks.append(Check("flow logs to log group", True, listed))
    return checks + [_record_format_check(settings, writers)]


def _record_format_check(settings: PipelineSettings, writers: list[ExistingFlowLog]) -> Check:
    """The fields of a flow log sent on carry no names, so search time reads them in the order of the chosen
    record format; an existing flow log's format is its own and cannot be changed (Amazon VPC User Guide,
    "Flow log limitations")."""
    chosen = str(getattr(settings, "vpc_flow_record_format", "recommended") or "recommended")
    by_format = {" ".join(log_format(fields).split()): name for name, fields in FORMATS.items()}
    wrong = [f for f in writers if by_format.get(" ".join(f.log_format.split())) != chosen]
    if not wrong:
        return Check("flow log format", True, f"the flow logs writing to the log group use the {chosen} format")
    problems = []
    for f in wrong:
        matches = by_format.get(" ".join(f.log_format.split()))
        problems.append(f"{f.id} writes the {matches} format" if matches else
                        f"{f.id} writes a format of its own ({f.log_format or 'unknown'})")  # fmt: skip
    return Check("flow log format", False, f"vpc_flow_record_format is {chosen}, but {'; '.join(problems)}, so "
                 "Splunk would read its fields in the wrong order. Set vpc_flow_record_format to the format "
                 f"those flow logs use ({', '.join(FORMATS)}), or, since a flow log's format cannot be changed, "
                 "replace them with flow logs in that format")  # fmt: skip
