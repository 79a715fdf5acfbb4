"""Search time for VPC Flow Logs: the fields of the security content data source "AWS CloudWatchLogs VPCflow"
with the Splunk Add-on for AWS's meanings, and CIM Network_Traffic, computed from the shipped files.

splunk_search.SearchTime applies props.conf [aws:cloudwatchlogs:vpcflow], the generated transforms, the
protocol lookup, eventtypes.conf and tags.conf in Splunk's order to every corpus record that setup's formats
can hold (as test_vpcflow_index_time.py chooses and lays them out; _raw is the bare record).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import yaml
from cloudtrail_firehose.sources import vpcflow
from splunk_conf import read_conf
from splunk_search import EvalError, SearchTime, Transform, compile_eval, evaluate
from test_vpcflow_index_time import RECORDS, line, other_format_lines

ROOT = Path(__file__).resolve().parents[2]
SOURCETYPE = vpcflow.VPCFLOW.sourcetype
SEARCH_TIME = SearchTime.load(ROOT, SOURCETYPE)
DATA_SOURCE = ROOT / "tests" / "data" / "vpcflow" / "splunk_security_content" / "aws_cloudwatchlogs_vpcflow.yml"

# Fields every Splunk event has, whatever its configuration.
SPLUNK_DEFAULT_FIELDS = {
    "_time", "_raw", "host", "index", "source", "sourcetype", "splunk_server", "splunk_server_group",
    "linecount", "punct", "timestartpos", "timeendpos", "date_hour", "date_mday", "date_minute",
    "date_month", "date_second", "date_wday", "date_year", "date_zone",
}  # fmt: skip

# Each field of a record, by AWS's name, and the fields that carry its value unchanged ('-': none of them).
AS_WRITTEN = {
    "version": ("version",), "account-id": ("account_id", "aws_account_id", "vendor_account"),
    "interface-id": ("interface_id", "dvc"), "srcaddr": ("src_ip", "src"), "dstaddr": ("dest_ip", "dest"),
    "srcport": ("src_port",), "dstport": ("dest_port",), "protocol": ("protocol_code",), "packets": ("packets",),
    "bytes": ("bytes",), "start": ("start_time",), "end": ("end_time",), "action": ("vpcflow_action",),
    "log-status": ("log_status",), "vpc-id": ("vpc_id",), "subnet-id": ("subnet_id",),
    "instance-id": ("instance_id",), "tcp-flags": ("tcp_flags",), "type": ("type",),
    "pkt-srcaddr": ("pkt_src_ip",), "pkt-dstaddr": ("pkt_dest_ip",), "region": ("region",), "az-id": ("az_id",),
    "pkt-src-aws-service": ("pkt_src_aws_service",), "pkt-dst-aws-service": ("pkt_dst_aws_service",),
    "traffic-path": ("traffic_path",),
}  # fmt: skip
# Computed from a record field: (record field, computed fields).
COMPUTED = {"action": ("action",), "protocol": ("protocol", "transport", "protocol_full_name"),
            "start": ("duration",), "flow-direction": ("direction",), "srcaddr": ("protocol_version",)}  # fmt: skip
# Data source fields no flow record can give: user_id (a flow has no user), tag::action (a tag on an action
# value, which this app does not add: a field-value tag applies to every sourcetype).
NOT_DERIVABLE = {"user_id", "tag::action"}
CIM_REQUIRED = ("action", "app", "dest", "dvc", "src", "transport", "vendor_product")


@functools.cache
def data_source_fields() -> tuple[str, ...]:
    return tuple(yaml.safe_load(DATA_SOURCE.read_text(encoding="utf-8"))["fields"])


@functools.cache
def searched() -> tuple[tuple[str, dict[str, str], dict[str, list[str]]], ...]:
    """(format, record, fields at search time) for every deployable corpus record."""
    return tuple((f, record, fields_of(line(f, record))) for _, f, record in RECORDS)


def fields_of(raw: str) -> dict[str, list[str]]:
    return SEARCH_TIME.fields_of(None, SOURCETYPE, raw=raw, source=vpcflow.VPCFLOW.token.source)


def one(fields: dict, name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


# --- the fields, record by record --------------------------------------------------------------------------


def test_every_field_as_written_is_there_unless_the_record_says_no_value():
    for format_name, record, fields in searched():
        for aws_name, names in AS_WRITTEN.items():
            value = record.get(aws_name, "-") if aws_name in vpcflow.FORMATS[format_name] else None
            for name in names:
                assert one(fields, name) == (None if value in (None, "-") else value), (record, name)
        # Only the extraction's own vpcflow_raw_* fields hold '-'.
        assert "-" not in {v for name, values in fields.items() if not name.startswith("vpcflow_raw_") for v in values}


def test_computed_fields():
    for _, record, fields in searched():
        assert one(fields, "action") == {"ACCEPT": "allowed", "REJECT": "blocked", "-": None}[record["action"]]
        if "-" in (record["start"], record["end"]):
            assert "duration" not in fields
        else:
            assert one(fields, "duration") == str(int(record["end"]) - int(record["start"]))
        direction = record.get("flow-direction", "-")
        assert one(fields, "direction") == {"ingress": "inbound", "egress": "outbound", "-": None}[direction]
        assert (one(fields, "vendor"), one(fields, "vendor_product")) == ("AWS", "AWS VPC Flow Logs")
        if record["srcaddr"] != "-":
            assert one(fields, "protocol_version") == ("ipv6" if ":" in record["srcaddr"] else "ipv4")


@pytest.mark.parametrize(("code", "protocol", "transport"),
                         [("6", "ip", "tcp"), ("17", "ip", "udp"), ("1", "icmp", "icmp"), ("58", "icmp", "icmp"),
                          ("47", "ip", "gre"), ("250", "ip", "unknown")])  # fmt: skip
def test_protocol_numbers_give_cim_protocol_and_transport(code, protocol, transport):
    raw = f"2 123456789012 eni-1 10.0.0.1 10.0.0.2 0 0 {code} 1 60 1600000000 1600000060 ACCEPT OK"
    fields = fields_of(raw)
    assert (one(fields, "protocol_code"), one(fields, "protocol"), one(fields, "transport")) == (code, protocol,
                                                                                                 transport)
    assert one(fields, "protocol_full_name")


def test_every_corpus_protocol_is_named():
    for _, record, fields in searched():
        if record["protocol"] != "-":
            assert one(fields, "transport") != "unknown", record


def test_ipv6_records_say_ipv6():
    ipv6 = [fields for _, record, fields in searched() if ":" in record["srcaddr"]]
    assert ipv6
    assert all(one(fields, "protocol_version") == "ipv6" for fields in ipv6)


def test_the_recommended_format_gives_region_and_the_version_3_to_5_fields():
    recommended = [(record, fields) for f, record, fields in searched() if f == "recommended"]
    v5 = [(r, f) for r, f in recommended if r.get("region", "-") != "-"]
    assert v5
    for record, fields in v5:
        assert one(fields, "region") == record["region"]
        assert one(fields, "direction") in ("inbound", "outbound")
    assert all("region" not in fields for f, _, fields in searched() if f == "default")


# --- CIM Network_Traffic -----------------------------------------------------------------------------------


def test_records_of_traffic_are_network_traffic_with_every_required_field():
    traffic = [(record, fields) for _, record, fields in searched() if record["log-status"] == "OK"]
    assert len(traffic) >= 380
    for record, fields in traffic:
        assert {"network", "communicate"} <= set(fields["tag"]), record
        assert fields["eventtype"] == ["cloudtrail_firehose_vpcflow_traffic"]
        missing = [name for name in CIM_REQUIRED if not fields.get(name)]
        assert not missing, (record, missing)
        assert one(fields, "action") in ("allowed", "blocked")
        # CIM: protocol icmp with transport icmp, or protocol ip with transport tcp/udp (or another IP protocol).
        if one(fields, "protocol") == "icmp":
            assert one(fields, "transport") == "icmp"
        else:
            assert one(fields, "protocol") == "ip"
            assert one(fields, "protocol_version") in ("ipv4", "ipv6")
        assert one(fields, "src") == one(fields, "src_ip")
        assert one(fields, "dest") == one(fields, "dest_ip")


def test_nodata_and_skipdata_are_recognisable_and_not_network_traffic():
    quiet = [(record, fields) for _, record, fields in searched() if record["log-status"] != "OK"]
    assert {record["log-status"] for record, _ in quiet} == {"NODATA", "SKIPDATA"}
    for record, fields in quiet:
        assert one(fields, "log_status") == record["log-status"]
        assert fields["eventtype"] == ["cloudtrail_firehose_vpcflow_no_data"]
        assert "tag" not in fields
        assert {"src", "dest", "action", "transport"}.isdisjoint(fields)
        assert one(fields, "start_time") == record["start"]
        assert one(fields, "dvc") == record["interface-id"]


def test_records_of_other_formats_get_no_flow_fields():
    """The app deploys the default and the recommended format only; a record of another custom format matches
    neither generated transform, so it gets the constants and no field read from the record (rather than
    fields read from the wrong positions)."""
    for name, raw in other_format_lines():
        fields = fields_of(raw)
        assert not [k for k in fields if k.startswith("vpcflow_raw_")], name
        assert {"src", "dest", "action", "start_time", "tag"}.isdisjoint(fields), name


# --- coverage of the data source's field list --------------------------------------------------------------


def coverage() -> tuple[int, int, list[str]]:
    """The data source's fields that some corpus record gets (or that every Splunk event has)."""
    seen = set(SPLUNK_DEFAULT_FIELDS) | {"tag::eventtype"}
    for _, _, fields in searched():
        seen |= set(fields)
    listed = data_source_fields()
    missing = sorted(name for name in listed if name not in seen)
    return len(listed) - len(missing), len(listed), missing


def test_the_data_source_fields_are_produced():
    covered, total, missing = coverage()
    static = SEARCH_TIME.produced_fields() | SPLUNK_DEFAULT_FIELDS
    static_missing = sorted(set(data_source_fields()) - static)
    print(f"\nvpcflow coverage: {covered} of {total} fields on the corpus records; missing: {missing}; "
          f"static measure (as CloudTrail's): {total - len(static_missing)} of {total}, missing {static_missing}")
    assert set(missing) == NOT_DERIVABLE
    assert set(static_missing) <= NOT_DERIVABLE


def test_tag_eventtype_is_given():
    """The data source lists tag::eventtype: the tags of the traffic eventtype."""
    fields = searched()[0][2]
    assert fields.get("tag::eventtype") == ["communicate", "network"]


def test_every_field_of_a_format_is_extracted_somewhere():
    for format_name in vpcflow.FORMATS:
        names = {n for f, _, fields in searched() if f == format_name for n in fields}
        wanted = {n for aws_name in vpcflow.FORMATS[format_name] for n in AS_WRITTEN.get(aws_name, ())}
        wanted |= {n for aws_name in vpcflow.FORMATS[format_name] for n in COMPUTED.get(aws_name, ())}
        assert wanted <= names, sorted(wanted - names)


# --- the shipped files ---------------------------------------------------------------------------------------


def test_the_generated_transforms_are_the_committed_ones():
    text = (ROOT / "default" / "transforms.conf").read_text(encoding="utf-8")
    assert vpcflow.with_transforms(text) == text, "run: python3 build.py generate"
    report = read_conf(ROOT / "default" / "props.conf")[SOURCETYPE]["REPORT-cloudtrail_firehose_vpcflow"]
    assert [name.strip() for name in report.split(",")] == [vpcflow.transform_name(f) for f in vpcflow.FORMATS]


def test_a_format_change_changes_the_generated_stanzas():
    text = (ROOT / "default" / "transforms.conf").read_text(encoding="utf-8")
    before = vpcflow.transforms_stanzas()
    assert before in text
    assert "cloudtrail_firehose_vpcflow_protocols" in vpcflow.with_transforms(text.replace(before, ""))


def test_the_events_macro_reads_the_sourcetype_in_any_index_until_setup_narrows_it():
    # As cloudtrail_firehose_events: deploy points it at the index chosen (app_config.point_macros_at).
    macro = read_conf(ROOT / "default" / "macros.conf")["cloudtrail_firehose_vpcflow_events"]
    assert macro["definition"] == '(index=* sourcetype="aws:cloudwatchlogs:vpcflow")'


def test_class_names_are_the_apps_own_so_the_addons_apply_too():
    """Beside the Splunk Add-on for AWS: REPORT/LOOKUP/SEDCMD classes start with cloudtrail_firehose so both
    apps' apply; EVAL- classes are field names, where the add-on's wins with the same meaning."""
    props = read_conf(ROOT / "default" / "props.conf")[SOURCETYPE]
    for key in props:
        if key.startswith(("REPORT-", "LOOKUP-", "SEDCMD-", "FIELDALIAS-")):
            assert key.split("-", 1)[1].startswith("cloudtrail_firehose_vpcflow"), key


# --- the model's search-time additions, each as Splunk documents it ---------------------------------------


def test_model_named_groups_are_fields_without_format():
    """transforms.conf.spec REGEX: named capturing groups are extracted to fields directly, without FORMAT."""
    fields: dict[str, list[str]] = {}
    Transform(r"^(?<a>\w+) (?<b>\w+)$", "").apply(fields, "x y")
    assert fields == {"a": ["x"], "b": ["y"]}


def test_model_subtraction():
    """"eval command", arithmetic operators: X - Y of two numbers; not a number: null."""
    node = compile_eval("e - s")
    assert evaluate(node, {"e": ["1506905858"], "s": ["1506905806"]}) == "52"
    assert evaluate(node, {"e": ["-"], "s": ["1"]}) is None
    assert evaluate(node, {"s": ["1"]}) is None


def test_model_kv_mode_none_extracts_nothing():
    """props.conf.spec KV_MODE = none: no automatic field extraction; KV_MODE values other than json and none
    are not modelled."""
    assert SEARCH_TIME.kv_mode == "none"
    assert SEARCH_TIME.fields_of(None, SOURCETYPE, raw='{"a": 1}').get("a") is None
    with pytest.raises(EvalError, match="KV_MODE"):
        SearchTime.load(ROOT, "cloudtrail_firehose:log")


def test_coverage_is_printed_as_json_for_the_report(capsys):
    covered, total, missing = coverage()
    print(json.dumps({"covered": covered, "total": total, "missing": missing}))
    assert covered == total - len(NOT_DERIVABLE)
