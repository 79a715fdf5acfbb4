"""Whether the chosen index exists where Firehose's data is indexed, in any deployment.

In a distributed deployment indexes live on the indexers, not on the search head that runs setup, so
splunkd's own data/indexes cannot answer. The search head asks every server it searches with
`| rest splunk_server=* /services/data/indexes` (the rest command fans out to the search peers,
"rest" in the Search Reference; data/indexes in the REST API Reference). When that cannot be asked
(no rest capability, a search error) the result is a warning that says exactly what to verify, never
a refusal: an index that exists on the indexers must not stop a deploy.

setup/delivery.py runs it in Check and Deploy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError, quote

SEARCH = "| rest splunk_server=* /services/data/indexes count=0 datatype=all | fields splunk_server title disabled"


@dataclass(frozen=True)
class IndexCheck:
    status: str  # found | missing | unknown
    message: str
    servers: tuple[str, ...] = ()  # where the index exists and is enabled

    @property
    def ok(self) -> bool:
        """Only a definite "missing" stops a deploy; "unknown" is shown as a warning."""
        return self.status != "missing"


def check_index(splunkd: Splunkd, index: str) -> IndexCheck:
    if not index or any(c.isspace() for c in index):
        raise ValueError(f"not an index name: {index!r}")
    try:
        answer = splunkd.post("services/search/jobs", {"search": SEARCH, "exec_mode": "oneshot", "count": "0",
                                                       "output_mode": "json"})  # fmt: skip
        rows = [r for r in answer.get("results", []) if isinstance(r, dict)]
    except SplunkdError as error:
        return _unknown(splunkd, index, f"the indexers could not be asked ({error.message})")
    servers = sorted({str(r.get("splunk_server", "")) for r in rows if r.get("splunk_server")})
    if not servers:
        return _unknown(splunkd, index, "the search over the indexers returned nothing")
    enabled = sorted({str(r["splunk_server"]) for r in rows if r.get("title") == index and not _disabled(r)})
    disabled = sorted({str(r["splunk_server"]) for r in rows if r.get("title") == index and _disabled(r)})
    if enabled:
        note = f" (disabled on {', '.join(disabled)})" if disabled else ""
        return IndexCheck("found", f"index {index} exists on {', '.join(enabled)}{note}.", tuple(enabled))
    if disabled:
        return IndexCheck("missing", f"index {index} is disabled on {', '.join(disabled)}; enable it there "
                                     "(Settings > Indexes, or disabled = 0 in its indexes.conf stanza).")
    return IndexCheck("missing", (
        f"index {index} exists on none of the {len(servers)} Splunk servers this search head searches "
        f"({', '.join(servers)}). Create it on the indexers (indexer cluster: an [{index}] stanza in indexes.conf "
        "of an app in the cluster manager's manager-apps, then push the bundle; Splunk Cloud: Settings > Indexes "
        "or ACS), then run the check again."
    ))  # fmt: skip


def _unknown(splunkd: Splunkd, index: str, why: str) -> IndexCheck:
    try:
        local = splunkd.exists(f"services/data/indexes/{quote(index)}")
    except SplunkdError:
        local = False
    here = "it exists on this instance, but " if local else ""
    return IndexCheck("unknown", (
        f"Could not confirm index {index}: {why}; {here}in a distributed deployment the index must exist on every "
        f"indexer that receives Firehose's data. Verify it there: run {json.dumps(_verify_search(index))} as an "
        "admin, or on the cluster manager check indexes.conf in manager-apps; also check that the HEC token's "
        f"allowed indexes include {index}."
    ), ("local",) if local else ())  # fmt: skip


def _verify_search(index: str) -> str:
    return f"| rest splunk_server=* /services/data/indexes/{index} | fields splunk_server title disabled"


def _disabled(row: dict) -> bool:
    return str(row.get("disabled", "0")).lower() in ("1", "true")
