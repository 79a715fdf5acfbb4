"""The HEC inputs that Firehose delivers to, one token per source (sources/: each unit's TokenSpec).

Splunk Cloud does not allow an app to ship [http://...] stanzas in inputs.conf (AppInspect check
check_inputs_conf_for_http_inputs), so the app creates the token at setup time through splunkd's
REST API (data/inputs/http) with these settings, on Splunk Cloud and Splunk Enterprise alike.
props.conf's [source::http:<name>] stanza depends on the spec's source, which every generation
of a source's token shares.

Token names, the same here and through ACS (splunk/acs.py): <name>, then one rotation after another
<name>-2, -3, ... Both name a token here (the data/inputs/http `name`, which becomes the inputs.conf
stanza [http://<name>]) and through ACS (HecSpec `name`, a string; ACS's own examples use hyphens).
Earlier versions named local rotations <name>_<n>: those are still recognised, so retiring and removing
clean up what they left.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudtrail_firehose.sources.unit import TokenSpec
from cloudtrail_firehose.splunk.splunkd import Splunkd, quote

REST_ENDPOINT = "services/data/inputs/http"


def hec_input_settings(spec: TokenSpec, index: str) -> dict[str, str]:
    """What the setup handler posts to data/inputs/http to create or update a source's token.

    Indexer acknowledgement is required by Firehose; the token only writes to the chosen index.
    """
    if not index or any(c.isspace() for c in index):
        raise ValueError(f"not an index name: {index!r}")
    return {"name": spec.name, "sourcetype": spec.sourcetype, "source": spec.source, "index": index,
            "indexes": index, "useACK": "1", "disabled": "0"}  # fmt: skip


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


def app_inputs(splunkd: Splunkd, spec: TokenSpec) -> list[HecInput]:
    """The spec's HEC inputs, oldest first; the last is the one Firehose should use."""
    tokens = {}
    for entry in splunkd.get(REST_ENDPOINT, count="0").get("entry", []):
        tokens[entry["name"].removeprefix("http://")] = entry["content"]["token"]
    return [HecInput(name, tokens[name]) for name in spec.oldest_first(tokens)]


def ensure_hec_input(splunkd: Splunkd, spec: TokenSpec, index: str, rotate: bool = False) -> HecInput:
    """Create or update the spec's newest HEC input and return it.

    rotate adds a new input (a new token) and leaves the older ones working: Firehose keeps using the
    old token until it refreshes the secret, so they are removed later (retire_hec_inputs).
    """
    update = {k: v for k, v in hec_input_settings(spec, index).items() if k != "name"}
    existing = app_inputs(splunkd, spec)
    name = existing[-1].name if existing else spec.name
    if existing and rotate:
        name = spec.next_name(i.name for i in existing)
    entry = splunkd.upsert(REST_ENDPOINT, name, update, {"name": name})["entry"][0]
    return HecInput(name, entry["content"]["token"])


def retire_hec_inputs(splunkd: Splunkd, spec: TokenSpec, keep: str | None) -> list[str]:
    """Delete the spec's HEC inputs other than keep (None: all of them; their tokens stop working);
    return their names."""
    retired = [i.name for i in app_inputs(splunkd, spec) if i.name != keep]
    for name in retired:
        splunkd.delete(f"{REST_ENDPOINT}/{quote(name)}")
    return retired
