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


VPCFLOW = Source(
    name="vpcflow",
    label="VPC Flow Logs",
    token=TokenSpec("cloudtrail_firehose_vpcflow", "aws:cloudwatchlogs:vpcflow"),
    backup_prefix="vpcflow/",
    record_format="flow-log-lines",
    event_id_key=None,
    stream_output="VpcFlowDeliveryStreamName",
    template=TemplatePart({}),  # filled as the template's VPC Flow Logs part lands
    knowledge=Knowledge(  # the knowledge layer's stanzas (props, transforms, ...) are added as it lands
        stanzas={
            "savedsearches": ("VPC Flow Logs - Rejected traffic spike from one source",
                              "VPC Flow Logs - Port scan from one source",
                              "VPC Flow Logs - Risky port reached from the internet"),
        },
        lookups=("cloudtrail_firehose_vpcflow_risky_ports.csv",),
        views=("network_activity",),
    ),  # fmt: skip
)
