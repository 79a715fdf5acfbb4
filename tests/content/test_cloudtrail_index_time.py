"""Index time: Firehose's concatenated deliveries come back as whole events with the right _time.

Firehose posts several CloudTrail events per request to HEC's raw endpoint, with or without a
newline between them. This applies the shipped LINE_BREAKER and timestamp settings with a
PCRE-compatible engine (the regex module) to every corpus event in each delivery shape.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import regex
from cloudtrail_firehose import sources
from cloudtrail_firehose.splunk.hec import hec_input_settings
from corpus import cloudtrail_events
from splunk_conf import read_conf, split_events

ROOT = Path(__file__).resolve().parents[2]
PROPS = read_conf(ROOT / "default" / "props.conf")
CLOUDTRAIL = PROPS["aws:cloudtrail"]
EVENTS = cloudtrail_events()

SHAPES = {
    "concatenated": lambda docs: "".join(docs),
    "newline-separated": lambda docs: "\n".join(docs),
    "newline-terminated": lambda docs: "".join(d + "\n" for d in docs),
    "crlf-separated": lambda docs: "\r\n".join(docs),
}


def compact(event: dict) -> str:
    # CloudTrail writes single-line JSON with no spaces to CloudWatch Logs.
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def splunk_time(raw: str, stanza: dict) -> datetime:
    """_time as Splunk derives it: TIME_PREFIX, then TIME_FORMAT within MAX_TIMESTAMP_LOOKAHEAD."""
    prefix = regex.search(stanza["TIME_PREFIX"], raw)
    assert prefix, "TIME_PREFIX not found"
    window = raw[prefix.end() : prefix.end() + int(stanza["MAX_TIMESTAMP_LOOKAHEAD"])]
    width = len(datetime(2000, 1, 1).strftime(stanza["TIME_FORMAT"]))
    parsed = datetime.strptime(window[:width], stanza["TIME_FORMAT"])
    assert stanza["TZ"] == "UTC"
    return parsed.replace(tzinfo=UTC)


def event_time(event: dict) -> datetime:
    return datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00")).replace(microsecond=0)


def test_the_corpus_is_all_there():
    assert len(EVENTS) >= 350
    assert all("eventTime" in event for _, event in EVENTS)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_corpus_event_comes_back_whole(shape):
    docs = [compact(event) for _, event in EVENTS]
    # Firehose buffers up to 5 MB per request: deliver the corpus in batches of 50 events.
    for start in range(0, len(docs), 50):
        raw = SHAPES[shape](docs[start : start + 50])
        got = split_events(raw, CLOUDTRAIL["LINE_BREAKER"])
        assert [json.loads(e) for e in got] == [event for _, event in EVENTS[start : start + 50]]


def test_pretty_printed_and_spaced_json_also_splits():
    events = [event for _, event in EVENTS[:40]]
    raw = "".join(json.dumps(e, indent=2) for e in events) + "".join(json.dumps(e) + "  " for e in events)
    assert [json.loads(e) for e in split_events(raw, CLOUDTRAIL["LINE_BREAKER"])] == events + events


def test_braces_inside_string_values_do_not_split_an_event():
    event = dict(EVENTS[0][1])
    event["errorMessage"] = 'policy "}{" and }\n{"eventVersion": "x"} and }{"a":'
    event["requestParameters"] = {"policyDocument": json.dumps({"Statement": [{"Effect": "Allow"}, {"x": {}}]})}
    raw = compact(event) + compact(EVENTS[1][1])
    assert [json.loads(e) for e in split_events(raw, CLOUDTRAIL["LINE_BREAKER"])] == [event, EVENTS[1][1]]


def test_every_corpus_event_gets_its_event_time_as_time():
    for label, event in EVENTS:
        for raw in (compact(event), json.dumps(event, indent=4)):
            assert splunk_time(raw, CLOUDTRAIL) == event_time(event), label


def test_fractional_seconds_keep_their_second():
    raw = compact({"eventVersion": "1.09", "eventTime": "2024-03-01T12:34:56.789Z", "eventName": "X"})
    assert splunk_time(raw, CLOUDTRAIL) == datetime(2024, 3, 1, 12, 34, 56, tzinfo=UTC)


def test_a_256_kb_event_is_not_truncated():
    big = dict(EVENTS[0][1])
    big["requestParameters"] = {"policyDocument": "x" * (256 * 1024)}
    raw = compact(big)
    assert len(raw.encode()) < int(CLOUDTRAIL["TRUNCATE"])
    assert max(len(compact(e).encode()) for _, e in EVENTS) < int(CLOUDTRAIL["TRUNCATE"])
    assert CLOUDTRAIL["SHOULD_LINEMERGE"] == "false"


def test_the_hec_input_parses_its_data_the_same_way_whatever_else_is_installed():
    settings = hec_input_settings(sources.CLOUDTRAIL.token, "aws_cloudtrail")
    source = PROPS[f"source::{settings['source']}"]
    for key in ("SHOULD_LINEMERGE", "LINE_BREAKER", "TRUNCATE"):
        assert source[key] == CLOUDTRAIL[key], key


def test_hec_input_has_acknowledgement_the_cloudtrail_sourcetype_and_one_index():
    settings = hec_input_settings(sources.CLOUDTRAIL.token, "aws_cloudtrail")
    assert (settings["sourcetype"], settings["useACK"]) == ("aws:cloudtrail", "1")
    assert settings["index"] == settings["indexes"] == "aws_cloudtrail"
    assert "token" not in settings  # splunkd generates it
    with pytest.raises(ValueError, match="not an index name"):
        hec_input_settings(sources.CLOUDTRAIL.token, "bad index")


def test_no_hec_stanza_or_token_is_shipped():
    # Splunk Cloud rejects [http://...] stanzas in an app; setup creates the input over REST.
    inputs = ROOT / "default" / "inputs.conf"
    stanzas = read_conf(inputs) if inputs.exists() else {}
    assert not [name for name in stanzas if name.startswith("http")]
