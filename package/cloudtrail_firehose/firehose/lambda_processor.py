"""Firehose transformation Lambda for CloudWatch Logs -> Splunk (the optional path; native
decompression is the default). Standard library only (boto3 comes with the Lambda runtime),
deployed as this file and lambda_putback.py (putting records back into the stream).

Every recordId comes back exactly once, in order: Ok, Dropped or ProcessingFailed. Nothing a record
holds makes the invocation raise; bad input fails only its own record. The whole response, JSON
included, stays within Lambda's 6 MB: each entry is counted as the runtime serializes it, records
that do not fit are split and put back into the stream, at most MAX_REINGEST times, after which
they fail into the failed-delivery bucket (where the app's recovery input picks them up). A put-back
that fails, whatever botocore raises, fails only those records. Nothing is silently lost.

A Dropped entry carries no data (Firehose delivers nothing for it; AWS's own CloudWatch Logs processor
blueprint answers Dropped the same way): so 100,000 records with short ids still fit one response.

Settings (environment): OUTPUT_MODE raw|event; SOURCETYPE default aws:cloudtrail; SOURCETYPE_MAP
JSON {log group prefix: sourcetype}; HOST; DROP_READ_ONLY true|false; DROP_EVENTS comma list of
eventName or eventSource:eventName; REDACT_PATHS comma list of dotted paths (e.g.
requestParameters.password).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import logging
import os
import zlib
from dataclasses import dataclass, field

try:  # in the app's package
    from cloudtrail_firehose.firehose.lambda_putback import Reingest, firehose_reingest, generation_of, with_generation
except ImportError:  # in Lambda, where the function's zip holds both files at its top level
    from lambda_putback import Reingest, firehose_reingest, generation_of, with_generation

LOG = logging.getLogger("cloudtrail_firehose.lambda")
RESPONSE_LIMIT = 6 * 1024 * 1024  # Lambda's synchronous response limit, the JSON included
MAX_REINGEST = 3
# A Firehose record is at most 1,000 KiB and a CloudWatch Logs batch at most 1 MiB of messages,
# which JSON escaping can roughly double; anything far beyond that is a bomb, not a record.
# (Defined here, as this file ships alone to Lambda; firehose/records.py uses the same limit.)
MAX_DECOMPRESSED = 8 * 1024 * 1024
REDACTED = "*** redacted ***"
LATEST_MILLISECONDS = 10**14  # year 5138: a later log-event timestamp is not a time

@dataclass(frozen=True)
class Options:
    mode: str = "raw"
    sourcetype: str = "aws:cloudtrail"
    sourcetype_map: dict[str, str] = field(default_factory=dict)
    host: str = "aws"
    drop_read_only: bool = False
    drop_events: frozenset[str] = frozenset()
    redact_paths: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Options:
        """The settings, or ValueError saying which variable is wrong."""
        mode = env.get("OUTPUT_MODE", "raw")
        if mode not in ("raw", "event"):
            raise ValueError(f"OUTPUT_MODE must be raw or event, not {mode!r}")
        try:
            sourcetype_map = json.loads(env.get("SOURCETYPE_MAP") or "{}")
        except ValueError as error:
            raise ValueError(f"SOURCETYPE_MAP is not JSON: {error}") from error
        if not isinstance(sourcetype_map, dict) or not all(isinstance(v, str) for v in sourcetype_map.values()):
            raise ValueError('SOURCETYPE_MAP must be a JSON object of log group prefix to sourcetype, '
                             'e.g. {"/aws/lambda/": "aws:lambda"}')  # fmt: skip
        return cls(
            mode=mode,
            sourcetype=env.get("SOURCETYPE", "aws:cloudtrail"),
            sourcetype_map=sourcetype_map,
            host=env.get("HOST", "aws"),
            drop_read_only=env.get("DROP_READ_ONLY", "false").lower() == "true",
            drop_events=frozenset(p.strip() for p in env.get("DROP_EVENTS", "").split(",") if p.strip()),
            redact_paths=tuple(tuple(p.strip().split(".")) for p in env.get("REDACT_PATHS", "").split(",")
                               if p.strip()),  # fmt: skip
        )


class MalformedError(ValueError):
    pass


def decode_payload(data: str | bytes) -> dict:
    """The CloudWatch Logs payload of one record (base64 text, or its bytes already decoded)."""
    raw = data if isinstance(data, bytes) else _b64(data)
    if raw[:2] == b"\x1f\x8b":
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = decompressor.decompress(raw, MAX_DECOMPRESSED)
        except zlib.error as error:
            raise MalformedError(f"damaged gzip: {error}") from error
        if decompressor.unconsumed_tail or not decompressor.eof:
            raise MalformedError("gzip is truncated or decompresses to more than 16 MB")
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as error:  # ValueError: also undecodable text, over 4,300 digits
        raise MalformedError(f"not a JSON CloudWatch Logs payload: {type(error).__name__}") from error
    if not isinstance(payload, dict) or payload.get("messageType") not in ("DATA_MESSAGE", "CONTROL_MESSAGE"):
        raise MalformedError("not a CloudWatch Logs payload (messageType missing)")
    if payload["messageType"] == "DATA_MESSAGE":
        log_events = payload.get("logEvents")
        if not isinstance(log_events, list) or not all(
            isinstance(e, dict) and isinstance(e.get("message"), str) for e in log_events
        ):
            raise MalformedError("DATA_MESSAGE without a list of log events that each have a message")
    return payload


def _keep(event: object, options: Options) -> bool:
    if not isinstance(event, dict):
        return True
    if options.drop_read_only and event.get("readOnly") is True:
        return False
    name, source = event.get("eventName"), event.get("eventSource")
    if not isinstance(name, str):
        return True  # drop lists name strings: nothing else matches them
    return not (name in options.drop_events or (isinstance(source, str) and f"{source}:{name}" in options.drop_events))


def _redact(event: object, paths: tuple[tuple[str, ...], ...]) -> bool:
    changed = False
    for path in paths:
        node = event
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and path[-1] in node:
            node[path[-1]] = REDACTED
            changed = True
    return changed


def _seconds(timestamp: object) -> float | None:
    """HEC's time (seconds) from a log event's milliseconds; None (receipt time) for anything else."""
    if type(timestamp) in (int, float) and 0 <= timestamp < LATEST_MILLISECONDS:  # also false for NaN
        return timestamp / 1000
    return None


def transform(payload: dict, options: Options) -> bytes:
    """The bytes Firehose sends to Splunk for one DATA_MESSAGE (as decode_payload returns it)."""
    group, stream = str(payload.get("logGroup", "")), str(payload.get("logStream", ""))
    sourcetype = next((st for prefix, st in options.sourcetype_map.items() if group.startswith(prefix)),
                      options.sourcetype)  # fmt: skip
    needs_json = options.drop_read_only or options.drop_events or options.redact_paths or options.mode == "event"
    out = []
    for log_event in payload["logEvents"]:
        message = log_event["message"].rstrip("\r\n")
        event: object = message
        if needs_json:
            try:
                event = json.loads(message)
            except (ValueError, RecursionError):
                event = message  # not JSON: kept as it is, filters do not apply
            if not _keep(event, options):
                continue
            if options.redact_paths and isinstance(event, dict) and _redact(event, options.redact_paths):
                try:
                    message = json.dumps(event, separators=(",", ":"))
                except (ValueError, RecursionError):
                    message = REDACTED  # cannot be written again: the whole message is withheld
        if options.mode == "event":
            document = {"time": _seconds(log_event.get("timestamp")), "host": options.host,
                        "source": f"{group}:{stream}", "sourcetype": sourcetype,
                        "event": event if isinstance(event, dict) else message}  # fmt: skip
            try:  # allow_nan=False: NaN and Infinity are not JSON, HEC would refuse the batch
                out.append(json.dumps(document, separators=(",", ":"), allow_nan=False))
            except (ValueError, RecursionError):
                document["event"] = message
                out.append(json.dumps(document, separators=(",", ":")))
        else:
            out.append(message + "\n")
    # A lone surrogate (a JSON escape like \ud800 in the message) cannot be UTF-8: written back as that escape.
    return "".join(out).encode("utf-8", "backslashreplace")


def _pieces(payload: dict, generation: int, budget: int) -> list[bytes]:
    """Split a DATA_MESSAGE into gzip payloads whose transformed output fits the budget on its own."""
    pieces, current, size = [], [], 0
    for log_event in payload["logEvents"]:
        cost = len(log_event["message"]) * 2 + 512
        if current and size + cost > budget:
            pieces.append(current)
            current, size = [], 0
        current.append(log_event)
        size += cost
    if current:
        pieces.append(current)
    try:
        documents = [json.dumps({**payload, "logEvents": part}).encode("utf-8", "backslashreplace") for part in pieces]
    except (ValueError, RecursionError) as error:
        raise MalformedError(f"cannot be split: {type(error).__name__}") from error
    # Fast compression: these records are read once more, by this function's next invocation.
    return [with_generation(gzip.compress(document, 1), generation) for document in documents]


def _entry_size(record_id: object, result: str = "Dropped", data: str | None = None) -> int:
    """Bytes of this entry as the Lambda runtime serializes it (json's default separators, ASCII escapes: the
    most any runtime writes), the separator before it included. data is base64: it is written as it is."""
    size = len(json.dumps({"recordId": record_id, "result": result})) + 2
    return size if data is None else size + len(', "data": ""') + len(data)


def _reserve(ids: list, limit: int) -> list[int]:
    """Each entry's size reserved before any data: room for ProcessingFailed, so any record can still fail
    (into the failed-delivery bucket); only when that much does not fit (many records with empty or tiny
    data), the smallest entry, Dropped, and a record that fails takes its extra from the room left."""
    failing = [_entry_size(i, "ProcessingFailed", "") for i in ids]
    if sum(failing) + len('{"records": []}') <= limit:
        return failing
    return [_entry_size(i) for i in ids]


def _entry(record_id: object, result: str, data: str | None = None) -> dict:
    return {"recordId": record_id, "result": result, **({} if data is None else {"data": data})}


def _size_hint(raw: bytes) -> int:
    """Roughly the bytes a record decodes to: gzip keeps the size of its data in its last 4 bytes."""
    return int.from_bytes(raw[-4:], "little") if raw[:2] == b"\x1f\x8b" and len(raw) > 18 else len(raw)


def process(request: dict, options: Options, reingest: Reingest | None = None, limit: int = RESPONSE_LIMIT) -> dict:
    """The transformation response for one Firehose invocation. Never raises, whatever the request holds.

    `limit` bounds len(json.dumps(response)); every entry is reserved first (ids and result names
    count too), the records' data share what is left, first come first served.
    """
    records = request.get("records") if isinstance(request, dict) else None
    records = records if isinstance(records, list) else []
    ids = [record.get("recordId") if isinstance(record, dict) else None for record in records]
    try:
        reserved = _reserve(ids, limit)
    except (TypeError, ValueError, RecursionError):  # not from JSON: Firehose's ids are strings
        ids = [i if isinstance(i, str) else None for i in ids]
        reserved = _reserve(ids, limit)
    room = limit - len('{"records": []}') - sum(reserved)
    if room < 0:
        LOG.error("%d records: their ids alone overflow the %d-byte response; the invocation fails and Firehose, "
                  "after its retries, writes them to the failed-delivery bucket", len(ids), limit)  # fmt: skip
    results: list[dict] = []
    deferred: list[tuple[int, bytes]] = []  # (index in results, the record's original bytes)
    crowded = False  # a record's output did not fit
    for record, record_id, smallest in zip(records, ids, reserved):  # one id per record, made above
        data = record.get("data") if isinstance(record, dict) else None
        failing = max(0, _entry_size(record_id, "ProcessingFailed", "") - smallest)  # what failing it costs
        try:
            raw = _b64(data)
            if not raw:  # an empty record holds nothing to deliver
                results.append(_entry(record_id, "Dropped"))
                continue
            # Once one did not fit, a payload larger than the room left is deferred undecoded: its output
            # is about as large (raw mode: its messages; event mode: a little more).
            if crowded and _size_hint(raw) // 3 * 4 > room:
                room -= failing  # kept so that a put-back that fails can still answer ProcessingFailed
                results.append(_entry(record_id, "Dropped"))
                deferred.append((len(results) - 1, raw))
                continue
            payload = decode_payload(raw)
            if payload["messageType"] == "CONTROL_MESSAGE":
                results.append(_entry(record_id, "Dropped"))
                continue
            output = transform(payload, options)
        except MalformedError as error:
            LOG.warning("record %s: ProcessingFailed: %s", record_id, error)
            keep = data if isinstance(data, str) and data and failing + len(data) <= room and _is_base64(data) else ""
            room -= _entry_size(record_id, "ProcessingFailed", keep) - smallest
            results.append(_entry(record_id, "ProcessingFailed", keep))
            continue
        if not output:
            results.append(_entry(record_id, "Dropped"))
            continue
        encoded = base64.b64encode(output).decode()
        cost = _entry_size(record_id, "Ok", encoded) - smallest
        if cost <= room:
            room -= cost
            results.append(_entry(record_id, "Ok", encoded))
            continue
        room -= failing
        results.append(_entry(record_id, "Dropped"))
        deferred.append((len(results) - 1, raw))
        crowded = True
    _settle_deferred(results, deferred, reingest, limit)
    return {"records": results}


def _is_base64(data: str) -> bool:
    try:
        _b64(data)
    except MalformedError:
        return False
    return True


def _settle_deferred(results: list[dict], deferred: list[tuple[int, bytes]], reingest: Reingest | None,
                     limit: int) -> None:  # fmt: skip
    """Put records that did not fit back into the stream (all in one go); fail those that cannot be."""
    failed = {"result": "ProcessingFailed", "data": ""}
    going_back: list[tuple[int, int]] = []  # (index in results, how many pieces)
    pieces: list[bytes] = []
    for position, raw in deferred:
        record_id = results[position]["recordId"]
        try:
            mine, generation = _put_back_as(raw, limit)
        except MalformedError as error:
            LOG.warning("record %s: ProcessingFailed: %s", record_id, error)
            results[position].update(failed)
            continue
        if not mine:
            continue  # a CONTROL_MESSAGE: already Dropped
        if generation > MAX_REINGEST or reingest is None:
            LOG.error("record %s: did not fit the response %d times: ProcessingFailed (the failed-delivery "
                      "bucket keeps it; the app's recovery input reads it)", record_id, generation - 1)  # fmt: skip
            results[position].update(failed)
            continue
        going_back.append((position, len(mine)))
        pieces += mine
    accepted = reingest(pieces) if pieces and reingest else []
    accepted = list(accepted) + [False] * (len(pieces) - len(accepted))  # an answer for each piece
    start = 0
    for position, count in going_back:
        refused = count - sum(accepted[start : start + count])
        start += count
        if refused:
            LOG.error("record %s: could not put %d piece(s) back into the stream: ProcessingFailed",
                      results[position]["recordId"], refused)  # fmt: skip
            results[position].update(failed)


def _put_back_as(raw: bytes, limit: int) -> tuple[list[bytes], int]:
    """The record(s) to put back, and their generation (how often this data has been put back).

    A gzip record that would fit a response on its own goes back unchanged but for its generation,
    kept in the gzip header's extra field (no recompression); a larger one is split.
    """
    budget = limit - 64 * 1024
    gzipped = raw[:2] == b"\x1f\x8b" and len(raw) > 18
    generation = generation_of(raw) + 1 if gzipped else 1
    if gzipped and _size_hint(raw) * 4 // 3 + 4096 <= budget:
        return [with_generation(raw, generation)], generation
    payload = decode_payload(raw)
    if payload["messageType"] == "CONTROL_MESSAGE":
        return [], 0
    return _pieces(payload, generation, budget // 4), generation


def _b64(data: object) -> bytes:
    try:
        return base64.b64decode(data, validate=True)  # type: ignore[arg-type]
    except (binascii.Error, TypeError, ValueError) as error:
        raise MalformedError(f"not base64: {error}") from error


def handler(event: dict, context: object = None) -> dict:
    """The Lambda entry point."""
    arn = event.get("deliveryStreamArn") if isinstance(event, dict) else None
    reingest = firehose_reingest(arn) if isinstance(arn, str) and arn.count(":") >= 5 else None
    try:
        options = Options.from_env(dict(os.environ))
    except ValueError as error:
        # A setting is wrong: nothing can be transformed as configured; every record fails into the
        # failed-delivery bucket (nothing lost) and this says what to fix.
        LOG.error("the function's settings are wrong, every record fails until they are fixed: %s", error)
        records = event.get("records") if isinstance(event, dict) else None
        ids = [r.get("recordId") if isinstance(r, dict) else None for r in records] if isinstance(records, list) else []
        return {"records": [{"recordId": i, "result": "ProcessingFailed", "data": ""} for i in ids]}
    return process(event, options, reingest)
