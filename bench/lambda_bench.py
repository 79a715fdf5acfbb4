"""The Lambda processor against this machine's floor, on one realistic Firehose batch.

    PYTHONPATH=package .venv/bin/python bench/lambda_bench.py [megabytes]

The batch: CloudTrail events from the corpus, 40 per CloudWatch Logs payload, gzipped and base64
encoded as Firehose sends them, about 5 MB of Firehose input. The floor for the same batch: base64
decode, gunzip and JSON-decode each payload, join its messages and base64-encode them; nothing
else. The entry point `handler` is timed as Lambda calls it, settings read from the environment,
what does not fit put back through a real boto3 Firehose client (made once, as in a warm container;
only its HTTP send is answered here, so request building and signing count). Goals: handler at
least 0.95 of the floor; peak memory under 5x the batch size (boto3 builds the PutRecordBatch
request, base64 and JSON, in memory; the function has 512 MB).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / p) for p in ("package", "tests", "tests/standins", "tests/helpers")]

from botocore.awsrequest import AWSResponse  # noqa: E402
from cloudtrail_firehose.firehose import lambda_processor, lambda_putback  # noqa: E402
from corpus import cloudtrail_events  # noqa: E402

MESSAGES = [json.dumps(event) for _, event in cloudtrail_events()]


def batch(megabytes: float) -> dict:
    records, size, n = [], 0, 0
    while size < megabytes * 1e6:
        log_events = [{"id": str(i), "timestamp": 1700000000000 + i, "message": MESSAGES[(n * 40 + i) % len(MESSAGES)]}
                      for i in range(40)]  # fmt: skip
        payload = {"messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "/aws/cloudtrail/x", "logStream": "s",
                   "subscriptionFilters": ["f"], "logEvents": log_events}  # fmt: skip
        data = base64.b64encode(gzip.compress(json.dumps(payload).encode(), compresslevel=6)).decode()
        records.append({"recordId": str(n), "approximateArrivalTimestamp": 1700000000000, "data": data})
        size += len(data)
        n += 1
    return {"invocationId": "bench", "deliveryStreamArn": "arn:aws:firehose:us-east-1:1:deliverystream/x",
            "region": "us-east-1", "records": records}  # fmt: skip


def floor(request: dict) -> dict:
    out = []
    for record in request["records"]:
        payload = json.loads(gzip.decompress(base64.b64decode(record["data"])))
        joined = "".join(e["message"] + "\n" for e in payload["logEvents"])
        out.append({"recordId": record["recordId"], "result": "Ok", "data": base64.b64encode(joined.encode()).decode()})
    return {"records": out}


def best_of(function, request: dict, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function(request)
        best = min(best, time.perf_counter() - started)
    return best


class _Body:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


def answer_put_record_batch(request, **_) -> AWSResponse:
    """Firehose's answer to PutRecordBatch: every record accepted."""
    count = len(json.loads(request.body)["Records"])
    body = json.dumps({"FailedPutCount": 0, "RequestResponses": [{"RecordId": str(i)} for i in range(count)]})
    return AWSResponse(request.url, 200, {"x-amzn-RequestId": "bench"}, _Body(body.encode()))


def warm_client(region: str) -> tuple[float, list[int]]:
    """Make the module's client as the first put-back would (timed), and answer its sends here."""
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(name, value)  # signing needs some credentials; nothing leaves this machine
    started = time.perf_counter()
    client = lambda_putback._firehose_client(region)
    made = time.perf_counter() - started
    sent: list[int] = []
    client.meta.events.register("before-send.firehose.PutRecordBatch",
                                lambda request, **kw: (sent.append(len(request.body)),
                                                       answer_put_record_batch(request))[1])  # fmt: skip
    return made, sent


def main() -> None:
    megabytes = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    request = batch(megabytes)
    size = sum(len(r["data"]) for r in request["records"])
    records = len(request["records"])
    made, sent = warm_client("us-east-1")
    # Decompressed CloudTrail is several times its gzip size, so a 5 MB batch cannot come back in
    # one 6 MB response: what does not fit is put back into the stream.
    processor = lambda_processor.handler
    ours, reference = processor(request), floor(request)
    ok = [r for r in ours["records"] if r["result"] == "Ok"]
    expected = {r["recordId"]: r["data"] for r in reference["records"]}
    if any(r["data"] != expected[r["recordId"]] for r in ok) or len(ours["records"]) != len(reference["records"]):
        raise SystemExit("the processor and the floor disagree on this batch")
    print(f"response: {len(ok)} records Ok, {len(ours['records']) - len(ok)} put back in {len(sent)} "
          f"PutRecordBatch call(s) of {sum(sent) / 1e6:.2f} MB, response {len(json.dumps(ours)) / 1e6:.2f} MB "
          f"(limit {lambda_processor.RESPONSE_LIMIT / 1e6:.2f})")
    print(f"firehose client: made once per container, {made * 1000:.0f} ms, not counted below")
    processor_seconds, floor_seconds = best_of(processor, request), best_of(floor, request)
    tracemalloc.start()
    processor(request)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"batch: {records} records, {size / 1e6:.2f} MB of Firehose input")
    print(f"floor    : {records / floor_seconds:8.0f} records/s {size / 1e6 / floor_seconds:6.1f} MB/s")
    print(f"handler  : {records / processor_seconds:8.0f} records/s {size / 1e6 / processor_seconds:6.1f} MB/s")
    print(f"ratio handler/floor: {floor_seconds / processor_seconds:.2f} (goal >= 0.95)")
    print(f"peak memory: {peak / 1e6:.1f} MB, {peak / size:.2f}x the batch (goal < 5x)")


if __name__ == "__main__":
    main()
