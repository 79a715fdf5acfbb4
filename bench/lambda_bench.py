"""The Lambda processor against this machine's floor, on one realistic Firehose batch.

    PYTHONPATH=package .venv/bin/python bench/lambda_bench.py [megabytes]

The batch: CloudTrail events from the corpus, 40 per CloudWatch Logs payload, gzipped and base64
encoded as Firehose sends them, about 5 MB of Firehose input. The floor for the same batch: base64
decode, gunzip and JSON-decode each payload, join its messages and base64-encode them; nothing
else. Goals: throughput at least 0.8 of the floor; peak memory under 3x the batch size.
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "package"), str(ROOT / "tests")]

from cloudtrail_firehose.firehose.lambda_processor import Options, process  # noqa: E402
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


def main() -> None:
    megabytes = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    request = batch(megabytes)
    size = sum(len(r["data"]) for r in request["records"])
    records = len(request["records"])
    options = Options()
    put_back: list[bytes] = []

    def processor(req: dict) -> dict:
        # Decompressed CloudTrail is several times its gzip size, so a 5 MB batch cannot come back in
        # one 6 MB response: what does not fit is put back into the stream (collected here).
        return process(req, options, reingest=lambda pieces: (put_back.extend(pieces), [True] * len(pieces))[1])

    ours, reference = processor(request), floor(request)
    ok = [r for r in ours["records"] if r["result"] == "Ok"]
    expected = {r["recordId"]: r["data"] for r in reference["records"]}
    if any(r["data"] != expected[r["recordId"]] for r in ok) or len(ours["records"]) != len(reference["records"]):
        raise SystemExit("the processor and the floor disagree on this batch")
    print(f"response: {len(ok)} records Ok, {len(ours['records']) - len(ok)} put back in {len(put_back)} pieces, "
          f"{len(json.dumps(ours)) / 1e6:.2f} MB")
    processor_seconds, floor_seconds = best_of(processor, request), best_of(floor, request)
    tracemalloc.start()
    processor(request)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"batch: {records} records, {size / 1e6:.2f} MB of Firehose input")
    print(f"floor    : {records / floor_seconds:8.0f} records/s {size / 1e6 / floor_seconds:6.1f} MB/s")
    print(f"processor: {records / processor_seconds:8.0f} records/s {size / 1e6 / processor_seconds:6.1f} MB/s")
    print(f"ratio processor/floor: {floor_seconds / processor_seconds:.2f} (goal >= 0.8)")
    print(f"peak memory: {peak / 1e6:.1f} MB, {peak / size:.2f}x the batch (goal < 3x)")


if __name__ == "__main__":
    main()
