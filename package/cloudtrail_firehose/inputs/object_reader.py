"""The outputs of one failed-delivery object, line by line: the events of each record (read and indexed as
the object's source says: sources/), then one aws:firehose:error event for it, with the caps on error events
and where a sweep over it stands."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cloudtrail_firehose.firehose.records import READERS, RecordError, RecoveredEvent, parse_failed_record
from cloudtrail_firehose.inputs.indexed import TERM_SAFE  # eventIDs a search term finds; others get a hash
from cloudtrail_firehose.inputs.outputs import ERRORS, SOURCE_PREFIX, Output, identity_of_text
from cloudtrail_firehose.inputs.s3_objects import MAX_LINE, LongLine
from cloudtrail_firehose.sources import Source

NEEDS_ATTENTION = "needs-attention/"
MAX_ERROR_EVENTS = 10_000  # per object; one Recovery.MoreErrors event counts the rest
REMEDIATIONS = Path(__file__).resolve().parents[3] / "lookups" / "cloudtrail_firehose_delivery_errors.csv"


def remediations() -> dict[str, str]:
    with REMEDIATIONS.open(newline="", encoding="utf-8") as handle:
        return {row["errorCode"]: row["remediation"] for row in csv.DictReader(handle)}


@dataclass
class Sweep:
    """Where a sweep over one object stands: kept in the journal when a run stops in the middle."""

    line: int = 0  # lines done
    wrote: bool = False  # a batch of this sweep wrote
    errors: int = 0  # error events in the sweep so far
    suppressed: dict = field(default_factory=dict)  # errorCode -> error events over the cap
    unreadable: list = field(default_factory=list)  # the first 20 unreadable lines
    unreadable_count: int = 0

    @classmethod
    def resumed(cls, saved: object) -> Sweep:
        try:
            return cls(**saved) if isinstance(saved, dict) else cls()
        except TypeError:
            return cls()

    def note_unreadable(self, number: int) -> None:
        self.unreadable_count += 1
        if len(self.unreadable) < 20:
            self.unreadable.append(number)


class ObjectReader:
    """The outputs of one object, line by line, with the caps on error events."""

    def __init__(self, log_source: Source, bucket: str, key: str, etag: str, fallback_time: float,
                 hints: dict[str, str], max_error_events: int = MAX_ERROR_EVENTS) -> None:  # fmt: skip
        self.log_source, self.bucket, self.key, self.etag = log_source, bucket, key, etag
        self.fallback_time = fallback_time
        self.hints, self.max_error_events = hints, max_error_events
        self.source = f"{SOURCE_PREFIX}s3://{bucket}/{key}"

    def outputs(self, lines: Iterable[bytes | LongLine]) -> Iterator[Output]:
        """Every output of an object read whole, in one go."""
        sweep = Sweep()
        for number, line in enumerate(lines, 1):
            yield from self.line(number, line, sweep)
        yield from self.closing(sweep, None)

    def line(self, number: int, line: bytes | LongLine, sweep: Sweep) -> list[Output]:
        """The events of one line, then its error event (unless over the cap)."""
        if isinstance(line, bytes) and (not line or line.isspace()):  # isspace: no copy of a long line
            return []
        try:
            if isinstance(line, LongLine):
                raise RecordError(f"the line is {line.size} bytes, over the {MAX_LINE} bytes a record can take")
            record = parse_failed_record(line)
            when = record.arrival.timestamp() if record.arrival else self.fallback_time
            outputs = [self._event(event, when) for event in READERS[self.log_source.record_format](record.raw)]
            details = {"errorCode": record.error_code, "errorMessage": record.error_message,
                       "attempts": record.attempts, "firehose_event_id": record.event_id,
                       "arrival": _iso(record.arrival), "attempt_ending": _iso(record.attempt_ending)}  # fmt: skip
        except (RecordError, ValueError, OverflowError, RecursionError) as error:
            # RecordError says what is wrong; the others are defects in the decoder, still one line's problem.
            sweep.note_unreadable(number)
            why = str(error) if isinstance(error, RecordError) else f"{type(error).__name__}: {error}"
            outputs, when = [], self.fallback_time
            details = {"errorCode": "Recovery.UnreadableLine", "errorMessage": why[:500]}
        if sweep.errors >= self.max_error_events:
            sweep.suppressed[details["errorCode"]] = sweep.suppressed.get(details["errorCode"], 0) + 1
            return outputs
        sweep.errors += 1
        hint = self.hints.get(details["errorCode"], "See the Firehose error logs in CloudWatch.")
        error_event = {"recovery_id": f"{self.etag}:L{number}", **details, "events_recovered": len(outputs),
                       "remediation": hint, "object": f"s3://{self.bucket}/{self.key}", "line": number}  # fmt: skip
        outputs.append(self._error(error_event, when))
        return outputs

    def closing(self, sweep: Sweep, set_aside: str | None) -> list[Output]:
        """After the last line: a count of the error events over the cap; the report of an object that
        goes to needs-attention/, which is searched for like any output before the object moves."""
        outputs = []
        if sweep.suppressed:
            more = sum(sweep.suppressed.values())
            outputs.append(self._error({
                "recovery_id": f"{self.etag}:more-errors", "errorCode": "Recovery.MoreErrors",
                "errorMessage": f"{more} more failed or unreadable lines than the {self.max_error_events} error "
                                "events written for one object", "counts": sweep.suppressed,
                "remediation": self.hints.get("Recovery.MoreErrors", ""),
                "object": f"s3://{self.bucket}/{self.key}"}))  # fmt: skip
        if sweep.unreadable_count or set_aside:
            why = set_aside or f"lines {_ranges(sweep.unreadable, sweep.unreadable_count)} could not be read"
            outputs.append(self._error({
                "recovery_id": f"{self.etag}:needs-attention", "errorCode": "Recovery.NeedsAttention",
                "errorMessage": why, "object": f"s3://{self.bucket}/{self.key}",
                "remediation": f"Look at s3://{self.bucket}/{NEEDS_ATTENTION}{self.key}: the events that could be "
                               "read are in Splunk; the rest needs a person."}))  # fmt: skip
        return outputs

    def _event(self, event: RecoveredEvent, record_time: float) -> Output:
        identity = event.event_id if event.event_id and TERM_SAFE.fullmatch(event.event_id) else \
            identity_of_text(event.text)  # fmt: skip
        return Output(event.text, event.time if event.time is not None else record_time,
                      self.log_source.sourcetype, self.source, identity)  # fmt: skip

    def _error(self, document: dict, when: float | None = None) -> Output:
        return Output(json.dumps(document), self.fallback_time if when is None else when, ERRORS,
                      self.source, document["recovery_id"])  # fmt: skip


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _ranges(numbers: list[int], total: int) -> str:
    shown = ", ".join(str(n) for n in numbers)
    return shown + (f" and {total - len(numbers)} more" if total > len(numbers) else "")
