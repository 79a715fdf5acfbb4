"""The HEC input that Firehose delivers to.

Splunk Cloud does not allow an app to ship [http://...] stanzas in inputs.conf (AppInspect check
check_inputs_conf_for_http_inputs), so the app creates the token at setup time through splunkd's
REST API (data/inputs/http) with these settings, on Splunk Cloud and Splunk Enterprise alike.
props.conf's [source::http:cloudtrail_firehose] stanza depends on SOURCE.
"""

from __future__ import annotations

from cloudtrail_firehose.splunk.splunkd import Splunkd, quote

INPUT_NAME = "cloudtrail_firehose"
SOURCETYPE = "aws:cloudtrail"
SOURCE = f"http:{INPUT_NAME}"
REST_ENDPOINT = "services/data/inputs/http"


def hec_input_settings(index: str) -> dict[str, str]:
    """What the setup handler posts to data/inputs/http to create or update the token.

    Indexer acknowledgement is required by Firehose; the token only writes to the chosen index.
    """
    if not index or any(c.isspace() for c in index):
        raise ValueError(f"not an index name: {index!r}")
    return {
        "name": INPUT_NAME,
        "sourcetype": SOURCETYPE,
        "source": SOURCE,
        "index": index,
        "indexes": index,
        "useACK": "1",
        "disabled": "0",
    }


def index_exists(splunkd: Splunkd, index: str) -> bool:
    return splunkd.exists(f"services/data/indexes/{quote(index)}")


def ensure_hec_enabled(splunkd: Splunkd) -> bool:
    """Turn on HTTP Event Collector globally if it is off; True when it had to."""
    entry = splunkd.get(f"{REST_ENDPOINT}/http")["entry"][0]
    if str(entry["content"].get("disabled", "0")).lower() in ("1", "true"):
        splunkd.post(f"{REST_ENDPOINT}/http/enable", {})
        return True
    return False


def ensure_hec_input(splunkd: Splunkd, index: str, rotate: bool = False) -> str:
    """Create or update the app's HEC input; return its token. The same token is kept unless rotate."""
    settings = hec_input_settings(index)
    path = f"{REST_ENDPOINT}/{quote(INPUT_NAME)}"
    if rotate and splunkd.exists(path):
        splunkd.delete(path)
    update = {k: v for k, v in settings.items() if k != "name"}
    entry = splunkd.upsert(REST_ENDPOINT, INPUT_NAME, update, {"name": INPUT_NAME})["entry"][0]
    return entry["content"]["token"]
