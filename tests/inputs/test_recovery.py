"""Recovery of failed deliveries against moto S3 and a model of Splunk's index: every event back
exactly once, with its time, through crashes at every point, splunkd losing its queue, slow indexing,
answers that are not clean, runners taking over and runners with wrong clocks, events Firehose
delivered anyway, hostile objects and two runners at once; unreadable data reported and its objects
kept."""

from __future__ import annotations

import dataclasses
import gzip
import json
import sys
import threading
from collections import Counter
from email.utils import formatdate

import boto3
import botocore.exceptions
import moto_s3_conditional  # noqa: F401 - atomic conditional PutObject, as S3 documents it
import pytest
from cloudtrail_firehose import sources
from cloudtrail_firehose.firehose import records
from cloudtrail_firehose.firehose.records import event_time, failed_delivery_prefixes
from cloudtrail_firehose.inputs import recovery as recovery_module
from cloudtrail_firehose.inputs import s3_lease
from cloudtrail_firehose.inputs.arguments import RECOVERY
from cloudtrail_firehose.inputs.indexed import identity_search
from cloudtrail_firehose.inputs.object_reader import NEEDS_ATTENTION
from cloudtrail_firehose.inputs.outputs import Output, SearchUnavailableError, identity_of_text
from cloudtrail_firehose.inputs.recovery import MAX_ATTEMPTS, MAX_WRITES, SETTLE_SECONDS, Recovery
from cloudtrail_firehose.inputs.s3_lease import LEASE_KEY, LEASE_SECONDS, Lease, S3Clock
from corpus import cloudtrail_events
from failed_deliveries import BUCKET, EVENTS, data_message, put_objects, record
from moto import mock_aws

EXTRA = [event for _, event in cloudtrail_events()][60:70]  # in no object put_objects writes
INTERVAL = float(RECOVERY.interval)








class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def s3_client(clock: Clock, skew: float = 0.0):
    """An S3 client whose answers carry S3's Date (Amazon S3 API Reference, "Common Response Headers":
    Date, the date and time Amazon S3 responded), here the test's clock: moto's is the real one."""
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")

    def stamp(parsed, **kwargs):
        headers = parsed.setdefault("ResponseMetadata", {}).setdefault("HTTPHeaders", {})
        headers["date"] = formatdate(clock() + skew, usegmt=True)

    client.meta.events.register("after-call.s3", stamp)
    return client


class Splunk:
    """Splunk as recovery sees it. What the input writes goes down a pipe to splunkd (queued) and is
    indexed when splunkd reads it; a search finds an event LATENCY seconds after it was indexed.
    splunkd stopping loses what is still queued. A search answers cleanly, or (answer = "partial",
    "error", ...) not: the identity search then raises SearchUnavailableError (tests/inputs/test_identity_search.py
    shows that it does for each way splunkd answers badly)."""

    def __init__(self, clock: Clock, latency: float = 30.0) -> None:
        self.clock, self.latency = clock, latency
        self.queued: list[Output] = []
        self.indexed: list[tuple[Output, float]] = []
        self.reads_pipe = True
        self.answer = "clean"
        self.searches = 0
        self.lock = threading.Lock()

    def write(self, output: Output) -> None:
        with self.lock:
            self.queued.append(output)
        if self.reads_pipe:
            self.read_pipe()

    def read_pipe(self) -> None:
        with self.lock:
            self.indexed += [(o, self.clock() + self.latency) for o in self.queued]
            self.queued = []

    def stop(self) -> None:
        self.queued = []

    def delivered_by_firehose(self, event: dict) -> None:
        self.indexed.append((Output(json.dumps(event), event_time(event), "aws:cloudtrail", "http:cloudtrail_firehose",
                                    event["eventID"]), self.clock()))  # fmt: skip

    def already_indexed(self, outputs: list[Output]) -> set[str]:
        self.searches += 1
        if self.answer != "clean":
            raise SearchUnavailableError(f"splunkd's answer was {self.answer}")
        with self.lock:
            have = {o.identity for o, searchable in self.indexed if searchable <= self.clock()}
        return {o.identity for o in outputs if o.identity in have}

    @property
    def outputs(self) -> list[Output]:
        return [o for o, _ in self.indexed]

    def counts(self) -> Counter:
        return Counter(o.identity for o in self.outputs)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def s3(monkeypatch, clock):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield s3_client(clock)


def recovery(s3, splunk: Splunk, owner: str = "sh1:main", batch_size: int = 7, monotonic_offset: float = 0.0,
             **options) -> Recovery:  # fmt: skip
    """A runner: its monotonic clock is the test's (offset: where this host's monotonic clock started)."""
    lease = Lease(s3, BUCKET, owner, S3Clock(lambda: splunk.clock() + monotonic_offset))
    return Recovery(s3, BUCKET, splunk.write, splunk.already_indexed, lease, batch_size, **options)


def waiting_keys(s3) -> set[str]:
    return {o["Key"] for prefix in failed_delivery_prefixes()
            for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])}  # fmt: skip


def all_keys(s3) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])} - {LEASE_KEY}


def journal(s3) -> dict:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=LEASE_KEY)["Body"].read())["objects"]


def until_done(s3, splunk: Splunk, runs: int = 30, **options) -> int:
    """Run the input every INTERVAL until nothing waits; return how many runs it took."""
    for run in range(1, runs + 1):
        recovery(s3, splunk, **options).run()
        splunk.clock.advance(INTERVAL)
        if not waiting_keys(s3):
            return run
    raise AssertionError(f"objects still waiting after {runs} runs: {sorted(waiting_keys(s3))}")


def needs_attention_report(splunk: Splunk, key: str) -> dict:
    [report] = [json.loads(o.text) for o in splunk.outputs
                if o.identity.endswith(":needs-attention") and json.loads(o.text)["object"].endswith(key)]  # fmt: skip
    return report


def assert_each_once(splunk: Splunk, expected: Counter) -> None:
    got = Counter((o.identity, o.text) for o in splunk.outputs)
    doubles = {k: n for k, n in got.items() if n > 1}
    assert not doubles, f"indexed {sum(doubles.values()) - len(doubles)} extra copies: {list(doubles)[:3]}"
    assert got == expected


@pytest.fixture(scope="session")
def expected() -> Counter:
    """Every output of put_objects' objects once: an undisturbed recovery (before any test's own moto)."""
    with mock_aws():
        splunk = Splunk(Clock())
        s3 = s3_client(splunk.clock)
        put_objects(s3)
        until_done(s3, splunk)
    return Counter((o.identity, o.text) for o in splunk.outputs)


def test_every_event_comes_back_once_with_its_time_and_a_source_naming_the_object(s3, clock):
    expected = put_objects(s3)
    splunk = Splunk(clock)
    until_done(s3, splunk)
    trail = [o for o in splunk.outputs if o.sourcetype == "aws:cloudtrail"]
    in_key_order = expected["part-3"] + expected["part-1"] + expected["part-2"]  # processing-failed/ sorts first
    assert [json.loads(o.text) for o in trail] == in_key_order
    assert [o.time for o in trail] == [event_time(e) for e in in_key_order]
    assert all(o.source.startswith(f"firehose_recovery:s3://{BUCKET}/") for o in splunk.outputs)
    errors = [json.loads(o.text) for o in splunk.outputs if o.sourcetype == "aws:firehose:error"]
    assert len(errors) == 5 + 20 + 20 + 1  # one per failed record or unreadable line, one for needs-attention
    codes = Counter(e["errorCode"] for e in errors)
    assert codes["Recovery.UnreadableLine"] == 2  # the garbage line and the VPC flow log record
    assert codes["Recovery.NeedsAttention"] == 1
    invalid_token = next(e for e in errors if e["errorCode"] == "Splunk.InvalidToken")
    assert "setup page" in invalid_token["remediation"]
    assert invalid_token["events_recovered"] == 5
    assert all(isinstance(o.time, float) for o in splunk.outputs)  # every output is searched for in a time range


def test_an_object_is_retired_only_by_a_search_made_the_settle_time_after_its_last_write(s3, clock):
    put_objects(s3)
    splunk = Splunk(clock)
    first = recovery(s3, splunk).run()
    assert first.events == 60
    assert (first.objects, first.awaiting) == (0, 3)
    assert waiting_keys(s3) == all_keys(s3)  # written, not yet known to be indexed: nothing moved
    clock.advance(SETTLE_SECONDS - 60)
    searches = splunk.searches
    early = recovery(s3, splunk).run()
    assert (early.objects, early.events, early.awaiting) == (0, 0, 3)  # too soon to trust a search
    assert splunk.searches == searches  # not even asked
    clock.advance(60 + recovery_module.WRITE_WINDOW)
    later = recovery(s3, splunk).run()
    assert (later.objects, later.events) == (3, 0)
    assert waiting_keys(s3) == set()


def test_objects_are_moved_never_deleted_and_unreadable_ones_are_kept_apart(s3, clock):
    put_objects(s3)
    splunk = Splunk(clock)
    until_done(s3, splunk)
    assert all_keys(s3) == {
        "needs-attention/splunk-failed/2026/11/27/part-1",
        "recovered/splunk-failed/2026/11/27/part-2.gz",
        "recovered/processing-failed/2026/11/27/part-3",
    }
    written = len(splunk.outputs)
    assert recovery(s3, splunk).run().objects == 0
    assert len(splunk.outputs) == written
    assert journal(s3) == {}  # retired objects leave the journal


def test_events_firehose_delivered_despite_an_ack_timeout_are_not_written_again(s3, clock):
    """After Splunk.AckTimeout, Splunk may already hold the events: recovery finds them and skips them."""
    put_objects(s3)
    splunk = Splunk(clock)
    for event in EVENTS[10:15]:  # part-1's second record failed with Splunk.AckTimeout
        splunk.delivered_by_firehose(event)
    until_done(s3, splunk)
    assert Counter(json.loads(o.text)["eventID"] for o in splunk.outputs if o.sourcetype == "aws:cloudtrail") == \
        Counter(e["eventID"] for e in EVENTS)  # fmt: skip


def test_a_lambda_put_back_accepted_in_part_is_not_written_twice(s3, clock):
    """The processor's put-back was partly accepted: those pieces were delivered, yet the whole record
    is ProcessingFailed in processing-failed/. It is not an AckTimeout, and still checked before writing."""
    s3.create_bucket(Bucket=BUCKET)
    pieces = EVENTS[:6]
    s3.put_object(Bucket=BUCKET, Key="processing-failed/2026/11/28/part-9",
                  Body=record(data_message(pieces), "Lambda.FunctionError"))  # fmt: skip
    splunk = Splunk(clock)
    for event in pieces[:4]:
        splunk.delivered_by_firehose(event)
    summary = recovery(s3, splunk).run()
    assert (summary.events, summary.skipped_as_indexed) == (2, 4)
    until_done(s3, splunk)
    assert Counter(o.identity for o in splunk.outputs if o.sourcetype == "aws:cloudtrail") == \
        Counter(e["eventID"] for e in pieces)  # fmt: skip


@pytest.mark.slow
def test_splunkd_stopping_with_events_still_queued_loses_nothing(s3, clock, expected):
    put_objects(s3)
    splunk = Splunk(clock)
    splunk.reads_pipe = False
    recovery(s3, splunk).run()
    assert len(splunk.queued) > 60
    splunk.stop()  # splunkd stops before reading the pipe: every event written is gone
    splunk.reads_pipe = True
    assert waiting_keys(s3) == all_keys(s3)
    until_done(s3, splunk)
    assert_each_once(splunk, expected)


@pytest.mark.parametrize("latency", [301.0, 700.0, SETTLE_SECONDS - recovery_module.WRITE_WINDOW])
@pytest.mark.slow
def test_indexing_slower_than_the_interval_writes_nothing_twice(s3, clock, expected, latency):
    """Splunk may take minutes to make what it indexed searchable (indexer queues, bundle replication):
    a search before then finds nothing. Writes are searched for only after the settle time."""
    put_objects(s3)
    splunk = Splunk(clock, latency=latency)
    until_done(s3, splunk)
    assert_each_once(splunk, expected)


def test_the_settle_time_is_a_setting(s3, clock):
    put_objects(s3)
    splunk = Splunk(clock)
    recovery(s3, splunk, settle_seconds=600).run()
    clock.advance(600 + recovery_module.WRITE_WINDOW)
    assert recovery(s3, splunk, settle_seconds=600).run().objects == 3


class CrashError(Exception):
    pass


def counting(limit: int):
    """Raise CrashError when the limit-th operation (a write, an S3 call) starts."""
    state = {"count": 0}

    def tick() -> None:
        state["count"] += 1
        if state["count"] == limit:
            raise CrashError(limit)

    return tick, state


@pytest.mark.slow
# Once, on Python 3.13: a minute of the same code paths the other recovery tests run on 3.9 too; twice, the suite
# would pass its 5 minutes.
@pytest.mark.skipif(sys.version_info < (3, 10), reason="the crash sweep runs on Python 3.13 only")
def test_a_crash_at_any_point_with_splunkd_losing_its_queue_then_restarts_index_every_event_once(expected):
    """The process stops at any write or S3 call, and splunkd drops what it had not read from the
    pipe; a new process then finishes. The lease's journal is written with S3 PutObject, so its
    writes are crash points too, and so is the move of an object with its needs-attention report."""
    total_operations = None
    limit = 1
    while total_operations is None or limit <= total_operations:
        with mock_aws():
            splunk = Splunk(Clock())
            s3 = s3_client(splunk.clock)
            put_objects(s3)
            tick, state = counting(limit)
            handlers = [(f"before-call.s3.{name}", lambda t=tick, **kw: t())
                        for name in ("GetObject", "CopyObject", "DeleteObject", "PutObject")]  # fmt: skip
            for event, handler in handlers:
                s3.meta.events.register(event, handler)
            splunk.reads_pipe = False
            for _ in range(12):  # the runs of the crashing process: write, verify and retire
                crashing = recovery(s3, splunk, batch_size=13)
                crashing.write = lambda output, w=splunk.write, t=tick: (t(), w(output))
                try:
                    crashing.run()
                except CrashError:
                    splunk.stop()
                    break
                splunk.read_pipe()
                splunk.clock.advance(INTERVAL)
            else:
                total_operations = state["count"]  # no crash: this many operations in all
            splunk.reads_pipe = True
            for event, handler in handlers:
                s3.meta.events.unregister(event, handler)
            until_done(s3_client(splunk.clock), splunk, batch_size=13)  # the restart
            assert_each_once(splunk, expected)
        limit += 1 if limit < 20 else 7
    assert total_operations > 100


# --- hostile objects: each is contained, the objects after it go on --------------------------------


def truncated_gzip() -> bytes:
    whole = gzip.compress(b"\n".join(record(json.dumps(e).encode()) for e in EXTRA), mtime=0)
    return whole[: len(whole) // 2]


HOSTILE_OBJECTS = {
    "truncated gzip (EOFError)": (truncated_gzip(), "EOFError"),
    "gzip magic then garbage (BadGzipFile)": (b"\x1f\x8b" + b"\x00garbage" * 100, "damaged gzip"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_OBJECTS))
def test_an_unreadable_object_is_retried_with_backoff_then_set_aside(s3, clock, name):
    body, reason = HOSTILE_OBJECTS[name]
    put_objects(s3)
    hostile = "splunk-failed/2026/11/27/part-0.gz"  # sorts before the good ones
    s3.put_object(Bucket=BUCKET, Key=hostile, Body=body)
    splunk = Splunk(clock)
    first = recovery(s3, splunk).run()
    readable = 1 if name.startswith("truncated") else 0  # the first record precedes the damage
    assert (first.failed_objects, first.events) == (1, 60 + readable)  # the others go on
    entry = journal(s3)[hostile]
    assert reason in entry["last_error"]
    assert (entry["failures"], entry["retry_at"]) == (1, clock() + recovery_module.BACKOFF_SECONDS)
    delays = []
    for _ in range(40):
        clock.advance(INTERVAL)
        before = journal(s3).get(hostile)
        recovery(s3, splunk).run()
        after = journal(s3).get(hostile)
        if after and after["failures"] > before["failures"] and not after.get("set_aside"):
            delays.append(after["retry_at"] - clock())
        if not after:
            break
    # Tried MAX_ATTEMPTS times, each wait twice the last, then set aside with a report.
    assert delays == [recovery_module.BACKOFF_SECONDS * 2**n for n in range(1, MAX_ATTEMPTS - 1)]
    assert f"{NEEDS_ATTENTION}{hostile}" in all_keys(s3)
    assert waiting_keys(s3) == set()
    assert reason in needs_attention_report(splunk, hostile)["errorMessage"]
    if name.startswith("truncated"):  # what could be read before the damage is in, once
        assert splunk.counts()[EXTRA[0]["eventID"]] == 1
    assert max(splunk.counts().values()) == 1


HUGE = "9" * 5000


def hostile_lines() -> tuple[list[bytes], list[dict]]:
    """Lines each of which once stopped recovery; and the events recovery must still bring back."""
    no_id = {"eventName": "PutObject", "userAgent": "\ud800", "eventTime": "2026-11-27T10:00:00Z"}
    late = {"eventID": "late-1", "eventName": "GetObject"}
    lines = [
        record(('{"eventID": "big", "n": ' + HUGE + "}").encode()),  # ValueError: over 4,300 digits
        record(data_message([], [json.dumps(late)], timestamp=int("9" * 400))),  # OverflowError
        record(data_message([], ['{"eventName": "PutObject", "userAgent": "\\ud800", '
                                 '"eventTime": "2026-11-27T10:00:00Z"}'])),  # UnicodeEncodeError; no eventID
        record(json.dumps(EVENTS[0]).encode()),
    ]
    return lines, [late, no_id, EVENTS[0]]


def test_hostile_lines_are_contained_and_every_readable_event_comes_back_once(s3, clock):
    s3.create_bucket(Bucket=BUCKET)
    lines, events = hostile_lines()
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/2026/11/27/hostile", Body=b"\n".join(lines))
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/2026/11/27/next", Body=record(json.dumps(EVENTS[1]).encode()))
    splunk = Splunk(clock)
    until_done(s3, splunk)
    trail = [o for o in splunk.outputs if o.sourcetype == "aws:cloudtrail"]
    assert [json.loads(o.text) for o in trail] == [*events, EVENTS[1]]
    assert len({o.identity for o in trail}) == len(trail)
    for output in splunk.outputs:
        output.text.encode("utf-8")  # what reaches splunkd is UTF-8
    assert trail[0].time == 1764200000.0  # the 400-digit timestamp was dropped: its record's arrival instead
    unreadable = [json.loads(o.text) for o in splunk.outputs if '"Recovery.UnreadableLine"' in o.text]
    assert len(unreadable) == 1
    assert "(4300)" in unreadable[0]["errorMessage"] or "4300 digits" in unreadable[0]["errorMessage"]  # 3.9, 3.13
    assert all_keys(s3) == {"needs-attention/splunk-failed/2026/11/27/hostile",
                            "recovered/splunk-failed/2026/11/27/next"}


@pytest.mark.parametrize("event_id", ["x" * 300, "two words", "a--b", "\u00e9t\u00e9", 12345, ""])
def test_an_event_whose_event_id_no_search_term_can_find_is_identified_by_its_hash(s3, clock, event_id):
    """TERM() finds only strings bounded by major breakers that hold none ("Search Reference: TERM";
    segmenters.conf.spec: "--" and spaces are major breakers); such events are found by sha256(_raw)."""
    s3.create_bucket(Bucket=BUCKET)
    event = {**EVENTS[0], "eventID": event_id}
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/odd-id", Body=record(json.dumps(event).encode()))
    splunk = Splunk(clock)
    until_done(s3, splunk)
    [written] = [o for o in splunk.outputs if o.sourcetype == "aws:cloudtrail"]
    assert written.identity == identity_of_text(written.text)
    assert json.loads(written.text)["eventID"] == event_id


@pytest.mark.slow
def test_a_line_over_the_cap_is_skipped_in_bounded_memory_and_the_rest_recovered(s3, clock):
    s3.create_bucket(Bucket=BUCKET)
    body = gzip.compress(record(json.dumps(EVENTS[0]).encode()) + b"\n" + b"x" * (3 * 1024 * 1024) + b"\n"
                         + record(json.dumps(EVENTS[1]).encode()), mtime=0)  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/long-line.gz", Body=body)
    splunk = Splunk(clock)
    until_done(s3, splunk, max_line=1024 * 1024)
    assert [o.identity for o in splunk.outputs if o.sourcetype == "aws:cloudtrail"] == \
        [EVENTS[0]["eventID"], EVENTS[1]["eventID"]]  # fmt: skip
    [unreadable] = [json.loads(o.text) for o in splunk.outputs if '"Recovery.UnreadableLine"' in o.text]
    assert unreadable["line"] == 2
    assert "3145729 bytes" in unreadable["errorMessage"]


@pytest.mark.slow
def test_an_object_over_the_cap_is_set_aside(s3, clock):
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/bomb.gz", Body=gzip.compress(b"x" * (8 * 1024 * 1024)))
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/next", Body=record(json.dumps(EVENTS[1]).encode()))
    splunk = Splunk(clock)
    until_done(s3, splunk, runs=60, max_object=1024 * 1024)
    assert "needs-attention/splunk-failed/bomb.gz" in all_keys(s3)
    assert "more than 1048576 bytes" in needs_attention_report(splunk, "splunk-failed/bomb.gz")["errorMessage"]


@pytest.mark.slow
def test_a_tiny_gzip_of_many_lines_gives_a_bounded_number_of_events(s3, clock):
    """A 1 KB gzip of "x" lines once gave half a million error events; 64 MiB of empty lines (a 65 KB
    gzip) took half a minute a pass. Error events are capped per object with one event counting the
    rest, and lines per object are capped."""
    s3.create_bucket(Bucket=BUCKET)
    lines = b"x\n" * 20_000 + record(json.dumps(EVENTS[0]).encode()) + b"\n"
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/x-lines.gz", Body=gzip.compress(lines, 9))
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/newlines.gz", Body=gzip.compress(b"\n" * 300_000, 9))
    splunk = Splunk(clock)
    until_done(s3, splunk, runs=60, batch_size=500, max_error_events=1000, max_lines=200_000)
    x_lines = [json.loads(o.text) for o in splunk.outputs if "x-lines" in o.source and o.sourcetype != "aws:cloudtrail"]
    codes = Counter(e["errorCode"] for e in x_lines)
    assert codes == {"Recovery.UnreadableLine": 1000, "Recovery.MoreErrors": 1, "Recovery.NeedsAttention": 1}
    assert EVENTS[0]["eventID"] in splunk.counts()  # the one event among them is recovered
    more = next(e for e in x_lines if e.get("errorCode") == "Recovery.MoreErrors")
    assert more["counts"] == {"Recovery.UnreadableLine": 19_000, "Splunk.AckTimeout": 1}
    assert "lines 1, 2, 3" in needs_attention_report(splunk, "x-lines.gz")["errorMessage"]
    assert "more than 200000 lines" in needs_attention_report(splunk, "newlines.gz")["errorMessage"]
    assert max(splunk.counts().values()) == 1


@pytest.mark.slow
def test_a_run_stops_at_its_time_budget_and_the_next_run_goes_on_where_it_stopped(s3, clock, expected):
    put_objects(s3)
    splunk = Splunk(clock)
    slow = splunk.already_indexed

    def searching_takes_time(outputs):
        clock.advance(40)  # each search takes 40 s
        return slow(outputs)

    splunk.already_indexed = searching_takes_time
    summary = recovery(s3, splunk, run_seconds=100).run()
    assert summary.paused
    assert 0 < summary.events < 60
    [(stopped, entry)] = [(key, entry) for key, entry in journal(s3).items() if entry.get("resume")]
    assert stopped == "processing-failed/2026/11/27/part-3"
    assert entry["resume"]["line"] > 0
    until_done(s3, splunk, runs=60, run_seconds=100)
    assert_each_once(splunk, expected)


def test_an_object_s3_refuses_does_not_block_the_others(s3, clock):
    put_objects(s3)

    def deny_part_1(params, **kwargs):
        if params.get("Key", "").endswith("part-1"):
            raise botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject")

    s3.meta.events.register("before-parameter-build.s3.GetObject", deny_part_1)
    splunk = Splunk(clock)
    summary = recovery(s3, splunk).run()
    assert (summary.failed_objects, summary.events) == (1, 40)
    assert "splunk-failed/2026/11/27/part-1" in waiting_keys(s3)  # left in place for the next run


# --- when Splunk cannot tell ---------------------------------------------------------------------


def test_when_splunks_answer_is_not_clean_nothing_is_written_and_objects_wait(s3, clock, expected):
    """An error, a warning, partial results, a timeout: "unknown", never "not indexed". Even an object
    never written before waits: Firehose may have delivered its events itself (Splunk.AckTimeout)."""
    put_objects(s3)
    splunk = Splunk(clock)
    for event in EVENTS[10:15]:
        splunk.delivered_by_firehose(event)
    splunk.answer = "partial (a search peer is down)"
    for _ in range(3):
        summary = recovery(s3, splunk).run()
        assert (summary.events, summary.errors, summary.objects, summary.awaiting) == (0, 0, 0, 3)
        assert "a search peer is down" in summary.search_unavailable
        clock.advance(INTERVAL)
    assert splunk.searches == 3  # the first unclean answer ends the run: one search a run
    status = json.loads(s3.get_object(Bucket=BUCKET, Key=LEASE_KEY)["Body"].read())["status"]
    assert status["search_unavailable"] == "splunkd's answer was partial (a search peer is down)"  # for health
    splunk.answer = "clean"
    until_done(s3, splunk)
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=LEASE_KEY)["Body"].read())["status"] == {}
    assert set(splunk.counts()) == {identity for identity, _ in expected}
    assert max(splunk.counts().values()) == 1


def test_a_search_that_fails_after_a_write_leaves_the_object_waiting_not_rewritten(s3, clock, expected):
    put_objects(s3)
    splunk = Splunk(clock)
    recovery(s3, splunk).run()  # writes everything
    splunk.answer = "an error message in a 200 answer"
    for _ in range(12):
        clock.advance(INTERVAL)
        summary = recovery(s3, splunk).run()
        assert (summary.events, summary.objects) == (0, 0)
    splunk.answer = "clean"
    until_done(s3, splunk)
    assert_each_once(splunk, expected)


@pytest.mark.slow
def test_events_splunk_never_shows_are_written_a_bounded_number_of_times(s3, clock):
    """Say the index is not searchable by the input's user: recovery must not write forever, whether
    an object is whole or damaged."""
    put_objects(s3)
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/2026/11/27/part-0.gz", Body=truncated_gzip())
    splunk = Splunk(clock)
    splunk.already_indexed = lambda outputs: set()
    for _ in range(60):
        recovery(s3, splunk).run()
        clock.advance(INTERVAL)
        if not waiting_keys(s3):
            break
    assert waiting_keys(s3) == set()
    assert {k.split("/")[0] for k in all_keys(s3)} == {"needs-attention"}
    trail = Counter(o.identity for o in splunk.outputs if o.sourcetype == "aws:cloudtrail")
    assert max(trail.values()) == MAX_WRITES
    reports = [o for o in splunk.outputs if o.identity.endswith(":needs-attention")]
    # part-1's report is one of its outputs (it has unreadable lines), then written again once it is set aside
    assert sorted(Counter(o.identity for o in reports).values()) == [MAX_WRITES] * 3 + [2 * MAX_WRITES]
    assert all("searchable by the user the input runs as" in json.loads(o.text)["errorMessage"] for o in reports
               if "part-1" not in o.source)  # fmt: skip
# --- one runner per bucket -----------------------------------------------------------------------


def test_s3_conditional_writes_let_exactly_one_of_concurrent_writers_win(s3):
    """Amazon S3 User Guide, "How to prevent object overwrites with conditional writes": If-None-Match: *
    fails with 412 when the key exists; If-Match fails when the ETag differs. moto_s3_conditional makes
    moto's check and store one step, so this holds under threads as it does on S3."""
    s3.create_bucket(Bucket=BUCKET)
    barrier, outcomes = threading.Barrier(8), []

    def create(n: int) -> None:
        barrier.wait()
        try:
            s3.put_object(Bucket=BUCKET, Key="lease", Body=str(n).encode(), IfNoneMatch="*")
            outcomes.append("won")
        except botocore.exceptions.ClientError as error:
            outcomes.append(error.response["Error"]["Code"])

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["PreconditionFailed"] * 7 + ["won"]
    etag = s3.head_object(Bucket=BUCKET, Key="lease")["ETag"]
    s3.put_object(Bucket=BUCKET, Key="lease", Body=b"next", IfMatch=etag)
    with pytest.raises(botocore.exceptions.ClientError, match="PreconditionFailed"):
        s3.put_object(Bucket=BUCKET, Key="lease", Body=b"stale", IfMatch=etag)


@pytest.mark.slow
def test_two_runners_at_once_index_every_event_exactly_once(s3, clock, expected):
    put_objects(s3)
    splunk = Splunk(clock)
    owners = ("sh1:firehose_recovery://main", "sh2:firehose_recovery://main")
    summaries: dict[str, list] = {owner: [] for owner in owners}

    def runner(owner: str, barrier: threading.Barrier) -> None:
        r = recovery(s3_client(clock), splunk, owner, batch_size=3)
        barrier.wait()
        summaries[owner].append(r.run())

    for _ in range(12):
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=runner, args=(owner, barrier)) for owner in owners]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        clock.advance(INTERVAL)
    assert waiting_keys(s3) == set()
    assert_each_once(splunk, expected)
    standing_by = [bool(s.standing_by) for owner in owners for s in summaries[owner]]
    assert standing_by.count(True) == 12  # every round, exactly one runner stood by


def lapse_of_the_lease(s3) -> float:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=LEASE_KEY)["Body"].read())["expires"]


def test_a_runner_taking_over_a_lapsed_lease_knows_what_the_last_holder_wrote(s3, clock, expected):
    """The journal travels with the lease in S3: the new holder waits for the old holder's writes to
    settle, even though its own host never saw them and Splunk cannot be searched when it takes over."""
    put_objects(s3)
    splunk = Splunk(clock, latency=600)
    assert recovery(s3, splunk, "sh1:main").run().events == 60  # sh1 writes everything, then its member goes down
    clock.advance(INTERVAL)
    assert recovery(s3, splunk, "sh2:main").run().standing_by  # sh1's lease has not lapsed yet
    clock.now = lapse_of_the_lease(s3) + 1
    splunk.answer = "503 Service Unavailable"
    taken = recovery(s3, splunk, "sh2:main").run()
    assert not taken.standing_by
    assert (taken.events, taken.objects, taken.awaiting) == (0, 0, 3)
    splunk.answer = "clean"
    until_done(s3, splunk, owner="sh2:main")
    assert_each_once(splunk, expected)


@pytest.mark.parametrize("skew", [1100.0, -1100.0, 86400.0])
def test_a_runner_whose_clock_is_wrong_writes_nothing_twice(s3, clock, expected, monkeypatch, skew):
    """Times are S3's (Amazon S3 API Reference, "Common Response Headers": Date), carried on the host's
    monotonic clock; the host's wall clock plays no part."""
    put_objects(s3)
    splunk = Splunk(clock, latency=600)
    recovery(s3, splunk, "sh1:main").run()
    clock.advance(LEASE_SECONDS + INTERVAL)  # sh1 is gone; sh2, whose clock is wrong, takes over
    real_time = s3_lease.time.time
    monkeypatch.setattr(s3_lease.time, "time", lambda: real_time() + skew)
    until_done(s3, splunk, owner="sh2:main", monotonic_offset=skew)
    assert_each_once(splunk, expected)


@pytest.mark.slow
def test_a_runner_stalled_inside_a_batch_writes_nothing_after_another_took_over(s3, clock, expected):
    put_objects(s3)
    splunk = Splunk(clock, latency=600)
    stalled = recovery(s3, splunk, "sh1:main", batch_size=50)
    writes = []

    def write(output):
        writes.append(output)
        splunk.write(output)
        if len(writes) == 10:  # sh1 freezes for 20 minutes; meanwhile sh2 takes the bucket over and writes
            clock.advance(1200)
            recovery(s3_client(clock), splunk, "sh2:main").run()

    stalled.write = write
    summary = stalled.run()
    assert summary.standing_by.startswith("lost the lease")
    assert len(writes) == 10  # not one more write once it woke up
    clock.advance(INTERVAL)
    until_done(s3, splunk, owner="sh2:main")
    assert_each_once(splunk, expected)


def test_a_damaged_journal_is_set_aside_and_nothing_is_written_twice(s3, clock, expected, recovery_log):
    put_objects(s3)
    splunk = Splunk(clock, latency=600)
    recovery(s3, splunk).run()
    for damage in (b'{"owner": "sh1:main", "expires": 0, "objec', b"[]"):
        s3.put_object(Bucket=BUCKET, Key=LEASE_KEY, Body=damage)
        clock.advance(INTERVAL)
        summary = recovery(s3, splunk).run()
        assert (summary.events, summary.objects) == (0, 0)  # what was written is unknown: wait, then search
    assert len([k for k in s3.list_objects_v2(Bucket=BUCKET)["Contents"] if ".damaged-" in k["Key"]]) == 2
    assert "cannot be read; kept as" in recovery_log.text
    until_done(s3, splunk)
    assert_each_once(splunk, expected)


def test_a_source_added_as_a_unit_is_recovered_with_its_sourcetype_without_changing_recovery(s3, clock, monkeypatch):
    # Adding a source is adding a unit and registering it (sources/__init__.py): its stream's backup prefix
    # is listed, its records are read with its reader and its events written with its sourcetype; events
    # without an id of their own are searched for by their hash, in the source's sourcetype.
    lines = ["2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 "
             "1418530070 ACCEPT OK", "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - "
             "NODATA"]  # fmt: skip
    toy = dataclasses.replace(sources.CLOUDTRAIL, name="toy", label="Toy", token=sources.TokenSpec("toy", "toy:lines"),
                              backup_prefix="toy/", record_format="lines", event_id_key=None)  # fmt: skip
    monkeypatch.setattr(sources, "SOURCES", (sources.CLOUDTRAIL, toy))
    monkeypatch.setitem(records.READERS, "lines",
                        lambda raw: (records.RecoveredEvent(line, None) for line in raw.decode().splitlines()))
    put_objects(s3)
    s3.put_object(Bucket=BUCKET, Key="toy/splunk-failed/2026/12/06/05/toy-1",
                  Body=record("\n".join(lines).encode(), code="Splunk.InvalidToken") + b"\n")
    splunk = Splunk(clock)
    until_done(s3, splunk)
    toys = [o for o in splunk.outputs if o.sourcetype == "toy:lines"]
    assert [o.text for o in toys] == lines
    assert {o.identity for o in toys} == {identity_of_text(line) for line in lines}
    assert all(o.source == f"firehose_recovery:s3://{BUCKET}/toy/splunk-failed/2026/12/06/05/toy-1" for o in toys)
    assert [o for o in splunk.outputs if o.sourcetype == "aws:cloudtrail" and o.source.endswith("toy-1")] == []
    assert "(sourcetype=\"toy:lines\" source=" in identity_search("main", toys, BUCKET)
    assert "recovered/toy/splunk-failed/2026/12/06/05/toy-1" in all_keys(s3)
