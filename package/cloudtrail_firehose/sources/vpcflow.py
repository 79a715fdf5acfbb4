"""The second source: Amazon VPC Flow Logs, published straight to their own Firehose stream (or, for accounts
that already send flow logs to a log group, through a subscription filter as CloudTrail's events are).

Its records are lines of space-separated fields (Amazon VPC User Guide, "Flow log records"), indexed as
sourcetype aws:cloudwatchlogs:vpcflow, the name the Splunk Add-on for AWS and the security content's data
source "AWS CloudWatchLogs VPCflow" use. A record sent to Firehose carries no header line, so the field order
is the format's: setup offers AWS's default format (version 2) or the app's recommended custom format, which
starts with the default's 14 fields in their order, then the version 3-5 fields analysts use (FORMATS).
A flow record has no id of its own: recovery finds the ones Splunk has by their hash.
"""

from __future__ import annotations

from cloudtrail_firehose.sources.unit import Knowledge, Source, TemplatePart, TokenSpec

DEFAULT_FIELDS = ("version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
                  "packets", "bytes", "start", "end", "action", "log-status")  # fmt: skip
RECOMMENDED_FIELDS = DEFAULT_FIELDS + (
    "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr", "region", "az-id",
    "pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path")  # fmt: skip
# The record formats setup offers (the vpc_flow_record_format setting), each a field order.
FORMATS = {"default": DEFAULT_FIELDS, "recommended": RECOMMENDED_FIELDS}


def log_format(fields: tuple[str, ...]) -> str:
    """The flow log's LogFormat for a field order (AWS::EC2::FlowLog LogFormat: ${field} separated by spaces)."""
    return " ".join(f"${{{name}}}" for name in fields)


# --- search-time extraction, generated into default/transforms.conf -------------------------------------------
# Each format gets one transform that reads a whole record of that format by position (a record sent to Firehose
# has no header line) into vpcflow_raw_<field> (AWS's name, '-' as '_'), with named groups (transforms.conf.spec
# REGEX: named capturing groups are extracted to fields directly, without FORMAT). props.conf turns those into
# the add-on's field names and drops the values '-' ("no value"). A record of another field count matches neither.
# A few fields have a known shape (Amazon VPC User Guide, "Flow log records"), so a custom format of the same
# length whose order differs is not misread: version, start and end are numbers, action and log-status
# upper-case words, and start, end, action and log-status may be '-'.
TRANSFORMS_BEGIN = "# --- BEGIN generated from sources/vpcflow.py FORMATS (python3 build.py generate) ---"
TRANSFORMS_END = "# --- END generated from sources/vpcflow.py FORMATS ---"
_ANY = r"\S+"
_VALUE = {"version": r"\d+", "start": r"\d+|-", "end": r"\d+|-", "action": r"[A-Z]+|-", "log-status": r"[A-Z]+|-"}


def raw_field(name: str) -> str:
    """The search-time field a record's value lands in before props.conf names it: vpcflow_raw_log_status."""
    return "vpcflow_raw_" + name.replace("-", "_")


def transform_name(format_name: str) -> str:
    return f"cloudtrail_firehose_vpcflow_{format_name}"


def transforms_stanzas() -> str:
    """The [cloudtrail_firehose_vpcflow_<format>] stanzas of transforms.conf, one per format of FORMATS."""
    blocks = [TRANSFORMS_BEGIN]
    for format_name, fields in FORMATS.items():
        groups = " ".join(f"(?<{raw_field(name)}>{_VALUE.get(name, _ANY)})" for name in fields)
        blocks.append(f"# The {format_name} format, {len(fields)} fields: {log_format(fields)}\n"
                      f"[{transform_name(format_name)}]\nREGEX = ^{groups}$\n")
    blocks.append(TRANSFORMS_END)
    return "\n".join(blocks) + "\n"


def with_transforms(text: str) -> str:
    """transforms.conf's text with the generated stanzas between the markers (appended when absent)."""
    begin, end = text.find(TRANSFORMS_BEGIN), text.find(TRANSFORMS_END)
    if begin < 0 or end < begin:
        return text.rstrip("\n") + "\n\n" + transforms_stanzas()
    return text[:begin] + transforms_stanzas() + text[end + len(TRANSFORMS_END):].lstrip("\n")


# Flow records of traffic (CIM Network_Traffic), and NODATA/SKIPDATA records (no traffic, no CIM tags).
EVENTTYPES = ("cloudtrail_firehose_vpcflow_traffic", "cloudtrail_firehose_vpcflow_no_data")

VPCFLOW = Source(
    name="vpcflow",
    label="VPC Flow Logs",
    token=TokenSpec("cloudtrail_firehose_vpcflow", "aws:cloudwatchlogs:vpcflow"),
    backup_prefix="vpcflow/",
    record_format="flow-log-lines",
    event_id_key=None,
    stream_output="VpcFlowDeliveryStreamName",
    hec_arn_parameter="VpcFlowHecTokenSecretArn",
    hec_name_suffix="-vpcflow",
    # Its stream and its own log streams in the core's FirehoseLogGroup; its flow logs (one per VPC: the prototype
    # VpcFlowLog, rendered by aws/rendering.py) or, from an existing log group, its subscription filter.
    template=TemplatePart({
        "Parameters": ("CollectVpcFlowLogs", "VpcFlowTrafficType", "VpcFlowMaxAggregationInterval",
                       "VpcFlowLogFormat", "VpcFlowLogGroupName", "VpcFlowHecTokenSecretArn"),
        "Conditions": ("CollectsVpcFlowLogs", "VpcFlowFromLogGroup", "CreateFlowLogs"),
        "Rules": ("VpcFlowLogsNeedTheirToken",),
        "Resources": ("VpcFlowSplunkLogStream", "VpcFlowBackupLogStream", "VpcFlowFirehoseRole",
                      "VpcFlowDeliveryStream", "VpcFlowLog", "VpcFlowLogsToFirehoseRole", "VpcFlowSubscriptionFilter"),
        "Outputs": ("VpcFlowDeliveryStreamName", "VpcFlowDeliveryStreamArn", "VpcFlowHecTokenSecretArn"),
    }),  # fmt: skip
    knowledge=Knowledge(
        stanzas={
            "props": ("aws:cloudwatchlogs:vpcflow", "source::http:cloudtrail_firehose_vpcflow"),
            "transforms": ("cloudtrail_firehose_vpcflow_protocols",
                           *(transform_name(format_name) for format_name in FORMATS)),
            "eventtypes": EVENTTYPES,
            "tags": ("eventtype=cloudtrail_firehose_vpcflow_traffic",),
            "macros": ("cloudtrail_firehose_vpcflow_events",),
            "savedsearches": ("VPC Flow Logs - Rejected traffic spike from one source",
                              "VPC Flow Logs - Port scan from one source",
                              "VPC Flow Logs - Risky port reached from the internet"),
        },
        lookups=("cloudtrail_firehose_vpcflow_protocols.csv", "cloudtrail_firehose_vpcflow_risky_ports.csv"),
        views=("network_activity",),
    ),
    enabled_setting="collect_vpc_flow_logs",
    enabled_by_default=False,
    index_setting="vpcflow_index",
    existing_hec_setting="vpcflow_hec_token",
    events_macro="cloudtrail_firehose_vpcflow_events",
)
