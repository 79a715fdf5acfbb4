"""Search-time fields of VPC flow records, for the Network Activity dashboard's and the alerts' tests.

Until the knowledge layer for sourcetype aws:cloudwatchlogs:vpcflow lands (default/props.conf, transforms.conf:
the knowledge helper's part of issue 23), these tests feed the search model events whose fields are already
extracted, with the names and meanings of tests/data/vpcflow/NOTES.md sections 3 and 4 (the Splunk Add-on for
AWS's names, CIM Network_Traffic). `-` (not applicable) gives no field, as an absent value does in Splunk.
`knowledge_fields()` tells which field names the shipped configuration produces once it is there, so a test
can check that every name used here is one of them.
"""

from __future__ import annotations

from pathlib import Path

from splunk_conf import read_conf

ROOT = Path(__file__).resolve().parents[2]
SOURCETYPE = "aws:cloudwatchlogs:vpcflow"

# record field -> search-time names (NOTES.md section 3 b and d; vpc_id ... direction as the brief names them)
RENAMES = {
    "version": ("version",), "account-id": ("account_id", "aws_account_id", "vendor_account"),
    "interface-id": ("interface_id", "dvc"), "srcaddr": ("src_ip", "src"), "dstaddr": ("dest_ip", "dest"),
    "srcport": ("src_port",), "dstport": ("dest_port",), "protocol": ("protocol_code",), "packets": ("packets",),
    "bytes": ("bytes",), "start": ("start_time",), "end": ("end_time",), "action": ("vpcflow_action",),
    "log-status": ("log_status",), "vpc-id": ("vpc_id",), "subnet-id": ("subnet_id",),
    "instance-id": ("instance_id",), "tcp-flags": ("tcp_flags",), "region": ("region",),
}  # fmt: skip
TRANSPORT = {"1": ("icmp", "icmp"), "6": ("tcp", "ip"), "17": ("udp", "ip")}  # protocol number -> transport, protocol
ACTION = {"ACCEPT": "allowed", "REJECT": "blocked"}
INDEX_TIME = "1700000000"
DIRECTION = {"ingress": "inbound", "egress": "outbound"}


def fields_of(record: dict[str, str]) -> dict[str, list[str]]:
    """The fields a flow record (field name -> value, as tests/helpers/vpcflow_corpus.py gives it) has at
    search time, per the names above."""
    fields: dict[str, list[str]] = {"sourcetype": [SOURCETYPE], "index": ["main"],
                                    "source": ["http:cloudtrail_firehose_vpcflow"]}  # fmt: skip
    for name, value in record.items():
        if value in ("-", ""):
            continue
        for target in RENAMES.get(name, ()):
            fields[target] = [value]
    if record.get("protocol") in TRANSPORT:
        fields["transport"], fields["protocol"] = ([v] for v in TRANSPORT[record["protocol"]])
    if record.get("action") in ACTION:
        fields["action"] = [ACTION[record["action"]]]
    if record.get("flow-direction") in DIRECTION:
        fields["direction"] = [DIRECTION[record["flow-direction"]]]
    # _time: the record's start; a format without start gets its index time in Splunk (here a fixed one).
    fields["_time"] = [record["start"] if record.get("start", "").isdigit() else INDEX_TIME]
    return fields


def event(**values: str) -> dict[str, list[str]]:
    """A synthetic event's fields, from search-time names (src_ip="203.0.113.9", dest_port="22", ...)."""
    fields = {"sourcetype": [SOURCETYPE], "index": ["main"]}
    fields.update({name: [str(value)] for name, value in values.items()})
    return fields


def stand_in_fields() -> set[str]:
    """Every field name fields_of can give."""
    names = {target for targets in RENAMES.values() for target in targets}
    return names | {"transport", "protocol", "action", "direction", "_time", "sourcetype", "index", "source"}


def knowledge_landed() -> bool:
    return SOURCETYPE in read_conf(ROOT / "default" / "props.conf")


def knowledge_fields() -> set[str]:
    """The field names the shipped configuration produces for the sourcetype (the static measure)."""
    from splunk_search import SearchTime

    return SearchTime.load(ROOT, SOURCETYPE).produced_fields()
