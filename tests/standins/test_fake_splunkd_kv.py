"""The fake splunkd's KV store answers as "KV store endpoint descriptions" and "KV store endpoint
examples" (Splunk REST API Reference) say storage/collections/data does: JSON documents in and out,
a generated _key when the document has none, a `query` filter, 404 for an unknown key, and
splunkd's 503 where the KV store is disabled."""

from __future__ import annotations

import json
import time

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


def test_an_insert_with_a_key_already_there_is_409_and_changes_nothing(client):
    """"About the app key value store": _key is the unique ID of each record. splunkd refuses a second
    insert with the same _key: HTTP 409 "A document with the same key and user already exists." (as
    add-ons meet it, e.g. TA-jira-service-desk-simple-addon issue #77, OpenCTI splunk-add-on issue #20).
    Setup's deploy/remove lock relies on this: of members inserting one _key, exactly one wins."""
    splunkd, fake = client
    splunkd.send_json("POST", DATA, {"_key": "lock-1", "job": "first"})
    with pytest.raises(SplunkdError) as again:
        splunkd.send_json("POST", DATA, {"_key": "lock-1", "job": "second"})
    assert again.value.status == 409
    assert "A document with the same key and user already exists" in again.value.message
    assert fake.kv["cloudtrail_firehose_jobs"]["lock-1"]["job"] == "first"
    splunkd.send_json("POST", f"{DATA}/lock-1", {"job": "updated"})  # a POST to the key is an update
    assert splunkd.send_json("GET", f"{DATA}/lock-1")["job"] == "updated"


def test_sort_and_limit_pick_the_highest(client):
    splunkd, _ = client
    for generation in (2, 10, 1):
        splunkd.send_json("POST", DATA, {"_key": f"g{generation}", "started": generation})
    assert [d["_key"] for d in splunkd.send_json("GET", DATA, sort="started:-1", limit="1")] == ["g10"]
    assert [d["_key"] for d in splunkd.send_json("GET", DATA, sort="started")] == ["g1", "g2", "g10"]


def test_a_cluster_member_writes_to_the_captain_and_reads_a_copy_that_lags_within_bounds(client):
    """"About the app key value store": on a search head cluster a write is delegated to the KV store
    captain; reads are served locally, so a member may read an older state for a while."""
    captain_client, captain = client
    member = captain.member("sh2", lag_writes=2, lag_seconds=0.3)
    splunkd = Splunkd(member.url, ADMIN_TOKEN)
    seen = []
    for n in range(6):
        splunkd.send_json("POST", DATA, {"_key": f"d{n}"})
        seen.append(len(splunkd.send_json("GET", DATA)))
    assert len(captain.kv["cloudtrail_firehose_jobs"]) == 6  # every write is on the captain at once
    assert all(n + 1 - 2 <= count <= n + 1 for n, count in enumerate(seen))  # at most 2 writes behind
    assert seen == sorted(seen)  # a replica never goes back
    with pytest.raises(SplunkdError) as duplicate:  # the captain decides, whatever the copy shows
        splunkd.send_json("POST", DATA, {"_key": "d5"})
    assert duplicate.value.status == 409
    time.sleep(0.35)
    assert len(splunkd.send_json("GET", DATA)) == 6  # after lag_seconds every write is there
    roles = Splunkd(member.url, ADMIN_TOKEN).get("services/server/info")["entry"][0]["content"]["server_roles"]
    assert "shc_member" in roles
    assert "shc_captain" in captain_client.get("services/server/info")["entry"][0]["content"]["server_roles"]
