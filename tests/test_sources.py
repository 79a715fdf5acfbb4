"""Sources as units (package/cloudtrail_firehose/sources/): every part of the CloudFormation template and of
the app's knowledge belongs to exactly one unit or to the core, and what a unit says about itself is true of
the app: its token's sourcetype and source have their props.conf stanzas, its stream is a Firehose stream it
owns whose S3 backup prefix is the one recovery lists, and recovery has a reader for its record format."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from cfnlint.decode import decode_str
from cloudtrail_firehose import sources
from cloudtrail_firehose.aws.pipeline import TEMPLATE_PATH
from cloudtrail_firehose.firehose import records
from cloudtrail_firehose.sources.unit import KNOWLEDGE_CONFS, TEMPLATE_SECTIONS

ROOT = Path(__file__).resolve().parents[1]
UNITS = {"core": (sources.CORE_TEMPLATE, sources.CORE_KNOWLEDGE),
         **{s.name: (s.template, s.knowledge) for s in sources.SOURCES}}  # fmt: skip


def template() -> dict:
    parsed, problems = decode_str(TEMPLATE_PATH.read_text(encoding="utf-8"))
    assert not problems
    return parsed


def stanzas(conf: str) -> list[str]:
    return re.findall(r"^\[(.*)\]\s*$", (ROOT / "default" / f"{conf}.conf").read_text(encoding="utf-8"), re.M)


def owners(found: list[str], claimed: dict[str, tuple[str, ...]]) -> tuple[list[str], list[str], list[str]]:
    """(unowned, owned twice, claimed but absent)."""
    count = Counter(name for names in claimed.values() for name in names)
    return (sorted(set(found) - set(count)), sorted(n for n, c in count.items() if c > 1),
            sorted(set(count) - set(found)))  # fmt: skip


@pytest.mark.parametrize("section", TEMPLATE_SECTIONS)
def test_every_part_of_the_template_belongs_to_one_unit(section):
    found = list(template().get(section, {}))
    claimed = {unit: part.sections.get(section, ()) for unit, (part, _) in UNITS.items()}
    assert owners(found, claimed) == ([], [], []), "(no unit, two units, claimed but not in template.yaml)"


@pytest.mark.parametrize("conf", KNOWLEDGE_CONFS)
def test_every_stanza_belongs_to_one_unit(conf):
    claimed = {unit: knowledge.stanzas.get(conf, ()) for unit, (_, knowledge) in UNITS.items()}
    assert owners(stanzas(conf), claimed) == ([], [], []), "(no unit, two units, claimed but not in the conf)"


def test_every_lookup_and_view_belongs_to_one_unit():
    lookups = [p.name for p in (ROOT / "lookups").glob("*.csv")]
    views = [p.stem for p in (ROOT / "default" / "data" / "ui" / "views").glob("*.xml")]
    assert owners(lookups, {u: k.lookups for u, (_, k) in UNITS.items()}) == ([], [], [])
    assert owners(views, {u: k.views for u, (_, k) in UNITS.items()}) == ([], [], [])


@pytest.mark.parametrize("source", sources.SOURCES, ids=lambda s: s.name)
def test_a_units_token_has_its_index_time_stanzas(source):
    # Splunk applies [<sourcetype>] and [source::<source>] props (props.conf.spec: stanza patterns); the
    # unit owns both, so its events are broken and timed as it says.
    assert {source.sourcetype, f"source::{source.token.source}"} <= set(source.knowledge.stanzas["props"])


@pytest.mark.parametrize("source", sources.SOURCES, ids=lambda s: s.name)
def test_a_units_stream_is_its_own_and_backs_up_under_its_prefix(source):
    parsed = template()
    stream = parsed["Outputs"][source.stream_output]["Value"]["Ref"]
    assert stream in source.template.sections["Resources"]
    resource = parsed["Resources"][stream]
    assert resource["Type"] == "AWS::KinesisFirehose::DeliveryStream"
    backup = resource["Properties"]["SplunkDestinationConfiguration"]["S3Configuration"]
    # Firehose writes failed deliveries under the S3 configuration's Prefix (Amazon Data Firehose Developer
    # Guide, "Handle data delivery failure"), which recovery and the backlog count list.
    assert backup.get("Prefix", "") == source.backup_prefix
    assert backup["BucketARN"] == {"Fn::GetAtt": ["FailedDeliveryBucket", "Arn"]}  # the shared bucket
    assert source.record_format in records.READERS


def test_units_are_told_apart_by_name_sourcetype_token_and_prefix():
    for attribute in ("name", "sourcetype", "stream_output", "backup_prefix"):
        values = [getattr(s, attribute) for s in sources.SOURCES]
        assert len(values) == len(set(values)), attribute
    names = [s.token.name for s in sources.SOURCES]
    # One token's rotations (<name>-<n>) must never be read as another source's token.
    assert not [(a, b) for a in names for b in names if a != b and sources.SOURCES[0].token.generation(b)
                and b.startswith(a)]  # fmt: skip


def test_a_failed_delivery_object_is_read_as_the_source_whose_stream_wrote_it():
    assert records.source_of("splunk-failed/2026/12/06/05/stream-1-2026-12-06-05-00-00-abc") is sources.CLOUDTRAIL
    assert records.source_of("processing-failed/2026/12/06/05/x") is sources.CLOUDTRAIL
    assert records.source_of("vpcflow/splunk-failed/2026/12/06/05/x") is sources.VPCFLOW
    assert records.source_of("recovered/splunk-failed/2026/x") is None  # the app's own prefixes are no source's
    assert records.source_of("recovered/vpcflow/splunk-failed/2026/x") is None
    assert records.failed_delivery_prefixes() == ["splunk-failed/", "processing-failed/", "decompression-failed/",
                                                  "vpcflow/splunk-failed/", "vpcflow/processing-failed/",
                                                  "vpcflow/decompression-failed/"]  # fmt: skip
