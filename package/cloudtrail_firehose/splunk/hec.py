"""The HEC input that Firehose delivers to.

Splunk Cloud does not allow an app to ship [http://...] stanzas in inputs.conf (AppInspect check
check_inputs_conf_for_http_inputs), so the app creates the token at setup time through splunkd's
REST API (data/inputs/http) with these settings, on Splunk Cloud and Splunk Enterprise alike.
props.conf's [source::http:cloudtrail_firehose] stanza depends on SOURCE, which every generation
of the token shares.

Token names, the same here and through ACS (splunk/acs.py): cloudtrail_firehose, then one rotation after
another cloudtrail_firehose-2, -3, ... Both name a token here (the data/inputs/http `name`, which
becomes the inputs.conf stanza [http://<name>]) and through ACS (HecSpec `name`, a string; ACS's own
examples use hyphens). Earlier versions named local rotations cloudtrail_firehose_<n>: those are still
recognised, so retiring and removing clean up what they left.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


ROTATED = re.compile(re.escape(INPUT_NAME) + r"[-_]([0-9]+)")  # -<n>, and _<n> from earlier versions


def generation(name: str) -> int | None:
    """Which token of the app a name is (1 for cloudtrail_firehose), or None for a token not the app's."""
    if name == INPUT_NAME:
        return 1
    match = ROTATED.fullmatch(name)
    return int(match.group(1)) if match else None


def oldest_first(names: Iterable[str]) -> list[str]:
    """The app's token names among names, oldest first: the last is the one Firehose should use."""
    return sorted((n for n in names if generation(n) is not None), key=lambda n: (generation(n), n))


def next_name(names: Iterable[str]) -> str:
    """The name a rotation gives the new token: one generation past the newest of the app's names."""
    newest = max((generation(n) or 0 for n in names), default=0)
    return INPUT_NAME if newest == 0 else f"{INPUT_NAME}-{newest + 1}"


def app_inputs(splunkd: Splunkd) -> list[HecInput]:
    """The app's HEC inputs, oldest first; the last is the one Firehose should use."""
    tokens = {}
    for entry in splunkd.get(REST_ENDPOINT, count="0").get("entry", []):
        tokens[entry["name"].removeprefix("http://")] = entry["content"]["token"]
    return [HecInput(name, tokens[name]) for name in oldest_first(tokens)]


def ensure_hec_input(splunkd: Splunkd, index: str, rotate: bool = False) -> HecInput:
    """Create or update the app's newest HEC input and return it.

    rotate adds a new input (a new token) and leaves the older ones working: Firehose keeps using the
    old token until it refreshes the secret, so they are removed later (retire_hec_inputs).
    """
    update = {k: v for k, v in hec_input_settings(index).items() if k != "name"}
    existing = app_inputs(splunkd)
    name = existing[-1].name if existing else INPUT_NAME
    if existing and rotate:
        name = next_name(i.name for i in existing)
    entry = splunkd.upsert(REST_ENDPOINT, name, update, {"name": name})["entry"][0]
    return HecInput(name, entry["content"]["token"])


def retire_hec_inputs(splunkd: Splunkd, keep: str | None) -> list[str]:
    """Delete the app's HEC inputs other than keep (None: all of them; their tokens stop working);
    return their names."""
    retired = [i.name for i in app_inputs(splunkd) if i.name != keep]
    for name in retired:
        splunkd.delete(f"{REST_ENDPOINT}/{quote(name)}")
    return retired
