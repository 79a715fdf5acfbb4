"""Firehose transformation Lambda for CloudWatch Logs -> Splunk (the optional path; native
decompression is the default). Standard library only, deployable as this one file.

Every recordId comes back exactly once: Ok, Dropped or ProcessingFailed. MalformedError input fails
only its own record. The response never exceeds Lambda's 6 MB: records that do not fit are split
and put back into the stream, at most MAX_REINGEST times, after which they fail into the
failed-delivery bucket (where the app's recovery input picks them up). Nothing is silently lost.

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
from collections.abc import Callable
from dataclasses import dataclass, field

LOG = logging.getLogger("cloudtrail_firehose.lambda")
RESPONSE_LIMIT = 6 * 1024 * 1024
RESPONSE_BUDGET = RESPONSE_LIMIT - 64 * 1024  # room for the JSON around the records
MAX_REINGEST = 3
MAX_DECOMPRESSED = 16 * 1024 * 1024
REDACTED = "*** redacted ***"

Reingest = Callable[[list[bytes]], list[bool]]


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
        return cls(
            mode=env.get("OUTPUT_MODE", "raw"),
            sourcetype=env.get("SOURCETYPE", "aws:cloudtrail"),
            sourcetype_map=json.loads(env.get("SOURCETYPE_MAP") or "{}"),
            host=env.get("HOST", "aws"),
            drop_read_only=env.get("DROP_READ_ONLY", "false").lower() == "true",
            drop_events=frozenset(p.strip() for p in env.get("DROP_EVENTS", "").split(",") if p.strip()),
            redact_paths=tuple(tuple(p.strip().split(".")) for p in env.get("REDACT_PATHS", "").split(",")
                               if p.strip()),  # fmt: skip
        )


class MalformedError(ValueError):
    pass


def decode_payload(data: str) -> dict:
    raw = _b64(data)
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
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise MalformedError(f"not a JSON CloudWatch Logs payload: {type(error).__name__}") from error
    if not isinstance(payload, dict) or payload.get("messageType") not in ("DATA_MESSAGE", "CONTROL_MESSAGE"):
        raise MalformedError("not a CloudWatch Logs payload (messageType missing)")
    if payload["messageType"] == "DATA_MESSAGE" and not isinstance(payload.get("logEvents"), list):
        raise MalformedError("DATA_MESSAGE without logEvents")
    return payload


def _is_base64(data: object) -> bool:
    try:
        _b64(data)
        return isinstance(data, str)
    except MalformedError:
        return False


def _keep(event: object, options: Options) -> bool:
    if not isinstance(event, dict):
        return True
    if options.drop_read_only and event.get("readOnly") is True:
        return False
    name = event.get("eventName")
    return not (name in options.drop_events or f"{event.get('eventSource')}:{name}" in options.drop_events)


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


def transform(payload: dict, options: Options) -> bytes:
    """The bytes Firehose sends to Splunk for one DATA_MESSAGE."""
    group, stream = str(payload.get("logGroup", "")), str(payload.get("logStream", ""))
    sourcetype = next((st for prefix, st in options.sourcetype_map.items() if group.startswith(prefix)),
                      options.sourcetype)  # fmt: skip
    needs_json = options.drop_read_only or options.drop_events or options.redact_paths or options.mode == "event"
    out = []
    for log_event in payload["logEvents"]:
        if not isinstance(log_event, dict) or not isinstance(log_event.get("message"), str):
            raise MalformedError("a log event has no message")
        message = log_event["message"].rstrip("\r\n")
        event: object = message
        if needs_json:
            try:
                event = json.loads(message)
            except (json.JSONDecodeError, RecursionError):
                event = message  # not JSON: kept as it is, filters do not apply
            if not _keep(event, options):
                continue
            if options.redact_paths and isinstance(event, dict) and _redact(event, options.redact_paths):
                message = json.dumps(event, separators=(",", ":"))
        if options.mode == "event":
            timestamp = log_event.get("timestamp")
            seconds = timestamp / 1000 if isinstance(timestamp, int | float) else None  # HEC wants seconds
            document = {"time": seconds, "host": options.host, "source": f"{group}:{stream}",
                        "sourcetype": sourcetype, "event": event if isinstance(event, dict) else message}  # fmt: skip
            out.append(json.dumps(document, separators=(",", ":")))
        else:
            out.append(message + "\n")
    return "".join(out).encode()


def _pieces(payload: dict, generation: int, budget: int) -> list[bytes]:
    """Split a DATA_MESSAGE into gzip payloads whose transformed output fits the budget on its own."""
    pieces, current, size = [], [], 0
    for log_event in payload["logEvents"]:
        cost = len(str(log_event.get("message", ""))) * 2 + 512
        if current and size + cost > budget:
            pieces.append(current)
            current, size = [], 0
        current.append(log_event)
        size += cost
    if current:
        pieces.append(current)
    # Fast compression: these records are read once more, by this function's next invocation.
    return [_with_generation(gzip.compress(json.dumps({**payload, "logEvents": part}).encode(), 1), generation)
            for part in pieces]  # fmt: skip


def process(request: dict, options: Options, reingest: Reingest | None = None, budget: int = RESPONSE_BUDGET) -> dict:
    """The transformation response for one Firehose invocation. Never raises for bad records."""
    records = request.get("records") if isinstance(request, dict) else None
    results: list[dict] = []
    used = 0
    deferred: list[tuple[int, str]] = []  # (index in results, the record's original data)
    for record in records if isinstance(records, list) else []:
        record_id = record.get("recordId") if isinstance(record, dict) else None
        data = record.get("data", "") if isinstance(record, dict) else ""
        if used > budget - 1024:
            # The response is full: decide about this record after the loop, without spending time on it now.
            results.append({"recordId": record_id, "result": "Dropped"})
            deferred.append((len(results) - 1, data))
            continue
        try:
            payload = decode_payload(data)
            if payload["messageType"] == "CONTROL_MESSAGE":
                results.append({"recordId": record_id, "result": "Dropped"})
                continue
            output = transform(payload, options)
        except MalformedError as error:
            LOG.warning("record %s: ProcessingFailed: %s", record_id, error)
            keep = data if _is_base64(data) and used + len(data) < budget else ""
            used += len(keep)
            results.append({"recordId": record_id, "result": "ProcessingFailed", "data": keep})
            continue
        if not output:
            results.append({"recordId": record_id, "result": "Dropped"})
            continue
        encoded = base64.b64encode(output).decode()
        if used + len(encoded) + 128 <= budget:
            used += len(encoded) + 128
            results.append({"recordId": record_id, "result": "Ok", "data": encoded})
            continue
        results.append({"recordId": record_id, "result": "Dropped"})
        deferred.append((len(results) - 1, data))
    _settle_deferred(results, deferred, options, reingest, budget)
    return {"records": results}


def _settle_deferred(results: list[dict], deferred: list[tuple[int, str]], options: Options,
                     reingest: Reingest | None, budget: int) -> None:  # fmt: skip
    """Put records that did not fit back into the stream; fail them when that is not possible."""
    for position, data in deferred:
        record_id = results[position]["recordId"]
        try:
            pieces, generation = _put_back_as(data, budget)
        except MalformedError as error:
            LOG.warning("record %s: ProcessingFailed: %s", record_id, error)
            results[position] = {"recordId": record_id, "result": "ProcessingFailed", "data": ""}
            continue
        if not pieces:
            continue  # a CONTROL_MESSAGE: already Dropped
        if generation > MAX_REINGEST or reingest is None:
            LOG.error("record %s: did not fit the response %d times: ProcessingFailed (the failed-delivery "
                      "bucket keeps it; the app's recovery input reads it)", record_id, generation - 1)  # fmt: skip
            results[position] = {"recordId": record_id, "result": "ProcessingFailed", "data": ""}
            continue
        accepted = reingest(pieces)
        if not all(accepted):
            LOG.error("record %s: could not put %d piece(s) back into the stream: ProcessingFailed",
                      record_id, accepted.count(False))  # fmt: skip
            results[position] = {"recordId": record_id, "result": "ProcessingFailed", "data": ""}


def _put_back_as(data: str, budget: int) -> tuple[list[bytes], int]:
    """The record(s) to put back, and their generation (how often this data has been put back).

    A gzip record that would fit a response on its own goes back unchanged but for its generation,
    kept in the gzip header's extra field (no recompression); a larger one is split.
    """
    raw = _b64(data)
    gzipped = raw[:2] == b"\x1f\x8b" and len(raw) > 18
    generation = _generation(raw) + 1 if gzipped else 1
    if gzipped and int.from_bytes(raw[-4:], "little") * 4 // 3 + 4096 <= budget:  # gzip keeps the size last
        return [_with_generation(raw, generation)], generation
    payload = decode_payload(data)
    if payload["messageType"] == "CONTROL_MESSAGE":
        return [], 0
    return _pieces(payload, generation, budget // 4), generation


GZIP_EXTRA_ID = b"CF"  # gzip FEXTRA subfield: how often the record was put back


def _b64(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, TypeError, ValueError) as error:
        raise MalformedError(f"not base64: {error}") from error


def _generation(raw: bytes) -> int:
    if not raw[3] & 4:  # FLG.FEXTRA
        return 0
    length = int.from_bytes(raw[10:12], "little")
    extra, position = raw[12 : 12 + length], 0
    while position + 4 <= len(extra):
        size = int.from_bytes(extra[position + 2 : position + 4], "little")
        if extra[position : position + 2] == GZIP_EXTRA_ID and size:
            return extra[position + 4]
        position += 4 + size
    return 0


def _with_generation(raw: bytes, generation: int) -> bytes:
    """The same gzip member with the generation in its header (the compressed data is untouched)."""
    field_bytes = GZIP_EXTRA_ID + (1).to_bytes(2, "little") + bytes([min(generation, 255)])
    flags = raw[3]
    if flags & 4:  # replace an existing extra field
        length = int.from_bytes(raw[10:12], "little")
        rest = raw[12 + length :]
    else:
        rest = raw[10:]
    return raw[:3] + bytes([flags | 4]) + raw[4:10] + len(field_bytes).to_bytes(2, "little") + field_bytes + rest


def firehose_reingest(stream_arn: str) -> Reingest:
    """PutRecordBatch into the stream the records came from (boto3 is part of the Lambda runtime)."""
    import boto3  # only this path needs AWS
    from botocore.exceptions import BotoCoreError, ClientError

    region, name = stream_arn.split(":")[3], stream_arn.split("/")[-1]
    client = boto3.client("firehose", region_name=region)

    def put(pieces: list[bytes]) -> list[bool]:
        accepted = []
        for start in range(0, len(pieces), 100):
            batch = pieces[start : start + 100]
            try:
                answer = client.put_record_batch(DeliveryStreamName=name, Records=[{"Data": p} for p in batch])
                accepted += ["ErrorCode" not in r for r in answer["RequestResponses"]]
            except (ClientError, BotoCoreError) as error:
                LOG.error("PutRecordBatch into %s failed: %s", name, error)
                accepted += [False] * len(batch)
        return accepted

    return put


def handler(event: dict, context: object = None) -> dict:
    """The Lambda entry point."""
    options = Options.from_env(dict(os.environ))
    arn = event.get("deliveryStreamArn", "") if isinstance(event, dict) else ""
    return process(event, options, firehose_reingest(arn) if arn.count(":") >= 5 else None)
