"""Whether the chosen index exists where Firehose's data is indexed, in any deployment.

Firehose delivers to HEC, and in a distributed deployment the events are indexed on the indexers, not
on the search head that runs setup; an index that exists only on the search head does not help. So the
check asks the indexers:

- `services/search/distributed/peers` lists this search head's search peers (the indexers; an indexer
  cluster adds its peers there itself). Each entry's `peerName` is the peer's serverName, which is what
  the `splunk_server` field of a distributed search reports ("Manage distributed server names",
  Distributed Search manual; "View search peer status in Settings" for what the list holds).
- `| rest splunk_server=* /services/data/indexes` answers from every search peer and from the search
  head itself ("rest", Search Reference; `splunk_server=local` is the search head, "Search across one
  or more distributed search peers", Search Manual). Only the peers' rows are judged when there are
  peers; the search head's own answer counts only on a standalone instance (no search peers), where
  it is the instance that indexes.
- When the peer list cannot be read (a 403 for a role without the capability, an error) the check
  falls back to judging every server that answered, as before, and says so.

When the rest search cannot be run (no rest capability, a search error) the result is a warning that
says exactly what to verify, never a refusal: an index that exists on the indexers must not stop a
deploy. Every message names the servers that were asked.

setup/delivery.py runs it in Check and Deploy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError, quote

SEARCH = "| rest splunk_server=* /services/data/indexes count=0 datatype=all | fields splunk_server title disabled"
PEERS = "services/search/distributed/peers"
CREATE_ON_INDEXERS = (
    "Create it on the indexers (indexer cluster: an [{index}] stanza in indexes.conf of an app in the cluster "
    "manager's manager-apps, then push the bundle; Splunk Cloud: Settings > Indexes or ACS), then run the check "
    "again."
)


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
    peers, peers_error = _search_peers(splunkd)
    try:
        answer = splunkd.post("services/search/jobs", {"search": SEARCH, "exec_mode": "oneshot", "count": "0",
                                                       "output_mode": "json"})  # fmt: skip
        rows = [r for r in answer.get("results", []) if isinstance(r, dict) and r.get("splunk_server")]
    except SplunkdError as error:
        return _unknown(splunkd, index, f"the indexers could not be asked ({error.message})", peers)
    answered = sorted({str(r["splunk_server"]) for r in rows})
    if not answered:
        return _unknown(splunkd, index, "the search over the indexers returned nothing", peers)
    if peers is None:
        return _judge_all(rows, answered, index, peers_error)
    if not peers:
        return _judge_standalone(rows, answered, index)
    return _judge_peers(rows, peers, index, splunkd)


def _search_peers(splunkd: Splunkd) -> tuple[dict[str, str] | None, str]:
    """This search head's search peers, serverName -> status ("Up", "Down", ...); None when unreadable."""
    try:
        answer = splunkd.get(PEERS, count="0")
    except SplunkdError as error:
        return None, error.message
    peers: dict[str, str] = {}
    for entry in answer.get("entry", []):
        if not isinstance(entry, dict):
            continue
        content = entry.get("content") if isinstance(entry.get("content"), dict) else {}
        name = str(content.get("peerName") or entry.get("name") or "")
        if name:
            peers[name] = str(content.get("status", ""))
    return peers, ""


def _where(rows: list[dict], index: str) -> tuple[list[str], list[str]]:
    """The servers among rows where the index is enabled, and where it is disabled."""
    mine = [r for r in rows if r.get("title") == index]
    enabled = sorted({str(r["splunk_server"]) for r in mine if not _disabled(r)})
    disabled = sorted({str(r["splunk_server"]) for r in mine if _disabled(r)})
    return enabled, disabled


def _judge_peers(rows: list[dict], peers: dict[str, str], index: str, splunkd: Splunkd) -> IndexCheck:
    """A search head with search peers: only the peers' answers count."""
    names = sorted(peers)
    plural = "s" if len(names) != 1 else ""
    asked = f"the {len(names)} indexer{plural} (search peers) this search head searches: {', '.join(names)}"
    peer_rows = [r for r in rows if str(r["splunk_server"]) in peers]
    here = sorted({str(r["splunk_server"]) for r in rows if str(r["splunk_server"]) not in peers})
    silent = sorted(set(names) - {str(r["splunk_server"]) for r in peer_rows})
    if not peer_rows:
        return _unknown(splunkd, index, f"none of {asked} answered", peers)
    enabled, disabled = _where(peer_rows, index)
    lacking = sorted(set(names) - set(silent) - set(enabled) - set(disabled))
    if enabled:
        notes = [text for text, servers in ((f"disabled on {', '.join(disabled)}", disabled),
                                            (f"missing on {', '.join(lacking)}: create it there too", lacking),
                                            (f"{', '.join(silent)} did not answer", silent)) if servers]  # fmt: skip
        note = f" ({'; '.join(notes)})" if notes else ""
        return IndexCheck("found", f"index {index} exists on {', '.join(enabled)}{note}; asked {asked}.",
                          tuple(enabled))  # fmt: skip
    if disabled:
        return _disabled_on(index, disabled, f" Asked {asked}.")
    on_search_head = _where([r for r in rows if str(r["splunk_server"]) in here], index)[0]
    silent_note = f" ({', '.join(silent)} did not answer)" if silent else ""
    if on_search_head:
        return IndexCheck("missing", (
            f"index {index} exists on the search head ({', '.join(on_search_head)}) but not on the indexers, "
            f"which receive Firehose's events and would refuse them: asked {asked}{silent_note}. "
            + CREATE_ON_INDEXERS.format(index=index)
        ))  # fmt: skip
    return IndexCheck("missing", (
        f"index {index} exists on none of {asked}{silent_note}. " + CREATE_ON_INDEXERS.format(index=index)
    ))  # fmt: skip


def _judge_standalone(rows: list[dict], answered: list[str], index: str) -> IndexCheck:
    """No search peers: this instance indexes what it receives, so its own answer counts."""
    asked = f"{', '.join(answered)}, a standalone instance (no search peers)"
    enabled, disabled = _where(rows, index)
    if enabled:
        return IndexCheck("found", f"index {index} exists on {', '.join(enabled)}; asked {asked}.", tuple(enabled))
    if disabled:
        return _disabled_on(index, disabled)
    return IndexCheck("missing", f"index {index} does not exist on {asked}. Create it (Settings > Indexes), then "
                                 "run the check again.")  # fmt: skip


def _judge_all(rows: list[dict], answered: list[str], index: str, peers_error: str) -> IndexCheck:
    """The peer list could not be read: every server that answered counts, the search head included."""
    why = (f" The list of search peers could not be read ({peers_error}), so this search head's own answer "
           "counts too; in a distributed deployment check that the index exists on every indexer.")  # fmt: skip
    enabled, disabled = _where(rows, index)
    if enabled:
        note = f" (disabled on {', '.join(disabled)})" if disabled else ""
        return IndexCheck("found", f"index {index} exists on {', '.join(enabled)}{note}.{why}", tuple(enabled))
    if disabled:
        return _disabled_on(index, disabled)
    return IndexCheck("missing", (
        f"index {index} exists on none of the {len(answered)} Splunk servers this search head searches "
        f"({', '.join(answered)}). " + CREATE_ON_INDEXERS.format(index=index)
    ))  # fmt: skip


def _disabled_on(index: str, disabled: list[str], note: str = "") -> IndexCheck:
    return IndexCheck("missing", f"index {index} is disabled on {', '.join(disabled)}; enable it there (Settings > "
                                 f"Indexes, or disabled = 0 in its indexes.conf stanza).{note}")  # fmt: skip


def _unknown(splunkd: Splunkd, index: str, why: str, peers: dict[str, str] | None = None) -> IndexCheck:
    try:
        local = splunkd.exists(f"services/data/indexes/{quote(index)}")
    except SplunkdError:
        local = False
    here = "it exists on this instance, but " if local else ""
    where = f"every indexer ({', '.join(sorted(peers))})" if peers else "every indexer"
    return IndexCheck("unknown", (
        f"Could not confirm index {index}: {why}; {here}in a distributed deployment the index must exist on {where} "
        f"that receives Firehose's data. Verify it there: run {json.dumps(_verify_search(index))} as an "
        "admin, or on the cluster manager check indexes.conf in manager-apps; also check that the HEC token's "
        f"allowed indexes include {index}."
    ), ("local",) if local else ())  # fmt: skip


def _verify_search(index: str) -> str:
    return f"| rest splunk_server=* /services/data/indexes/{index} | fields splunk_server title disabled"


def _disabled(row: dict) -> bool:
    return str(row.get("disabled", "0")).lower() in ("1", "true")
