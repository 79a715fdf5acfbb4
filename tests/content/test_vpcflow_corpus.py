"""Sanity of the VPC Flow Logs corpus (tests/data/vpcflow) that a future aws:cloudwatchlogs:vpcflow layer relies on."""

from __future__ import annotations

import ipaddress
import json

import pytest
import yaml
from vpcflow_corpus import (
    DEFAULT_FIELDS,
    FIELD_VERSIONS,
    VPCFLOW,
    all_records,
    as_dict,
    examples,
    format_fields,
    split_record,
)

EXAMPLES = examples()
NAMES = [example.name for example in EXAMPLES]

# Known exceptions, each said in its file's "note" and in SOURCES.md.
WRONG_VERSION = {"otel_awslogsencodingextension/valid_vpc_flow_log_ecs"}  # version 5 with version 7 fields


def test_corpus_is_there():
    assert len(EXAMPLES) >= 25
    assert sum(len(example.raw) for example in EXAMPLES) >= 400


@pytest.mark.parametrize("example", EXAMPLES, ids=NAMES)
def test_every_record_has_one_value_per_field(example):
    for index, record in enumerate(example.raw):
        fits = len(split_record(record)) == len(example.fields)
        assert fits != (index in example.malformed), (index, record)  # the malformed flags stay true
    assert len(example.records) == len(example.raw) - len(example.malformed)
    assert all(list(record) == list(example.fields) for record in example.records)


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.fields == DEFAULT_FIELDS], ids=lambda e: e.name)
def test_default_format_records_have_14_fields_and_version_2(example):
    assert len(example.fields) == 14
    for record in example.records:
        assert record["version"] == "2"
        assert record["log-status"] in {"OK", "NODATA", "SKIPDATA"}
        assert record["action"] in ({"ACCEPT", "REJECT"} if record["log-status"] == "OK" else {"-"})


def test_the_kinds_a_knowledge_layer_must_handle_are_present():
    records = [record for _, record in all_records()]
    assert {"ACCEPT", "REJECT"} <= {record.get("action") for record in records}
    assert {"OK", "NODATA", "SKIPDATA"} <= {record.get("log-status") for record in records}
    addresses = {
        record[field] for record in records for field in ("srcaddr", "dstaddr") if record.get(field, "-") != "-"
    }
    assert any(ipaddress.ip_address(address).version == 6 for address in addresses)
    assert {"1", "6", "17"} <= {record.get("protocol") for record in records}  # ICMP, TCP, UDP
    custom_v5 = [
        (example.name, record) for example in EXAMPLES if example.fields != DEFAULT_FIELDS
        for record in example.records if record.get("version") == "5"
    ]  # fmt: skip
    assert any("traffic-path" in record and "flow-direction" in record for _, record in custom_v5)
    assert any(example.fields[0] != "version" for example in EXAMPLES)  # a custom format need not start with it


def test_version_is_the_highest_version_of_the_fields():
    """VPC User Guide, "Available fields": a custom format's version is the highest among its fields'."""
    mismatched = set()
    for example in EXAMPLES:
        if "version" not in example.fields or not set(example.fields) <= FIELD_VERSIONS.keys():
            continue  # no version, or a field of unknown version (Transit Gateway flow logs)
        highest = max(FIELD_VERSIONS[field] for field in example.fields)
        if any(record["version"] != str(highest) for record in example.records):
            mismatched.add(example.name)
    assert mismatched == WRONG_VERSION


def test_format_strings_and_splitting():
    assert format_fields("${version} ${srcaddr}") == ("version", "srcaddr")
    with pytest.raises(ValueError, match="single-space"):
        format_fields("version srcaddr")
    assert split_record("a  b") == ["a", "", "b"]
    with pytest.raises(ValueError, match="3 values for 2 fields"):
        as_dict(("version", "srcaddr"), "2 10.0.0.1 extra")


def test_security_content_data_source_matches_its_example():
    document = yaml.safe_load((VPCFLOW / "splunk_security_content" / "aws_cloudwatchlogs_vpcflow.yml").read_text())
    assert document["sourcetype"] == "aws:cloudwatchlogs:vpcflow"
    assert {"src_ip", "dest_ip", "action", "vpcflow_action", "protocol_code", "transport"} <= set(document["fields"])
    example = json.loads((VPCFLOW / "splunk_security_content" / "example_log.json").read_text())
    assert example["records"] == [document["example_log"]]


def test_sources_md_names_every_file():
    sources = (VPCFLOW / "SOURCES.md").read_text(encoding="utf-8")
    for path in VPCFLOW.glob("*/*"):
        assert f"{path.parent.name}/{path.name}" in sources or f"{path.parent.name}/{path.stem}" in sources, path
