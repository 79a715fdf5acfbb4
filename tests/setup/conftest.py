"""The setup handler with a fake splunkd and moto, as each setup test uses it."""

from __future__ import annotations

import logging
import warnings

import moto_shims  # noqa: F401 - CloudFormation resources moto lacks
import pytest
from cloudtrail_firehose.setup import delivery
from cloudtrail_firehose.setup.handler import SetupService
from fake_splunkd import FakeSplunkd
from moto import mock_aws
from setup_client import stored_token


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv("SPLUNK_HOME", str(tmp_path / "splunk"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    warnings.filterwarnings("ignore", message="Tried to parse")
    splunkd = FakeSplunkd()
    # The certificate check needs the internet; here it reports the host as unreachable.
    monkeypatch.setattr("cloudtrail_firehose.aws.preflight.check_hec_certificate",
                        lambda url: type("C", (), {"ok": True, "detail": f"{url} trusted (test)"})())  # fmt: skip
    with mock_aws():
        waited: list[tuple[float, set[str], str]] = []  # the wait before an old token goes, and what was there

        def sleep(seconds: float) -> None:
            waited.append((seconds, set(splunkd.hec_inputs), stored_token("cloudtrail-firehose/splunk-hec-token")))

        service = SetupService(tools=delivery.Tools(sleep=sleep))
        service.waited = waited
        yield service, splunkd
    splunkd.close()
    for handler in logging.getLogger("cloudtrail_firehose.setup").handlers:
        handler.close()
    logging.getLogger("cloudtrail_firehose.setup").handlers.clear()
