"""One error type for a failure the user can act on (cloudtrail_firehose/errors.py): the AWS side raises
PipelineError, the Splunk side SplunkError, both ActionableError and neither the other, so a missing
index or token is never told as an AWS failure, and the setup page shows either as it is."""

from __future__ import annotations

import pytest
from cloudtrail_firehose.aws.errors import PipelineError
from cloudtrail_firehose.errors import ActionableError
from cloudtrail_firehose.setup import delivery
from cloudtrail_firehose.splunk.errors import SplunkError
from cloudtrail_firehose.splunk.splunkd import Splunkd
from fake_splunkd import ADMIN_TOKEN, FakeSplunkd


@pytest.fixture
def splunkd():
    fake = FakeSplunkd()
    yield Splunkd(fake.url, ADMIN_TOKEN)
    fake.close()


def test_each_side_has_its_own_actionable_error():
    assert issubclass(PipelineError, ActionableError)
    assert issubclass(SplunkError, ActionableError)
    assert not issubclass(SplunkError, PipelineError)
    assert not issubclass(PipelineError, SplunkError)


def test_a_missing_index_is_a_splunk_side_error(splunkd):
    with pytest.raises(SplunkError, match="index no_such_index does not exist") as raised:
        delivery.require_index(splunkd, "no_such_index", lambda line: None)
    assert not isinstance(raised.value, PipelineError)


def test_a_token_not_stored_is_a_splunk_side_error(splunkd):
    config = {"delivery": "existing", "index": "main", "hec_url": "https://hec.example.com"}
    with pytest.raises(SplunkError, match="no hec_token is stored; enter it on the setup page") as raised:
        delivery.delivery_for(config).prepare(splunkd, False, lambda line: None)
    assert not isinstance(raised.value, PipelineError)

