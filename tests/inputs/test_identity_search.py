"""The recovery input's dedupe search (inputs/indexed.py) against the stand-in splunkd, which runs its SPL
over indexed events the way the documents say Splunk does (fake_spl.py) and answers in the bad ways a
real splunkd can. What a user would notice: an event Splunk has is not written again, an event Splunk
lacks is never taken for indexed (it would be lost), and an answer that cannot be trusted stops the
batch with a reason instead of being read as "nothing indexed" (duplicates).

Runs on Python 3.9 too: no syntax newer than the package's.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from pathlib import Path

import pytest
from cloudtrail_firehose.inputs import indexed
from cloudtrail_firehose.inputs.indexed import TERM_SAFE, TIME_MARGIN, identity_search, indexed_identities
from cloudtrail_firehose.inputs.outputs import Output, SearchUnavailableError, identity_of_text
from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError
from fake_spl import terms
from fake_splunkd import ADMIN_TOKEN, FakeSplunkd
from identities import BUCKET, INDEX, SOURCE, T0, output, trail_event

FIREHOSE_SOURCE = "http:cloudtrail_firehose"


@pytest.fixture
def splunkd():
    fake = FakeSplunkd()
    yield fake
    fake.close()


@pytest.fixture
def client(splunkd):
    return Splunkd(splunkd.url, ADMIN_TOKEN)






def index(splunkd: FakeSplunkd, out: Output, time: float | None = None, source: str | None = None, **extra) -> None:
    """Splunk keeps the text written as _raw, at the time written."""
    splunkd.indexed.append({"_raw": out.text, "_time": out.time if time is None else time, "index": INDEX,
                            "sourcetype": out.sourcetype, "source": source or out.source, **extra})  # fmt: skip


def searches(splunkd: FakeSplunkd) -> list[dict]:
    return [form for _, path, form in splunkd.requests if path == "services/search/jobs"]


# --- what is found --------------------------------------------------------------------------------


def test_an_event_over_5000_bytes_is_found_by_its_eventid_near_its_end(splunkd, client):
    """limits.conf.spec [spath] extraction_cutoff: KV_MODE=json extracts from the first 5,000 bytes only,
    so `eventID=<id>` never finds this event and the old search wrote it on every pass. TERM() is
    answered from the index's lexicon, whatever the event's size (Search Manual: "Use CASE() and TERM()
    to match phrases")."""
    event_id = str(uuid.uuid4())
    big = output(trail_event(event_id, padding=20_000), event_id)
    assert len(big.text) > 20_000
    assert big.text.index(event_id) > 5000
    index(splunkd, big)
    missing_id = str(uuid.uuid4())
    missing = output(trail_event(missing_id, padding=20_000), missing_id)
    assert indexed_identities(client, INDEX, [big, missing], BUCKET) == {event_id}  # not written again
    [form] = searches(splunkd)
    assert f"TERM({event_id})" in form["search"]
    assert "eventID=" not in form["search"]
    assert " IN (" not in form["search"]


def test_an_event_firehose_delivered_itself_counts_whatever_its_source(splunkd, client):
    """After Splunk.AckTimeout Firehose may have delivered the event: found under HEC's source too."""
    event_id = str(uuid.uuid4())
    out = output(trail_event(event_id), event_id)
    index(splunkd, out, source=FIREHOSE_SOURCE)
    assert indexed_identities(client, INDEX, [out], BUCKET) == {event_id}


def test_an_event_without_a_usable_eventid_is_found_by_the_hash_of_its_text(splunkd, client):
    """An eventID over 256 characters, or one holding `--` (a major breaker in segmenters.conf.spec), is no
    single term: the identity is sha256 of the text written, which Splunk keeps as _raw."""
    long_id = "e" * 300
    dashed = "abc--def"
    assert not TERM_SAFE.fullmatch(long_id)
    assert not TERM_SAFE.fullmatch(dashed)
    outs = [output(trail_event(long_id), identity_of_text(trail_event(long_id))),
            output(trail_event(dashed), identity_of_text(trail_event(dashed))),
            output(trail_event(None, padding=10), identity_of_text(trail_event(None, padding=10)))]  # fmt: skip
    for out in outs:
        index(splunkd, out)
    assert indexed_identities(client, INDEX, outs, BUCKET) == {o.identity for o in outs}
    [form] = searches(splunkd)
    assert f'source="firehose_recovery:s3://{BUCKET}/*"' in form["search"]
    assert "NOT eventID" not in form["search"]  # the old search never found an event with an over-long eventID
    assert "TERM(" not in form["search"]


def test_a_hash_identity_not_written_is_not_found(splunkd, client):
    written = output(trail_event("e" * 300), identity_of_text(trail_event("e" * 300)))
    other = output(trail_event("f" * 300), identity_of_text(trail_event("f" * 300)))
    index(splunkd, written)
    assert indexed_identities(client, INDEX, [written, other], BUCKET) == {written.identity}


def test_a_nested_eventid_of_another_event_does_not_count(splunkd, client):
    """An API call's parameters can hold another event's eventID (as a key, or inside a JSON string as
    LookupEvents returns events); only the event's own eventID, the last one, counts. Otherwise the other
    event would be taken for indexed and lost."""
    mine, other, third = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    nesting = output(trail_event(mine, eventID=other), mine)
    quoting = output(trail_event(str(uuid.uuid4()), CloudTrailEvent=json.dumps({"eventID": third})), "unused")
    index(splunkd, nesting)
    index(splunkd, quoting)
    assert f'"eventID":"{other}"' in nesting.text
    assert other in terms(nesting.text)
    asked = [nesting, output(trail_event(other), other), output(trail_event(third), third)]
    assert indexed_identities(client, INDEX, asked, BUCKET) == {mine}


def test_an_error_event_is_found_by_its_recovery_id_and_only_as_an_error_event(splunkd, client):
    etag = "0123456789abcdef0123456789abcdef"
    error_event = output(json.dumps({"recovery_id": f"{etag}:3", "errorCode": "Splunk.AckTimeout"}), f"{etag}:3",
                         sourcetype="aws:firehose:error")  # fmt: skip
    report = output(json.dumps({"recovery_id": f"{etag}:needs-attention"}), f"{etag}:needs-attention",
                    sourcetype="aws:firehose:error")  # fmt: skip
    index(splunkd, error_event)
    # The same string in a CloudTrail event; an error event holding `<etag>:5.json`, whose terms include
    # `<etag>:5` (the text up to a minor breaker), so TERM(<etag>:5) matches it; and <etag>:30.
    index(splunkd, output(trail_event(str(uuid.uuid4()), note=f"{etag}:needs-attention"), "x"))
    mentions = json.dumps({"recovery_id": f"{etag}:9", "errorMessage": f"see {etag}:5.json"})
    index(splunkd, output(mentions, f"{etag}:9", sourcetype="aws:firehose:error"))
    index(splunkd, output(json.dumps({"recovery_id": f"{etag}:30"}), f"{etag}:30", sourcetype="aws:firehose:error"))
    assert f"{etag}:5" in terms(mentions)
    asked = [error_event, report] + [output("{}", f"{etag}:{n}", sourcetype="aws:firehose:error") for n in (5, 31)]
    assert indexed_identities(client, INDEX, asked, BUCKET) == {f"{etag}:3"}


def test_recovered_events_written_with_spaces_after_the_colon_are_read_back(splunkd, client):
    event_id = str(uuid.uuid4())
    spaced = output(json.dumps({"requestParameters": {}, "eventID": event_id}), event_id)  # ": " as json.dumps
    index(splunkd, spaced)
    assert indexed_identities(client, INDEX, [spaced], BUCKET) == {event_id}


def test_only_events_in_the_inputs_index_count(splunkd, client):
    event_id = str(uuid.uuid4())
    out = output(trail_event(event_id), event_id)
    splunkd.indexed.append({"_raw": out.text, "_time": T0, "index": "main", "sourcetype": "aws:cloudtrail",
                            "source": SOURCE})  # fmt: skip
    assert indexed_identities(client, INDEX, [out], BUCKET) == set()


# --- time range -----------------------------------------------------------------------------------


def test_the_search_covers_the_batch_times_plus_and_minus_the_margin(splunkd, client):
    """REST API Reference: search/jobs: earliest_time inclusive, latest_time exclusive (Search Reference:
    Time modifiers), not all time for every batch."""
    ids = [str(uuid.uuid4()) for _ in range(4)]
    times = [T0 + 0.25, T0 + 500.5, T0 - 100.0, T0 + 2.0]
    outs = [output(trail_event(i), i, time=t) for i, t in zip(ids, times)]
    for out in outs:
        index(splunkd, out)
    indexed_identities(client, INDEX, outs, BUCKET)
    [form] = searches(splunkd)
    assert form["earliest_time"] == str(math.floor(min(times) - TIME_MARGIN))
    assert form["latest_time"] == str(math.floor(max(times) + TIME_MARGIN) + 1)
    assert form["exec_mode"] == "oneshot"
    assert form["output_mode"] == "json"


def test_an_event_outside_the_window_is_not_found_and_one_at_its_edge_is(splunkd, client):
    inside, outside, edge = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    outs = [output(trail_event(i), i) for i in (inside, outside, edge)]
    index(splunkd, outs[0], time=T0 + TIME_MARGIN - 1)
    index(splunkd, outs[1], time=T0 + TIME_MARGIN + 2)  # e.g. a copy whose _time Splunk could not parse
    index(splunkd, outs[2], time=T0 - TIME_MARGIN)  # earliest is inclusive
    assert indexed_identities(client, INDEX, outs, BUCKET) == {inside, edge}


def test_outputs_without_a_time_search_all_time(splunkd, client):
    event_id = str(uuid.uuid4())
    out = Output(trail_event(event_id), None, "aws:cloudtrail", SOURCE, event_id)
    index(splunkd, out, time=10.0)
    assert indexed_identities(client, INDEX, [out], BUCKET) == {event_id}
    [form] = searches(splunkd)
    assert form["earliest_time"] == "0"
    assert "latest_time" not in form


# --- the SPL --------------------------------------------------------------------------------------


def test_the_search_returns_identities_only_and_quotes_its_strings(splunkd, client):
    event_id, etag = str(uuid.uuid4()), "0123456789abcdef0123456789abcdef-2"
    outs = [output(trail_event(event_id), event_id),
            output("{}", f"{etag}:1", sourcetype="aws:firehose:error"),
            output("x", identity_of_text("x"))]  # fmt: skip
    spl = identity_search('we"ird\\index', outs, BUCKET)
    assert spl.startswith('search index="we\\"ird\\\\index" ')
    assert spl.endswith("| stats count AS events, values(recovery_identity) AS identities, "
                        "values(recovery_hash) AS hashes")  # fmt: skip
    assert f"TERM({event_id})" in spl
    assert f"TERM({etag}:1)" in spl
    assert "_raw AS" not in spl
    assert "| table" not in spl
    assert "| fields" not in spl


def test_an_identity_that_is_neither_term_safe_nor_a_hash_is_never_searched_nor_found(splunkd, client):
    odd = 'has "quotes" and spaces'
    out = output(trail_event(odd), odd)
    index(splunkd, out)
    assert indexed_identities(client, INDEX, [out], BUCKET) == set()
    assert searches(splunkd) == []


def test_the_readmes_dedupe_search_is_the_one_the_input_sends():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    shown = re.search(r"\*\*The dedupe search\.\*\*.*?```\n(.*?)```", readme, re.S).group(1)
    batch = [Output("", T0, "aws:cloudtrail", SOURCE, "3038ebd2-c98a-4c65-9b6e-e22506292313"),
             Output("", T0, "aws:firehose:error", SOURCE, "9f2c0e6d2b1a4e7f8c3d5a6b7e8f9012:L4"),
             Output("", T0, "aws:cloudtrail", SOURCE, identity_of_text('{"eventVersion":"1.11"}'))]  # fmt: skip
    assert " ".join(shown.split()) == identity_search("aws_cloudtrail", batch, "<bucket>")


@pytest.mark.parametrize("identity", ["5b8f1c2e-7d4a-4e36-9a0b-c1d2e3f40516", "0123456789abcdef0123456789abcdef-12:L7",
                                      "etag:needs-attention", "a", "A_b.c:d-e", "x" * 128])  # fmt: skip
def test_term_safe_identities_are_single_terms_in_json(identity):
    """segmenters.conf.spec: `"` is a MAJOR breaker and : . - _ are MINOR ones, so the identity, quoted in
    JSON, is one term (the stand-in builds terms as the spec describes)."""
    assert TERM_SAFE.fullmatch(identity)
    assert identity.lower() in terms(json.dumps({"eventID": identity}))


@pytest.mark.parametrize("identity", ["a--b", "-abc", "_abc", "x" * 129, "a b", 'a"b', "a/b", "a=b", "a%20b", ""])
def test_other_identities_are_not_term_safe(identity):
    assert not TERM_SAFE.fullmatch(identity)


def test_the_stand_in_refuses_searches_it_cannot_answer_as_splunk_would(splunkd, client):
    """The old search relied on search-time fields (eventID IN (...)), which the stand-in does not extract:
    it answers 400, so no such search can pass here."""
    old = 'search index="aws_cloudtrail" (sourcetype=aws:cloudtrail eventID IN ("x")) | fields eventID'
    with pytest.raises(SplunkdError, match="400: fake splunkd cannot run this search"):
        client.post("services/search/jobs", {"search": old, "exec_mode": "oneshot", "output_mode": "json"})
    hashes = 'search index="aws_cloudtrail" (sourcetype=aws:cloudtrail NOT eventID=*) | stats count AS n'
    with pytest.raises(SplunkdError, match="does not evaluate NOT"):
        client.post("services/search/jobs", {"search": hashes, "exec_mode": "oneshot", "output_mode": "json"})


# --- answers that cannot be trusted ---------------------------------------------------------------

BAD_ANSWERS = [
    ("http_503", "splunkd answered 503: Search not executed"),
    ("error_message", "ERROR \"Error in 'search' command"),
    ("incomplete_warning", 'WARN "Search results may be incomplete, peer idx2'),
    ("preview", "a preview"),
    ("empty", "empty body"),
    ("html", "not JSON"),
    ("non_utf8", "not UTF-8"),
    ("truncated_json", "not JSON"),
    ("cut_short", "cut short"),
    ("garbage_status", "broken answer (BadStatusLine"),
    ("disconnect", "RemoteDisconnected"),
    ("not_an_object", "JSON list, not an object"),
    ("results_not_a_list", "no list of results"),
    ("row_not_an_object", "no list of results"),
    ("no_row", "0 rows, not its one summary row"),
    ("values_not_strings", "identities are of an unknown shape"),
    ("messages_not_a_list", "messages of an unknown shape"),
]


@pytest.mark.parametrize(("fault", "reason"), BAD_ANSWERS, ids=[f for f, _ in BAD_ANSWERS])
def test_an_answer_that_is_not_a_clean_complete_result_raises_with_the_reason(splunkd, client, fault, reason):
    event_id = str(uuid.uuid4())
    out = output(trail_event(event_id), event_id)
    index(splunkd, out)
    splunkd.search_fault = fault
    with pytest.raises(SearchUnavailableError) as raised:
        indexed_identities(client, INDEX, [out], BUCKET)
    assert reason in str(raised.value)
    assert ADMIN_TOKEN not in str(raised.value)
    assert len(str(raised.value)) < 600


def test_a_search_peer_down_is_an_incomplete_answer_not_an_absent_event(splunkd, client):
    """The peer holding the event is down: splunkd answers 200 with what the others have and a WARN. Taking
    that for "not indexed" would write the event twice."""
    here, there = str(uuid.uuid4()), str(uuid.uuid4())
    index(splunkd, output(trail_event(here), here), splunk_server="idx1")
    index(splunkd, output(trail_event(there), there), splunk_server="idx2")
    splunkd.peers = {"idx1": {INDEX}, "idx2": {INDEX}}
    splunkd.peers_down = {"idx2"}
    asked = [output(trail_event(here), here), output(trail_event(there), there)]
    with pytest.raises(SearchUnavailableError, match="Unable to distribute to peer named idx2"):
        indexed_identities(client, INDEX, asked, BUCKET)
    splunkd.peers_down = set()
    assert indexed_identities(client, INDEX, asked, BUCKET) == {here, there}


@pytest.mark.slow
def test_a_search_slower_than_the_timeout_is_unknown(splunkd, client, monkeypatch):
    monkeypatch.setattr(indexed, "SEARCH_TIMEOUT", 0.5)
    splunkd.search_delay = 2.0
    event_id = str(uuid.uuid4())
    with pytest.raises(SearchUnavailableError, match="did not answer"):
        indexed_identities(client, INDEX, [output(trail_event(event_id), event_id)], BUCKET)


@pytest.mark.slow
def test_the_search_waits_longer_than_other_rest_calls(splunkd):
    """Issue 20: a 30 s client timeout cut searches short; the search has its own (SEARCH_TIMEOUT)."""
    client = Splunkd(splunkd.url, ADMIN_TOKEN, timeout=0.5)
    splunkd.search_delay = 1.0
    event_id = str(uuid.uuid4())
    out = output(trail_event(event_id), event_id)
    index(splunkd, out)
    assert indexed_identities(client, INDEX, [out], BUCKET) == {event_id}
    assert client.timeout == 0.5
