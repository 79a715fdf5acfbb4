"""Index time for VPC Flow Logs: Firehose's deliveries come back as one event per flow record, _raw the bare
record, _time its start.

Firehose posts many records per request to HEC's raw endpoint: published straight to Firehose, each record is
{"message":"<record>"} with no newline after it (docs/vpcflow-aws.md, "Record shape"); taken from a CloudWatch
Logs group, bare records, one per line. splunk_conf.index_time applies the shipped LINE_BREAKER, timestamp
settings and SEDCMD in Splunk's order to every corpus record of the two formats setup deploys
(tests/helpers/vpcflow_corpus.py; records of other formats are rewritten into the recommended format when they
carry every default field, as the recommended flow log would have written them).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cloudtrail_firehose.sources import vpcflow
from splunk_conf import event_time, index_time, read_conf, sed, split_events
from vpcflow_corpus import examples

ROOT = Path(__file__).resolve().parents[2]
PROPS = read_conf(ROOT / "default" / "props.conf")
SOURCETYPE = PROPS[vpcflow.VPCFLOW.sourcetype]
SOURCE = PROPS[f"source::{vpcflow.VPCFLOW.token.source}"]
# Fields a recommended flow log writes that some corpus formats carry but the recommended one does not.
NOT_RECOMMENDED = {"sublocation-type", "sublocation-id"}


def deployable_records() -> list[tuple[str, str, dict[str, str]]]:
    """(example name, format, record) for every corpus record setup's formats can hold: the default-format
    records as published, and the records of custom formats carrying every default field, laid out in the
    recommended format ('-' for the recommended fields their format lacks)."""
    chosen = []
    for example in examples():
        if example.fields == vpcflow.DEFAULT_FIELDS:
            chosen += [(example.name, "default", record) for record in example.records]
        elif set(vpcflow.DEFAULT_FIELDS) <= set(example.fields) <= set(vpcflow.RECOMMENDED_FIELDS) | NOT_RECOMMENDED:
            chosen += [(example.name, "recommended", record) for record in example.records]
    return chosen


def line(format_name: str, record: dict[str, str]) -> str:
    return " ".join(record.get(name, "-") for name in vpcflow.FORMATS[format_name])


def other_format_lines() -> list[tuple[str, str]]:
    """(example name, record as published) for the corpus formats setup never deploys."""
    names = {name for name, _, _ in deployable_records()}
    return [(e.name, raw) for e in examples() if e.name not in names for raw in e.raw]


RECORDS = deployable_records()
LINES = [line(format_name, record) for _, format_name, record in RECORDS]

# How one Firehose request can carry records.
SHAPES = {
    "wrapped, back to back": lambda lines: "".join(json.dumps({"message": x}, separators=(",", ":")) for x in lines),
    "wrapped, newline-separated": lambda lines: "\n".join(json.dumps({"message": x}) for x in lines),
    "bare lines": lambda lines: "\n".join(lines),
    "bare lines, CRLF, trailing newline": lambda lines: "".join(x + "\r\n" for x in lines),
}


def test_the_corpus_has_both_formats_and_records_without_traffic():
    formats = [format_name for _, format_name, _ in RECORDS]
    assert formats.count("default") >= 380
    assert formats.count("recommended") >= 9
    assert {record["log-status"] for _, _, record in RECORDS} == {"OK", "NODATA", "SKIPDATA"}
    assert all(len(x.split(" ")) == len(vpcflow.FORMATS[f]) for x, (_, f, _) in zip(LINES, RECORDS, strict=True))


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("stanza", ["sourcetype", "source"])
def test_every_record_is_one_event_whose_raw_is_the_bare_record_and_time_its_start(shape, stanza):
    props = SOURCETYPE if stanza == "sourcetype" else SOURCE
    for start in range(0, len(LINES), 50):  # Firehose buffers many records per request
        batch = LINES[start : start + 50]
        events = index_time(SHAPES[shape](batch), props)
        assert [raw for _, raw in events] == batch
        starts = [int(record["start"]) for _, _, record in RECORDS[start : start + 50]]
        assert [time for time, _ in events] == [datetime.fromtimestamp(s, timezone.utc) for s in starts]


def test_nodata_and_skipdata_records_are_kept_with_their_status_and_time():
    kept = [(name, record) for name, _, record in RECORDS if record["log-status"] in ("NODATA", "SKIPDATA")]
    assert len(kept) >= 2
    for _, record in kept:
        raw = line("default", record)
        [(time, event)] = index_time(json.dumps({"message": raw}), SOURCE)
        assert event == raw
        assert event.split(" ")[13] == record["log-status"]
        assert time == datetime.fromtimestamp(int(record["start"]), timezone.utc)


def test_the_source_stanza_repeats_every_index_time_setting():
    """The add-on's [aws:cloudwatchlogs:vpcflow] merges with this app's and wins where both set a key; source
    settings take precedence over sourcetype settings, so the HEC input's data is parsed as shipped here."""
    index_keys = {k for k in SOURCETYPE if k in ("SHOULD_LINEMERGE", "LINE_BREAKER", "TRUNCATE", "TIME_PREFIX",
                                                 "TIME_FORMAT", "MAX_TIMESTAMP_LOOKAHEAD", "MAX_DAYS_AGO")
                  or k.startswith("SEDCMD-")}  # fmt: skip
    assert len(index_keys) == 8
    assert {k: SOURCE.get(k) for k in index_keys} == {k: SOURCETYPE[k] for k in index_keys}
    assert set(SOURCE) == index_keys


def test_time_comes_from_the_eleventh_field_of_both_formats():
    for fields in vpcflow.FORMATS.values():
        assert fields.index("start") == 10


def test_a_wrapper_with_spaces_or_other_keys_is_unwrapped_too():
    raw = LINES[0]
    for wrapped in (f'{{ "message" : "{raw}" }}', f'{{"owner":"x","message":"{raw}","logGroup":"g"}}'):
        [(time, event)] = index_time(wrapped + "\n" + wrapped, SOURCE)[:1]
        assert event == raw
        assert time == datetime.fromtimestamp(int(raw.split(" ")[10]), timezone.utc)


def test_records_are_short_enough_never_to_be_truncated():
    longest = max(len(json.dumps({"message": x})) for x in LINES)
    assert longest < 400 < int(SOURCETYPE["TRUNCATE"]) == 10000
    assert SOURCETYPE["SHOULD_LINEMERGE"] == "false"


def test_records_of_other_formats_still_make_one_event_each():
    """The app deploys only its two formats; a record of another custom format (from a flow log made outside
    the app, through the CloudWatch Logs path) is still one event, found whole; its _time is whatever its 11th
    field says when that is a number (else Splunk's fallback), and search time reads no fields from it."""
    others = other_format_lines()
    assert len(others) >= 15
    events = index_time("".join(json.dumps({"message": raw}) for _, raw in others), SOURCE)
    assert [event for _, event in events] == [raw for _, raw in others]


# --- the model's index-time additions, each as Splunk documents it ----------------------------------------


def test_model_sedcmd_as_props_conf_spec_describes_it():
    """props.conf.spec SEDCMD-<class>: s/regex/replacement/flags, \\n back references, g for every match, a
    number n for the n-th."""
    assert sed(r"s/a(\d)/<\1>/", "a1 a2 a3") == "<1> a2 a3"
    assert sed(r"s/a(\d)/<\1>/g", "a1 a2 a3") == "<1> <2> <3>"
    assert sed(r"s/a(\d)/<\1>/2", "a1 a2 a3") == "a1 <2> a3"
    with pytest.raises(ValueError, match="only the s///"):
        sed("y/abc/xyz/", "abc")


def test_model_epoch_seconds_time_format():
    """"Enhanced strptime() support" (Configure timestamp recognition): %s is seconds since the Unix epoch;
    props.conf.spec: the timestamp is read after TIME_PREFIX's match, within MAX_TIMESTAMP_LOOKAHEAD."""
    stanza = {"TIME_PREFIX": "^(?:\\S+ ){2}", "TIME_FORMAT": "%s", "MAX_TIMESTAMP_LOOKAHEAD": "10"}
    assert event_time("a b 1352395800 c", stanza) == datetime(2012, 11, 8, 17, 30, tzinfo=timezone.utc)
    assert event_time("a b - c", stanza) is None
    assert event_time("a", stanza) is None


def test_model_line_breaker_takes_the_first_group_of_a_branch_reset():
    """props.conf.spec LINE_BREAKER: the first capturing group is discarded between events. Splunk's regexes are
    PCRE, where a branch reset (?|...) numbers each alternative's group 1."""
    breaker = SOURCETYPE["LINE_BREAKER"]
    assert split_events('{"m":"a"}{"m":"b"}\n{"m":"c"}', breaker) == ['{"m":"a"}', '{"m":"b"}', '{"m":"c"}']
    assert split_events("a b\nc d\r\n\r\ne f\n", breaker) == ["a b", "c d", "e f"]


def test_model_timestamps_before_sedcmd():
    """"How indexing works": timestamps are found in the merging (aggregator) pipeline, SEDCMD runs in the
    typing pipeline after it. The shipped TIME_PREFIX finds start both before and after the unwrap."""
    for raw in LINES[:20]:
        wrapped = json.dumps({"message": raw})
        assert event_time(wrapped, SOURCETYPE) == event_time(raw, SOURCETYPE) is not None
