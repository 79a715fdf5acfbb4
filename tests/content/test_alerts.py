"""The scheduled alerts in default/savedsearches.conf: which events each run reads, and how it throttles.

Documents relied on (Splunk Enterprise):
- "Time modifiers" (Search Reference): relative times ``[+|-]<integer><unit>@<snap unit>``, offset
  first and then snapped down; ``earliest`` is inclusive, ``latest`` exclusive; ``_index_earliest`` and
  ``_index_latest`` select on ``_indextime``, and an index-time search also needs an event-time window
  that retrieves the events (only All Time is certain to).
- savedsearches.conf.spec: ``dispatch.index_earliest`` / ``dispatch.index_latest`` (the earliest and
  latest index time of a saved search), ``realtime_schedule`` (false: continuous scheduling, which
  never skips an execution period), ``alert.digest_mode`` (actions for the whole result set or for
  each result), ``alert.suppress.fields`` (fields for suppressing per-result alerts).
- "Throttle alerts" (Alerting Manual): a scheduled alert that triggers once is throttled for a
  period; one that triggers per result is throttled by the values of the fields named.
- "Alert scheduling tips" (Alerting Manual): a time range as long as the schedule's period, with a
  delay, so no data is evaluated twice or never.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from splunk_conf import read_conf

ROOT = Path(__file__).resolve().parents[2]
SAVED = {n: s for n, s in read_conf(ROOT / "default" / "savedsearches.conf").items() if n != "default"}
SCHEDULED = sorted(n for n, s in SAVED.items() if s.get("is_scheduled") == "1")

MINUTE, HOUR, DAY = 60, 3600, 86400
# How old an event may be when it is indexed and still fire its alert (README, "Dashboards and alerts").
EVENT_TIME_REACH = 7 * DAY
START = int(datetime(2025, 3, 1, tzinfo=timezone.utc).timestamp())  # a Saturday, 00:00 UTC


# --- a relative time evaluator, per "Time modifiers" ------------------------------------------------

UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), MINUTE),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), HOUR),
    **dict.fromkeys(("d", "day", "days"), DAY),
    **dict.fromkeys(("w", "week", "weeks"), 7 * DAY),
}
RELATIVE = re.compile(r"(?:(?P<sign>[+-])(?P<count>\d*)(?P<unit>[a-z]+))?(?:@(?P<snap>[a-z]+))?")


def resolve(modifier: str, now: int) -> int:
    """The epoch second a time modifier names when a search runs at `now` (UTC).

    "now" is the run's time; an integer is an epoch time; otherwise an optional offset (the integer
    defaults to 1) is applied and the result snapped down to the start of the snap unit. Units up to
    weeks; snapping to seconds, minutes, hours and days (UTC; Splunk snaps days in the user's zone).
    """
    if modifier == "now":
        return now
    if modifier.isdigit():
        return int(modifier)
    match = RELATIVE.fullmatch(modifier)
    if not match or not modifier:
        raise ValueError(f"not a relative time modifier: {modifier!r}")
    when = now
    if match["sign"]:
        offset = int(match["count"] or 1) * UNITS[match["unit"]]
        when += offset if match["sign"] == "+" else -offset
    if match["snap"]:
        unit = UNITS[match["snap"]]
        assert unit <= DAY, f"snapping to {match['snap']} is not modelled"
        when -= when % unit
    return when


def test_the_evaluator_follows_the_documented_examples():
    noon = START + 12 * HOUR + 5 * MINUTE + 30  # 12:05:30
    assert resolve("now", noon) == noon
    assert resolve("-20m@m", noon) == START + 11 * HOUR + 45 * MINUTE  # offset, then snap down
    assert resolve("-5m@m", noon) == START + 12 * HOUR
    assert resolve("@d", noon) == START
    assert resolve("-2d@d", noon) == START - 2 * DAY
    assert resolve("-h", noon) == noon - HOUR
    assert resolve("-7d", noon) == noon - 7 * DAY
    assert resolve("+15m", noon) == noon + 15 * MINUTE
    with pytest.raises(ValueError, match="not a relative time modifier"):
        resolve("rt-5m", noon)


# --- cron schedules ------------------------------------------------------------------------------


def _field_values(field: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first, last = (int(x) for x in base.split("-"))
        else:
            first = last = int(base)
        values.update(range(first, last + 1, int(step or 1)))
    return values


def cron_runs(cron: str, start: int, end: int) -> list[int]:
    """The scheduled times in [start, end) of a cron schedule whose day fields are all '*'."""
    minute, hour, *days = cron.split()
    assert days == ["*", "*", "*"], f"only minute and hour fields are modelled: {cron}"
    minutes, hours = _field_values(minute, 0, 59), _field_values(hour, 0, 23)
    first = start - start % MINUTE + (MINUTE if start % MINUTE else 0)
    return [t for t in range(first, end, MINUTE) if (t // MINUTE) % 60 in minutes and (t // HOUR) % 24 in hours]


def test_cron_runs():
    assert len(cron_runs("*/15 * * * *", START, START + HOUR)) == 4
    assert cron_runs("5 * * * *", START, START + 2 * HOUR) == [START + 5 * MINUTE, START + HOUR + 5 * MINUTE]
    assert cron_runs("0 * * * *", START + 1, START + HOUR + 1) == [START + HOUR]
    assert cron_runs("0,30 * * * *", START, START + HOUR) == [START, START + 30 * MINUTE]


# --- which runs see an event -----------------------------------------------------------------------


def reads(stanza: dict[str, str], run: int, event_time: int, index_time: int) -> bool:
    """Whether the run scheduled at `run` reads an event: both ranges apply, earliest inclusive,
    latest exclusive ("Time modifiers"). An unset dispatch.index_* does not bound index time."""
    earliest, latest = (resolve(stanza[f"dispatch.{k}_time"], run) for k in ("earliest", "latest"))
    if not earliest <= event_time < latest:
        return False
    index_earliest, index_latest = stanza.get("dispatch.index_earliest"), stanza.get("dispatch.index_latest")
    if index_earliest and resolve(index_earliest, run) > index_time:
        return False
    return not (index_latest and index_time >= resolve(index_latest, run))


def runs_that_read(stanza: dict[str, str], event_time: int, index_time: int) -> list[int]:
    # Every run that could read the event: from before it was indexed to well after (a few hours).
    runs = cron_runs(stanza["cron_schedule"], index_time - 3 * HOUR, index_time + 6 * HOUR)
    return [run for run in runs if reads(stanza, run, event_time, index_time)]


@pytest.mark.parametrize("name", SCHEDULED)
def test_index_time_windows_tile_with_the_schedule(name):
    """Consecutive runs read consecutive slices of index time, each as long as the cron period, both
    edges snapped to the same unit, ending a little before the run (indexing latency); continuous
    scheduling so no run, and no slice, is skipped (savedsearches.conf.spec, realtime_schedule)."""
    stanza = SAVED[name]
    edges = [stanza.get(f"dispatch.index_{k}", "") for k in ("earliest", "latest")]
    assert all(edges), f"{name}: no dispatch.index_earliest/index_latest"
    assert all("@" in edge for edge in edges), f"{name}: snap both edges"
    assert len({edge.rpartition("@")[2] for edge in edges}) == 1, f"{name}: snap both edges to one unit"
    assert stanza.get("realtime_schedule") == "0", f"{name}: a skipped run leaves its slice unread"
    runs = cron_runs(stanza["cron_schedule"], START, START + 2 * DAY)
    assert len(runs) >= 2, name
    slices = [(resolve(edges[0], run), resolve(edges[1], run)) for run in runs]
    for run, (earliest, latest) in zip(runs, slices):
        assert earliest < latest <= run - MINUTE, f"{name}: leave at least a minute for indexing"
    for k in range(1, len(runs)):
        assert slices[k][0] == slices[k - 1][1], f"{name}: the run at {runs[k]} does not start where the last ended"
        assert slices[k][1] - slices[k][0] == runs[k] - runs[k - 1], f"{name}: a slice is not as long as the period"


@pytest.mark.parametrize("name", SCHEDULED)
def test_event_time_range_does_not_exclude_late_events(name):
    """The _time range reaches EVENT_TIME_REACH (the documented bound) before the index-time slice
    starts, and ends after the slice, so event time does not cut a slice down ("Time modifiers")."""
    stanza = SAVED[name]
    for run in cron_runs(stanza["cron_schedule"], START, START + DAY):
        reach = resolve(stanza["dispatch.index_earliest"], run) - resolve(stanza["dispatch.earliest_time"], run)
        assert reach >= EVENT_TIME_REACH, f"{name}: an event {EVENT_TIME_REACH // DAY} days old when indexed is missed"
        assert resolve(stanza["dispatch.latest_time"], run) >= resolve(stanza["dispatch.index_latest"], run), name


@pytest.mark.parametrize("name", SCHEDULED)
@pytest.mark.parametrize(
    ("case", "age"),
    [("indexed on time", 30), ("Firehose retried for 2 hours", 2 * HOUR), ("recovered 3 days late", 3 * DAY),
     ("recovered 6 days late", 6 * DAY + 23 * HOUR)],
)  # fmt: skip
def test_the_scheduler_reads_every_event_once(name, case, age):
    """Walk the cron runs around each index time: whatever the event's age when indexed (within the
    reach), exactly one run reads it, including events indexed on a slice's edge."""
    stanza = SAVED[name]
    for index_time in range(START + 2 * HOUR, START + 8 * HOUR, 7 * MINUTE + 13):
        seen = runs_that_read(stanza, index_time - age, index_time)
        assert len(seen) == 1, f"{name}: an event {case} (indexed at {index_time}) is read by {len(seen)} runs"
    for edge in (START + 5 * HOUR, START + 5 * HOUR - 1):
        assert len(runs_that_read(stanza, edge - age, edge)) == 1, f"{name}: {case}, indexed at {edge}"


def test_the_simulation_catches_windows_on_event_time():
    """The old windows (-20m@m to -5m@m on _time every 15 minutes) never read a recovered event."""
    old = {"cron_schedule": "*/15 * * * *", "dispatch.earliest_time": "-20m@m", "dispatch.latest_time": "-5m@m"}
    index_time = START + 5 * HOUR + 7
    assert len(runs_that_read(old, index_time - 30, index_time)) == 1
    assert runs_that_read(old, index_time - 3 * DAY, index_time) == []


@pytest.mark.parametrize("name", SCHEDULED)
def test_alerts_run_ordinary_searches_that_the_dispatch_index_time_bounds(name):
    """dispatch.index_earliest/index_latest are shown to bound an event search; a generating command
    (tstats, a data model, a subsearch with its own range) would need its own _index_earliest and
    _index_latest, and a test for them, before it joins these alerts."""
    search = SAVED[name]["search"]
    assert not re.search(r"\b(tstats|datamodel|pivot|inputlookup|mstats)\b|\[", search), name


# --- throttling --------------------------------------------------------------------------------------


def stats_by_fields(search: str) -> set[str]:
    stats = [line for line in search.splitlines() if line.lstrip("| ").startswith("stats ")]
    assert len(stats) == 1, search
    return set(stats[0].partition(" by ")[2].split())


@pytest.mark.parametrize("name", SCHEDULED)
def test_field_throttling_is_per_result(name):
    """A throttle by field values belongs to per-result triggering ("Throttle alerts";
    savedsearches.conf.spec: alert.suppress.fields is for per-result alerts, alert.digest_mode true
    applies the actions to the whole result set). In digest mode, suppressing by a field silences
    every other account, IP or user for the period."""
    stanza = SAVED[name]
    fields = [f.strip() for f in stanza.get("alert.suppress.fields", "").split(",") if f.strip()]
    per_result = stanza.get("alert.digest_mode", "1").lower() in ("0", "false")
    if fields:
        assert per_result, f"{name}: suppresses by {fields} but alerts once for the whole result set"
        assert stanza.get("alert.suppress") == "1", name
        assert stanza.get("alert.suppress.period"), name
        assert set(fields) <= stats_by_fields(stanza["search"]), f"{name}: throttle on the rows' own keys"
    if per_result and stanza.get("alert.suppress") == "1":
        assert fields, f"{name}: per-result suppression needs alert.suppress.fields (savedsearches.conf.spec)"


# --- VPC Flow Logs alerts: they fire on the patterns they are for, not on quiet traffic -----------------------
# The events are flow records, the corpus's and synthetic ones, through the shipped index-time and search-time
# configuration (tests/helpers/vpcflow_events.py); tests/helpers/spl_run.py runs each alert's search over them.


def fire(name: str, events: list[dict]) -> list[dict]:
    from spl_run import run

    return run(SAVED[name]["search"], events)


def quiet_corpus() -> list[dict]:
    from vpcflow_events import corpus_events

    return corpus_events()


def flow(**values) -> dict:
    """A synthetic flow record's fields at search time, by AWS's record field names (srcaddr, dstport,
    action="REJECT", start; transport="udp" for the protocol number): an accepted TCP flow by default."""
    from vpcflow_events import event

    return event(**{"start": START, **values})


SPIKE = "VPC Flow Logs - Rejected traffic spike from one source"
SCAN = "VPC Flow Logs - Port scan from one source"
RISKY = "VPC Flow Logs - Risky port reached from the internet"


def test_a_rejected_spike_fires_from_100_records_in_15_minutes():
    def burst(every=1, action="REJECT"):
        return [flow(srcaddr="198.51.100.7", action=action, dstport=1000 + i, start=START + i * every)
                for i in range(100)]  # fmt: skip

    rejected = burst()
    (row,) = fire(SPIKE, rejected)
    assert (row["src_ip"], row["rejected_flows"], row["ports"]) == (["198.51.100.7"], ["100"], ["100"])
    assert fire(SPIKE, rejected[:99]) == []
    assert fire(SPIKE, burst(every=10 * MINUTE)) == []  # 100 over 16 hours
    assert fire(SPIKE, burst(action="ACCEPT")) == []


def test_a_port_scan_fires_on_25_ports_accepted_or_not():
    scan = [flow(srcaddr="203.0.113.50", srcport=45000, dstport=port, action=("REJECT", "ACCEPT")[port % 2],
                 start=START + port) for port in range(20, 45)]  # fmt: skip
    (row,) = fire(SCAN, scan)
    assert (row["src_ip"], row["ports"], row["actions"]) == (["203.0.113.50"], ["25"], ["allowed", "blocked"])
    assert fire(SCAN, scan[:24]) == []


def test_a_servers_replies_to_many_clients_are_not_a_port_scan():
    replies = [flow(srcaddr="10.0.1.5", srcport=443, dstaddr="198.51.100.9", dstport=40000 + i,
                    flow_direction="egress", start=START + i) for i in range(200)]  # fmt: skip
    assert fire(SCAN, replies) == []


def test_a_risky_port_reached_from_the_internet_fires_with_its_reason():
    ssh = flow(srcaddr="203.0.113.9", dstport=22)
    (row,) = fire(RISKY, [ssh])
    assert row["why"][0].startswith("SSH")
    assert row["dest_port"] == ["22"]
    quiet = [flow(srcaddr="10.0.2.3", dstport=22),  # internal source
             flow(srcaddr="100.64.3.3", dstport=3389),  # RFC 6598: internal
             flow(srcaddr="fd12:3456::1", dstaddr="fd12:3456::2", dstport=22),  # IPv6 ULA
             flow(srcaddr="203.0.113.9", dstport=22, action="REJECT"),  # rejected
             flow(srcaddr="203.0.113.9", dstport=443),  # not on the list
             flow(srcaddr="203.0.113.9", dstport=3306, transport="udp")]  # other transport  # fmt: skip
    assert fire(RISKY, quiet) == []
    assert len(fire(RISKY, [ssh, flow(srcaddr="2001:db8::9", dstaddr="2600:1f18::5", dstport=6379)])) == 2


@pytest.mark.parametrize("name", [SPIKE, SCAN])
def test_the_threshold_alerts_stay_quiet_on_the_corpus(name):
    assert fire(name, quiet_corpus()) == []


def test_the_risky_port_alert_on_the_corpus_fires_only_for_internet_sources():
    for row in fire(RISKY, quiet_corpus()):
        assert row["dest_port"][0] in {"22", "23", "445", "1433", "2375", "3306", "3389", "5432", "5900", "6379",
                                       "9200", "11211", "27017"}, row  # fmt: skip


def test_the_risky_ports_lookup_has_a_reason_for_every_row():
    import csv

    with (ROOT / "lookups" / "cloudtrail_firehose_vpcflow_risky_ports.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["port"] for r in rows} >= {"22", "3389", "23", "445", "1433", "3306", "5432", "6379", "9200", "27017"}
    for row in rows:
        assert row["port"].isdigit(), row
        assert 0 < int(row["port"]) < 65536, row
        assert row["transport"] in ("tcp", "udp"), row
        assert len(row["why"]) > 10, row
    assert len({(r["port"], r["transport"]) for r in rows}) == len(rows)


def test_every_vpcflow_alert_has_a_description_and_ships_disabled():
    names = [n for n, s in SAVED.items() if s["search"].startswith("`cloudtrail_firehose_vpcflow_events`")]
    assert sorted(names) == sorted([SPIKE, SCAN, RISKY])
    for name in names:
        assert SAVED[name]["disabled"] == "1", name
        assert SAVED[name]["description"], name
