"""Putting records back into the Firehose stream, for the Lambda processor (firehose/lambda_processor.py).

Records that do not fit one response go back into the stream they came from with PutRecordBatch, their
count of returns riding in the gzip header's extra field (no recompression). Standard library only
(boto3 comes with the Lambda runtime, imported on the first put-back); deployed beside lambda_processor.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

LOG = logging.getLogger("cloudtrail_firehose.lambda")
# PutRecordBatch quotas (Amazon Data Firehose quota page): 500 records and 4 MiB per call; 3 MiB of data
# keeps the call's base64 under 4 MiB too.
PUT_BATCH_RECORDS, PUT_BATCH_BYTES = 500, 3 * 1024 * 1024

Reingest = Callable[[list[bytes]], list[bool]]
GZIP_EXTRA_ID = b"CF"  # gzip FEXTRA subfield: how often the record was put back



def generation_of(raw: bytes) -> int:
    """How often this gzip record has been put back (0 for one Firehose delivered first)."""
    if not raw[3] & 4:  # FLG.FEXTRA
        return 0
    length = int.from_bytes(raw[10:12], "little")
    extra, position = raw[12 : 12 + length], 0
    while position + 4 <= len(extra):
        size = int.from_bytes(extra[position + 2 : position + 4], "little")
        if extra[position : position + 2] == GZIP_EXTRA_ID and size and position + 4 < len(extra):
            return extra[position + 4]
        position += 4 + size
    return 0


def with_generation(raw: bytes, generation: int) -> bytes:
    """The same gzip member with the generation in its header (the compressed data is untouched)."""
    field_bytes = GZIP_EXTRA_ID + (1).to_bytes(2, "little") + bytes([min(generation, 255)])
    flags = raw[3]
    if flags & 4:  # replace an existing extra field
        length = int.from_bytes(raw[10:12], "little")
        rest = raw[12 + length :]
    else:
        rest = raw[10:]
    return raw[:3] + bytes([flags | 4]) + raw[4:10] + len(field_bytes).to_bytes(2, "little") + field_bytes + rest


_FIREHOSE_CLIENTS: dict[str, object] = {}  # one per region and container: made on the first put-back


def _firehose_client(region: str) -> object:
    if region not in _FIREHOSE_CLIENTS:
        import boto3  # only putting back needs AWS; importing it costs an invocation that does not

        _FIREHOSE_CLIENTS[region] = boto3.client("firehose", region_name=region)
    return _FIREHOSE_CLIENTS[region]


def _batches(pieces: list[bytes]) -> list[list[bytes]]:
    batches: list[list[bytes]] = [[]]
    size = 0
    for piece in pieces:
        if batches[-1] and (len(batches[-1]) == PUT_BATCH_RECORDS or size + len(piece) > PUT_BATCH_BYTES):
            batches.append([])
            size = 0
        batches[-1].append(piece)
        size += len(piece)
    return batches


def firehose_reingest(stream_arn: str, client: object | None = None) -> Reingest:
    """PutRecordBatch into the stream the records came from; the client is made only when needed."""
    region, name = stream_arn.split(":")[3], stream_arn.split("/")[-1]

    def put(pieces: list[bytes]) -> list[bool]:
        from botocore.exceptions import BotoCoreError, ClientError
        from botocore.parsers import ResponseParserError

        accepted: list[bool] = []
        for batch in _batches(pieces):
            try:
                firehose = client or _firehose_client(region)
                answer = firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": p} for p in batch])
                taken = [isinstance(r, dict) and "ErrorCode" not in r for r in answer["RequestResponses"]]
            # ResponseParserError is not a BotoCoreError; the others: an answer without its RequestResponses list
            except (ClientError, BotoCoreError, ResponseParserError, KeyError, TypeError) as error:
                LOG.error("PutRecordBatch into %s failed: %s: %s; those records fail into the failed-delivery "
                          "bucket", name, type(error).__name__, error)  # fmt: skip
                taken = []
            accepted += taken[: len(batch)] + [False] * (len(batch) - len(taken))
        return accepted

    return put


