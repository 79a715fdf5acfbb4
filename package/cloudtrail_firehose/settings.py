"""The one schema of every setting the app keeps: each defined once, as data.

The setup page renders and checks its form from it (served by GET setup/schema), the setup handler
validates every save with it, build.py generates README/cloudtrail_firehose.conf.spec and the
template's Parameters from it, and aws/settings.py builds PipelineSettings from it.

Patterns are matched whole (Python re.fullmatch, JavaScript ^(?:...)$) and written in the subset
both understand: ASCII classes only ([0-9], [A-Za-z0-9_]; no \\d or \\w, which match Unicode in Python).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from cloudtrail_firehose import sources
from cloudtrail_firehose.sources.unit import Source
from cloudtrail_firehose.sources.vpcflow import FORMATS, log_format

# Settings land in a .conf file: a line break would start a new line (or [stanza]) there, and a
# trailing backslash joins the next line (Splunk's line continuation). No saved value may hold either.
COMMON_REFUSALS = (
    ("[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]", "must not hold control characters or line breaks"),
    ("\\\\$", "must not end with a backslash"),
)
GROUPS = (("splunk", "Splunk"), ("aws", "AWS access"), ("pipeline", "What to collect"), ("vpcflow", "VPC Flow Logs"),
          ("advanced", "Advanced"))  # fmt: skip
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)  # fmt: skip
# The template names its buckets with this formula too (tests/test_settings.py checks its !Sub).
BUCKET_NAME = "{prefix}-{kind}-{account}-{region}"
BUCKET_KINDS = ("failed", "trail")
# The name prefix starts the name of everything the stack creates. The tightest limit is a bucket's 63 characters
# (Amazon S3 User Guide, "General purpose bucket naming rules") for the longest kind, a 12-digit account and the
# region with the longest name (tests/test_settings.py checks that botocore knows none longer): 27 characters.
LONGEST_REGION = "us-isof-south-1"
NAME_PREFIX_MAX = 63 - len(BUCKET_NAME.format(prefix="", kind=max(BUCKET_KINDS, key=len), account="0" * 12,
                                              region=LONGEST_REGION))  # fmt: skip
# VPC ids as EC2 writes them: vpc- and 8 (older VPCs) or 17 hexadecimal digits (Amazon EC2 API Reference, "Vpc").
VPC_ID = "vpc-[0-9a-f]{8,17}"
# The same CloudWatch Logs group name rule as CreateLogGroup's (1-512 letters, digits and _/.#-).
LOG_GROUP_PATTERN = "[A-Za-z0-9_/.#-]{1,512}"
LOG_GROUP_HELP = "is not a CloudWatch Logs group name (1-512 letters, digits and _/.#-)"
# indexes.conf.spec: numbers, lowercase letters, underscores and hyphens, not starting with an underscore or
# hyphen, never containing "kvstore". 255: it names a directory on disk.
INDEX_PATTERN = "(?![\\s\\S]*kvstore)[a-z0-9][a-z0-9_-]*"
INDEX_HELP = ("is not an index name: lower-case letters, digits, _ and -, not starting with _ or -, not containing "
              "'kvstore'")
# The template's own log groups: Firehose's error logs and the trail's events.
LOG_GROUP_NAMES = ("/aws/kinesisfirehose/{prefix}", "/aws/cloudtrail/{prefix}")


@dataclass(frozen=True)
class Setting:
    name: str
    label: str
    group: str
    default: str | int | bool = ""
    kind: str = "string"  # string | integer | boolean
    help: str = ""
    choices: tuple[tuple[Any, str], ...] = ()  # (value, label): the only values allowed
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 1024
    pattern: str = ""  # a non-empty value must match it whole
    pattern_help: str = ""  # what to write instead, when it does not
    refuse: tuple[tuple[str, str], ...] = ()  # (pattern found anywhere, what is wrong), checked first
    required: str = ""  # when set: the value may not be empty, and this says what to give
    # shown (and required) only while that setting has that value (or one of them); or a tuple of such pairs,
    # all of which must hold
    when: tuple[str, Any] | tuple[tuple[str, Any], ...] | None = None
    filled: str = ""  # while hidden by when, the app fills it in like this (so the template still requires it)
    secret: bool = False  # kept in storage/passwords, never in a .conf file or an answer
    scope: str = "pipeline"  # pipeline: the AWS side (PipelineSettings); access: how to reach AWS; splunk
    parameter: str = ""  # the CloudFormation template parameter it becomes
    shown: bool = True  # False: set by the app, not on the form
    # (choice, parameter value): what the template parameter receives for each choice (default: the choice itself)
    template_values: tuple[tuple[Any, str], ...] = ()

    def parameter_value(self, value: Any) -> str:
        """The template parameter's value for a setting's value."""
        return dict((text(c), v) for c, v in self.template_values).get(text(value), text(value))

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["choices"] = [list(c) for c in self.choices]
        data["refuse"] = [list(r) for r in COMMON_REFUSALS + self.refuse]
        data["when"] = json.loads(json.dumps(self.when)) if self.when else None
        data["template_values"] = [list(t) for t in self.template_values]
        return data


SETTINGS: tuple[Setting, ...] = (
    Setting("delivery", "Where Firehose delivers", "splunk", "local", scope="splunk",
            help="local - this Splunk instance receives HEC (the app creates the token here); existing - an HEC "
                 "token you made on another tier (indexers, heavy forwarders, behind a load balancer); cloud - "
                 "Splunk Cloud Platform, where the app creates the token through the Admin Config Service.",
            choices=(("local", "This Splunk instance"), ("existing", "An existing HEC token on another tier"),
                     ("cloud", "Splunk Cloud through ACS"))),
    Setting("hec_token", "HEC token value", "splunk", scope="splunk", secret=True,
            when=(("delivery", "existing"), ("collect_cloudtrail", True)),
            max_length=128, help="The CloudTrail token's value on the HEC tier. Stored encrypted in Splunk "
                                 "(storage/passwords), never shown again; setup hands it to Secrets Manager.",
            required="paste the value of the HEC token Firehose is to use (Settings > Data inputs > "
                     "HTTP Event Collector on the HEC tier)"),
    Setting("vpcflow_hec_token", "VPC Flow Logs HEC token value", "splunk", scope="splunk", secret=True,
            when=(("delivery", "existing"), ("collect_vpc_flow_logs", True)), max_length=128,
            help="The value of a second HEC token on the HEC tier, for the VPC flow logs: its sourcetype must be "
                 "aws:cloudwatchlogs:vpcflow (the CloudTrail token's is aws:cloudtrail), with indexer "
                 "acknowledgement on. Stored encrypted in Splunk (storage/passwords), never shown again.",
            required="paste the value of the HEC token for the VPC flow logs (sourcetype aws:cloudwatchlogs:vpcflow, "
                     "Settings > Data inputs > HTTP Event Collector on the HEC tier)"),
    Setting("splunk_cloud_stack", "Splunk Cloud stack", "splunk", scope="splunk", when=("delivery", "cloud"),
            max_length=63, help="The first part of your Splunk Cloud URL: acme for https://acme.splunkcloud.com. "
                                "Firehose delivers to https://http-inputs-firehose-<stack>.splunkcloud.com.",
            pattern="[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?",
            pattern_help="is not a stack name: the first part of https://<stack>.splunkcloud.com (lower-case "
                         "letters, digits and hyphens)",
            required="give the Splunk Cloud stack name (acme for https://acme.splunkcloud.com)"),
    Setting("acs_token", "ACS token", "splunk", scope="splunk", when=("delivery", "cloud"), secret=True,
            max_length=8192, help="An authentication token of a stack user with the sc_admin role (Settings > "
                                  "Tokens), for the Admin Config Service. Stored encrypted in storage/passwords.",
            required="paste an authentication token of a stack user with the sc_admin role (Settings > Tokens)"),
    Setting("index", "Splunk index", "splunk", "aws_cloudtrail", scope="splunk", max_length=255,
            when=("collect_cloudtrail", True),
            help="Where the CloudTrail events go, and the app's own health and recovery events. It must exist "
                 "already (Settings > Indexes).",
            pattern=INDEX_PATTERN, pattern_help=INDEX_HELP,
            required="choose the Splunk index the CloudTrail events go to"),
    Setting("hec_url", "Public HEC URL", "splunk", parameter="HecUrl", max_length=300,
            when=("delivery", ("local", "existing")), filled="from the Splunk Cloud stack name",
            help="The public HTTP Event Collector URL Firehose delivers to: https:// and a host name with a "
                 "publicly trusted certificate, e.g. https://http-inputs-firehose-acme.splunkcloud.com",
            refuse=(("^(?!https://)", "must start with https:// (Firehose only delivers over TLS)"),
                    ("^https://(\\[|[0-9.]+(:|/|$))", "uses an IP address: Firehose needs a host name with a "
                     "publicly trusted certificate (Splunk Cloud: https://http-inputs-firehose-<stack>.splunkcloud.com)")),
            pattern="https://[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+(:[0-9]{1,5})?/?",
            pattern_help="is not https:// and a public host name (and :port): give only those, Firehose adds the path",
            required="give the public HTTP Event Collector URL, for example "
                     "https://http-inputs-firehose-acme.splunkcloud.com"),
    Setting("aws_auth", "AWS access", "aws", "keys", scope="access", help="How the app reaches AWS.",
            choices=(("keys", "Access key"), ("role", "Role to assume"), ("instance", "This server's instance role"))),
    Setting("aws_access_key_id", "Access key ID", "aws", scope="access", when=("aws_auth", "keys"), max_length=128,
            help="The access key's ID (access key mode); its secret is kept in storage/passwords.",
            pattern="(AKIA|ASIA)[A-Z0-9]{12,124}",
            pattern_help="is not an access key ID: it starts with AKIA (or ASIA) and has 16 or more capital letters "
                         "and digits",
            required="give the access key ID"),
    Setting("aws_secret_access_key", "Secret access key", "aws", scope="access", when=("aws_auth", "keys"),
            secret=True, max_length=128,
            help="Stored encrypted in Splunk (storage/passwords), never shown again.",
            required="enter the secret access key that belongs to the key ID"),
    Setting("aws_role_arn", "Role ARN", "aws", scope="access", when=("aws_auth", "role"), max_length=600,
            help="The role the app assumes (role mode), with this server's own credentials.",
            pattern="arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}",
            pattern_help="is not a role ARN: arn:aws:iam::<account>:role/<name>",
            required="give the ARN of the role to assume"),
    Setting("aws_external_id", "External ID (optional)", "aws", scope="access", when=("aws_auth", "role"),
            max_length=1224, pattern="[A-Za-z0-9_+=,.@:/-]{2,1224}",
            help="Only when the role's trust policy asks for one (sts:ExternalId).",
            pattern_help="must be 2 or more letters, digits or +=,.@:/-_ (as the role's trust policy expects)"),
    Setting("region", "AWS region", "aws", "us-east-1", max_length=32, help="Where the pipeline is deployed.",
            pattern="[a-z]{2,4}(-[a-z]+)+-[0-9]", pattern_help="is not an AWS region (for example us-east-1)",
            required="no AWS region given; choose one, for example us-east-1 (command line: --region or "
                     "AWS_DEFAULT_REGION)"),
    Setting("collect_cloudtrail", "Collect CloudTrail", "pipeline", True, "boolean", parameter="CollectCloudTrail",
            help="Send AWS API activity (CloudTrail) to Splunk. At least one of CloudTrail and VPC Flow Logs must "
                 "be on.", choices=((True, "Yes"), (False, "No"))),
    Setting("filter_preset", "Events to send", "pipeline", "all", parameter="FilterPreset",
            help="Which events go to Splunk. write-only drops read-only calls (readOnly true).",
            choices=(("all", "All events"), ("write-only", "Write events only"), ("custom", "Custom filter pattern"))),
    Setting("custom_filter_pattern", "Custom filter pattern", "pipeline", parameter="CustomFilterPattern",
            when=("filter_preset", "custom"),
            help="CloudWatch Logs filter pattern, used when FilterPreset is custom.",
            required="give a CloudWatch Logs filter pattern (the preset is custom)"),
    Setting("existing_log_group", "Existing trail's log group (optional)", "pipeline", parameter="ExistingLogGroupName",
            max_length=512, pattern=LOG_GROUP_PATTERN, pattern_help=LOG_GROUP_HELP,
            help="Leave empty to create a trail and its log group; or name the log group an existing trail "
                 "already writes to."),
    Setting("collect_vpc_flow_logs", "Collect VPC Flow Logs", "vpcflow", False, "boolean",
            parameter="CollectVpcFlowLogs", choices=((False, "No"), (True, "Yes")),
            help="Send network traffic records (VPC Flow Logs) to Splunk through a Firehose stream and HEC token of "
                 "their own. Flow logs are billed as CloudWatch vended logs delivered to Firehose."),
    Setting("vpc_ids", "VPCs", "vpcflow", max_length=4096, when=("collect_vpc_flow_logs", True),
            pattern=f"{VPC_ID}([ ]*,[ ]*{VPC_ID})*",
            pattern_help="is not a list of VPC ids: vpc-0123456789abcdef0 (vpc- and 8 or 17 hexadecimal digits), "
                         "separated by commas; or leave it empty for every VPC of the region",
            help="Leave empty to log every VPC of the region (the app lists them when it plans the deploy); or give "
                 "VPC ids separated by commas, e.g. vpc-0123456789abcdef0, vpc-0fedcba9876543210. The app creates "
                 "one flow log per VPC, in this AWS account and region."),
    Setting("vpc_flow_traffic_type", "Traffic to record", "vpcflow", "ALL", parameter="VpcFlowTrafficType",
            when=("collect_vpc_flow_logs", True),
            help="ALL - accepted and rejected traffic; ACCEPT - only traffic the security groups and network ACLs "
                 "let through; REJECT - only traffic they refused.",
            choices=(("ALL", "Accepted and rejected"), ("ACCEPT", "Accepted only"), ("REJECT", "Rejected only"))),
    Setting("vpc_flow_aggregation_interval", "Aggregation interval (s)", "vpcflow", 600, "integer",
            parameter="VpcFlowMaxAggregationInterval", when=("collect_vpc_flow_logs", True),
            choices=((600, "10 minutes"), (60, "1 minute")),
            help="The longest time a flow is gathered into one record before it is sent: 600 (10 minutes, fewer "
                 "records) or 60 (1 minute, quicker and more records). Nitro instances always use 60 or less."),
    Setting("vpc_flow_record_format", "Record format", "vpcflow", "recommended", parameter="VpcFlowLogFormat",
            when=("collect_vpc_flow_logs", True),
            help="recommended - AWS's 14 default fields, then VPC, subnet, instance, TCP flags, packet addresses, "
                 "region, zone, AWS services, flow direction and traffic path (27 fields); default - AWS's default "
                 "format (version 2, 14 fields). A change replaces the flow logs.",
            choices=(("recommended", "Recommended (27 fields)"), ("default", "AWS default (14 fields)")),
            template_values=tuple((name, log_format(FORMATS[name])) for name in ("recommended", "default"))),
    Setting("vpc_flow_log_group", "Existing flow logs' log group (optional)", "vpcflow",
            parameter="VpcFlowLogGroupName", when=("collect_vpc_flow_logs", True), max_length=512,
            pattern=LOG_GROUP_PATTERN, pattern_help=LOG_GROUP_HELP,
            help="Leave empty to create flow logs that publish straight to Firehose. Or name the CloudWatch Logs "
                 "group your existing flow logs already write to: the app then sends that group to Splunk through "
                 "a subscription filter and creates no flow logs (the group's records must be in the record format "
                 "chosen above)."),
    Setting("vpcflow_index", "Splunk index for VPC flow logs", "vpcflow", "aws_vpcflow", scope="splunk",
            when=("collect_vpc_flow_logs", True), max_length=255, pattern=INDEX_PATTERN, pattern_help=INDEX_HELP,
            help="Where the VPC flow records go. It must exist already (Settings > Indexes).",
            required="choose the Splunk index the VPC flow records go to"),
    Setting("name_prefix", "Name prefix", "advanced", "cloudtrail-firehose", parameter="NamePrefix",
            max_length=NAME_PREFIX_MAX,
            help="Prefix for the names of everything the stack creates (stack, trail, stream, buckets, roles): "
                 f"3-{NAME_PREFIX_MAX} lower-case letters, digits and single hyphens, starting with a letter and "
                 "ending with a letter or digit.",
            # It names the trail: start and end with a letter or number, no adjacent dashes (AWS CloudTrail User
            # Guide, "Trail naming requirements"); and starts every bucket name, which may not start with xn--,
            # sthree- or amzn-s3-demo- (Amazon S3 User Guide, "General purpose bucket naming rules"; the reserved
            # suffixes cannot occur: bucket names end with the region). Stack names start with a letter.
            refuse=(("^(xn--|sthree-|amzn-s3-demo-)", "must not start with xn--, sthree- or amzn-s3-demo-, which S3 "
                                                      "reserves for other buckets"),
                    ("--", "must not hold two hyphens in a row (a CloudTrail trail name may not)"),
                    ("-$", "must end with a letter or digit (as a CloudTrail trail name does)")),
            pattern="(?!xn--|sthree-|amzn-s3-demo-)[a-z](-?[a-z0-9]){2,}",
            pattern_help=f"must be 3-{NAME_PREFIX_MAX} lower-case letters, digits or single hyphens, starting with a "
                         "letter and ending with a letter or digit",
            required="give a name prefix, for example cloudtrail-firehose"),
    Setting("processor", "Processing in Firehose", "advanced", "native", parameter="Processor",
            help="native - Firehose decompresses CloudWatch Logs itself; lambda - the app's processor function "
                 "(filters, redaction).",
            choices=(("native", "Native decompression (recommended)"), ("lambda", "The app's Lambda processor"))),
    Setting("multi_region", "Multi-region trail", "advanced", True, "boolean", parameter="MultiRegionTrail",
            help="The trail the stack creates logs every region.", choices=((True, "Yes"), (False, "No"))),
    Setting("organization_trail", "Organization trail", "advanced", False, "boolean", parameter="OrganizationTrail",
            help="Log every account of the organization (deploy from the management account or a delegated "
                 "administrator for CloudTrail; the organization needs all features enabled).",
            choices=((False, "No"), (True, "Yes (management account or delegated administrator)"))),
    Setting("hec_ack_timeout", "Acknowledgement timeout (s)", "advanced", 300, "integer",
            parameter="HecAcknowledgmentTimeout", minimum=180, maximum=600,
            help="Seconds Firehose waits for Splunk's indexer acknowledgement."),
    Setting("retry_duration", "Retry duration (s)", "advanced", 3600, "integer", parameter="RetryDuration",
            minimum=0, maximum=7200,
            help="Seconds Firehose keeps retrying before a record goes to the failed-delivery bucket."),
    Setting("buffer_interval", "Buffer interval (s)", "advanced", 60, "integer", parameter="BufferIntervalSeconds",
            minimum=0, maximum=60, help="Seconds Firehose buffers events before it sends them."),
    Setting("buffer_size_mb", "Buffer size (MB)", "advanced", 5, "integer", parameter="BufferSizeMB",
            minimum=1, maximum=5, help="Megabytes Firehose buffers before it sends them."),
    Setting("log_retention_days", "CloudWatch Logs retention (days)", "advanced", 14, "integer",
            parameter="LogRetentionDays", choices=tuple((d, str(d)) for d in LOG_RETENTION_DAYS),
            help="Days CloudWatch Logs keeps the trail's events (Splunk keeps its own copy)."),
    Setting("failed_delivery_retention_days", "Keep failed deliveries (days)", "advanced", 90, "integer",
            parameter="FailedDeliveryRetentionDays", minimum=7, maximum=3650,
            help="Days the failed-delivery bucket keeps what Firehose could not deliver."),
    Setting("trail_log_retention_days", "Keep trail log files (days)", "advanced", 365, "integer",
            parameter="TrailLogRetentionDays", minimum=1, maximum=3650,
            help="Days the trail's own bucket keeps its log files."),
    # Not a template parameter: how the stack is driven (CreateChangeSet and DeleteStack's RoleARN).
    Setting("cloudformation_role_arn", "CloudFormation service role (optional)", "advanced", max_length=600,
            pattern="arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}",
            pattern_help="is not a role ARN: arn:aws:iam::<account>:role/<name>",
            help="A role in this account that CloudFormation assumes to create, change and delete the stack's "
                 "resources, where deployments are allowed only that way. It needs deploy_policy.json; whoever "
                 "deploys then needs only to drive the stack and pass this role (README, CloudFormation service "
                 "role). Empty: CloudFormation acts with the deploying identity's own permissions."),
    Setting("organization_id", "Organization id", "advanced", parameter="OrganizationId", shown=False, max_length=34,
            pattern="o-[a-z0-9]{10,32}",
            pattern_help="is set by the app (o-...) for an organization trail; leave it empty",
            help="The organization's id, which scopes the trail bucket's policy (the app looks it up for an "
                 "organization trail)."),
    Setting("organization_management_account", "Organization management account", "advanced",
            parameter="OrganizationManagementAccountId", shown=False, max_length=12, pattern="[0-9]{12}",
            pattern_help="is set by the app (the management account's 12-digit id) for an organization trail; "
                         "leave it empty",
            help="The organization's management account, which owns an organization trail even when a delegated "
                 "administrator creates it: the trail bucket's policy names that trail (the app looks it up)."),
    Setting("processor_code_key", "Processor code key", "advanced", parameter="ProcessorCodeKey", shown=False,
            pattern="lambda/[A-Za-z0-9._-]+\\.zip",
            pattern_help="is set by the app (lambda/<name>.zip); leave it empty",
            help="Key of the processor's zip in the failed-delivery bucket (the app uploads it; empty until then)."),
    Setting("hec_token_secret_arn", "HEC token secret", "advanced", parameter="HecTokenSecretArn", shown=False,
            pattern="arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+",
            pattern_help="is set by the app (the ARN of the HEC token's secret); leave it empty",
            # The CloudTrail part needs it (the template's rule CloudTrailNeedsItsToken); the app fills it in.
            help='Secret holding {"hec_token": "<token>"} of the CloudTrail HEC token. The app creates it with the '
                 "real token before the stack, so Firehose's first delivery already uses it. Needed only while "
                 "CollectCloudTrail is true."),
    Setting("vpcflow_hec_token_secret_arn", "VPC Flow Logs HEC token secret", "advanced",
            parameter="VpcFlowHecTokenSecretArn", shown=False,
            pattern="arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+",
            pattern_help="is set by the app (the ARN of the VPC flow logs' HEC token secret); leave it empty",
            help='Secret holding {"hec_token": "<token>"} of the VPC flow logs\' own HEC token (the app creates it '
                 "before the stack). Needed only while CollectVpcFlowLogs is true."),
)  # fmt: skip
BY_NAME = {s.name: s for s in SETTINGS}
SECRETS = tuple(s.name for s in SETTINGS if s.secret)  # kept in storage/passwords under their own names


def schema() -> dict[str, Any]:
    """What GET setup/schema answers: the page renders and checks its form from this."""
    return {"groups": [{"name": n, "label": label} for n, label in GROUPS],
            "settings": [s.as_json() for s in SETTINGS]}  # fmt: skip


def text(value: Any) -> str:
    """A value as the .conf file and the form hold it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def is_shown(setting: Setting, values: Mapping[str, Any]) -> bool:
    if not setting.shown:
        return False
    if setting.when is None:
        return True
    for other, wanted in conditions(setting):
        wanted = wanted if isinstance(wanted, (tuple, list)) else (wanted,)
        if text(values.get(other, BY_NAME[other].default)) not in [text(w) for w in wanted]:
            return False
    return True


def conditions(setting: Setting) -> tuple[tuple[str, Any], ...]:
    """The (setting, value or values) pairs that must all hold for a setting to be shown."""
    if setting.when is None:
        return ()
    return setting.when if isinstance(setting.when[0], (tuple, list)) else (setting.when,)  # type: ignore[return-value]


def value_problems(setting: Setting, value: Any) -> list[str]:
    """What is wrong with one value (empty is not checked here: see problems)."""
    value = text(value)
    plain_number = setting.kind == "integer" and re.fullmatch("-?[0-9]{1,12}", value)
    shown = "the secret" if setting.secret else value if plain_number else repr(value[:60])
    where = f"{setting.name}: {shown}"
    if len(value) > setting.max_length:
        return [f"{setting.name}: at most {setting.max_length} characters"]
    for pattern, message in COMMON_REFUSALS + setting.refuse:
        if re.search(pattern, value):
            return [f"{where} {message}"]
    if setting.choices:
        allowed = [text(v) for v, _ in setting.choices]
        if value not in allowed:
            return [f"{where} is not allowed; use one of {', '.join(allowed)}"]
    if setting.kind == "integer":
        if not plain_number:
            return [f"{where} is not a whole number"]
        number = int(value)
        if setting.minimum is not None and not setting.minimum <= number <= setting.maximum:
            return [f"{setting.name}: {number} is out of range; use {setting.minimum} to {setting.maximum}"]
    if setting.pattern and not re.fullmatch(setting.pattern, value):
        return [f"{where} {setting.pattern_help}"]
    return []


def problems(values: Mapping[str, Any], scopes: tuple[str, ...],
             has_secret: bool | Collection[str] = False) -> list[str]:  # fmt: skip
    """Every problem of the settings of these scopes: each value given, and each required one shown.

    has_secret: the secrets already stored (True: all of them), so an empty secret field keeps its own.
    """
    found = []
    for setting in SETTINGS:
        if setting.scope not in scopes:
            continue
        value = text(values.get(setting.name))
        if value:
            found += value_problems(setting, value)
        elif setting.required and is_shown(setting, values) and not (setting.secret and stored(setting, has_secret)):
            found.append(f"{setting.name}: {setting.required}")
    return found


def stored(setting: Setting, has_secret: bool | Collection[str]) -> bool:
    return has_secret if isinstance(has_secret, bool) else setting.name in has_secret


def source_index(source: Source, config: Mapping[str, Any]) -> str:
    """The index a source's events go to: its index setting, else that setting's default."""
    return text(config.get(source.index_setting)) or text(BY_NAME[source.index_setting].default)


def input_index(own: str | None, config: Mapping[str, Any]) -> str:
    """The index a modular input writes its own events to: its stanza's, else the first collected source's
    (CloudTrail's, or the VPC flow logs' when CloudTrail is off), else Splunk's default."""
    collected = sources.chosen(config)
    return own or (source_index(collected[0], config) if collected else "") or "main"


def log_group_names(prefix: str) -> list[str]:
    """The log groups the stack creates (FirehoseLogGroup, TrailLogGroup)."""
    return [name.format(prefix=prefix) for name in LOG_GROUP_NAMES]


def bucket_name(prefix: str, kind: str, account: str, region: str) -> str:
    """The name of one of the stack's buckets (kind: failed or trail)."""
    return BUCKET_NAME.format(prefix=prefix, kind=kind, account=account, region=region)


# --- generated files ---------------------------------------------------------------------------------


def conf_spec() -> str:
    """README/cloudtrail_firehose.conf.spec (build.py writes it; a test keeps the committed file equal)."""
    lines = ["# Settings the setup page saves (package/cloudtrail_firehose/setup/handler.py).",
             "# Generated from package/cloudtrail_firehose/settings.py by build.py: edit that file, not this one.",
             "# Secret settings are never here: they are in storage/passwords.", "", "[pipeline]"]  # fmt: skip
    for s in SETTINGS:
        if s.secret:
            continue
        if s.choices and s.kind == "string":
            kind = "|".join(text(v) for v, _ in s.choices)
        else:
            kind = {"integer": "<integer>", "boolean": "<boolean>"}.get(s.kind, "<string>")
        lines.append(f"{s.name} = {kind}")
        lines.append(f"* {s.help or s.label}")
        if s.minimum is not None:
            lines.append(f"* {s.minimum} to {s.maximum}.")
        if s.choices and s.kind == "integer":
            lines.append(f"* One of {', '.join(text(v) for v, _ in s.choices)}.")
        if not s.shown:
            lines.append("* Set by the app; leave it empty.")
        if s.filled:
            lines.append(f"* While {s.when[0]} is not {' or '.join(map(text, s.when[1]))}: the app fills it in "
                         f"{s.filled}.")
        if text(s.default):
            lines.append(f"* Default: {text(s.default)}")
    return "\n".join(lines) + "\n"


TEMPLATE_BEGIN = "# --- generated from package/cloudtrail_firehose/settings.py by build.py; edit that file ---\n"
TEMPLATE_END = "# --- end of generated parameters ---\n"


def template_parameters() -> str:
    """The template's Metadata and Parameters sections, between TEMPLATE_BEGIN and TEMPLATE_END."""
    parameters = [s for s in SETTINGS if s.parameter]
    out = [TEMPLATE_BEGIN, "Metadata:\n", "  AWS::CloudFormation::Interface:\n", "    ParameterGroups:\n"]
    for group, label in GROUPS:
        names = [s.parameter for s in parameters if s.group == group]
        if names:
            out.append(f"      - Label: {{default: {json.dumps(label)}}}\n")
            out.append(f"        Parameters: [{', '.join(names)}]\n")
    out.append("\nParameters:\n")
    for s in parameters:
        out.append(f"  {s.parameter}:\n")
        out.append(f"    Type: {'Number' if s.kind == 'integer' else 'String'}\n")
        if s.kind == "integer":
            out.append(f"    Default: {s.default}\n")
        elif text(s.default) or not s.required or (s.when and not s.filled):
            out.append(f"    Default: {json.dumps(s.parameter_value(s.default))}\n")
        if s.choices:
            values = [text(v) if s.kind == "integer" else json.dumps(s.parameter_value(v)) for v, _ in s.choices]
            out.append(f"    AllowedValues: [{', '.join(values)}]\n")
        if s.minimum is not None:
            out.append(f"    MinValue: {s.minimum}\n    MaxValue: {s.maximum}\n")
        if s.kind == "string" and not s.choices:
            out.append(f"    MaxLength: {s.max_length}\n")
        if s.pattern:
            optional = "?" if not s.required or (s.when and not s.filled) else ""
            out.append(f"    AllowedPattern: {json.dumps(f'^({s.pattern}){optional}$')}\n")
            out.append(f"    ConstraintDescription: {json.dumps(s.pattern_help)}\n")
        out.append(f"    Description: {json.dumps(s.help or s.label)}\n")
    out.append(TEMPLATE_END)
    return "".join(out)


def with_template_parameters(template: str) -> str:
    """The template text with its generated block replaced by the current one."""
    start, end = template.index(TEMPLATE_BEGIN), template.index(TEMPLATE_END) + len(TEMPLATE_END)
    return template[:start] + template_parameters() + template[end:]
