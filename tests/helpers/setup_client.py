"""Calling the setup handler as Splunk Web does, and the form a user fills in."""

from __future__ import annotations

import json
import time

import boto3
import moto_shims  # noqa: F401 - CloudFormation resources moto lacks
from cloudtrail_firehose.splunk.splunkd import Splunkd
from fake_splunkd import ADMIN_TOKEN

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
FORM = {
    "index": "aws_cloudtrail", "hec_url": "https://http-inputs-firehose-acme.splunkcloud.com", "region": "us-east-1",
    "aws_auth": "keys", "aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET, "filter_preset": "write-only",
}  # fmt: skip


def call(service, splunkd, method, path, payload=None, token=ADMIN_TOKEN, query=None):
    return service.handle(method, path, Splunkd(splunkd.url, token), payload, query)


def wait(service, splunkd, job: dict) -> dict:
    for _ in range(600):
        status, view = call(service, splunkd, "GET", f"jobs/{job['id']}")
        assert status == 200
        if view["state"] != "running":
            return view
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def stored_token(secret_arn: str) -> str:
    secret = boto3.client("secretsmanager", "us-east-1").get_secret_value(SecretId=secret_arn)
    return json.loads(secret["SecretString"])["hec_token"]
