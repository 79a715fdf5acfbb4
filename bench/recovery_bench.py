"""Recovery throughput against this machine's floor for the same data, and peak memory per object,
hostile ones included.

    PYTHONPATH=package .venv/bin/python bench/recovery_bench.py [records]

The floor is the least any recovery must do: base64-decode each record, gunzip it, and JSON-decode
the CloudWatch Logs payload and each CloudTrail message. Goal: recovery at least 0.8 of the floor
(CPU time, floor and recovery alternately, best of REPEAT each, to even out a busy machine).

Memory: each object is read by a fresh process from a file, as the input streams it from S3, and
the process reports its peak resident memory beyond what it had before reading (VmHWM after
resetting it; Linux). Goal:
under 64 MB for every object, the hostile ones too: a 1 MiB gzip that decompresses to one 1 GiB
line, a gzip of 3 MiB lines that are over the line cap, and a truncated gzip.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cloudtrail_firehose.sources import CLOUDTRAIL

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / p) for p in ("package", "tests", "tests/standins", "tests/helpers")]

from cloudtrail_firehose.inputs.object_reader import ObjectReader, remediations  # noqa: E402
from cloudtrail_firehose.inputs.s3_objects import ObjectError, object_lines  # noqa: E402

GOAL_RATIO, GOAL_MB = 0.8, 64
REPEAT = 9


def events() -> list[str]:
    from corpus import cloudtrail_events

    return [json.dumps(event) for _, event in cloudtrail_events()]


def failed_object(records: int, events_per_record: int = 50) -> tuple[bytes, int]:
    """A splunk-failed/ object: JSON lines whose rawData is a gzip CloudWatch Logs payload."""
    texts = events()
    lines, decompressed = [], 0
    for r in range(records):
        messages = [texts[(r * events_per_record + i) % len(texts)] for i in range(events_per_record)]
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
    count = 0
    for line in data.splitlines():
        record = json.loads(line)
        payload = json.loads(gzip.decompress(base64.b64decode(record["rawData"])))
        for log_event in payload["logEvents"]:
            json.loads(log_event["message"])
            count += 1
    return count


def recovery(body) -> int:
    reader = ObjectReader(CLOUDTRAIL, "bucket", "key", "etag", 0.0, remediations())
    return sum(o.sourcetype == "aws:cloudtrail" for o in reader.outputs(object_lines(body)))


def errors(path: Path) -> int:
    """Error events of one object (read again: the count is not part of the measured pass)."""
    reader = ObjectReader(CLOUDTRAIL, "bucket", "key", "etag", 0.0, remediations())
    with path.open("rb") as body:
        return sum(o.sourcetype == "aws:firehose:error" for o in reader.outputs(object_lines(body)))


def throughput(records: int) -> None:
    data, decompressed = failed_object(records)
    best_floor = best_recovery = float("inf")
    for _ in range(REPEAT):  # CPU time of this process: other processes on a shared machine do not count
        started = time.process_time()
        floor_events = floor(data)
        best_floor = min(best_floor, time.process_time() - started)
        started = time.process_time()
        recovered = recovery(io.BytesIO(data))
        best_recovery = min(best_recovery, time.process_time() - started)
    if recovered != floor_events:
        raise SystemExit(f"recovery found {recovered} events, the floor {floor_events}: they must agree")
    megabytes = decompressed / 1e6
    print(f"object: {records} records, {len(data) / 1e6:.1f} MB on S3, {megabytes:.1f} MB decompressed, "
          f"{recovered} events")
    print(f"floor    : {floor_events / best_floor:10.0f} events/s {megabytes / best_floor:7.1f} MB/s")
    print(f"recovery : {recovered / best_recovery:10.0f} events/s {megabytes / best_recovery:7.1f} MB/s")
    ratio = best_floor / best_recovery
    print(f"ratio recovery/floor: {ratio:.2f} (goal >= {GOAL_RATIO}: {'met' if ratio >= GOAL_RATIO else 'NOT met'})")


def write_gzip(path: Path, pieces) -> None:
    with gzip.open(path, "wb", compresslevel=9) as out:
        for piece in pieces:
            out.write(piece)


def hostile_objects(folder: Path) -> dict[str, Path]:
    one_line = folder / "one-1GiB-line.gz"
    write_gzip(one_line, (b"x" * (1 << 20) for _ in range(1024)))
    long_lines = folder / "3MiB-lines.gz"
    write_gzip(long_lines, (b"y" * (3 << 20) + b"\n" for _ in range(64)))
    whole = gzip.compress(failed_object(50)[0])
    truncated = folder / "truncated.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    x_lines = folder / "x-lines.gz"  # about 1 KB: half a million unreadable lines
    write_gzip(x_lines, (b"x\n" * 65536 for _ in range(8)))
    more_x_lines = folder / "more-x-lines.gz"  # about 4 KB: two million, over the line cap
    write_gzip(more_x_lines, (b"x\n" * 65536 for _ in range(32)))
    newlines = folder / "64MiB-newlines.gz"  # about 65 KB
    write_gzip(newlines, (b"\n" * (1 << 20) for _ in range(64)))
    return {"1 GiB line (hostile)": one_line, "3 MiB lines x 64 (hostile)": long_lines,
            "truncated gzip (hostile)": truncated, "524,288 x lines (hostile)": x_lines,
            "2,097,152 x lines (hostile)": more_x_lines, "64 MiB of newlines (hostile)": newlines}  # fmt: skip


def measure(path: Path) -> None:
    """Child process: read one object from a file; print peak memory beyond the baseline, in MB."""
    remediations()  # the lookup is read once per run, not per object
    with path.open("rb") as body:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset the peak (VmHWM) to the current size
        baseline = _status_kb("VmRSS")
        started = time.perf_counter()
        try:
            outcome = f"{recovery(body)} events, {errors(path)} error events"
        except ObjectError as error:
            outcome = f"ObjectError ({str(error)[:60]})"
        seconds = time.perf_counter() - started
        peak = _status_kb("VmHWM")
    print(json.dumps({"mb": (peak - baseline) / 1024, "baseline_mb": baseline / 1024, "seconds": seconds,
                      "outcome": outcome}))


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"/proc/self/status has no {field}")


def memory(records: int) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        objects = {}
        for count in (records, records * 4):
            objects[f"{count} records"] = folder / f"normal-{count}"
            objects[f"{count} records"].write_bytes(failed_object(count)[0])
        objects[f"{records * 4} records, gzip"] = folder / "normal.gz"
        objects[f"{records * 4} records, gzip"].write_bytes(gzip.compress(failed_object(records * 4)[0]))
        objects.update(hostile_objects(folder))
        worst = 0.0
        for name, path in objects.items():
            answer = subprocess.run([sys.executable, __file__, "--measure", str(path)], capture_output=True,
                                    text=True, check=True)  # fmt: skip
            result = json.loads(answer.stdout)
            worst = max(worst, result["mb"])
            print(f"peak memory {name:28} {path.stat().st_size / 1e6:6.1f} MB on S3: {result['mb']:5.1f} MB beyond "
                  f"the baseline ({result['baseline_mb']:.0f} MB), {result['seconds']:4.1f} s, {result['outcome']}")
        print(f"worst peak memory beyond the baseline: {worst:.1f} MB "
              f"(goal < {GOAL_MB} MB: {'met' if worst < GOAL_MB else 'NOT met'})")


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:
        measure(Path(sys.argv[2]))
        return
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    throughput(records)
    memory(records)


if __name__ == "__main__":
    main()
