"""The index check asks the indexers, so an index that exists only there is accepted, and says exactly
what to verify when they cannot be asked; against tests/standins/fake_splunkd.py with indexer peers."""

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


def test_an_index_on_every_indexer_is_found_and_the_message_names_who_was_asked(splunkd):
    result = check_index(splunkd, "aws_cloudtrail")
    assert (result.status, result.servers) == ("found", ("idx1", "idx2"))
    assert "asked the 2 indexers (search peers) this search head searches: idx1, idx2" in result.message


def test_an_index_only_on_the_search_head_is_missing_when_there_are_indexers(fake, splunkd):
    fake.indexes.add("aws_cloudtrail")
    fake.peers = {"idx1": {"main"}, "idx2": {"main"}}
    result = check_index(splunkd, "aws_cloudtrail")
    assert (result.status, result.ok, result.servers) == ("missing", False, ())
    assert "exists on the search head (sh1) but not on the indexers" in result.message
    assert "asked the 2 indexers (search peers) this search head searches: idx1, idx2" in result.message
    assert "manager-apps" in result.message


def test_an_index_nowhere_is_missing_with_what_to_create(splunkd):
    result = check_index(splunkd, "cloudtrail")
    assert (result.status, result.ok) == ("missing", False)
    assert "exists on none of the 2 indexers (search peers) this search head searches: idx1, idx2" in result.message
    assert "manager-apps" in result.message


def test_an_indexer_without_the_index_or_down_is_named(fake, splunkd):
    fake.peers["idx3"] = {"main"}
    fake.peers["idx4"] = {"main", "aws_cloudtrail"}
    fake.peers_down = {"idx4"}
    result = check_index(splunkd, "aws_cloudtrail")
    assert (result.status, result.servers) == ("found", ("idx1", "idx2"))
    assert "missing on idx3: create it there too" in result.message
    assert "idx4 did not answer" in result.message
    fake.peers_down = {"idx1", "idx2", "idx3", "idx4"}
    result = check_index(splunkd, "aws_cloudtrail")
    assert (result.status, result.ok) == ("unknown", True)
    assert "none of the 4 indexers" in result.message
    assert "answered" in result.message


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
    result = check_index(splunkd, "aws_cloudtrail")
    assert (result.status, result.servers) == ("found", ("sh1",))
    assert "sh1, a standalone instance (no search peers)" in result.message
    missing = check_index(splunkd, "cloudtrail")
    assert (missing.status, missing.ok) == ("missing", False)
    assert "does not exist on sh1, a standalone instance" in missing.message


def test_when_the_peers_cannot_be_listed_every_answer_counts_as_before(fake, splunkd):
    fake.peers_listable = False
    fake.indexes.add("aws_cloudtrail")
    fake.peers = {"idx1": {"main"}, "idx2": {"main"}}
    result = check_index(splunkd, "aws_cloudtrail")
    assert (result.status, result.servers) == ("found", ("sh1",))
    assert "list of search peers could not be read (permission denied)" in result.message
    missing = check_index(splunkd, "cloudtrail")
    assert (missing.status, missing.ok) == ("missing", False)
    assert "none of the 3 Splunk servers this search head searches (idx1, idx2, sh1)" in missing.message


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
