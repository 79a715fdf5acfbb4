"""The HEC input that Firehose delivers to.

Splunk Cloud does not allow an app to ship [http://...] stanzas in inputs.conf (AppInspect check
check_inputs_conf_for_http_inputs), so the app creates the token at setup time through splunkd's
REST API (data/inputs/http) with these settings, on Splunk Cloud and Splunk Enterprise alike.
props.conf's [source::http:cloudtrail_firehose] stanza depends on SOURCE.
"""

from __future__ import annotations

INPUT_NAME = "cloudtrail_firehose"
SOURCETYPE = "aws:cloudtrail"
SOURCE = f"http:{INPUT_NAME}"
REST_ENDPOINT = "data/inputs/http"


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
