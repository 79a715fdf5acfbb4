"""VPC flow records as Splunk would search them, for the Network Activity dashboard's and the alerts' tests and
bench/network_activity_picture.py: each raw record goes through the shipped configuration, as Firehose posts it.

Index time (tests/splunk_conf.index_time with default/props.conf [aws:cloudwatchlogs:vpcflow]): the record
wrapped as {"message":"<record>"} is unwrapped, _time is its start. Search time (tests/splunk_search.SearchTime
with props.conf, transforms.conf, the lookups, eventtypes.conf and tags.conf): the fields by the add-on's and
CIM's names. The corpus records are those tests/content/test_vpcflow_index_time.py chooses (the default format
as published, the recommended layout of custom formats carrying every default field), which the search-time
tests check field by field; `record()` makes a synthetic record of the recommended format.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

from cloudtrail_firehose.sources import vpcflow
from splunk_conf import index_time, read_conf
from splunk_search import SearchTime

ROOT = Path(__file__).resolve().parents[2]
SOURCETYPE = vpcflow.VPCFLOW.sourcetype
PROPS = read_conf(ROOT / "default" / "props.conf")[f"source::{vpcflow.VPCFLOW.token.source}"]
SEARCH_TIME = SearchTime.load(ROOT, SOURCETYPE)
# Splunk's own fields of every event (the model gives sourcetype, source and index; _time and _raw come here).
SPLUNK_OWN = {"_time", "_raw", "sourcetype", "source", "index", "host"}
INDEX_TIME = 1700000000  # an event without a timestamp gets its index time in Splunk; here a fixed one
Row = dict[str, list[str]]


def searched(line: str, wrapped: bool = True) -> Row:
    """The fields of one flow record (as AWS writes it) once Splunk has indexed and searched it."""
    [(time, raw)] = index_time(json.dumps({"message": line}) if wrapped else line, PROPS)
    fields = SEARCH_TIME.fields_of(None, SOURCETYPE, raw=raw, source=vpcflow.VPCFLOW.token.source)
    fields["_time"] = [str(int(time.timestamp()) if time else INDEX_TIME)]
    fields["_raw"] = [raw]
    return fields


def line(format_name: str, values: dict[str, str]) -> str:
    """A record of one of setup's formats: AWS's field names to values, '-' for those not given."""
    return " ".join(str(values.get(name, "-")) for name in vpcflow.FORMATS[format_name])


@functools.cache
def _corpus() -> tuple[tuple[str, str, str], ...]:
    sys.path.insert(0, str(ROOT / "tests" / "content"))  # the choice of records is the index-time test's
    from test_vpcflow_index_time import RECORDS

    return tuple((name, format_name, line(format_name, record)) for name, format_name, record in RECORDS)


def corpus_lines() -> list[tuple[str, str, str]]:
    """(example name, format, record line) for every corpus record setup's formats hold."""
    return list(_corpus())


@functools.cache
def _corpus_events() -> tuple[Row, ...]:
    return tuple(searched(raw) for _, _, raw in _corpus())


def corpus_events() -> list[Row]:
    """Every corpus record's fields at search time (a copy: a test may change what it gets)."""
    return [{name: list(values) for name, values in row.items()} for row in _corpus_events()]


# A synthetic record's values by default: an accepted TCP flow from the internet to an instance.
DEFAULTS = {
    "version": "5", "account-id": "123456789012", "interface-id": "eni-0a1b2c3d4e5f60001",
    "srcaddr": "198.51.100.20", "dstaddr": "10.0.1.5", "srcport": "51515", "dstport": "443", "protocol": "6",
    "packets": "1", "bytes": "60", "start": str(INDEX_TIME), "action": "ACCEPT", "log-status": "OK",
    "vpc-id": "vpc-0a1b2c3d4e5f60001", "subnet-id": "subnet-0a1b2c3d4e5f60001",
    "instance-id": "i-0a1b2c3d4e5f60001", "tcp-flags": "2", "region": "us-east-1", "az-id": "use1-az1",
    "flow-direction": "ingress", "traffic-path": "-",
}  # fmt: skip
PROTOCOLS = {"tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58"}


def record(transport: str = "tcp", **values: object) -> str:
    """A synthetic record of the recommended format, by AWS's field names with '_' for '-' (srcaddr=...,
    dstport=22, action="REJECT", start=...); end is start + 60 unless given, type follows the addresses."""
    given = {name.replace("_", "-"): str(value) for name, value in values.items()}
    merged = {**DEFAULTS, "protocol": PROTOCOLS[transport], **given}
    merged.setdefault("end", str(int(merged["start"]) + 60))
    merged.setdefault("type", "IPv6" if ":" in merged["srcaddr"] else "IPv4")
    merged.setdefault("pkt-srcaddr", merged["srcaddr"])
    merged.setdefault("pkt-dstaddr", merged["dstaddr"])
    return line("recommended", merged)


def event(transport: str = "tcp", **values: object) -> Row:
    """A synthetic record's fields at search time (record() through the shipped configuration)."""
    return searched(record(transport, **values))


def knowledge_fields() -> set[str]:
    """The field names the shipped configuration produces for the sourcetype (the static measure)."""
    return SEARCH_TIME.produced_fields()
