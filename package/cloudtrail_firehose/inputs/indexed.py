"""Which of a batch of outputs Splunk already has: the dedupe search of the firehose_recovery input.

One oneshot search per batch (at most 500 outputs), through splunkd's REST API (REST API Reference:
search/jobs, exec_mode=oneshot, output_mode=json). What it relies on, and why:

- Identities are looked up as index terms, never as search-time fields. KV_MODE=json extracts
  fields from the first 5,000 bytes of an event only (limits.conf.spec [spath] extraction_cutoff),
  and CloudTrail's eventID comes after requestParameters and responseElements, so `eventID=<id>`
  misses large events. TERM(<id>) is answered from the index's lexicon (Search Manual: "Use CASE()
  and TERM() to match phrases"): it matches <id> as one term although it holds minor breakers. It
  does so when <id> stands between major breakers in _raw; in JSON it is bounded by double quotes,
  a major breaker (segmenters.conf.spec MAJOR: [ ] < > ( ) { } | ! ; , ' " * \\n \\r \\s \\t & ? +
  %21 %26 %2526 %3B %7C %20 %2B %3D -- %2520 %5D %5B %3A %0A %2C %28 %29), and holds only minor
  breakers (MINOR: / : = @ . - $ # % \\ _; an identity uses : . - _ of them). `--` is a major breaker,
  so an identity holding it would be two terms: TERM_SAFE excludes it.
- TERM only narrows the events read. An event counts for an identity when the identity is read back
  from its _raw with rex (not from auto-extracted fields): for aws:cloudtrail, the LAST
  `"eventID":"..."` in the event (CloudTrail writes its own eventID after requestParameters and
  responseElements, where an API call's parameters could hold another event's eventID; a key
  spelled `\\"eventID\\"` inside a string, as LookupEvents returns, does not match); for
  aws:firehose:error, `"recovery_id":"..."` (the app's own flat JSON). What remains: an event whose
  last `"eventID":"..."` key is not its own (CloudTrail puts nothing after eventID that nests other
  events' fields), or an event without an eventID of its own that nests another event's eventID,
  would make that other event count as indexed.
- Identities without a usable eventID are sha256:<hex> of the text written, which Splunk keeps as
  _raw: the search reads the events recovery wrote from this bucket (source
  firehose_recovery:s3://<bucket>/*) in the batch's time range and compares sha256(_raw).
- The time range is the batch's event times +- TIME_MARGIN. Events Firehose delivered get _time from
  eventTime (props.conf [aws:cloudtrail] TIME_PREFIX "eventTime", TZ = UTC, whole seconds), events the
  input writes carry that same time, and error events the time the input gives them; the margin covers
  the dropped fraction, clocks and the odd event whose time Splunk could not parse. earliest_time is
  inclusive and latest_time exclusive (REST API Reference: search/jobs; Search Reference: Time
  modifiers), hence the + 1 on latest.
- `stats count, values(...)` without a by-clause always answers exactly one row, so the answer has a
  fixed shape: no row means the answer is incomplete, and only identities come back, never _raw.

Any answer that is not a clean, complete result raises SearchUnavailableError with the reason: splunkd
refusing or failing (any SplunkdError: HTTP status, no whole answer within SEARCH_TIMEOUT, an answer
over SEARCH_MAX_BODY, a redirect, a broken or non-JSON body), a message of type WARN, ERROR or FATAL
(search peers down: "Unable to distribute to peer ...", "Search results might be incomplete ...", "The
search job has failed due to an error", partial results, auto-finalized searches; only DEBUG and INFO
are taken as harmless, since telling harmless warnings from the ones that mean missing results would
need Splunk's full list of texts, and a false "complete" writes duplicates while a false "unknown"
only waits a run and logs the text), a preview, or any shape other than the one row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from cloudtrail_firehose import sources
from cloudtrail_firehose.inputs.outputs import ERRORS, SOURCE_PREFIX, Output, SearchUnavailableError
from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError

TERM_SAFE = re.compile(r"(?!.*--)[0-9A-Za-z][0-9A-Za-z_.:-]{0,127}")
HASH = re.compile(r"sha256:[0-9a-f]{64}")
TIME_MARGIN = 3600.0  # seconds either side of the batch's event times
# The whole search call: connect, send, the search's run and its answer's last byte (outbound_http has
# one deadline per call, so a splunkd trickling its answer cannot hold the input longer). A oneshot
# search of one batch over the lexicon takes seconds; 180 s leaves room for a busy cluster and fits
# many times in a run (recovery.RUN_SECONDS). Longer is "unknown": the batch waits a run.
SEARCH_TIMEOUT = 180.0
# The largest search answer read. One batch asks for at most 500 identities (recovery's batch_size),
# each at most 128 characters (TERM_SAFE; a hash is 71), so the one row holds at most ~70 KB, plus
# splunkd's fields and messages: 4 MiB is far above any clean answer and far below what a broken
# or hostile splunkd could make the input hold in memory.
SEARCH_MAX_BODY = 4 * 1024 * 1024
HARMLESS = ("DEBUG", "INFO")  # message types that say nothing about the results being complete
_FIELDS = ("events", "identities", "hashes")  # what the search's one row may hold


class Wanted(NamedTuple):
    """What one batch asks for."""

    event_ids: dict[str, list[str]]  # sourcetype -> its events' own ids (CloudTrail's eventID), TERM_SAFE
    recovery_ids: list[str]  # recovery_id of aws:firehose:error events, TERM_SAFE
    hashes: list[str]  # sha256:<hex> of events without a usable id of their own
    hashed: list[str]  # the sourcetypes of those events
    earliest: str  # epoch seconds, inclusive
    latest: str | None  # epoch seconds, exclusive; None: no upper bound

    @property
    def asked(self) -> set[str]:
        return {*(i for ids in self.event_ids.values() for i in ids), *self.recovery_ids, *self.hashes}


def indexed_identities(splunkd: Splunkd, index: str | Sequence[str], outputs: Sequence[Output],
                       bucket: str) -> set[str]:  # fmt: skip
    """The identities of these outputs that Splunk already has. Raises SearchUnavailableError when the
    answer is anything but a clean, complete result."""
    wanted = wanted_in(outputs)
    if not wanted.asked:
        return set()
    form = {"search": identity_search(index, outputs, bucket), "exec_mode": "oneshot", "count": "0",
            "output_mode": "json", "earliest_time": wanted.earliest}  # fmt: skip
    if wanted.latest is not None:
        form["latest_time"] = wanted.latest
    try:
        answer = splunkd.with_timeout(SEARCH_TIMEOUT, SEARCH_MAX_BODY).post("services/search/jobs", form)
    except SplunkdError as error:
        raise SearchUnavailableError(f"the search failed: {error}") from error
    problem, found = read_answer(answer)
    if problem:
        raise SearchUnavailableError(problem)
    return found & wanted.asked


def identity_search(index: str | Sequence[str], outputs: Sequence[Output], bucket: str) -> str:
    """The SPL for these outputs' identities in the index, or indexes, they go to (each source has its own);
    the time range goes in the request (see wanted_in)."""
    wanted = wanted_in(outputs)
    clauses = []
    for sourcetype, ids in wanted.event_ids.items():
        clauses.append(f"(sourcetype={_quoted(sourcetype)} ({_terms(ids)}))")
    if wanted.recovery_ids:
        clauses.append(f"(sourcetype={_quoted(ERRORS)} ({_terms(wanted.recovery_ids)}))")
    for sourcetype in wanted.hashed:
        # Events without a usable id can only have come from recovery: its source names the bucket.
        clauses.append(f"(sourcetype={_quoted(sourcetype)} source={_quoted(f'{SOURCE_PREFIX}s3://{bucket}/*')})")
    if not clauses:
        raise ValueError("no identity to search for")
    indexes = [index] if isinstance(index, str) else sorted(set(index))
    where = " OR ".join(f"index={_quoted(i)}" for i in indexes)
    steps = [f"search {where if len(indexes) == 1 else f'({where})'} ({' OR '.join(clauses)})"]
    cases = []
    if wanted.event_ids:
        key = _id_keys(wanted.event_ids)
        steps.append(f'rex max_match=0 "\\"{key}\\"\\s*:\\s*\\"(?<recovery_event_ids>[^\\"]+)\\""')
        steps.append("eval recovery_event_id=mvindex(recovery_event_ids, -1)")
    for sourcetype, ids in wanted.event_ids.items():
        cases.append(f"sourcetype=={_quoted(sourcetype)} AND in(recovery_event_id, {_listed(ids)}), "
                     "recovery_event_id")  # fmt: skip
    if wanted.recovery_ids:
        steps.append(r'rex "\"recovery_id\"\s*:\s*\"(?<recovery_error_id>[^\"]+)\""')
        cases.append(f"sourcetype=={_quoted(ERRORS)} AND in(recovery_error_id, {_listed(wanted.recovery_ids)}), "
                     "recovery_error_id")  # fmt: skip
    if cases:
        steps.append(f"eval recovery_identity=case({', '.join(cases)})")
    if wanted.hashes:
        steps.append('eval recovery_hash="sha256:".sha256(_raw)')
        steps.append(f"eval recovery_hash=if(in(recovery_hash, {_listed(wanted.hashes)}), recovery_hash, null())")
    summary = ["count AS events"]
    if cases:
        summary.append("values(recovery_identity) AS identities")
    if wanted.hashes:
        summary.append("values(recovery_hash) AS hashes")
    steps.append(f"stats {', '.join(summary)}")
    return " | ".join(steps)


def wanted_in(outputs: Sequence[Output]) -> Wanted:
    """The identities to ask for, by kind, and the time range: the outputs' times +- TIME_MARGIN (all
    time on a side when an output has no time). An identity that is neither TERM_SAFE nor a hash cannot
    be searched for and is never reported indexed."""
    event_ids: dict[str, set[str]] = {}
    recovery_ids: set[str] = set()
    hashes: set[str] = set()
    hashed: set[str] = set()
    for output in outputs:
        identity = output.identity
        if HASH.fullmatch(identity):
            hashes.add(identity)
            hashed.add(output.sourcetype)
        elif TERM_SAFE.fullmatch(identity):
            if output.sourcetype == ERRORS:
                recovery_ids.add(identity)
            else:
                event_ids.setdefault(output.sourcetype, set()).add(identity)
    times = [o.time for o in outputs]
    if not times or any(t is None for t in times):
        earliest, latest = "0", None
    else:
        earliest = str(max(0, math.floor(min(times) - TIME_MARGIN)))
        latest = str(math.floor(max(times) + TIME_MARGIN) + 1)
    return Wanted({st: sorted(ids) for st, ids in sorted(event_ids.items())}, sorted(recovery_ids), sorted(hashes),
                  sorted(hashed), earliest, latest)


def read_answer(answer: Any) -> tuple[str, set[str]]:
    """(why the answer cannot be trusted, or "", the identities it holds) of a oneshot answer in JSON:
    {"preview": false, "messages": [{"type", "text"}], "results": [{"events": "<n>", ...}], ...}."""
    if answer == {}:
        return "splunkd answered the search with an empty body", set()
    if not isinstance(answer, dict):
        return f"the search's answer is a JSON {type(answer).__name__}, not an object", set()
    messages = answer.get("messages", [])
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        return "the search's answer has messages of an unknown shape", set()
    for message in messages:
        kind, text = str(message.get("type", "")).upper(), str(message.get("text", ""))
        if kind not in HARMLESS:
            return f"the search's results may be incomplete: {kind or 'message'} {text[:300]!r}", set()
    if answer.get("preview") not in (None, False, 0, "0", "false"):
        return "the search answered a preview, not its final results", set()
    results = answer.get("results")
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        return "the search's answer has no list of results", set()
    if len(results) != 1 or not str(results[0].get("events", "")).isdigit():
        return f"the search answered {len(results)} rows, not its one summary row (results incomplete)", set()
    found: set[str] = set()
    for field in _FIELDS[1:]:
        values = results[0].get(field)
        values = [values] if isinstance(values, str) else values if values is not None else []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return f"the search's {field} are of an unknown shape", set()
        found.update(values)
    return "", found


def _id_keys(event_ids: dict[str, list[str]]) -> str:
    """The JSON key (or keys, as a regex group) holding the own id of the events of these sourcetypes."""
    units = sources.by_sourcetype()
    keys = sorted({units[st].event_id_key for st in event_ids if st in units and units[st].event_id_key})
    if not keys:
        raise ValueError(f"no source says where the id of {', '.join(event_ids)} events is")
    return keys[0] if len(keys) == 1 else f"(?:{'|'.join(re.escape(k) for k in keys)})"


def _terms(identities: list[str]) -> str:
    for identity in identities:
        assert TERM_SAFE.fullmatch(identity), identity  # noqa: S101 - a TERM() argument must be one term
    return " OR ".join(f"TERM({identity})" for identity in identities)


def _listed(values: list[str]) -> str:
    return ", ".join(_quoted(v) for v in values)


def _quoted(value: str) -> str:
    """A string literal in SPL: backslash and double quote escaped (JSON's \\u escapes mean nothing there)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
