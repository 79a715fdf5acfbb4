"""VPC Flow Logs records written by others (tests/data/vpcflow, read its SOURCES.md and NOTES.md).

Each example is one JSON file: {"source": ..., "format": "${version} ${account-id} ...", "records": [...]},
with "malformed": {"<index>": "why"} for records known not to fit their format and an optional "note".
A record is split on single spaces, as AWS writes it; the i-th value belongs to the i-th ${field}.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import NamedTuple

VPCFLOW = Path(__file__).resolve().parents[1] / "data" / "vpcflow"

# The default format: the version 2 fields in the order of the VPC User Guide's "Available fields" table.
DEFAULT_FIELDS = (
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
    "packets", "bytes", "start", "end", "action", "log-status",
)  # fmt: skip

# The version in which each field was introduced (NOTES.md gives the sources): 2-5 from the VPC User Guide's
# "Available fields" table, 7 (the ECS fields) from aws/aws-cdk pull request 30202. Fields of later versions
# (reject-reason, ...) are left out until a stored source gives their version.
FIELD_VERSIONS = {
    **dict.fromkeys(DEFAULT_FIELDS, 2),
    **dict.fromkeys(("vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr"), 3),
    **dict.fromkeys(("region", "az-id", "sublocation-type", "sublocation-id"), 4),
    **dict.fromkeys(("pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path"), 5),
    **dict.fromkeys((
        "ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn", "ecs-container-instance-id",
        "ecs-container-id", "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn",
        "ecs-task-arn", "ecs-task-id",
    ), 7),
}  # fmt: skip

_FIELD = re.compile(r"\$\{([a-z0-9-]+)\}")


class Example(NamedTuple):
    name: str  # <folder>/<file stem>, e.g. "awsdocs_vpc_user_guide/ex03_nodata"
    fields: tuple[str, ...]  # the ${field} names of its format, in order
    records: list[dict[str, str]]  # the well-formed records, field -> value
    raw: list[str]  # every record as published, malformed ones included
    malformed: dict[int, str]  # index in raw -> why it does not fit the format
    source: str


def format_fields(log_format: str) -> tuple[str, ...]:
    """The field names of a flow log format string ("${version} ${srcaddr} ..."), in order."""
    fields = tuple(_FIELD.findall(log_format))
    if not fields or " ".join(f"${{{f}}}" for f in fields) != log_format:
        raise ValueError(f"not a flow log format of single-space separated ${{field}}s: {log_format!r}")
    return fields


def split_record(record: str) -> list[str]:
    """A record's values: AWS separates fields by one space, so two spaces make an empty value."""
    return record.split(" ")


def as_dict(fields: tuple[str, ...], record: str) -> dict[str, str]:
    values = split_record(record)
    if len(values) != len(fields):
        raise ValueError(f"{len(values)} values for {len(fields)} fields: {record!r}")
    return dict(zip(fields, values))


def examples() -> list[Example]:
    """Every example under tests/data/vpcflow, sorted by name (a copy: a test may change what it gets)."""
    return copy.deepcopy(list(_examples()))


@functools.cache
def _examples() -> tuple[Example, ...]:
    loaded = []
    for path in sorted(VPCFLOW.glob("*/*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        fields = format_fields(document["format"])
        malformed = {int(index): why for index, why in document.get("malformed", {}).items()}
        raw = list(document["records"])
        records = [as_dict(fields, record) for index, record in enumerate(raw) if index not in malformed]
        name = f"{path.parent.name}/{path.stem}"
        loaded.append(Example(name, fields, records, raw, malformed, document["source"]))
    return tuple(loaded)


def all_records() -> list[tuple[str, dict[str, str]]]:
    """(example name, record) for every well-formed record of every example."""
    return [(example.name, record) for example in examples() for record in example.records]
