"""Bring Firehose's failed deliveries back into Splunk, each event once.

For every object under the failed-delivery prefixes, the object is streamed line by line (caps per
line, per object and on error events, so memory and work stay bounded whatever the object) into a
fixed sequence of outputs: the events of each record (read as the source whose stream wrote the object
reads them, with its sourcetype, such as aws:cloudtrail: sources/; their own time, source
firehose_recovery:s3://bucket/key), then one aws:firehose:error event for the record. Every output has an
identity Splunk can be searched for (inputs/indexed.py): the event's own id, such as CloudTrail's eventID
(a hash of the event when it has none a search term can find), or the error event's recovery_id.
Reading an object is inputs/object_reader.py's; what an output is, inputs/outputs.py's.

Exactly once, by asking Splunk rather than trusting the pipe to it. A sweep over an object asks
Splunk, batch by batch, which identities it already has and writes only the others. An object is
retired only by a sweep that finds every identity indexed, and only settle_seconds after its last
write (so what was written is searchable by then); whatever was lost on the way is missing from that
sweep's answers and written again. An answer that is not clean and complete writes nothing.

What was written, when and by whom is kept in S3 with the bucket's lease (the journal), and times are
S3's (the Date of its answers, carried on this host's monotonic clock), so a runner taking over from
another, or one whose clock is wrong, judges by the same facts. The lease is one object, created with
If-None-Match: * and replaced with If-Match (S3 conditional writes), so two runners never both write;
a journal entry is written before its events and covers them for WRITE_WINDOW seconds, renewed while
writing.

An object that fails (S3 refusing it, damaged gzip, over a cap) is retried with a backoff; after
MAX_ATTEMPTS it is set aside: what could be read and a Recovery.NeedsAttention report are written,
and it moves to needs-attention/ once Splunk shows them. Objects are never deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from botocore.exceptions import BotoCoreError, ClientError

from cloudtrail_firehose.firehose.records import failed_delivery_prefixes, source_of
from cloudtrail_firehose.inputs.object_reader import (
    MAX_ERROR_EVENTS,
    NEEDS_ATTENTION,
    ObjectReader,
    Sweep,
    remediations,
)
from cloudtrail_firehose.inputs.outputs import ERRORS, Output, SearchUnavailableError
from cloudtrail_firehose.inputs.s3_lease import CLOCK_MARGIN, Lease, LeaseHeldError
from cloudtrail_firehose.inputs.s3_objects import MAX_LINE, MAX_LINES, MAX_OBJECT, ObjectError, object_lines
from cloudtrail_firehose.log import get_logger

RECOVERED = "recovered/"
SETTLE_SECONDS = 1800.0  # default of the input's settle_seconds: written events are searchable by then
WRITE_WINDOW = 120.0  # a journal entry covers writes for this long; writing longer renews it first
RUN_SECONDS = 600.0  # work per run; a sweep stopped at a batch boundary resumes on the next run
MAX_ATTEMPTS = 5  # failed passes over an object before it is set aside
MAX_WRITES = 3  # sweeps that wrote events which a later search did not find: Splunk cannot see them
BACKOFF_SECONDS, BACKOFF_CAP_SECONDS = 300.0, 6 * 3600.0
MAX_TRACKED = 200_000  # identities remembered within a pass (duplicates inside one object)


class NotSearchableError(ObjectError):
    """Events written several times that Splunk's search still does not show."""


@dataclass
class Summary:
    objects: int = 0  # retired: moved to recovered/ or needs-attention/
    events: int = 0
    errors: int = 0
    skipped_as_indexed: int = 0
    failed_objects: int = 0
    awaiting: int = 0  # written or waiting to be written; retired by a later run once Splunk shows them
    standing_by: str = ""  # why this runner did nothing (another runner holds the lease)
    search_unavailable: str = ""  # why this run stopped writing: Splunk's answer was not clean
    paused: bool = False  # the run's time was up; the sweep under way resumes on the next run


class _UnconfirmedError(Exception):
    """A set-aside object whose report Splunk does not show after MAX_WRITES writes either."""


class Recovery:
    def __init__(self, s3, bucket: str, write: Callable[[Output], None],
                 already_indexed: Callable[[list[Output]], set[str]], lease: Lease, batch_size: int = 500,
                 settle_seconds: float = SETTLE_SECONDS, run_seconds: float = RUN_SECONDS,
                 max_line: int = MAX_LINE, max_object: int = MAX_OBJECT, max_lines: int = MAX_LINES,
                 max_error_events: int = MAX_ERROR_EVENTS) -> None:  # fmt: skip
        self.s3, self.bucket, self.write, self.already_indexed = s3, bucket, write, already_indexed
        self.lease, self.clock, self.batch_size = lease, lease.clock, batch_size
        self.settle_seconds, self.run_seconds = settle_seconds, run_seconds
        self.max_line, self.max_object, self.max_lines, self.max_error_events = \
            max_line, max_object, max_lines, max_error_events  # fmt: skip
        self.log = get_logger("recovery")
        self.hints = remediations()
        self.started = 0.0
        # The journal entry that covers this runner's writes, and the monotonic time it covers them until.
        self.window: tuple[dict | None, float] = (None, 0.0)

    def pending_objects(self) -> list[dict]:
        objects = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for prefix in failed_delivery_prefixes():
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                objects += page.get("Contents", [])
        return sorted(objects, key=lambda o: o["Key"])

    def run(self) -> Summary:
        summary = Summary()
        try:
            self.lease.acquire()
        except LeaseHeldError as error:
            summary.standing_by = str(error)
            self.log.info("s3://%s: another runner recovers this bucket (%s); standing by", self.bucket, error)
            return summary
        self.started = self.clock.monotonic()
        try:
            objects = self.pending_objects()
        except (ClientError, BotoCoreError) as error:
            self.log.error("cannot list s3://%s: %s", self.bucket, error)
            raise
        journal, present = self.lease.journal, {o["Key"] for o in objects}
        for key in [k for k in journal if k not in present]:
            del journal[key]  # retired, by this runner or by hand
        entries = [(item, self._entry(item)) for item in objects]
        try:
            if self.lease.journal_lost_at is not None:  # settled before anything else is done
                self.lease.save()
                self.lease.journal_lost_at = None
            for number, (item, entry) in enumerate(entries):
                if summary.paused or self.clock.monotonic() - self.started > self.run_seconds:
                    summary.paused, summary.awaiting = True, summary.awaiting + len(entries) - number
                    self.log.info("s3://%s: %.0f s of work done; the rest waits for the next run", self.bucket,
                                  self.run_seconds)  # fmt: skip
                    break
                self._object(item, entry, summary)
            self.lease.status = {}
            if self.lease.changed():
                self.lease.save()
        except SearchUnavailableError as error:
            summary.search_unavailable = str(error)
            since = self.lease.status.get("since") or self.clock.now()
            self.lease.status = {"search_unavailable": str(error)[:300], "since": since}
            summary.awaiting = len(journal)  # every object not retired in this run
            self.log.warning("s3://%s: Splunk's answer to which events it has was not clean (%s); nothing more "
                             "is written until it is, the next run tries again", self.bucket, error)  # fmt: skip
            if self.lease.changed():
                self.lease.save()
        except LeaseHeldError as error:
            # Renewing failed: another runner took the bucket over. Not one more write from this one.
            summary.standing_by = f"lost the lease: {error}"
            self.log.warning("s3://%s: %s; this run stops", self.bucket, summary.standing_by)
        return summary

    def _entry(self, item: dict) -> dict:
        key, etag = item["Key"], item["ETag"].strip('"')
        entry = self.lease.journal.get(key)
        if not entry or entry.get("etag") != etag:
            entry = {"etag": etag, "writes": 0, "aside_writes": 0, "writing_until": self.lease.journal_lost_at,
                     "failures": 0, "retry_at": 0.0}  # fmt: skip
            self.lease.journal[key] = entry
        return entry

    def _object(self, item: dict, entry: dict, summary: Summary) -> None:
        key = item["Key"]
        settled = (entry.get("writing_until") or float("-inf")) + self.settle_seconds
        if self.clock.now() < max(entry.get("retry_at", 0.0), settled):
            summary.awaiting += 1
            return
        try:
            retired = self._sweep(item, entry, summary)
        except (ClientError, BotoCoreError, ObjectError) as error:
            # One object that cannot be read or moved must not block the others.
            self._failed(key, entry, error, summary)
            return
        if retired:
            summary.objects += 1
        else:
            summary.awaiting += 1

    def _sweep(self, item: dict, entry: dict, summary: Summary) -> bool:
        """Write what Splunk lacks of one object; retire it when it lacked nothing. True when retired."""
        key = item["Key"]
        try:
            sweep = self._write_object(item, entry, summary)
        except _UnconfirmedError:
            self.log.error("s3://%s/%s: Splunk does not show its needs-attention report after %d writes either; "
                           "moving it to %s anyway", self.bucket, key, MAX_WRITES, NEEDS_ATTENTION)  # fmt: skip
            self._move(key, NEEDS_ATTENTION)
            return True
        if sweep is None:
            return False  # paused: the run's time is up
        entry.pop("resume", None)
        if sweep.wrote:
            self.log.info("s3://%s/%s: written; retired once a search %.0f s after the last write shows every "
                          "event", self.bucket, key, self.settle_seconds)  # fmt: skip
            return False
        to = NEEDS_ATTENTION if entry.get("set_aside") or sweep.unreadable_count else RECOVERED
        self._move(key, to)
        self.log.info("s3://%s/%s: every output indexed, %d unreadable lines, moved to %s", self.bucket, key,
                      sweep.unreadable_count, to)  # fmt: skip
        return True

    def _write_object(self, item: dict, entry: dict, summary: Summary) -> Sweep | None:
        """One sweep (or the part of it this run has time for: None) over an object's outputs."""
        key, etag = item["Key"], entry["etag"]
        reader = ObjectReader(source_of(key), self.bucket, key, etag, item["LastModified"].timestamp(), self.hints,
                              self.max_error_events)  # fmt: skip
        sweep, set_aside = Sweep.resumed(entry.get("resume")), entry.get("set_aside")
        seen: set[str] = set()  # identities written in this pass, not yet searchable
        batch: list[Output] = []
        if not (set_aside and entry["writes"] >= MAX_WRITES):  # the readable part is written unless it cannot be seen
            try:
                body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
                for number, line in enumerate(object_lines(body, self.max_line, self.max_object, self.max_lines), 1):
                    if number <= sweep.line:
                        continue  # done by an earlier run of this sweep
                    batch += reader.line(number, line, sweep)
                    if len(batch) >= self.batch_size:
                        self._write_missing(entry, batch, sweep, seen, summary)
                        batch, sweep.line = [], number
                        if self.clock.monotonic() - self.started > self.run_seconds:
                            entry["resume"], summary.paused = asdict(sweep), True
                            return None
            except (ClientError, BotoCoreError, ObjectError, EOFError, OSError) as error:
                if batch:  # what was read before the damage still goes in
                    self._write_missing(entry, batch, sweep, seen, summary)
                    batch = []
                if not set_aside and isinstance(error, (EOFError, OSError)):
                    raise ObjectError(f"{type(error).__name__}: {error}") from error
                if not set_aside:
                    raise
        self._write_missing(entry, batch + reader.closing(sweep, set_aside), sweep, seen, summary)
        return sweep

    def _write_missing(self, entry: dict, batch: list[Output], sweep: Sweep, seen: set[str],
                       summary: Summary) -> None:  # fmt: skip
        self.lease.ensure()
        indexed: set[str] = set()
        for start in range(0, len(batch), self.batch_size):
            indexed |= self.already_indexed(batch[start : start + self.batch_size])
        missing, chosen = [], set()
        for output in batch:
            if output.identity in indexed or output.identity in seen or output.identity in chosen:
                continue
            chosen.add(output.identity)
            missing.append(output)
        summary.skipped_as_indexed += len(batch) - len(missing)
        if not missing:
            return
        counter = "aside_writes" if entry.get("set_aside") else "writes"
        if not sweep.wrote:
            if entry.get(counter, 0) >= MAX_WRITES:
                if entry.get("set_aside"):
                    raise _UnconfirmedError()
                raise NotSearchableError(f"written {entry[counter]} times, yet Splunk's search does not show "
                                         f"{len(missing)} of its events; check that the input's index is "
                                         "searchable by the user the input runs as")  # fmt: skip
            entry[counter] = entry.get(counter, 0) + 1
            sweep.wrote = True
        for output in missing:
            if self.window[0] is not entry or self.clock.monotonic() >= self.window[1]:
                self._open_window(entry)  # recorded before writing: any runner waits for these writes
            self.write(output)
            if len(seen) < MAX_TRACKED:
                seen.add(output.identity)
            if output.sourcetype != ERRORS:
                summary.events += 1
            else:
                summary.errors += 1

    def _open_window(self, entry: dict) -> None:
        entry["writing_until"], entry["by"] = self.clock.now() + WRITE_WINDOW, self.lease.owner
        self.lease.save()
        self.window = (entry, self.lease.sent + WRITE_WINDOW - CLOCK_MARGIN)

    def _failed(self, key: str, entry: dict, error: Exception, summary: Summary) -> None:
        summary.failed_objects += 1
        entry["failures"] += 1
        entry["last_error"] = f"{type(error).__name__}: {error}"[:500]
        entry.pop("resume", None)
        if entry["failures"] >= MAX_ATTEMPTS or isinstance(error, NotSearchableError):
            entry["set_aside"], entry["retry_at"] = entry["last_error"], 0.0
            self.log.error("s3://%s/%s: %s; failed %d times: it goes to %s once Splunk shows what could be read "
                           "and a report saying why", self.bucket, key, entry["last_error"], entry["failures"],
                           NEEDS_ATTENTION)  # fmt: skip
            return
        delay = min(BACKOFF_SECONDS * 2 ** (entry["failures"] - 1), BACKOFF_CAP_SECONDS)
        entry["retry_at"] = self.clock.now() + delay
        self.log.error("s3://%s/%s: %s; attempt %d of %d, next try in %.0f s", self.bucket, key, entry["last_error"],
                       entry["failures"], MAX_ATTEMPTS, delay)  # fmt: skip

    def _move(self, key: str, to: str) -> None:
        self.s3.copy_object(Bucket=self.bucket, Key=to + key, CopySource={"Bucket": self.bucket, "Key": key})
        self.s3.delete_object(Bucket=self.bucket, Key=key)
        self.lease.journal.pop(key, None)
