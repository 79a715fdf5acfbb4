"""The Lambda processor's response against Lambda's 6 MB and a put-back that fails in any way botocore can.

"Lambda quotas": Invocation payload (request and response) 6 MB each for synchronous (6,291,456 bytes).
"Required parameters for data transformation" (Amazon Data Firehose): every recordId comes back with a result.
"""

from __future__ import annotations

import json
import logging

import lambda_cases as cases
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.parsers import ResponseParserError
from cloudtrail_firehose.firehose import lambda_putback
from cloudtrail_firehose.firehose.lambda_processor import Options, handler, process
from lambda_records import big_record

SIX_MB = 6 * 1024 * 1024


@pytest.mark.parametrize(("count", "id_length"), [(60_000, 56), (100_000, 20)])
@pytest.mark.slow
def test_many_empty_records_get_a_response_within_6_mb(count, id_length):
    request = {"records": [{"recordId": str(i).rjust(id_length, "0"), "data": ""} for i in range(count)]}
    response = process(request, Options(), reingest=lambda pieces: [True] * len(pieces))
    assert len(json.dumps(response)) <= SIX_MB
    assert cases.problems(request, response, SIX_MB) == []  # each recordId once, in order, with a result
    assert {r["result"] for r in response["records"]} == {"Dropped"}  # an empty record holds nothing to deliver


class FailingFirehose:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def put_record_batch(self, **_) -> dict:
        if self.error is not None:
            raise self.error
        return {"FailedPutCount": 0}  # an answer without its RequestResponses list


@pytest.mark.parametrize("error", [
    ResponseParserError("Unable to parse response (syntax error), invalid XML received"),
    EndpointConnectionError(endpoint_url="https://firehose.us-east-1.amazonaws.com"),
    ClientError({"Error": {"Code": "ServiceUnavailableException", "Message": "busy"}}, "PutRecordBatch"),
    None,
], ids=["ResponseParserError", "BotoCoreError", "ClientError", "no RequestResponses"])  # fmt: skip
def test_a_put_back_that_fails_fails_only_those_records(monkeypatch, caplog, error):
    monkeypatch.setitem(lambda_putback._FIREHOSE_CLIENTS, "us-east-1", FailingFirehose(error))
    event = {"deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/cloudtrail-firehose",
             "records": [big_record(f"r{i}") for i in range(4)]}  # about 16 MB of output: some must go back
    with caplog.at_level(logging.ERROR, logger="cloudtrail_firehose.lambda"):
        response = handler(event)
    assert cases.problems(event, response, SIX_MB) == []
    results = [r["result"] for r in response["records"]]
    assert "Ok" in results
    assert "ProcessingFailed" in results  # the ones that could not go back reach the failed-delivery bucket
    assert "Dropped" not in results  # nothing is dropped that was not put back
    assert "PutRecordBatch into cloudtrail-firehose failed" in caplog.text
