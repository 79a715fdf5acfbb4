"""Bring Firehose's failed deliveries back into Splunk, each event exactly once.

For every object under the failed-delivery prefixes, the object is read line by line (bounded
memory) into a fixed sequence of outputs: the CloudTrail events of each record (sourcetype
aws:cloudtrail, their own time, source firehose_recovery:s3://bucket/key), then one
aws:firehose:error event for the record (error code, attempts, times, remediation). The same object
always gives the same sequence, so a checkpoint can say how far it got.

Exactly once, across crashes: before a batch is written the checkpoint records it as pending;
after, as done. A restart that finds a pending batch asks Splunk which of its events are already
indexed (by eventID, or recovery_id for error events) and writes only the others. Only when an
object's whole sequence is written is it moved to recovered/ (or needs-attention/ when some lines
could not be read): objects are never deleted.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from cloudtrail_firehose.firehose.records import RecordError, events_in, parse_failed_record
from cloudtrail_firehose.log import get_logger

PREFIXES = ("splunk-failed/", "processing-failed/", "decompression-failed/")
RECOVERED, NEEDS_ATTENTION = "recovered/", "needs-attention/"
SEARCHABLE_AFTER_SECONDS = 60  # indexing-to-search latency to wait out before asking Splunk after a crash
SOURCE_PREFIX = "firehose_recovery:"
# Failures after which Splunk may have indexed the data anyway (Firehose's own documentation says so).
MAYBE_INDEXED = ("Splunk.AckTimeout",)
REMEDIATIONS = Path(__file__).resolve().parents[3] / "lookups" / "cloudtrail_firehose_delivery_errors.csv"


@dataclass(frozen=True)
class Output:
    text: str
    time: float | None
    sourcetype: str
    source: str
    identity: str  # eventID of a CloudTrail event, recovery_id of an error event
    maybe_indexed: bool = False  # Firehose gave up waiting for an acknowledgement: Splunk may have it


class Checkpoint:
    """Per-object progress in one JSON file, replaced atomically so a crash never leaves half of it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}

    def get(self, key: str, etag: str) -> dict:
        entry = self.state.get(key)
        if not entry or entry.get("etag") != etag:
            entry = {"etag": etag, "next": 0, "pending": None}
            self.state[key] = entry
        return entry

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".checkpoint-")
        with os.fdopen(handle, "w") as file:
            json.dump(self.state, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)

    def forget(self, keys_present: set[str]) -> None:
        for key in [k for k in self.state if k not in keys_present]:
            del self.state[key]


def remediations() -> dict[str, str]:
    with REMEDIATIONS.open(newline="", encoding="utf-8") as handle:
        return {row["errorCode"]: row["remediation"] for row in csv.DictReader(handle)}


def object_outputs(lines: Iterable[bytes], bucket: str, key: str, etag: str, hints: dict[str, str],
                   unreadable: list[int]) -> Iterator[Output]:  # fmt: skip
    """The fixed sequence of outputs of one object; appends the numbers of unreadable lines."""
    source = f"{SOURCE_PREFIX}s3://{bucket}/{key}"
    unit = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        recovered: list[Output] = []
        try:
            record = parse_failed_record(line)
            for event in events_in(record.raw):
                identity = _event_identity(event.text)
                maybe = record.error_code in MAYBE_INDEXED
                recovered.append(Output(event.text, event.time, "aws:cloudtrail", source, identity, maybe))
            details = {"errorCode": record.error_code, "errorMessage": record.error_message,
                       "attempts": record.attempts, "firehose_event_id": record.event_id,
                       "arrival": _iso(record.arrival), "attempt_ending": _iso(record.attempt_ending)}  # fmt: skip
            when = record.arrival.timestamp() if record.arrival else None
        except RecordError as error:
            unreadable.append(number)
            recovered = []
            details = {"errorCode": "Recovery.UnreadableLine", "errorMessage": str(error)}
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


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _event_identity(text: str) -> str:
    try:
        event_id = json.loads(text).get("eventID")
    except (json.JSONDecodeError, AttributeError):
        event_id = None
    return str(event_id) if event_id else hashlib.sha256(text.encode()).hexdigest()


def _lines(body) -> Iterator[bytes]:
    """Lines of an S3 object body, gunzipped on the fly when Firehose compressed the backup."""
    stream = _Peekable(body)
    if stream.peek(2) == b"\x1f\x8b":
        stream = gzip.GzipFile(fileobj=stream)
    buffer = b""
    while chunk := stream.read(1024 * 1024):
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        yield from complete
    if buffer:
        yield buffer


class _Peekable:
    """A stream whose first bytes can be looked at before reading it."""

    def __init__(self, body) -> None:
        self.body, self.buffer = body, b""

    def peek(self, size: int) -> bytes:
        while len(self.buffer) < size and (chunk := self.body.read(size - len(self.buffer))):
            self.buffer += chunk
        return self.buffer[:size]

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            data, self.buffer = self.buffer + self.body.read(), b""
            return data
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        if len(data) < size:
            data += self.body.read(size - len(data)) or b""
        return data


@dataclass
class Summary:
    objects: int = 0
    events: int = 0
    errors: int = 0
    skipped_as_indexed: int = 0
    failed_objects: int = 0


class Recovery:
    def __init__(self, s3, bucket: str, write: Callable[[Output], None], checkpoint: Checkpoint,
                 already_indexed: Callable[[list[str]], set[str]], batch_size: int = 500,
                 sleep: Callable[[float], None] = time.sleep) -> None:  # fmt: skip
        self.s3, self.bucket, self.write, self.sleep = s3, bucket, write, sleep
        self.checkpoint, self.already_indexed, self.batch_size = checkpoint, already_indexed, batch_size
        self.log = get_logger("recovery")
        self.hints = remediations()

    def pending_objects(self) -> list[dict]:
        objects = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for prefix in PREFIXES:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                objects += page.get("Contents", [])
        return sorted(objects, key=lambda o: o["Key"])

    def run(self) -> Summary:
        summary = Summary()
        try:
            objects = self.pending_objects()
        except (ClientError, BotoCoreError) as error:
            self.log.error("cannot list s3://%s: %s", self.bucket, error)
            raise
        self.checkpoint.forget({o["Key"] for o in objects})
        for item in objects:
            try:
                self._recover(item["Key"], item["ETag"].strip('"'), summary)
                summary.objects += 1
            except (ClientError, BotoCoreError) as error:
                # One object that cannot be read or moved must not block the others; the next run retries it.
                self.log.error("s3://%s/%s: %s; will retry on the next run", self.bucket, item["Key"], error)
                summary.failed_objects += 1
        return summary

    def _recover(self, key: str, etag: str, summary: Summary) -> None:
        started = time.monotonic()
        state = self.checkpoint.get(key, etag)
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        unreadable: list[int] = []
        outputs = object_outputs(_lines(body), self.bucket, key, etag, self.hints, unreadable)
        position = 0
        batch: list[Output] = []
        for output in outputs:
            if position < state["next"]:
                position += 1
                continue
            batch.append(output)
            position += 1
            # A pending batch from a crashed run is replayed with exactly its old bounds.
            size = state["pending"][1] - state["pending"][0] if state["pending"] else self.batch_size
            if len(batch) == size:
                self._write_batch(state, batch, summary)
                batch = []
        if batch:
            self._write_batch(state, batch, summary)
        destination = (NEEDS_ATTENTION if unreadable else RECOVERED) + key
        self.s3.copy_object(Bucket=self.bucket, Key=destination, CopySource={"Bucket": self.bucket, "Key": key})
        self.s3.delete_object(Bucket=self.bucket, Key=key)
        self.checkpoint.state.pop(key, None)
        self.checkpoint.save()
        self.log.info("s3://%s/%s: %d outputs, %d unreadable lines, moved to %s in %.1fs", self.bucket, key,
                      position, len(unreadable), destination, time.monotonic() - started)  # fmt: skip

    def _write_batch(self, state: dict, batch: list[Output], summary: Summary) -> None:
        bounds = state["pending"] or [state["next"], state["next"] + len(batch)]
        # After a crash the pending batch may be half written; after an acknowledgement timeout
        # Splunk may have the events already. Either way, write only what Splunk does not have.
        doubtful = batch if state["pending"] else [o for o in batch if o.maybe_indexed]
        if state["pending"]:
            # Events written just before the crash need a moment to become searchable.
            self.sleep(max(0.0, state.get("pending_since", 0) + SEARCHABLE_AFTER_SECONDS - time.time()))
        indexed = self.already_indexed([o.identity for o in doubtful]) if doubtful else set()
        if not state["pending"]:
            state["pending"], state["pending_since"] = bounds, time.time()
            self.checkpoint.save()
        for output in batch:
            if output.identity in indexed:
                summary.skipped_as_indexed += 1
                continue
            self.write(output)
            if output.sourcetype == "aws:cloudtrail":
                summary.events += 1
            else:
                summary.errors += 1
        state["next"], state["pending"] = bounds[1], None
        self.checkpoint.save()
