"""The index check asks the indexers, so an index that exists only there is accepted, and says exactly
what to verify when they cannot be asked; against tests/fake_splunkd.py with indexer peers."""

from __future__ import annotations

import pytest
from cloudtrail_firehose.splunk.hec import ensure_hec_enabled
from cloudtrail_firehose.splunk.indexes import check_index
from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError
from fake_splunkd import ADMIN_TOKEN, FakeSplunkd


@pytest.fixture
def fake():
    server = FakeSplunkd()
    server.indexes = {"main", "_internal"}  # a search head: the CloudTrail index is not defined here
    server.peers = {"idx1": {"main", "aws_cloudtrail"}, "idx2": {"main", "aws_cloudtrail"}}
    yield server
    server.close()


@pytest.fixture
def splunkd(fake):
    return Splunkd(fake.url, ADMIN_TOKEN)


def test_an_index_only_on_the_indexers_is_found(splunkd):
    assert not splunkd.exists("services/data/indexes/aws_cloudtrail")  # the search head alone would refuse it
    result = check_index(splunkd, "aws_cloudtrail")
    assert (result.status, result.ok, result.servers) == ("found", True, ("idx1", "idx2"))


def test_an_index_nowhere_is_missing_with_what_to_create(splunkd):
    result = check_index(splunkd, "cloudtrail")
    assert (result.status, result.ok) == ("missing", False)
    assert "none of the 3 Splunk servers" in result.message
    assert "manager-apps" in result.message


def test_an_index_disabled_on_the_indexers_is_named(fake, splunkd):
    fake.disabled_on_peers = {("idx1", "aws_cloudtrail"), ("idx2", "aws_cloudtrail")}
    result = check_index(splunkd, "aws_cloudtrail")
    assert (result.status, result.ok) == ("missing", False)
    assert "disabled on idx1, idx2" in result.message
    fake.disabled_on_peers = {("idx2", "aws_cloudtrail")}
    assert check_index(splunkd, "aws_cloudtrail").servers == ("idx1",)


def test_a_single_instance_finds_its_own_index(fake, splunkd):
    fake.peers = {}
    fake.indexes.add("aws_cloudtrail")
    assert check_index(splunkd, "aws_cloudtrail").servers == ("sh1",)


def test_when_the_indexers_cannot_be_asked_it_warns_what_to_verify(fake, splunkd):
    fake.rest_allowed = False
    result = check_index(splunkd, "aws_cloudtrail")
    assert (result.status, result.ok) == ("unknown", True)  # a warning, never a refusal
    assert "capability to run the rest command" in result.message
    assert "| rest splunk_server=* /services/data/indexes/aws_cloudtrail" in result.message
    assert "allowed indexes include aws_cloudtrail" in result.message
    fake.indexes.add("aws_cloudtrail")
    assert "it exists on this instance, but" in check_index(splunkd, "aws_cloudtrail").message


def test_a_splunkd_without_local_hec_cannot_hold_the_token(fake, splunkd):
    fake.local_hec = False
    with pytest.raises(SplunkdError) as raised:
        ensure_hec_enabled(splunkd)
    assert raised.value.status == 404
