"""Recovery of failed deliveries against moto S3 and a model of Splunk's index: every event back
exactly once, with its time, through crashes at every point, splunkd losing its queue, events
Firehose delivered anyway, hostile objects and two runners at once; unreadable data reported and
its objects kept."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections import Counter

import boto3
import botocore.exceptions
import moto_s3_conditional  # noqa: F401 - atomic conditional PutObject, as S3 documents it
import pytest
from cloudtrail_firehose.firehose.records import FAILED_DELIVERY_PREFIXES, event_time
from cloudtrail_firehose.inputs import recovery as recovery_module
from cloudtrail_firehose.inputs.recovery import (
    LEASE_KEY,
    MAX_ATTEMPTS,
    MAX_WRITES,
    NEEDS_ATTENTION,
    SETTLE_SECONDS,
    Checkpoint,
    Lease,
    Output,
    Recovery,
    SearchUnavailableError,
)
from corpus import CORPUS, Lazy, cloudtrail_events
from moto import mock_aws

BUCKET = "cloudtrail-firehose-failed-123456789012-us-east-1"
EVENTS = Lazy(lambda: [event for _, event in cloudtrail_events()][:60])
EXTRA = [event for _, event in cloudtrail_events()][60:70]  # in no object put_objects writes
INTERVAL = 300.0  # the input's interval in default/inputs.conf


def record(raw: bytes, code: str = "Splunk.AckTimeout", arrival: int = 1764200000000) -> bytes:
    return json.dumps({"attemptsMade": 4, "arrivalTimestamp": arrival, "errorCode": code,
                       "errorMessage": "Did not receive an acknowledgement", "attemptEndingTimestamp": arrival + 300000,
                       "rawData": base64.b64encode(raw).decode(), "EventId": "4957.0"}).encode()  # fmt: skip


def data_message(events: list[dict], messages: list[str] | None = None, timestamp: int = 1764200000000) -> bytes:
    texts = messages if messages is not None else [json.dumps(e) for e in events]
    payload = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/cloudtrail/x",
               "logStream": "s", "subscriptionFilters": ["f"],
               "logEvents": [{"id": str(i), "timestamp": timestamp, "message": m}
                             for i, m in enumerate(texts)]}  # fmt: skip
    return gzip.compress(json.dumps(payload).encode(), mtime=0)


def put_objects(s3) -> dict[str, list[dict]]:
    """Failed-delivery objects in every shape; returns the CloudTrail events each one holds."""
    s3.create_bucket(Bucket=BUCKET)
    first, second, third = EVENTS[:20], EVENTS[20:40], EVENTS[40:60]
    docs_record = (CORPUS / "awsdocs-firehose-developer-guide" / "basic-deliver__error-record_splunk.json").read_bytes()
    lines = [
        record(data_message(first[:10]), "Splunk.SSLUnverified"),
        record("\n".join(json.dumps(e) for e in first[10:15]).encode()),
        b"this line is not a record",
        record("".join(json.dumps(e) for e in first[15:]).encode(), "Splunk.InvalidToken"),
        json.dumps(json.loads(docs_record)).encode(),  # a VPC flow log line, not CloudTrail
    ]
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/2026/11/27/part-1", Body=b"\n".join(lines) + b"\n")
    gz = gzip.compress(b"\n".join(record(json.dumps(e).encode(), "Splunk.ConnectionTimeout") for e in second), mtime=0)
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/2026/11/27/part-2.gz", Body=gz)
    s3.put_object(Bucket=BUCKET, Key="processing-failed/2026/11/27/part-3",
                  Body=b"\n".join(record(data_message([e])) for e in third))  # fmt: skip
    return {"part-1": first, "part-2": second, "part-3": third}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Splunk:
    """Splunk as recovery sees it. What the input writes goes down a pipe to splunkd (queued) and is
    indexed when splunkd reads it; a search finds an event LATENCY seconds after it was indexed.
    splunkd stopping loses what is still queued."""

    LATENCY = 30.0

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.queued: list[Output] = []
        self.indexed: list[tuple[Output, float]] = []
        self.reads_pipe = True
        self.lock = threading.Lock()

    def write(self, output: Output) -> None:
        with self.lock:
            self.queued.append(output)
        if self.reads_pipe:
            self.read_pipe()

    def read_pipe(self) -> None:
        with self.lock:
            self.indexed += [(o, self.clock() + self.LATENCY) for o in self.queued]
            self.queued = []

    def stop(self) -> None:
        self.queued = []

    def delivered_by_firehose(self, event: dict) -> None:
        self.indexed.append((Output(json.dumps(event), event_time(event), "aws:cloudtrail", "http:cloudtrail_firehose",
                                    event["eventID"]), self.clock()))  # fmt: skip

    def already_indexed(self, identities: list[str]) -> set[str]:
        with self.lock:
            have = {o.identity for o, searchable in self.indexed if searchable <= self.clock()}
        return {i for i in identities if i in have}

    @property
    def outputs(self) -> list[Output]:
        return [o for o, _ in self.indexed]

    def counts(self) -> Counter:
        return Counter(o.identity for o in self.outputs)


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


@pytest.fixture
def clock():
    return Clock()


def recovery(s3, splunk: Splunk, checkpoint_path, batch_size: int = 7, lease: Lease | None = None,
             **caps: int) -> Recovery:  # fmt: skip
    return Recovery(s3, BUCKET, splunk.write, Checkpoint(checkpoint_path), splunk.already_indexed, batch_size,
                    clock=splunk.clock, lease=lease, **caps)  # fmt: skip


def waiting_keys(s3) -> set[str]:
    return {o["Key"] for prefix in FAILED_DELIVERY_PREFIXES
            for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])}  # fmt: skip


def all_keys(s3) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])} - {LEASE_KEY}


def until_done(s3, splunk: Splunk, checkpoint_path, runs: int = 12, **options) -> int:
    """Run the input every INTERVAL until nothing waits; return how many runs it took."""
    for run in range(1, runs + 1):
        recovery(s3, splunk, checkpoint_path, **options).run()
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
    assert not doubles, f"indexed twice: {list(doubles)[:3]}"
    assert got == expected


@pytest.fixture(scope="session")
def expected(tmp_path_factory) -> Counter:
    """Every output of put_objects' objects once: an undisturbed recovery (before any test's own moto)."""
    tmp_path = tmp_path_factory.mktemp("reference")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        put_objects(s3)
        splunk = Splunk(Clock())
        until_done(s3, splunk, tmp_path / "reference.json")
    return Counter((o.identity, o.text) for o in splunk.outputs)


def test_every_event_comes_back_once_with_its_time_and_a_source_naming_the_object(s3, clock, tmp_path):
    expected = put_objects(s3)
    splunk = Splunk(clock)
    until_done(s3, splunk, tmp_path / "cp.json")
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


def test_an_object_is_retired_only_once_splunk_shows_its_events(s3, clock, tmp_path):
    put_objects(s3)
    splunk = Splunk(clock)
    first = recovery(s3, splunk, tmp_path / "cp.json").run()
    assert first.events == 60
    assert (first.objects, first.awaiting) == (0, 3)
    assert waiting_keys(s3) == all_keys(s3)  # written, not yet known to be indexed: nothing moved
    clock.advance(SETTLE_SECONDS / 2)
    early = recovery(s3, splunk, tmp_path / "cp.json").run()
    assert (early.objects, early.events, early.awaiting) == (0, 0, 3)  # too soon to trust a search
    clock.advance(SETTLE_SECONDS)
    later = recovery(s3, splunk, tmp_path / "cp.json").run()
    assert (later.objects, later.events) == (3, 0)
    assert waiting_keys(s3) == set()


def test_objects_are_moved_never_deleted_and_unreadable_ones_are_kept_apart(s3, clock, tmp_path):
    put_objects(s3)
    splunk = Splunk(clock)
    until_done(s3, splunk, tmp_path / "cp.json")
    assert all_keys(s3) == {
        "needs-attention/splunk-failed/2026/11/27/part-1",
        "recovered/splunk-failed/2026/11/27/part-2.gz",
        "recovered/processing-failed/2026/11/27/part-3",
    }
    written = len(splunk.outputs)
    assert recovery(s3, splunk, tmp_path / "cp.json").run().objects == 0
    assert len(splunk.outputs) == written


def test_events_firehose_delivered_despite_an_ack_timeout_are_not_written_again(s3, clock, tmp_path):
    """After Splunk.AckTimeout, Splunk may already hold the events: recovery finds them and skips them."""
    put_objects(s3)
    splunk = Splunk(clock)
    for event in EVENTS[10:15]:  # part-1's second record failed with Splunk.AckTimeout
        splunk.delivered_by_firehose(event)
    until_done(s3, splunk, tmp_path / "cp.json")
    assert Counter(json.loads(o.text)["eventID"] for o in splunk.outputs if o.sourcetype == "aws:cloudtrail") == \
        Counter(e["eventID"] for e in EVENTS)  # fmt: skip


def test_a_lambda_put_back_accepted_in_part_is_not_written_twice(s3, clock, tmp_path):
    """The processor's put-back was partly accepted: those pieces were delivered, yet the whole record
    is ProcessingFailed in processing-failed/. It is not an AckTimeout, and still checked before writing."""
    s3.create_bucket(Bucket=BUCKET)
    pieces = EVENTS[:6]
    s3.put_object(Bucket=BUCKET, Key="processing-failed/2026/11/28/part-9",
                  Body=record(data_message(pieces), "Lambda.FunctionError"))  # fmt: skip
    splunk = Splunk(clock)
    for event in pieces[:4]:
        splunk.delivered_by_firehose(event)
    summary = recovery(s3, splunk, tmp_path / "cp.json").run()
    assert (summary.events, summary.skipped_as_indexed) == (2, 4)
    until_done(s3, splunk, tmp_path / "cp.json")
    assert Counter(o.identity for o in splunk.outputs if o.sourcetype == "aws:cloudtrail") == \
        Counter(e["eventID"] for e in pieces)  # fmt: skip


def test_splunkd_stopping_with_events_still_queued_loses_nothing(s3, clock, tmp_path, expected):
    put_objects(s3)
    splunk = Splunk(clock)
    splunk.reads_pipe = False
    recovery(s3, splunk, tmp_path / "cp.json").run()
    assert len(splunk.queued) > 60
    splunk.stop()  # splunkd stops before reading the pipe: every event written is gone
    splunk.reads_pipe = True
    assert waiting_keys(s3) == all_keys(s3)
    until_done(s3, splunk, tmp_path / "cp.json")
    assert_each_once(splunk, expected)


class CrashError(Exception):
    pass


def counting(limit: int):
    """Raise CrashError when the limit-th operation (a write, a checkpoint save, an S3 call) starts."""
    state = {"count": 0}

    def tick() -> None:
        state["count"] += 1
        if state["count"] == limit:
            raise CrashError(limit)

    return tick, state


def test_a_crash_at_any_point_then_restarts_index_every_event_exactly_once(tmp_path, expected):
    total_operations = None
    limit = 1
    while total_operations is None or limit <= total_operations:
        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
            put_objects(s3)
            splunk = Splunk(Clock())
            path = tmp_path / f"cp-{limit}.json"
            tick, state = counting(limit)
            handlers = [(f"before-call.s3.{name}", lambda t=tick, **kw: t())
                        for name in ("GetObject", "CopyObject", "DeleteObject", "PutObject")]  # fmt: skip
            for event, handler in handlers:
                s3.meta.events.register(event, handler)
            for _ in range(3):  # the runs of the crashing process: write, verify and retire
                crashing = recovery(s3, splunk, path, lease=Lease(s3, BUCKET, "sh1:main", splunk.clock))
                crashing.write = lambda output, w=splunk.write, t=tick: (t(), w(output))
                crashing.checkpoint.save = lambda save=crashing.checkpoint.save, t=tick: (t(), save())
                try:
                    crashing.run()
                except CrashError:
                    break
                splunk.clock.advance(INTERVAL)
            else:
                total_operations = state["count"]  # no crash: this many operations in all
            for event, handler in handlers:
                s3.meta.events.unregister(event, handler)
            fresh = boto3.client("s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
            until_done(fresh, splunk, path, lease=Lease(fresh, BUCKET, "sh1:main", splunk.clock))  # the restart
            assert_each_once(splunk, expected)
        limit += 1 if limit < 30 else 11
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
def test_an_unreadable_object_is_retried_with_backoff_then_set_aside(s3, clock, tmp_path, name):
    body, reason = HOSTILE_OBJECTS[name]
    put_objects(s3)
    hostile = "splunk-failed/2026/11/27/part-0.gz"  # sorts before the good ones
    s3.put_object(Bucket=BUCKET, Key=hostile, Body=body)
    splunk = Splunk(clock)
    checkpoint = tmp_path / "cp.json"
    first = recovery(s3, splunk, checkpoint).run()
    readable = 1 if name.startswith("truncated") else 0  # the first record precedes the damage
    assert (first.failed_objects, first.events) == (1, 60 + readable)  # the others go on
    entry = json.loads(checkpoint.read_text())["objects"][hostile]
    assert reason in entry["last_error"]
    assert (entry["failures"], entry["retry_at"]) == (1, clock() + recovery_module.BACKOFF_SECONDS)
    delays = []
    for _ in range(30):
        clock.advance(INTERVAL)
        before = json.loads(checkpoint.read_text())["objects"].get(hostile)
        recovery(s3, splunk, checkpoint).run()
        after = json.loads(checkpoint.read_text())["objects"].get(hostile)
        if after and after["failures"] > before["failures"]:
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


def test_hostile_lines_are_contained_and_every_readable_event_comes_back_once(s3, clock, tmp_path):
    s3.create_bucket(Bucket=BUCKET)
    lines, events = hostile_lines()
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/2026/11/27/hostile", Body=b"\n".join(lines))
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/2026/11/27/next", Body=record(json.dumps(EVENTS[1]).encode()))
    splunk = Splunk(clock)
    until_done(s3, splunk, tmp_path / "cp.json")
    trail = [o for o in splunk.outputs if o.sourcetype == "aws:cloudtrail"]
    assert [json.loads(o.text) for o in trail] == [*events, EVENTS[1]]
    assert len({o.identity for o in trail}) == len(trail)
    for output in splunk.outputs:
        output.text.encode("utf-8")  # what reaches splunkd is UTF-8
    assert trail[0].time is None  # the 400-digit timestamp was dropped, the event kept
    unreadable = [json.loads(o.text) for o in splunk.outputs if '"Recovery.UnreadableLine"' in o.text]
    assert len(unreadable) == 1
    assert "(4300)" in unreadable[0]["errorMessage"] or "4300 digits" in unreadable[0]["errorMessage"]  # 3.9, 3.13
    assert all_keys(s3) == {"needs-attention/splunk-failed/2026/11/27/hostile",
                            "recovered/splunk-failed/2026/11/27/next"}


def test_a_line_over_the_cap_is_skipped_in_bounded_memory_and_the_rest_recovered(s3, clock, tmp_path):
    s3.create_bucket(Bucket=BUCKET)
    body = gzip.compress(record(json.dumps(EVENTS[0]).encode()) + b"\n" + b"x" * (3 * 1024 * 1024) + b"\n"
                         + record(json.dumps(EVENTS[1]).encode()), mtime=0)  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/long-line.gz", Body=body)
    splunk = Splunk(clock)
    until_done(s3, splunk, tmp_path / "cp.json", max_line=1024 * 1024)
    assert [o.identity for o in splunk.outputs if o.sourcetype == "aws:cloudtrail"] == \
        [EVENTS[0]["eventID"], EVENTS[1]["eventID"]]  # fmt: skip
    [unreadable] = [json.loads(o.text) for o in splunk.outputs if '"Recovery.UnreadableLine"' in o.text]
    assert unreadable["line"] == 2
    assert "3145729 bytes" in unreadable["errorMessage"]


def test_an_object_over_the_cap_is_set_aside(s3, clock, tmp_path):
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/bomb.gz", Body=gzip.compress(b"\n" * (8 * 1024 * 1024)))
    s3.put_object(Bucket=BUCKET, Key="splunk-failed/next", Body=record(json.dumps(EVENTS[1]).encode()))
    splunk = Splunk(clock)
    until_done(s3, splunk, tmp_path / "cp.json", runs=40, max_object=1024 * 1024)
    assert "needs-attention/splunk-failed/bomb.gz" in all_keys(s3)
    assert "more than 1048576 bytes" in needs_attention_report(splunk, "splunk-failed/bomb.gz")["errorMessage"]


def test_an_object_s3_refuses_does_not_block_the_others(s3, clock, tmp_path):
    put_objects(s3)

    def deny_part_1(params, **kwargs):
        if params.get("Key", "").endswith("part-1"):
            raise botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject")

    s3.meta.events.register("before-parameter-build.s3.GetObject", deny_part_1)
    splunk = Splunk(clock)
    summary = recovery(s3, splunk, tmp_path / "cp.json").run()
    assert (summary.failed_objects, summary.events) == (1, 40)
    assert "splunk-failed/2026/11/27/part-1" in waiting_keys(s3)  # left in place for the next run


# --- when Splunk cannot tell ---------------------------------------------------------------------


def test_when_splunk_cannot_be_asked_objects_are_written_once_and_wait(s3, clock, tmp_path):
    put_objects(s3)
    splunk = Splunk(clock)
    ask = {"down": True}

    def already_indexed(identities):
        if ask["down"]:
            raise SearchUnavailableError("splunkd answered 503")
        return splunk.already_indexed(identities)

    def run():
        r = recovery(s3, splunk, tmp_path / "cp.json")
        r.already_indexed = already_indexed
        return r.run()

    assert run().events == 60  # never written before: writing loses nothing
    for _ in range(3):
        clock.advance(INTERVAL)
        summary = run()
        assert (summary.events, summary.objects, summary.awaiting) == (0, 0, 3)  # only Splunk can say what is missing
    ask["down"] = False
    clock.advance(INTERVAL)
    assert run().objects == 3
    assert max(splunk.counts().values()) == 1


def test_events_splunk_never_shows_are_written_a_bounded_number_of_times(s3, clock, tmp_path):
    """Say the index is not searchable by the input's user: recovery must not write forever."""
    put_objects(s3)
    splunk = Splunk(clock)
    blind = recovery(s3, splunk, tmp_path / "cp.json")
    for _ in range(MAX_WRITES + 3):
        blind = recovery(s3, splunk, tmp_path / "cp.json")
        blind.already_indexed = lambda identities: set()
        blind.run()
        clock.advance(INTERVAL)
    assert waiting_keys(s3) == set()
    assert {k.split("/")[0] for k in all_keys(s3)} == {"needs-attention"}
    assert max(splunk.counts().values()) == MAX_WRITES
    report = next(json.loads(o.text) for o in splunk.outputs if "needs-attention" in o.identity)
    assert "searchable by the user the input runs as" in report["errorMessage"]


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


def test_two_runners_at_once_index_every_event_exactly_once(s3, clock, tmp_path, expected):
    put_objects(s3)
    splunk = Splunk(clock)
    owners = ("sh1:firehose_recovery://main", "sh2:firehose_recovery://main")
    summaries: dict[str, list] = {owner: [] for owner in owners}

    def runner(owner: str, barrier: threading.Barrier) -> None:
        runner_s3 = boto3.client("s3", region_name="us-east-1")
        r = recovery(runner_s3, splunk, tmp_path / f"{owner.split(':')[0]}.json", batch_size=3,
                     lease=Lease(runner_s3, BUCKET, owner, clock))  # fmt: skip
        barrier.wait()
        summaries[owner].append(r.run())

    for _ in range(4):
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
    assert standing_by.count(True) == 4  # every round, exactly one runner stood by


def test_a_runner_takes_over_a_lapsed_lease_only_after_the_last_writes_are_searchable(s3, clock, tmp_path, expected):
    put_objects(s3)
    splunk = Splunk(clock)
    first = recovery(s3, splunk, tmp_path / "sh1.json", lease=Lease(s3, BUCKET, "sh1:main", clock))
    assert first.run().events == 60  # sh1 writes everything, then its member goes down
    lapses = clock() + recovery_module.LEASE_SECONDS

    def second() -> Recovery:
        return recovery(s3, splunk, tmp_path / "sh2.json", lease=Lease(s3, BUCKET, "sh2:main", clock))

    clock.advance(INTERVAL)
    assert second().run().standing_by  # sh1's lease has not lapsed yet
    clock.now = lapses + 1
    taken = second().run()
    assert not taken.standing_by
    assert (taken.events, taken.objects, taken.awaiting) == (0, 0, 3)  # holds the lease, waits out search latency
    assert json.loads((tmp_path / "sh2.json").read_text())["not_before"] == lapses + SETTLE_SECONDS
    clock.advance(SETTLE_SECONDS)
    until_done(s3, splunk, tmp_path / "sh2.json", lease=Lease(s3, BUCKET, "sh2:main", clock))
    assert_each_once(splunk, expected)


def test_a_runner_whose_lease_was_taken_stops_writing_within_a_batch(s3, clock, tmp_path):
    put_objects(s3)
    splunk = Splunk(clock)
    runner = recovery(s3, splunk, tmp_path / "sh1.json", lease=Lease(s3, BUCKET, "sh1:main", clock, seconds=100))
    writes = []

    def write(output):
        writes.append(output)
        splunk.write(output)
        if len(writes) == 10:  # sh1 froze; its lease lapsed and sh2 took the bucket over
            taken = {"owner": "sh2:main", "expires": clock() + 1000}
            s3.put_object(Bucket=BUCKET, Key=LEASE_KEY, Body=json.dumps(taken).encode())
            clock.advance(60)

    runner.write = write
    summary = runner.run()  # no exception: the input logs it and stops
    assert summary.standing_by.startswith("lost the lease")
    assert len(writes) <= 10 + 7  # the batch under way ends; no batch starts
