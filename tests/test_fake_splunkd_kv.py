"""The fake splunkd's KV store answers as "KV store endpoint descriptions" and "KV store endpoint
examples" (Splunk REST API Reference) say storage/collections/data does: JSON documents in and out,
a generated _key when the document has none, a `query` filter, 404 for an unknown key, and
splunkd's 503 where the KV store is disabled."""

from __future__ import annotations

import json

import pytest
from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError
from fake_splunkd import ADMIN_TOKEN, APP_NS, FakeSplunkd

DATA = f"{APP_NS}/storage/collections/data/cloudtrail_firehose_jobs"


@pytest.fixture
def client():
    fake = FakeSplunkd()
    yield Splunkd(fake.url, ADMIN_TOKEN), fake
    fake.close()


def test_an_insert_returns_the_generated_key_and_the_document_reads_back(client):
    splunkd, _ = client
    key = splunkd.send_json("POST", DATA, {"kind": "deploy", "state": "running"})["_key"]
    assert key
    assert splunkd.send_json("GET", f"{DATA}/{key}") | {"_user": "nobody"} == {
        "_key": key,
        "_user": "nobody",
        "kind": "deploy",
        "state": "running",
    }
    assert splunkd.send_json("POST", DATA, {"_key": "mine", "kind": "check"})["_key"] == "mine"


def test_a_post_to_a_key_replaces_the_whole_document(client):
    splunkd, _ = client
    key = splunkd.send_json("POST", DATA, {"kind": "deploy", "state": "running", "error": ""})["_key"]
    splunkd.send_json("POST", f"{DATA}/{key}", {"state": "failed"})
    document = splunkd.send_json("GET", f"{DATA}/{key}")
    assert document["state"] == "failed"
    assert "kind" not in document


def test_the_query_parameter_filters_by_equality(client):
    splunkd, _ = client
    for state in ("running", "succeeded", "running"):
        splunkd.send_json("POST", DATA, {"state": state})
    found = splunkd.send_json("GET", DATA, query=json.dumps({"state": "running"}))
    assert [d["state"] for d in found] == ["running", "running"]
    assert len(splunkd.send_json("GET", DATA)) == 3


def test_an_unknown_key_or_collection_is_404_and_delete_removes(client):
    splunkd, _ = client
    with pytest.raises(SplunkdError) as unknown:
        splunkd.send_json("GET", f"{DATA}/nothing")
    assert unknown.value.status == 404
    with pytest.raises(SplunkdError) as collection:
        splunkd.send_json("GET", f"{APP_NS}/storage/collections/data/undeclared")
    assert collection.value.status == 404
    key = splunkd.send_json("POST", DATA, {"state": "running"})["_key"]
    splunkd.send_json("DELETE", f"{DATA}/{key}")
    with pytest.raises(SplunkdError):
        splunkd.send_json("GET", f"{DATA}/{key}")


def test_a_disabled_kv_store_answers_503(client):
    splunkd, fake = client
    fake.kv_available = False
    with pytest.raises(SplunkdError) as disabled:
        splunkd.send_json("GET", DATA)
    assert disabled.value.status == 503
    assert "KV Store is disabled" in disabled.value.message
