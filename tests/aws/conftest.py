"""moto with test credentials, for the AWS tests."""

from __future__ import annotations

import warnings

import boto3
import moto_shims  # noqa: F401 - registers the CloudFormation resources moto lacks
import pytest
from deployments import REGION
from moto import mock_aws


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    warnings.filterwarnings("ignore", message="Tried to parse")
    with mock_aws():
        yield boto3.Session(region_name=REGION)
