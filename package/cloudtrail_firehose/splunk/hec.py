"""The HEC input that Firehose delivers to.

Splunk Cloud does not allow an app to ship [http://...] stanzas in inputs.conf (AppInspect check
check_inputs_conf_for_http_inputs), so the app creates the token at setup time through splunkd's
REST API (data/inputs/http) with these settings, on Splunk Cloud and Splunk Enterprise alike.
props.conf's [source::http:cloudtrail_firehose] stanza depends on SOURCE, which every generation
of the input shares (a rotation adds cloudtrail_firehose_<n>).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def ensure_hec_enabled(splunkd: Splunkd) -> bool:
    """Turn on HTTP Event Collector globally if it is off; True when it had to."""
    entry = splunkd.get(f"{REST_ENDPOINT}/http")["entry"][0]
    if str(entry["content"].get("disabled", "0")).lower() in ("1", "true"):
        splunkd.post(f"{REST_ENDPOINT}/http/enable", {})
        return True
    return False


@dataclass(frozen=True)
class HecInput:
    name: str
    token: str


def _generation(name: str) -> int | None:
    """cloudtrail_firehose is the first input; each rotation adds cloudtrail_firehose_<n+1>."""
    if name == INPUT_NAME:
        return 1
    match = re.fullmatch(re.escape(INPUT_NAME) + r"_(\d+)", name)
    return int(match.group(1)) if match else None


def app_inputs(splunkd: Splunkd) -> list[HecInput]:
    """The app's HEC inputs, oldest first; the last is the one Firehose should use."""
    found = []
    for entry in splunkd.get(REST_ENDPOINT, count="0").get("entry", []):
        name = entry["name"].removeprefix("http://")
        generation = _generation(name)
        if generation is not None:
            found.append((generation, HecInput(name, entry["content"]["token"])))
    return [hec_input for _, hec_input in sorted(found, key=lambda pair: pair[0])]


def ensure_hec_input(splunkd: Splunkd, index: str, rotate: bool = False) -> HecInput:
    """Create or update the app's newest HEC input and return it.

    rotate adds a new input (a new token) and leaves the older ones working: Firehose keeps using the
    old token until it refreshes the secret, so they are removed later (retire_hec_inputs).
    """
    update = {k: v for k, v in hec_input_settings(index).items() if k != "name"}
    existing = app_inputs(splunkd)
    name = existing[-1].name if existing else INPUT_NAME
    if existing and rotate:
        name = f"{INPUT_NAME}_{_generation(name) + 1}"
    entry = splunkd.upsert(REST_ENDPOINT, name, update, {"name": name})["entry"][0]
    return HecInput(name, entry["content"]["token"])


def retire_hec_inputs(splunkd: Splunkd, keep: str | None) -> list[str]:
    """Delete the app's HEC inputs other than keep (None: all of them; their tokens stop working);
    return their names."""
    retired = [i.name for i in app_inputs(splunkd) if i.name != keep]
    for name in retired:
        splunkd.delete(f"{REST_ENDPOINT}/{quote(name)}")
    return retired
