"""Firehose's failed-delivery records, where they are, and the events inside them.

Firehose writes records it could not deliver to S3 (splunk-failed/, processing-failed/,
decompression-failed/, under the stream's backup prefix: one per source), one JSON object per line:
attemptsMade, arrivalTimestamp (ms), errorCode, errorMessage, attemptEndingTimestamp, rawData (base64)
and EventId. rawData holds whatever Firehose
had at the point of failure, in one of these shapes:

- a gzip CloudWatch Logs payload (DATA_MESSAGE with logEvents, or a CONTROL_MESSAGE with none);
- extracted log events: CloudTrail JSON events, one per line or concatenated without separator.

Those two are the record format "cloudwatch-json" (READERS): how a source's records hold its events.

Nothing here raises on untrusted input except RecordError, which says what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NamedTuple

from cloudtrail_firehose import sources
from cloudtrail_firehose.firehose.lambda_processor import MAX_DECOMPRESSED

# Where Firehose writes what it could not deliver, under a stream's backup prefix; the bucket's other
# prefixes are the app's own.
FAILED_DELIVERY_PREFIXES = ("splunk-failed/", "processing-failed/", "decompression-failed/")
GZIP_MAGIC = b"\x1f\x8b"
# json.loads raises ValueError (not JSONDecodeError) for integers over sys.get_int_max_str_digits()
# digits, and RecursionError for deep nesting; UnicodeDecodeError is a ValueError too.
JSON_ERRORS = (ValueError, RecursionError)


class RecordError(ValueError):
    """A line or payload that cannot be read; the message says why."""


@dataclass(frozen=True)
class FailedRecord:
    error_code: str
    error_message: str
    attempts: int
    arrival: datetime | None
    attempt_ending: datetime | None
    event_id: str
    raw: bytes


class RecoveredEvent(NamedTuple):
    text: str  # the event exactly as it should be indexed (one CloudTrail JSON document, valid UTF-8)
    time: float | None  # epoch seconds from eventTime, else the log event's timestamp
    event_id: str | None = None  # CloudTrail's eventID, when the event has one


def failed_delivery_prefixes() -> list[str]:
    """Every prefix under which a registered source's stream writes failed deliveries, once each."""
    return list(dict.fromkeys(s.backup_prefix + p for s in sources.SOURCES for p in FAILED_DELIVERY_PREFIXES))


def source_of(key: str) -> sources.Source | None:
    """The source whose stream wrote a failed-delivery object (the longest backup prefix that holds it)."""
    owners = [s for s in sources.SOURCES for p in FAILED_DELIVERY_PREFIXES if key.startswith(s.backup_prefix + p)]
    return max(owners, key=lambda s: len(s.backup_prefix), default=None)


def parse_failed_record(line: bytes | str) -> FailedRecord:
    try:
        record = json.loads(line)
    except JSON_ERRORS as error:
        raise RecordError(f"not a JSON line ({type(error).__name__}: {_short(error)})") from error
    if not isinstance(record, dict) or "rawData" not in record:
        raise RecordError("not a Firehose failed-delivery record (no rawData)")
    try:
        raw = base64.b64decode(record["rawData"], validate=True)  # characters outside the alphabet are an error
    except (binascii.Error, TypeError, ValueError) as error:
        raise RecordError(f"rawData is not base64 ({error})") from error
    return FailedRecord(
        error_code=str(record.get("errorCode", "")),
        error_message=str(record.get("errorMessage", "")),
        attempts=_integer(record.get("attemptsMade")),
        arrival=_milliseconds(record.get("arrivalTimestamp")),
        attempt_ending=_milliseconds(record.get("attemptEndingTimestamp")),
        event_id=str(record.get("EventId", "")),
        raw=raw,
    )


def events_in(raw: bytes) -> Iterator[RecoveredEvent]:
    """The CloudTrail events a record's rawData holds, in order."""
    if raw[:2] == GZIP_MAGIC:
        yield from _cloudwatch_payload(_gunzip(raw))
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RecordError(f"rawData is neither gzip nor UTF-8 text ({error})") from error
    for document in json_documents(text):
        if not isinstance(document, dict):
            raise RecordError("rawData holds JSON that is not an event object")
        if document.get("messageType") in ("DATA_MESSAGE", "CONTROL_MESSAGE"):
            yield from _cloudwatch_payload(document)
        else:
            yield RecoveredEvent(_dumps(document), event_time(document), _event_id(document))


def json_documents(text: str) -> Iterator[object]:
    """JSON documents concatenated with or without whitespace between them."""
    decoder = json.JSONDecoder()
    position, end = 0, len(text)
    while True:
        while position < end and text[position].isspace():
            position += 1
        if position == end:
            return
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise RecordError(f"rawData is not JSON at character {position}: {error.msg}") from error
        except RecursionError as error:
            raise RecordError("rawData holds JSON nested too deeply") from error
        except ValueError as error:
            raise RecordError(f"rawData is not usable JSON at character {position}: {_short(error)}") from error
        yield document


# CloudTrail's eventTime is ISO 8601 in UTC ("2024-05-01T12:00:00Z"). Parsed here rather than by
# datetime.fromisoformat, which on Python 3.9 refuses the "Z" and on 3.11+ reads a stamp without zone as
# local time: the same stamp gives the same time on every Splunk's Python, and no zone means UTC
# (default/props.conf: TZ = UTC).
_EVENT_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]{1,9}))?"
    r"(?:[Zz]|([+-])([0-9]{2})(?::?([0-9]{2}))?)?"
)


def event_time(event: dict) -> float | None:
    stamp = event.get("eventTime")
    match = _EVENT_TIME.fullmatch(stamp) if isinstance(stamp, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, zone_hours, zone_minutes = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=timezone.utc)
    except ValueError:
        return None
    offset = 0
    if sign:
        offset = (int(zone_hours) * 3600 + int(zone_minutes or 0) * 60) * (1 if sign == "+" else -1)
    return moment.timestamp() - offset + (float("0." + fraction) if fraction else 0.0)


def _cloudwatch_payload(payload: object) -> Iterator[RecoveredEvent]:
    if isinstance(payload, bytes):
        try:
            payload = json.loads(payload)
        except JSON_ERRORS as error:
            raise RecordError(f"the CloudWatch Logs payload is not JSON ({type(error).__name__}: {_short(error)})") \
                from error
    if not isinstance(payload, dict):
        raise RecordError("the CloudWatch Logs payload is not a JSON object")
    kind = payload.get("messageType")
    if kind == "CONTROL_MESSAGE":
        return
    if kind != "DATA_MESSAGE" or not isinstance(payload.get("logEvents"), list):
        raise RecordError(f"unexpected CloudWatch Logs payload (messageType {kind!r})")
    for log_event in payload["logEvents"]:
        message = log_event.get("message") if isinstance(log_event, dict) else None
        if not isinstance(message, str):
            raise RecordError("a CloudWatch Logs event has no message")
        try:
            document = json.loads(message)
        except JSON_ERRORS as error:
            raise RecordError(f"a CloudWatch Logs message is not a CloudTrail JSON event ({type(error).__name__}: "
                              f"{_short(error)})") from error  # fmt: skip
        time = event_time(document) if isinstance(document, dict) else None
        if time is None and (fallback := _milliseconds(log_event.get("timestamp"))) is not None:
            time = fallback.timestamp()
        text = message.strip()
        if not _is_utf8(text):
            text = _dumps(document)  # a lone surrogate: keep the event, as JSON escapes
        yield RecoveredEvent(text, time, _event_id(document) if isinstance(document, dict) else None)


def _gunzip(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(data, MAX_DECOMPRESSED)
    except zlib.error as error:
        raise RecordError(f"rawData is damaged gzip ({error})") from error
    if decompressor.unconsumed_tail:
        raise RecordError(f"rawData decompresses to more than {MAX_DECOMPRESSED // 1024 // 1024} MB")
    if not decompressor.eof:
        raise RecordError("rawData is damaged gzip (truncated)")
    return out


def _dumps(document: object) -> str:
    try:
        return json.dumps(document, separators=(",", ":"))
    except (ValueError, RecursionError) as error:  # what json.loads accepted, json.dumps may still refuse
        raise RecordError(f"an event cannot be written back as JSON ({_short(error)})") from error


def _event_id(document: dict) -> str | None:
    """CloudTrail's eventID when it is a string (a UUID); the caller decides whether a search can find it."""
    value = document.get("eventID")
    return value if isinstance(value, str) and value else None


def _is_utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _short(error: Exception) -> str:
    return str(error)[:200]


def _integer(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _milliseconds(value: object) -> datetime | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None  # the docs' own example has a 14-digit timestamp


def flow_log_lines(raw: bytes) -> Iterator[RecoveredEvent]:
    """The VPC flow log records a record's rawData holds: lines of space-separated fields (Amazon VPC User Guide,
    "Flow log records"), bare or each wrapped as {"message": "<line>"}, or a gzip CloudWatch Logs payload whose
    messages are the lines (flow logs taken from a log group). The time is the record's start (Unix seconds, the
    11th field of both formats setup deploys: sources/vpcflow.py FORMATS)."""
    if raw[:2] == GZIP_MAGIC:
        raw = _gunzip(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RecordError(f"rawData is neither gzip nor UTF-8 text ({error})") from error
    if not text.lstrip().startswith("{"):
        lines = text.splitlines()
    else:
        lines = []
        for document in json_documents(text):
            if isinstance(document, dict) and document.get("messageType") in ("DATA_MESSAGE", "CONTROL_MESSAGE"):
                lines += [_flow_message(e.get("message") if isinstance(e, dict) else None)
                          for e in _log_events(document)]  # fmt: skip
            else:
                lines.append(_flow_message(document.get("message") if isinstance(document, dict) else None))
    for line in lines:
        line = line.strip()
        if line:
            fields = line.split(" ")
            start = fields[10] if len(fields) > 10 else ""
            yield RecoveredEvent(line, float(start) if start.isdigit() and len(start) <= 12 else None)


def _flow_message(message: object) -> str:
    if not isinstance(message, str):
        raise RecordError("rawData holds JSON without a flow log record (no \"message\" text)")
    return message


def _log_events(payload: dict) -> list:
    if payload.get("messageType") == "CONTROL_MESSAGE":
        return []
    if not isinstance(payload.get("logEvents"), list):
        raise RecordError("unexpected CloudWatch Logs payload (no logEvents)")
    return payload["logEvents"]


# How a source's records hold its events (sources/: each unit's record_format) -> the events of one record.
READERS: dict[str, Callable[[bytes], Iterator[RecoveredEvent]]] = {
    "cloudwatch-json": events_in,
    "flow-log-lines": flow_log_lines,
}
