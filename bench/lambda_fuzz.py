"""Hostile invocations of the Lambda processor: how many raise or get an invalid answer.

    PYTHONPATH=package .venv/bin/python bench/lambda_fuzz.py [cases]     (default 100,000)

The cases come from tests/helpers/lambda_cases.py (the property tests' strategies); half go through the
entry point `handler` (6 MB limit, a stand-in Firehose client for put-backs), half through `process`
with small response limits and a put-back that may refuse, so the deferred paths run too. A case
fails when the call raises or when tests/helpers/lambda_cases.problems finds the answer invalid. Prints the
count of cases and of failures, by kind. Goal: 0 failures.
"""

from __future__ import annotations

import collections
import logging
import sys
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / p) for p in ("package", "tests", "tests/standins", "tests/helpers")]

import lambda_cases as cases  # noqa: E402
from cloudtrail_firehose.firehose import lambda_processor, lambda_putback  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


class StandInFirehose:
    """PutRecordBatch as Firehose answers it: one RequestResponses entry per record."""

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict]) -> dict:  # noqa: N803
        return {"FailedPutCount": 0, "RequestResponses": [{"RecordId": str(i)} for i, _ in enumerate(Records)]}


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    logging.disable(logging.CRITICAL)  # each bad record logs a warning: by design, and too many to print
    failures: collections.Counter[str] = collections.Counter()
    examples = {}
    ran = 0

    @settings(max_examples=total, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.booleans(), cases.requests, cases.options, st.integers(0, 4000), st.sampled_from([None, True, False]))
    def case(through_handler, request, options, extra, accept):
        nonlocal ran
        ran += 1
        try:
            if through_handler:
                limit = lambda_processor.RESPONSE_LIMIT
                response = lambda_processor.handler(request)
                mode = "raw"
            else:
                count = len(request["records"]) if isinstance(request, dict) and isinstance(
                    request.get("records"), list) else 0  # fmt: skip
                limit = 400 * count + 15 + extra
                reingest = None if accept is None else (lambda pieces: [accept] * len(pieces))
                response = lambda_processor.process(request, options, reingest, limit=limit)
                mode = options.mode
            wrong = cases.problems(request, response, limit, mode)
        except Exception as error:  # noqa: BLE001 - counting every kind of raise is this script's job
            wrong = [f"raised {type(error).__name__}: {error}"[:160]]
        for problem in wrong:
            key = problem.split(":")[0]
            failures[key] += 1
            examples.setdefault(key, (problem, repr(request)[:300]))

    with mock.patch.dict(lambda_putback._FIREHOSE_CLIENTS, {"us-east-1": StandInFirehose()}):
        case()
    print(f"cases: {ran}")
    print(f"failures: {sum(failures.values())}")
    for key, count in failures.most_common():
        problem, request = examples[key]
        print(f"  {count:6d}  {problem}\n          e.g. {request}")


if __name__ == "__main__":
    main()
