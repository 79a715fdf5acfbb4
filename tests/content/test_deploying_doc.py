"""docs/deploying.md says what the code does: every Firehose error code the app maps has its row, the
Firehose address table is made of valid blocks, and the ACS and HEC facts match the modules."""

from __future__ import annotations

import csv
import ipaddress
import re
from pathlib import Path

from cloudtrail_firehose.setup import jobs
from cloudtrail_firehose.sources import CLOUDTRAIL
from cloudtrail_firehose.splunk import acs, cloud_tokens

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "deploying.md").read_text(encoding="utf-8")


def test_every_mapped_delivery_error_has_a_row():
    with (ROOT / "lookups" / "cloudtrail_firehose_delivery_errors.csv").open(encoding="utf-8") as rows:
        codes = [row["errorCode"] for row in csv.DictReader(rows)]
    assert codes
    assert [c for c in codes if f"| `{c}` |" not in DOC] == []


def test_the_firehose_address_table_holds_valid_ipv4_blocks():
    blocks = re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}/\d{1,2}\b", DOC.split("## Firehose source addresses")[1])
    assert len(blocks) >= 40
    for block in blocks:
        assert ipaddress.ip_network(block).version == 4  # strict: no host bits set


def test_the_documented_token_settings_are_the_code_s():
    assert f"source = {CLOUDTRAIL.token.source}" in DOC
    assert f"sourcetype = {CLOUDTRAIL.token.sourcetype}" in DOC
    assert cloud_tokens.firehose_endpoint("stack").replace("stack", "<stack>") in DOC
    assert acs.COLLECTION in DOC


def test_the_documented_job_store_is_the_code_s():
    text = " ".join(DOC.split())
    assert f"collection `{jobs.COLLECTION.rsplit('/', 1)[1]}`" in text
    assert f"[{jobs.COLLECTION.rsplit('/', 1)[1]}]" in (ROOT / "default" / "collections.conf").read_text()
    assert f"the last {jobs.MAX_STORED_LINES} lines are kept" in text
    assert f"heartbeat at least every {int(jobs.HEARTBEAT)} seconds" in text
    assert f"seen the same `beat` for more than {int(jobs.STALE_AFTER // 60)} minutes by its own clock" in text
    assert f"`{jobs.LOCKS.rsplit('/', 1)[1]}`" in text


def test_victoria_syncs_props_to_its_indexers_as_the_doc_says():
    # What Splunk Cloud Victoria syncs to its indexers, as AppInspect's Victoria check states it.
    from splunk_appinspect.default_checks.check_for_indexer_synced_locals import CheckForIndexerSyncedConfigs as Rule

    synced = set(Rule.INDEXER_SYNCED_LOCALS) - set(Rule.SELF_SERVICE_CONFIGS)
    assert {"props", "transforms"} <= synced
    assert "inputs" not in synced
    assert "Cloud syncs an app's `props.conf` and `transforms.conf`" in DOC
    assert "but not its `default/inputs.conf`" in DOC
