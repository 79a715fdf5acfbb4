"""Bring Firehose's failed deliveries back into Splunk, each event once.

For every object under the failed-delivery prefixes, the object is streamed line by line (a cap
per line and per object, so memory stays bounded whatever the object) into a fixed sequence of
outputs: the CloudTrail events of each record (sourcetype aws:cloudtrail, their own time, source
firehose_recovery:s3://bucket/key), then one aws:firehose:error event for the record (error code,
attempts, times, remediation). Each output has an identity Splunk can be searched for: the event's
eventID (a hash of the event when it has none), or the error event's recovery_id.

Exactly once, by asking Splunk rather than trusting the pipe to it. A pass over an object asks
Splunk, batch by batch, which identities it already has and writes only the others; before writing
it records the time in the checkpoint. An object is retired (moved to recovered/) only by a pass
that finds every identity already indexed, and such a pass starts only when SETTLE_SECONDS have
gone by since the object's last write, so what was written is searchable by then. Whatever was
lost on the way (a crash, splunkd stopping with events queued) is missing from that pass's
answers and written again. Events Firehose delivered itself (acknowledgement timeout, a Lambda
put-back accepted in part) are found the same way and not written twice.

One runner per bucket: a Lease object in the bucket, created with If-None-Match: * and renewed with
If-Match (S3 conditional writes), so two runners (two stanzas, every search head cluster member)
can never both write. A runner that takes over an expired lease waits SETTLE_SECONDS past its expiry.

A failure of one object (S3 refusing it, damaged gzip, an object over the cap) is logged with the
reason and retried with a backoff recorded in the checkpoint; after MAX_ATTEMPTS the object moves
to needs-attention/, as do objects with unreadable lines once their readable events are in.
Objects are never deleted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from cloudtrail_firehose.firehose.records import (
    FAILED_DELIVERY_PREFIXES,
    GZIP_MAGIC,
    RecordError,
    events_in,
    parse_failed_record,
)
from cloudtrail_firehose.log import get_logger

RECOVERED, NEEDS_ATTENTION = "recovered/", "needs-attention/"
LEASE_KEY = "cloudtrail-firehose-recovery.lease"  # outside every prefix Firehose or recovery writes to
SETTLE_SECONDS = 120.0  # written events must be searchable this long after they were written
LEASE_SECONDS = 900.0  # longer than the input's interval, so the holder keeps it from run to run
MAX_ATTEMPTS = 5  # failed passes over an object before it moves to needs-attention/
MAX_WRITES = 3  # passes that wrote events which a later search did not find: Splunk cannot see them
BACKOFF_SECONDS, BACKOFF_CAP_SECONDS = 300.0, 6 * 3600.0
MAX_LINE = 4 * 1024 * 1024  # a failed-delivery line holds at most one record of 1,000 KiB, base64'd
MAX_OBJECT = 4 * 1024 * 1024 * 1024  # decompressed bytes of one object
READ_CHUNK = 1024 * 1024
MAX_TRACKED = 200_000  # identities remembered within a pass (duplicates inside one object)
SOURCE_PREFIX = "firehose_recovery:"
REMEDIATIONS = Path(__file__).resolve().parents[3] / "lookups" / "cloudtrail_firehose_delivery_errors.csv"


class ObjectError(Exception):
    """An object that cannot be read to its end; the message says why."""


class NotSearchableError(ObjectError):
    """Events written several times that Splunk's search still does not show."""


class SearchUnavailableError(Exception):
    """Splunk could not be asked which events it has."""


class LeaseHeldError(Exception):
    """Another runner holds the bucket's lease."""


class Output(NamedTuple):  # a NamedTuple: one per event, and twice as quick to make as a frozen dataclass
    text: str
    time: float | None
    sourcetype: str
    source: str
    identity: str  # eventID of a CloudTrail event (sha256:<hash> without one), recovery_id of an error event


@dataclass(frozen=True)
class LongLine:
    """A line over the cap, skipped without being held in memory."""

    size: int


class Checkpoint:
    """Per-object state in one JSON file, replaced atomically so a crash never leaves half of it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        saved = json.loads(path.read_text()) if path.exists() else {}
        if saved and "objects" not in saved:
            # An older checkpoint (positions only): treat its objects as written when it was saved.
            saved = {"objects": {k: {"etag": v.get("etag"), "written_at": path.stat().st_mtime}
                                 for k, v in saved.items() if isinstance(v, dict)}}  # fmt: skip
        self.state: dict[str, dict] = saved.get("objects", {})
        self.not_before: float = saved.get("not_before", 0.0)

    def get(self, key: str, etag: str) -> dict:
        entry = self.state.get(key)
        if not entry or entry.get("etag") != etag:
            entry = {"etag": etag, "written_at": None, "writes": 0, "failures": 0, "retry_at": 0.0}
            self.state[key] = entry
        return entry

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".checkpoint-")
        with os.fdopen(handle, "w") as file:
            json.dump({"objects": self.state, "not_before": self.not_before}, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)

    def forget(self, keys_present: set[str]) -> None:
        for key in [k for k in self.state if k not in keys_present]:
            del self.state[key]


class Lease:
    """The right to recover one bucket, held by at most one runner (S3 conditional writes).

    The lease object says who holds it until when. It is created with If-None-Match: * and
    replaced only with If-Match on the ETag just read, so of two runners racing for it one gets
    412 Precondition Failed (or 409 ConditionalRequestConflict) and stands by.
    """

    def __init__(self, s3, bucket: str, owner: str, clock: Callable[[], float] = time.time,
                 seconds: float = LEASE_SECONDS, key: str = LEASE_KEY) -> None:  # fmt: skip
        self.s3, self.bucket, self.owner, self.clock, self.seconds, self.key = s3, bucket, owner, clock, seconds, key
        self.etag: str | None = None
        self.expires = 0.0

    def acquire(self) -> float:
        """Take or renew the lease; return the time before which a new holder must not write."""
        try:
            return self._put({"IfNoneMatch": "*"}, 0.0)
        except LeaseHeldError:
            pass
        try:
            current = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NoSuchKey":
                raise LeaseHeldError("the lease changed hands while it was read") from error
            raise
        etag = current["ETag"]
        try:
            held = json.loads(current["Body"].read())
            owner, expires = str(held["owner"]), float(held["expires"])
        except (ValueError, KeyError, TypeError):
            owner, expires = "", 0.0  # a damaged lease object is an expired one
        if owner != self.owner and expires > self.clock():
            raise LeaseHeldError(f"held by {owner} for {expires - self.clock():.0f} s more")
        # Taking over: what the last holder wrote up to its expiry must be searchable first.
        not_before = 0.0 if owner == self.owner else expires + SETTLE_SECONDS
        return self._put({"IfMatch": etag}, not_before)

    def ensure(self) -> None:
        """Before writing: renew when half the lease is gone, so a write never outlives it."""
        if self.expires - self.clock() < self.seconds / 2:
            self._put({"IfMatch": self.etag}, 0.0)

    def _put(self, condition: dict, not_before: float) -> float:
        expires = self.clock() + self.seconds
        body = json.dumps({"owner": self.owner, "expires": expires}).encode()
        try:
            answer = self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=body, **condition)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey") or status in (409, 412):
                raise LeaseHeldError(f"another runner wrote the lease first ({code or status})") from error
            raise
        self.etag, self.expires = answer["ETag"], expires
        return not_before


def remediations() -> dict[str, str]:
    with REMEDIATIONS.open(newline="", encoding="utf-8") as handle:
        return {row["errorCode"]: row["remediation"] for row in csv.DictReader(handle)}


def object_outputs(lines: Iterable[bytes | LongLine], bucket: str, key: str, etag: str, hints: dict[str, str],
                   unreadable: list[int]) -> Iterator[Output]:  # fmt: skip
    """The fixed sequence of outputs of one object; appends the numbers of unreadable lines."""
    source = f"{SOURCE_PREFIX}s3://{bucket}/{key}"
    unit = 0
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes) and (not line or line.isspace()):  # isspace: no copy of a long line
            continue
        recovered: list[Output] = []
        try:
            if isinstance(line, LongLine):
                raise RecordError(f"the line is {line.size} bytes, over the {MAX_LINE} bytes a record can take")
            record = parse_failed_record(line)
            for event in events_in(record.raw):
                identity = event.event_id or identity_of_text(event.text)
                recovered.append(Output(event.text, event.time, "aws:cloudtrail", source, identity))
            details = {"errorCode": record.error_code, "errorMessage": record.error_message,
                       "attempts": record.attempts, "firehose_event_id": record.event_id,
                       "arrival": _iso(record.arrival), "attempt_ending": _iso(record.attempt_ending)}  # fmt: skip
            when = record.arrival.timestamp() if record.arrival else None
        except (RecordError, ValueError, OverflowError, RecursionError) as error:
            # RecordError says what is wrong; the others are defects in the decoder, still one line's problem.
            unreadable.append(number)
            recovered = []
            why = str(error) if isinstance(error, RecordError) else f"{type(error).__name__}: {error}"
            details = {"errorCode": "Recovery.UnreadableLine", "errorMessage": why[:500]}
            when = None
        for output in recovered:
            yield output
            unit += 1
        recovery_id = f"{etag}:{unit}"
        error_event = {"recovery_id": recovery_id, **details, "events_recovered": len(recovered),
                       "remediation": hints.get(details["errorCode"], "See the Firehose error logs in CloudWatch."),
                       "object": f"s3://{bucket}/{key}", "line": number}  # fmt: skip
        yield Output(json.dumps(error_event), when, "aws:firehose:error", source, recovery_id)
        unit += 1


def identity_of_text(text: str) -> str:
    """The identity of an event without eventID: Splunk's sha256(_raw) finds it."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def object_lines(body, max_line: int = MAX_LINE, max_object: int = MAX_OBJECT) -> Iterator[bytes | LongLine]:
    """Lines of an S3 object body (each with its newline), gunzipped on the fly when Firehose compressed it.

    Linear time, memory bounded by max_line: a longer line is read through and reported as a
    LongLine. Raises ObjectError for damaged gzip or more than max_object decompressed bytes.
    """
    raw = io.BufferedReader(_RawBody(body), READ_CHUNK)
    stream = io.BufferedReader(_Gunzip(raw), READ_CHUNK) if raw.peek(2)[:2] == GZIP_MAGIC else raw
    total = 0
    try:
        while line := stream.readline(max_line + 1):
            total += len(line)
            _check_total(total, max_object)
            if len(line) <= max_line or line.endswith(b"\n"):
                yield line  # with its newline: JSON allows it, and a copy of a long line costs time
                continue
            size = len(line)
            del line  # read the rest of it through, a chunk at a time
            while more := stream.readline(READ_CHUNK):
                size, total = size + len(more), total + len(more)
                _check_total(total, max_object)
                if more.endswith(b"\n"):
                    break
            yield LongLine(size)
    except (EOFError, zlib.error) as error:
        raise ObjectError(f"damaged gzip after {total} bytes ({type(error).__name__}: {error})") from error


def _check_total(total: int, max_object: int) -> None:
    if total > max_object:
        raise ObjectError(f"decompresses to more than {max_object} bytes; recover it by hand")


class _Gunzip(io.RawIOBase):
    """gunzip as a raw stream that hands out everything before damage or truncation (gzip.GzipFile
    drops the last chunk it decompressed when it meets the end of a truncated file)."""

    def __init__(self, compressed) -> None:
        self.compressed = compressed
        self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.tail = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            if self.inflater.eof:  # a member ended: another may follow (concatenated gzip)
                self.tail = self.inflater.unused_data or self.compressed.read(READ_CHUNK)
                if not self.tail:
                    return 0
                self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            source = self.tail or self.compressed.read(READ_CHUNK)
            if not source:
                raise EOFError("the object ends before the end of its gzip stream (truncated)")
            out = self.inflater.decompress(source, len(buffer))
            self.tail = self.inflater.unconsumed_tail
            if out:
                buffer[: len(out)] = out
                return len(out)


class _RawBody(io.RawIOBase):
    """A botocore StreamingBody (or any object with read(size)) as a raw stream."""

    def __init__(self, body) -> None:
        self.body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass
class Summary:
    objects: int = 0  # retired: moved to recovered/ or needs-attention/
    events: int = 0
    errors: int = 0
    skipped_as_indexed: int = 0
    failed_objects: int = 0
    awaiting: int = 0  # written or waiting to be written; retired by a later run once Splunk shows them
    standing_by: str = ""  # why this runner did nothing (another runner holds the lease)


class Recovery:
    def __init__(self, s3, bucket: str, write: Callable[[Output], None], checkpoint: Checkpoint,
                 already_indexed: Callable[[list[str]], set[str]], batch_size: int = 500,
                 clock: Callable[[], float] = time.time, lease: Lease | None = None,
                 max_line: int = MAX_LINE, max_object: int = MAX_OBJECT) -> None:  # fmt: skip
        self.s3, self.bucket, self.write, self.clock = s3, bucket, write, clock
        self.checkpoint, self.already_indexed, self.batch_size = checkpoint, already_indexed, batch_size
        self.lease, self.max_line, self.max_object = lease, max_line, max_object
        self.log = get_logger("recovery")
        self.hints = remediations()

    def pending_objects(self) -> list[dict]:
        objects = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for prefix in FAILED_DELIVERY_PREFIXES:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                objects += page.get("Contents", [])
        return sorted(objects, key=lambda o: o["Key"])

    def run(self) -> Summary:
        summary = Summary()
        if self.lease is not None:
            try:
                not_before = self.lease.acquire()
            except LeaseHeldError as error:
                summary.standing_by = str(error)
                self.log.info("s3://%s: another runner recovers this bucket (%s); standing by", self.bucket, error)
                return summary
            if not_before > self.checkpoint.not_before:
                self.checkpoint.not_before = not_before
                self.checkpoint.save()
        try:
            objects = self.pending_objects()
        except (ClientError, BotoCoreError) as error:
            self.log.error("cannot list s3://%s: %s", self.bucket, error)
            raise
        self.checkpoint.forget({o["Key"] for o in objects})
        for item in objects:
            key, etag = item["Key"], item["ETag"].strip('"')
            state = self.checkpoint.get(key, etag)
            if self.clock() < max(state["retry_at"], (state["written_at"] or 0) + SETTLE_SECONDS,
                                  self.checkpoint.not_before):  # fmt: skip
                summary.awaiting += 1
                continue
            try:
                retired = self._pass(key, etag, state, summary)
            except (ClientError, BotoCoreError, ObjectError) as error:
                # One object that cannot be read or moved must not block the others.
                self._failed(key, etag, state, error, summary)
                continue
            except SearchUnavailableError as error:
                self.log.warning("s3://%s/%s: cannot ask Splunk which events it has (%s); the next run tries "
                                 "again", self.bucket, key, error)  # fmt: skip
                summary.awaiting += 1
                continue
            except LeaseHeldError as error:
                # Renewing failed: another runner took the bucket over. Not one more write from this one.
                summary.standing_by = f"lost the lease: {error}"
                self.log.warning("s3://%s: %s; this run stops", self.bucket, summary.standing_by)
                break
            if retired:
                summary.objects += 1
            else:
                summary.awaiting += 1
        return summary

    def _pass(self, key: str, etag: str, state: dict, summary: Summary) -> bool:
        """Write what Splunk lacks of one object; retire it when it lacked nothing. True when retired."""
        started = self.clock()
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        unreadable: list[int] = []
        lines = object_lines(body, self.max_line, self.max_object)
        outputs = _read_errors_as_object_errors(object_outputs(lines, self.bucket, key, etag, self.hints, unreadable))
        written, count = 0, 0
        this_pass = _Pass(earlier_writes=state["writes"])
        batch: list[Output] = []
        try:
            for output in outputs:
                batch.append(output)
                count += 1
                if len(batch) == self.batch_size:
                    written += self._write_missing(state, batch, this_pass, summary)
                    batch = []
        except ObjectError:
            if batch:  # what was read before the damage still goes in
                self._write_missing(state, batch, this_pass, summary)
            raise
        if batch:
            written += self._write_missing(state, batch, this_pass, summary)
        if written:
            self.log.info("s3://%s/%s: wrote %d of %d outputs; retired once Splunk shows them (after %.0f s)",
                          self.bucket, key, written, count, SETTLE_SECONDS)  # fmt: skip
            return False
        if unreadable:
            self._write_report(key, etag, f"lines {_ranges(unreadable)} could not be read", summary)
        self._move(key, NEEDS_ATTENTION if unreadable else RECOVERED, state)
        self.log.info("s3://%s/%s: all %d outputs indexed, %d unreadable lines, moved to %s in %.1fs", self.bucket,
                      key, count, len(unreadable), NEEDS_ATTENTION if unreadable else RECOVERED,
                      self.clock() - started)  # fmt: skip
        return True

    def _write_missing(self, state: dict, batch: list[Output], this_pass: _Pass, summary: Summary) -> int:
        try:
            indexed = self.already_indexed(sorted({o.identity for o in batch}))
        except SearchUnavailableError:
            if this_pass.earlier_writes:
                raise  # written before: only Splunk can say what is missing
            indexed = set()  # never written: writing is safe, except for what Firehose may have delivered
            self.log.warning("cannot ask Splunk which events it has; writing them, duplicates are possible for "
                             "records Firehose may have delivered (Splunk.AckTimeout)")  # fmt: skip
        missing = [o for o in batch if o.identity not in indexed and o.identity not in this_pass.seen]
        summary.skipped_as_indexed += len(batch) - len(missing)
        if not missing:
            return 0
        if not this_pass.wrote and state["writes"] >= MAX_WRITES:
            raise NotSearchableError(f"written {state['writes']} times, yet Splunk's search does not show "
                                     f"{len(missing)} of its events; check that the input's index is searchable "
                                     "by the user the input runs as")  # fmt: skip
        if self.lease is not None:
            self.lease.ensure()
        # Recorded before writing: a crash in the middle of the batch still waits out the search latency.
        if not this_pass.wrote:
            state["writes"] += 1
            this_pass.wrote = True
        state["written_at"] = self.clock()
        self.checkpoint.save()
        for output in missing:
            self.write(output)
            if len(this_pass.seen) < MAX_TRACKED:
                this_pass.seen.add(output.identity)
            if output.sourcetype == "aws:cloudtrail":
                summary.events += 1
            else:
                summary.errors += 1
        return len(missing)

    def _failed(self, key: str, etag: str, state: dict, error: Exception, summary: Summary) -> None:
        summary.failed_objects += 1
        state["failures"] += 1
        state["last_error"] = f"{type(error).__name__}: {error}"[:500]
        if state["failures"] >= MAX_ATTEMPTS or isinstance(error, NotSearchableError):
            self.log.error("s3://%s/%s: %s; failed %d times, moving it to %s", self.bucket, key, state["last_error"],
                           state["failures"], NEEDS_ATTENTION)  # fmt: skip
            try:
                self._write_report(key, etag, state["last_error"], summary)
                self._move(key, NEEDS_ATTENTION, state)
                return
            except (ClientError, BotoCoreError, SearchUnavailableError) as again:
                self.log.error("s3://%s/%s: cannot move it either (%s); the next run tries again", self.bucket,
                               key, again)  # fmt: skip
        delay = min(BACKOFF_SECONDS * 2 ** (state["failures"] - 1), BACKOFF_CAP_SECONDS)
        state["retry_at"] = self.clock() + delay
        self.checkpoint.save()
        self.log.error("s3://%s/%s: %s; attempt %d of %d, next try in %.0f s", self.bucket, key, state["last_error"],
                       state["failures"], MAX_ATTEMPTS, delay)  # fmt: skip

    def _write_report(self, key: str, etag: str, why: str, summary: Summary) -> None:
        """One aws:firehose:error event saying why an object goes to needs-attention/."""
        recovery_id = f"{etag}:needs-attention"
        if recovery_id in self.already_indexed([recovery_id]):
            return
        report = {"recovery_id": recovery_id, "errorCode": "Recovery.NeedsAttention", "errorMessage": why,
                  "remediation": f"Look at s3://{self.bucket}/{NEEDS_ATTENTION}{key}: the events that could be read "
                                 "are in Splunk; the rest needs a person.",
                  "object": f"s3://{self.bucket}/{key}"}  # fmt: skip
        self.write(Output(json.dumps(report), self.clock(), "aws:firehose:error",
                          f"{SOURCE_PREFIX}s3://{self.bucket}/{key}", recovery_id))  # fmt: skip
        summary.errors += 1

    def _move(self, key: str, to: str, state: dict) -> None:
        self.s3.copy_object(Bucket=self.bucket, Key=to + key, CopySource={"Bucket": self.bucket, "Key": key})
        self.s3.delete_object(Bucket=self.bucket, Key=key)
        self.checkpoint.state.pop(key, None)
        self.checkpoint.save()


@dataclass
class _Pass:
    """One pass over an object."""

    earlier_writes: int  # passes before this one that wrote events
    wrote: bool = False
    seen: set[str] = field(default_factory=set)  # identities written in this pass (not yet searchable)


def _read_errors_as_object_errors(outputs: Iterator[Output]) -> Iterator[Output]:
    """Reading failures become ObjectError; failures of the consumer (writing) pass through unchanged."""
    try:
        yield from outputs
    except (EOFError, OSError, ValueError, OverflowError, RecursionError) as error:
        raise ObjectError(f"{type(error).__name__}: {error}") from error


def _ranges(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:20])
    return shown + (f" and {len(numbers) - 20} more" if len(numbers) > 20 else "")
