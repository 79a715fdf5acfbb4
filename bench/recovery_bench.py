"""Recovery throughput against this machine's floor for the same data, and memory as objects grow.

    PYTHONPATH=package .venv/bin/python bench/recovery_bench.py [records]

The floor is the least any recovery must do: base64-decode each record, gunzip it, and JSON-decode
the CloudWatch Logs payload and each CloudTrail message. Goal: recovery at least 0.5 of the floor,
and peak memory flat as the object grows (it is streamed line by line).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "package"), str(ROOT / "tests")]

from cloudtrail_firehose.inputs.recovery import _lines, object_outputs, remediations  # noqa: E402
from corpus import cloudtrail_events  # noqa: E402

EVENTS = [json.dumps(event) for _, event in cloudtrail_events()]


def failed_object(records: int, events_per_record: int = 50) -> tuple[bytes, int]:
    """A splunk-failed/ object: JSON lines whose rawData is a gzip CloudWatch Logs payload."""
    lines, decompressed = [], 0
    for r in range(records):
        messages = [EVENTS[(r * events_per_record + i) % len(EVENTS)] for i in range(events_per_record)]
        log_events = [{"id": str(i), "timestamp": 1, "message": m} for i, m in enumerate(messages)]
        payload = json.dumps({"messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "g", "logStream": "s",
                              "subscriptionFilters": ["f"], "logEvents": log_events})
        decompressed += len(payload)
        raw = base64.b64encode(gzip.compress(payload.encode(), compresslevel=6)).decode()
        lines.append(json.dumps({"attemptsMade": 3, "arrivalTimestamp": 1764200000000, "errorCode": "Splunk.AckTimeout",
                                 "errorMessage": "x", "attemptEndingTimestamp": 1764200300000, "rawData": raw,
                                 "EventId": str(r)}))
    return ("\n".join(lines) + "\n").encode(), decompressed


def floor(data: bytes) -> int:
    events = 0
    for line in data.splitlines():
        record = json.loads(line)
        payload = json.loads(gzip.decompress(base64.b64decode(record["rawData"])))
        for log_event in payload["logEvents"]:
            json.loads(log_event["message"])
            events += 1
    return events


def recovery(data: bytes) -> int:
    hints = remediations()
    return sum(o.sourcetype == "aws:cloudtrail"
               for o in object_outputs(_lines(io.BytesIO(data)), "bucket", "key", "etag", hints, []))


def timed(function, data: bytes, repeat: int = 3) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        result = function(data)
        best = min(best, time.perf_counter() - started)
    return best, result


def peak_memory(function, data: bytes) -> int:
    tracemalloc.start()
    function(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    data, decompressed = failed_object(records)
    floor_seconds, floor_events = timed(floor, data)
    recovery_seconds, recovered = timed(recovery, data)
    if recovered != floor_events:
        raise SystemExit(f"recovery found {recovered} events, the floor {floor_events}: they must agree")
    megabytes = decompressed / 1e6
    print(f"object: {records} records, {len(data) / 1e6:.1f} MB on S3, {megabytes:.1f} MB decompressed, "
          f"{recovered} events")
    print(f"floor    : {floor_events / floor_seconds:10.0f} events/s {megabytes / floor_seconds:7.1f} MB/s")
    print(f"recovery : {recovered / recovery_seconds:10.0f} events/s {megabytes / recovery_seconds:7.1f} MB/s")
    print(f"ratio recovery/floor: {floor_seconds / recovery_seconds:.2f} (goal >= 0.5)")
    large, _ = failed_object(records * 4)
    peak_small = peak_memory(recovery, data)
    peak_large = peak_memory(recovery, large)
    print(f"peak memory (beyond the object's own bytes): {peak_small / 1e6:.1f} MB at {records} records, "
          f"{peak_large / 1e6:.1f} MB at {records * 4} records; ratio {peak_large / peak_small:.2f} (flat: about 1)")


if __name__ == "__main__":
    main()
