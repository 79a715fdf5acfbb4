"""The dashboards and saved searches: valid Simple XML, at most 3 jobs a page, searches that lint
clean and only use fields the shipped configuration produces."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cloudtrail_firehose.sources import CLOUDTRAIL
from corpus import cloudtrail_events
from spl_fields import analyse, search_term_fields, split_pipeline
from spl_run import with_defaults, without_tokens
from splint.linter import lint_text
from splunk_conf import read_conf
from splunk_search import SearchTime, json_paths
from vpcflow_events import SPLUNK_OWN, corpus_events, knowledge_fields

ROOT = Path(__file__).resolve().parents[2]
VIEWS = sorted((ROOT / "default" / "data" / "ui" / "views").glob("*.xml"))
MACROS = read_conf(ROOT / "default" / "macros.conf")
SAVED = {n: s for n, s in read_conf(ROOT / "default" / "savedsearches.conf").items() if n != "default"}
MAX_JOBS_PER_PAGE = 3

# Simple XML (version 1.1) elements, by parent; anything else is a typo Splunk would reject.
ALLOWED_CHILDREN = {
    "form": {"label", "description", "search", "fieldset", "row", "init"},
    "dashboard": {"label", "description", "search", "row", "init"},
    "search": {"query", "earliest", "latest", "refresh", "refreshType", "sampleRatio", "done", "progress",
               "finalized", "cancelled", "error", "fail"},
    "fieldset": {"input", "html"},
    "input": {"label", "default", "initialValue", "choice", "prefix", "suffix", "valuePrefix", "valueSuffix",
              "delimiter", "fieldForLabel", "fieldForValue", "search", "change"},
    "default": {"earliest", "latest"},
    "row": {"panel"},
    "panel": {"title", "single", "chart", "table", "event", "map", "viz", "html", "input", "search"},
    "html": set(),
    "single": {"title", "search", "option", "drilldown"},
    "chart": {"title", "search", "option", "drilldown", "selection"},
    "table": {"title", "search", "option", "drilldown", "format", "fields"},
    "map": {"title", "search", "option", "drilldown"},
    "drilldown": {"link", "set", "unset", "eval", "condition"},
    "condition": {"link", "set", "unset", "eval"},
    "change": {"set", "unset", "eval", "condition", "link"},
    "done": {"set", "unset", "eval", "condition"},
    "init": {"set", "unset", "eval"},
    "format": {"colorPalette", "scale", "option"},
}  # fmt: skip
BUILTIN_TOKEN_PREFIXES = ("row.", "click.", "result.", "job.", "env:", "trellis.", "earliest", "latest")
BUILTIN_TOKENS = {"value", "label"}


def pipeline_event_fields() -> set[str]:
    """Fields of the events the app's inputs write: a health poll of a deployed (moto) pipeline and
    the error events recovery writes for a failed record and an unreadable line."""
    import base64
    import json
    import os
    import warnings

    import boto3
    import moto_shims  # noqa: F401
    from cloudtrail_firehose.aws import pipeline
    from cloudtrail_firehose.aws.settings import PipelineSettings
    from cloudtrail_firehose.inputs.health import pipeline_health
    from cloudtrail_firehose.inputs.object_reader import ObjectReader, remediations
    from moto import mock_aws

    warnings.filterwarnings("ignore", message="Tried to parse")
    settings = PipelineSettings(hec_url="https://hec.example.com", region="us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        pipeline.ensure_pipeline(settings, session, progress=lambda m: None, hec_tokens={"cloudtrail": "t"},
                                 sleep=lambda s: None)  # fmt: skip
        fields = json_paths(pipeline_health(settings, session)[0])
    line = json.dumps({"errorCode": "Splunk.AckTimeout", "arrivalTimestamp": 1, "attemptsMade": 1,
                       "rawData": base64.b64encode(b"{}").decode()}).encode()  # fmt: skip
    reader = ObjectReader(CLOUDTRAIL, "b", "k", "etag", 0.0, remediations(), max_error_events=1)
    for output in reader.outputs([line, b"garbage"]):  # an error event, a count of the rest, a report
        fields |= json_paths(json.loads(output.text))
    return fields


def known_raw_fields() -> set[str]:
    fields = SearchTime.load(ROOT).produced_fields() | {"_time", "_raw", "index", "sourcetype", "source", "host"}
    for _, event in cloudtrail_events():
        fields |= json_paths(event)
    return fields | pipeline_event_fields()


KNOWN_RAW_FIELDS = known_raw_fields()
VPCFLOW_MACRO = "`cloudtrail_firehose_vpcflow_events`"
# The flow records' fields: what the shipped search-time configuration for aws:cloudwatchlogs:vpcflow produces,
# and Splunk's own.
VPCFLOW_FIELDS = knowledge_fields() | SPLUNK_OWN


def known_fields(query: str) -> set[str]:
    """The fields a search's events can have: flow records' or CloudTrail's (and the pipeline's)."""
    return VPCFLOW_FIELDS if VPCFLOW_MACRO in query else KNOWN_RAW_FIELDS


def views() -> list[ET.Element]:
    return [ET.parse(path).getroot() for path in VIEWS]


def test_views_use_only_simple_xml_elements():
    for path in VIEWS:
        root = ET.parse(path).getroot()
        inside_html = {id(e) for html in root.iter("html") for e in html.iter()}
        for parent in root.iter():
            if id(parent) in inside_html:
                continue  # <html> panels hold plain HTML
            allowed = ALLOWED_CHILDREN.get(parent.tag, set())
            for child in parent:
                assert child.tag in allowed, f"{path.name}: <{child.tag}> inside <{parent.tag}>"


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: p.name)
def test_a_page_load_dispatches_at_most_three_search_jobs(path):
    root = ET.parse(path).getroot()
    jobs = [s for s in root.iter("search") if not s.get("base")]
    assert len(jobs) <= MAX_JOBS_PER_PAGE, [s.get("id") for s in jobs]
    ids = {s.get("id") for s in jobs}
    for post in root.iter("search"):
        if post.get("base"):
            assert post.get("base") in ids, f"unknown base search {post.get('base')}"


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: p.name)
def test_base_searches_transform_and_return_a_bounded_number_of_rows(path):
    for search in ET.parse(path).getroot().iter("search"):
        if search.get("base") or search.get("ref"):
            continue
        query = search.findtext("query")
        last = query.strip().splitlines()[-1].lstrip("| ").split()
        assert re.search(r"\|\s*(stats|timechart|chart|top)\b", query), f"{search.get('id')} does not transform"
        bounded = (last[0] == "head" and last[1].isdigit()) or (last[0] == "timechart" and "span=" in query) or (
            last[0] == "stats" and "head " in query
        )
        assert bounded, f"{search.get('id')}: end with 'head N' or a timechart with a span"


def defined_tokens(root: ET.Element) -> set[str]:
    tokens = set()
    for element in root.iter("input"):
        token = element.get("token")
        tokens.add(token)
        tokens.add(f"form.{token}")
        if element.get("type") == "time":
            tokens |= {f"{token}.earliest", f"{token}.latest"}
    for element in root.iter():
        if element.tag in ("set", "unset", "eval") and element.get("token"):
            tokens.add(element.get("token"))
    return tokens


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: p.name)
def test_every_token_used_is_defined_by_an_input_or_a_drilldown(path):
    root = ET.parse(path).getroot()
    defined = defined_tokens(root)
    text = ET.tostring(root, encoding="unicode")
    used = {name.split("|")[0] for name in re.findall(r"\$([\w.:]+(?:\|\w+)?)\$", text)}
    builtin = {t for t in used if t in BUILTIN_TOKENS or t.startswith(BUILTIN_TOKEN_PREFIXES)}
    undefined = used - defined - builtin
    assert undefined == set()


def all_queries() -> list[tuple[str, str]]:
    queries = []
    for path in VIEWS:
        for search in ET.parse(path).getroot().iter("search"):
            queries.append((f"{path.name}#{search.get('id') or search.get('base')}", search.findtext("query")))
    queries += [(f"savedsearches.conf[{name}]", stanza["search"]) for name, stanza in SAVED.items()]
    return queries


@pytest.mark.parametrize(("where", "query"), all_queries(), ids=[w for w, _ in all_queries()])
def test_every_search_passes_splint(where, query):
    # Lint the search Splunk runs: dashboard tokens replaced (a |s token becomes a quoted string).
    assert [f"{d.code} {d.message}" for d in lint_text(without_tokens(query))] == []


def test_every_macro_used_exists_with_its_arguments():
    for where, query in all_queries():
        for name, args in re.findall(r"`(\w+)(?:\(([^`]*)\))?`", query):
            key = f"{name}({len(args.split(','))})" if args else name
            assert key in MACROS, f"{where}: macro {key} is not in macros.conf"
    for search in (s for root in views() for s in root.iter("search") if s.get("ref")):
        assert search.get("ref") in SAVED


def test_every_field_a_panel_uses_is_produced_by_the_shipped_configuration():
    problems = []
    for path in VIEWS:
        root = ET.parse(path).getroot()
        outputs = {}
        for search in root.iter("search"):
            if search.get("id") and not search.get("base"):
                query = without_tokens(search.findtext("query"))
                found, outputs[search.get("id")] = analyse(query, known_fields(query))
                problems += [(path.name, search.get("id"), p) for p in found]
        for search in root.iter("search"):
            if search.get("base"):
                found, _ = analyse(search.findtext("query"), outputs[search.get("base")])
                problems += [(path.name, search.get("base"), p) for p in found]
        # Fields the filters add to the base searches.
        filters = [e.text for e in root.iter("prefix")] + [e.get("value") for e in root.iter("choice")]
        known = VPCFLOW_FIELDS if VPCFLOW_MACRO in ET.tostring(root, encoding="unicode") else KNOWN_RAW_FIELDS
        for text in filter(None, filters):
            unknown = search_term_fields(f"{text}x") - known
            problems += [(path.name, "filter", unknown)] if unknown else []
    for name, stanza in SAVED.items():
        found, _ = analyse(stanza["search"], known_fields(stanza["search"]))
        problems += [("savedsearches.conf", name, p) for p in found]
    for name, stanza in MACROS.items():
        if name != "default":
            unknown = search_term_fields(re.sub(r"\$\w+\$", '"x"', stanza["definition"])) - KNOWN_RAW_FIELDS
            problems += [("macros.conf", name, unknown)] if unknown else []
    assert problems == []


def test_field_check_catches_a_field_nobody_produces():
    found, _ = analyse("`cloudtrail_firehose_events` | stats count by not_a_field", KNOWN_RAW_FIELDS)
    assert found
    assert found[0][1] == {"not_a_field"}
    found, _ = analyse("stats sum(missing) AS x", {"present"})
    assert found[0][1] == {"missing"}
    found, fields = analyse("x | lookup t.csv port AS dest_port transport OUTPUT why AS reason | stats count by reason",
                            {"dest_port"})
    assert found[0][1] == {"transport"}
    assert "reason" in fields


def test_saved_searches_ship_disabled_scheduled_and_bounded_in_time():
    assert len(SAVED) >= 6
    for name, stanza in SAVED.items():
        assert stanza["disabled"] == "1", name
        assert stanza["is_scheduled"] == "1", name
        assert stanza["cron_schedule"].count(" ") == 4, name
        assert stanza["dispatch.earliest_time"].startswith("-"), name
        assert not stanza["dispatch.earliest_time"].startswith("rt"), name
        assert stanza["search"].startswith(("`cloudtrail_firehose_events`", "`cloudtrail_firehose_pipeline`",
                                            VPCFLOW_MACRO)), name


def test_the_data_macro_is_the_only_place_that_names_the_index():
    for where, query in all_queries():
        assert "index=" not in query, where
    assert "index=" in MACROS["cloudtrail_firehose_events"]["definition"]
    assert "index=" in MACROS["cloudtrail_firehose_pipeline"]["definition"]
    assert "index=" in MACROS["cloudtrail_firehose_vpcflow_events"]["definition"]


# --- every event reaches the panels and alerts ------------------------------------------------

SEARCH_TIME = SearchTime.load(ROOT)
CORPUS_FIELDS = [SEARCH_TIME.fields_of(event) for _, event in cloudtrail_events()]


def by_fields_kept(query: str, rows: list[dict], apply_filter: bool) -> tuple[list[str], int, int]:
    """(by-fields, events matching the filter, events reaching a group) of the first `stats ... by`,
    after the search's own eval and fillnull, on the model's fields (stats drops a null by-field)."""
    from splunk_search import compile_eval, evaluate, kept_by, search_matches

    commands = split_pipeline(without_tokens(query))
    if apply_filter:
        terms = re.sub(r"`[^`]*`", " ", commands[0])
        rows = [r for r in rows if search_matches(terms, r)]
    rows = [dict(r) for r in rows]
    for command in commands[1:]:
        name, _, rest = command.partition(" ")
        if name == "eval":
            target, _, expression = rest.partition("=")
            node = compile_eval(expression)
            for r in rows:
                value = evaluate(node, r)
                if value is None:
                    r.pop(target.strip(), None)
                else:
                    r[target.strip()] = value if isinstance(value, list) else [value]
        elif name == "fillnull":
            value = re.search(r'value=("[^"]*"|\S+)', rest)
            filler = value.group(1).strip('"') if value else "0"
            for r in rows:
                for field_name in (w for w in rest.split() if not w.startswith("value=")):
                    r.setdefault(field_name, [filler])
        elif name == "stats" and " by " in rest:
            by = [w for w in rest.partition(" by ")[2].split() if "=" not in w and w != "_time"]
            return by, len(rows), kept_by(rows, by)
        elif name in ("stats", "timechart"):
            return [], len(rows), len(rows)  # no by-clause, or timechart's NULL series: nothing dropped
    raise AssertionError(f"no stats in {query!r}")


def cloudtrail_searches() -> list[tuple[str, str, bool]]:
    searches = []
    for path in VIEWS:
        for search in ET.parse(path).getroot().iter("search"):
            query = search.findtext("query") or ""
            if search.get("id") and "`cloudtrail_firehose_events`" in query:
                searches.append((f"{path.name}#{search.get('id')}", query, False))
    for name, stanza in SAVED.items():
        if stanza["search"].startswith("`cloudtrail_firehose_events`"):
            searches.append((f"savedsearches.conf[{name}]", stanza["search"], True))
    return searches


@pytest.mark.parametrize(("where", "query", "filtered"), cloudtrail_searches(), ids=[w for w, _, _ in
                                                                                    cloudtrail_searches()])
def test_every_event_reaches_the_panels_and_alerts(where, query, filtered):
    """Dashboard base searches over every corpus event (filters at their defaults count every
    event); alerts over the events their own filter selects."""
    by, matching, kept = by_fields_kept(query, CORPUS_FIELDS, filtered)
    assert kept == matching, f"{where}: `by {' '.join(by)}` keeps {kept} of {matching} events"


def test_the_by_field_check_sees_a_null_by_field():
    rows = [{"user": ["alice"]}, {"src_ip": ["192.0.2.1"]}]
    assert by_fields_kept("x | stats count by user", rows, False)[1:] == (2, 1)
    assert by_fields_kept('x | fillnull value="unknown" user | stats count by user', rows, False)[1:] == (2, 2)
    assert by_fields_kept("x | eval user=coalesce(user, src_ip) | stats count by user", rows, False)[1:] == (2, 2)


def test_some_alert_filters_select_corpus_events():
    selected = [by_fields_kept(q, CORPUS_FIELDS, True)[1] for _, q, filtered in cloudtrail_searches() if filtered]
    assert sum(1 for n in selected if n) >= 4


# --- drilldowns --------------------------------------------------------------------------------


def drilldown_links() -> list[tuple[str, str]]:
    return [(path.name, link.text) for path in VIEWS for link in ET.parse(path).getroot().iter("link")]


def render(link: str, row: dict[str, str]) -> str:
    """Substitute tokens as Simple XML does: |u URL-encodes the value, no filter inserts it as is."""
    from urllib.parse import quote

    def token(match: re.Match) -> str:
        name, _, token_filter = match.group(1).partition("|")
        value = row.get(name.removeprefix("row."), "-24h@h")
        return quote(value, safe="") if token_filter == "u" else value

    return re.sub(r"\$([\w.:]+(?:\|\w)?)\$", token, link)


@pytest.mark.parametrize(("view", "link"), drilldown_links(), ids=[f"{v}:{i}" for i, (v, _) in
                                                                    enumerate(drilldown_links())])
def test_drilldown_values_with_spaces_stay_one_search_term(view, link):
    from urllib.parse import parse_qs, urlsplit

    row = {name: "AWS Internal" for name in re.findall(r"\$row\.(\w+)", link)}
    rendered = urlsplit(render(link, row))
    query = parse_qs(rendered.query)
    if "q" in query:
        search = query["q"][0]
        terms = re.findall(r'(\w+)=("[^"]*"|[^\s()]+)', search)
        assert terms, search
        assert all(value == '"AWS Internal"' for _, value in terms), search  # every term is a row value
    for field_name, values in query.items():
        if field_name.startswith("form.") and field_name.removeprefix("form.") in row:
            assert values == ["AWS Internal"]


# Alert time windows and throttling: tests/content/test_alerts.py.


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: p.name)
def test_no_dollar_sign_in_a_query_is_mistaken_for_a_token(path):
    """Simple XML reads $...$ as a token; a literal dollar (a regex anchor) must be written $$."""
    for search in ET.parse(path).getroot().iter("search"):
        query = search.findtext("query") or ""
        leftover = re.sub(r"\$[\w.:]+(?:\|\w)?\$", "", query.replace("$$", ""))
        assert "$" not in leftover, f"{path.name}#{search.get('id') or search.get('base')}: {query}"


# --- Network Activity: every flow record reaches the panels and the VPC Flow Logs alerts -------------------


def flow_rows() -> list[dict[str, list[str]]]:
    """Every corpus flow record setup's formats hold, through the shipped index-time and search-time
    configuration (tests/helpers/vpcflow_events.py)."""
    return corpus_events()


def vpcflow_base_searches() -> list[tuple[str, str]]:
    """(where, the query with the inputs at their defaults) of every base search over flow records."""
    found = []
    for path in VIEWS:
        root = ET.parse(path).getroot()
        for search in root.iter("search"):
            query = search.findtext("query") or ""
            if search.get("id") and VPCFLOW_MACRO in query:
                found.append((f"{path.name}#{search.get('id')}", with_defaults(query, root)))
    return found


def until_first_aggregation(query: str) -> tuple[str, str]:
    """(the commands before the first stats/timechart, that command)."""
    commands = split_pipeline(query)
    index = next(i for i, c in enumerate(commands) if c.split()[0] in ("stats", "timechart"))
    return " | ".join(commands[:index]), commands[index]


def test_network_activity_has_its_base_searches():
    assert {w for w, _ in vpcflow_base_searches()} == {
        "network_activity.xml#timeline", "network_activity.xml#interfaces", "network_activity.xml#conversations"}


@pytest.mark.parametrize(("where", "query"), vpcflow_base_searches(), ids=[w for w, _ in vpcflow_base_searches()])
def test_every_flow_record_reaches_the_network_activity_panels(where, query):
    """Filters at their defaults keep every record, and the first stats/timechart groups every one of them
    (by-fields filled first), including NODATA/SKIPDATA records and formats without vpc-id or instance-id."""
    from spl_run import run
    from splunk_search import kept_by

    rows = flow_rows()
    before, aggregation = until_first_aggregation(query)
    selected = run(before, rows)
    assert len(selected) == len(rows), f"{where}: the default filters keep {len(selected)} of {len(rows)}"
    by = [w for w in aggregation.partition(" by ")[2].split() if "=" not in w and w != "_time"]
    assert kept_by(selected, by) == len(rows), f"{where}: `by {' '.join(by)}` drops records"
    if "count AS flows" in aggregation:  # the panels sum flows: the whole base search counts every record
        assert sum(int(r["flows"][0]) for r in run(query, rows)) == len(rows), where


def test_network_activity_counts_records_by_zone_and_action():
    """The timeline's series add up to every record that has an action or no addresses, and the zones
    follow the documented ranges (RFC 1918, RFC 6598, IPv6 unique local: internal). Synthetic raw records,
    through the shipped configuration."""
    from spl_run import run
    from vpcflow_events import event, line, searched

    (_, timeline), = [(w, q) for w, q in vpcflow_base_searches() if w.endswith("#timeline")]
    nodata = line("default", {"version": "2", "account-id": "123456789012", "interface-id": "eni-1",
                              "start": "1700000000", "end": "1700000060", "log-status": "NODATA"})  # fmt: skip
    rows = [event(srcaddr="203.0.113.9", dstaddr="10.1.2.3", bytes=100),
            event(srcaddr="100.64.0.1", dstaddr="172.16.5.5", action="REJECT", bytes=7),
            event(srcaddr="fd00:1::5", dstaddr="2600:1f18::1", bytes=40, flow_direction="egress"),
            event(srcaddr="198.51.100.1", dstaddr="192.0.2.1", bytes=1),
            searched(nodata)]  # fmt: skip
    (row,) = run(timeline, rows)
    got = {k: v[0] for k, v in row.items() if k != "_time"}
    assert got == {"accepted": "3", "rejected": "1", "no_data": "1", "internal_bytes": "7",
                   "from_internet_bytes": "100", "to_internet_bytes": "40", "internet_only_bytes": "1"}


def test_a_filter_narrows_the_network_activity_searches():
    from spl_run import run

    (_, query), = [(w, q) for w, q in vpcflow_base_searches() if w.endswith("#interfaces")]
    rows = flow_rows()
    instance = next(r["instance_id"][0] for r in rows if r.get("instance_id"))
    narrowed = query.replace('instance_id="*"', f'instance_id="{instance}"')
    assert narrowed != query
    flows = sum(int(r["flows"][0]) for r in run(narrowed, rows))
    assert flows == sum(1 for r in rows if r.get("instance_id") == [instance]) > 0


def vpcflow_alerts() -> list[tuple[str, str]]:
    return [(n, s["search"]) for n, s in SAVED.items() if s["search"].startswith(VPCFLOW_MACRO)]


@pytest.mark.parametrize(("name", "query"), vpcflow_alerts(), ids=[n for n, _ in vpcflow_alerts()])
def test_every_flow_record_an_alert_selects_reaches_its_stats(name, query):
    from spl_run import run
    from splunk_search import kept_by

    before, aggregation = until_first_aggregation(query)
    selected = run(before, flow_rows())
    by = [w for w in aggregation.partition(" by ")[2].split() if w != "_time"]
    assert kept_by(selected, by) == len(selected), name


def flow_searches() -> list[tuple[str, str]]:
    """(where, query) of every search over flow records: the dashboards' base searches (their post-processes
    read the base search's results) and the saved searches'."""
    found = []
    for path in VIEWS:
        root = ET.parse(path).getroot()
        base = {s.get("id") for s in root.iter("search") if VPCFLOW_MACRO in (s.findtext("query") or "")}
        for search in root.iter("search"):
            if search.get("id") in base:
                found.append((f"{path.name}#{search.get('id')}", without_tokens(search.findtext("query"))))
    return found + vpcflow_alerts()


def event_fields_named(query: str) -> set[str]:
    """The fields a search reads from the events: those it reads before any stage makes them, and those it
    fills (fillnull makes a field that is missing, so a misspelt one would go unnoticed)."""
    found, _ = analyse(query, set())
    named = set().union(*(fields for _, fields in found)) if found else set()
    for command in split_pipeline(query):
        name, _, rest = command.partition(" ")
        if name == "fillnull":
            named |= {w for w in rest.split() if not w.startswith("value=")}
    return named


def test_the_dashboard_fields_are_the_knowledge_layers():
    """Every field the Network Activity searches, its filters and the VPC Flow Logs alerts read from a flow
    record is one the shipped search-time configuration for aws:cloudwatchlogs:vpcflow produces (or Splunk's
    own), and some corpus record has it once indexed and searched."""
    root = ET.parse(ROOT / "default" / "data" / "ui" / "views" / "network_activity.xml").getroot()
    named = set().union(*(event_fields_named(q) for _, q in flow_searches()))
    filters = [e.text for e in root.iter("prefix")] + [e.get("value") for e in root.iter("choice")]
    named |= set().union(*(search_term_fields(f"{text}x") for text in filter(None, filters)))
    assert {"src_ip", "dest_ip", "dest_port", "action", "bytes", "vpc_id", "instance_id"} <= named  # it sees them
    assert named - SPLUNK_OWN - knowledge_fields() == set()
    seen = set().union(*(set(row) for row in flow_rows()))
    assert named - {"host"} - seen == set()


# --- Pipeline Health: one row per pipeline, region and source --------------------------------------------------


def health_event(at: int, report: dict) -> dict[str, list[str]]:
    """A health report as the input writes it (inputs/health_input.py: source firehose_health:<pipeline>),
    searched with the shipped [aws:firehose:health] (KV_MODE = json)."""
    import json

    fields = SearchTime.load(ROOT, "aws:firehose:health").fields_of(
        None, "aws:firehose:health", raw=json.dumps(report), source=f"firehose_health:{report['pipeline']}")
    return {**fields, "_time": [str(at)]}


def test_pipeline_health_shows_each_source_of_a_pipelines_newest_poll():
    """Two sources' events of one poll are two rows; the rows of an older poll (nothing deployed yet, a source
    since removed) are not shown; a report without log_source (AWS unreachable) is a row, not dropped."""
    from spl_run import run

    root = ET.parse(ROOT / "default" / "data" / "ui" / "views" / "pipeline_health.xml").getroot()
    (query,) = [without_tokens(s.findtext("query")) for s in root.iter("search") if s.get("id") == "pipelines"]
    shared = {"pipeline": "cloudtrail-firehose", "region": "us-east-1", "stack_status": "UPDATE_COMPLETE",
              "drift": "IN_SYNC", "failed_delivery_backlog": 0}  # fmt: skip
    t0 = 1_760_000_000
    events = [
        health_event(t0, {**shared, "stack_status": "NOT_DEPLOYED", "state": "not_deployed", "why": "no stack"}),
        health_event(t0 + 300, {**shared, "log_source": "cloudtrail", "delivery_stream": "ct", "state": "flowing",
                                "why": "events reach Splunk"}),
        health_event(t0 + 300, {**shared, "log_source": "vpcflow", "delivery_stream": "vpc", "state": "failing",
                                "why": "Splunk refused deliveries"}),
        health_event(t0 + 600, {**shared, "log_source": "cloudtrail", "delivery_stream": "ct", "state": "idle",
                                "why": "no CloudTrail events reached Firehose in the last 15 minutes"}),
        health_event(t0 + 600, {**shared, "log_source": "vpcflow", "delivery_stream": "vpc", "state": "flowing",
                                "why": "events reach Splunk"}),
        health_event(t0 + 601, {"pipeline": "other", "region": "eu-west-1", "state": "unknown",
                                "why": "the health check could not reach AWS"}),
    ]  # fmt: skip
    assert all(e["source"] == [f"firehose_health:{e['pipeline'][0]}"] for e in events)  # Splunk's own source
    rows = {(r["pipeline"][0], r["log_source"][0]): (r["state"][0], r["last_poll"][0]) for r in run(query, events)}
    assert rows == {("cloudtrail-firehose", "cloudtrail"): ("idle", str(t0 + 600)),
                    ("cloudtrail-firehose", "vpcflow"): ("flowing", str(t0 + 600)),
                    ("other", "-"): ("unknown", str(t0 + 601))}  # fmt: skip
    # The next poll finds the stack removed: only its report is shown.
    removed = health_event(t0 + 900, {**shared, "stack_status": "NOT_DEPLOYED", "state": "not_deployed",
                                      "why": "no stack"})  # fmt: skip
    rows = {(r["pipeline"][0], r["log_source"][0]): r["state"][0] for r in run(query, [*events, removed])}
    assert rows == {("cloudtrail-firehose", "-"): "not_deployed", ("other", "-"): "unknown"}


def test_the_stalled_alert_names_the_source_and_keeps_reports_without_one():
    from spl_run import run

    query = SAVED["CloudTrail via Firehose - Delivery stalled or failing"]["search"]
    shared = {"pipeline": "p", "region": "us-east-1", "why": "no delivery"}
    events = [health_event(1, {**shared, "log_source": "cloudtrail", "state": "flowing"}),
              health_event(2, {**shared, "log_source": "vpcflow", "state": "stalled"}),
              health_event(3, {**shared, "state": "failing"})]  # fmt: skip
    assert sorted((r["log_source"][0], r["state"][0]) for r in run(query, events)) == [("-", "failing"),
                                                                                      ("vpcflow", "stalled")]


# --- Pipeline Health: each source on its own, and the worst of them ----------------------------------------------

HEALTH_VIEW = ROOT / "default" / "data" / "ui" / "views" / "pipeline_health.xml"


def health_panels(root: ET.Element, base: str) -> dict[str, str]:
    """{panel title: post-process query} of the panels over one base search."""
    panels = {}
    for panel in root.iter("panel"):
        for element in panel:
            search = element.find("search")
            if search is not None and search.get("base") == base:
                panels[element.findtext("title")] = search.findtext("query")
    return panels


def health_dashboard(events: list[dict[str, list[str]]], choice: str) -> dict[str, list[dict[str, list[str]]]]:
    """{panel title: its rows} over the `health` base search, with the Source input at `choice` (Simple XML puts
    the input's prefix and suffix around the chosen value)."""
    from spl_run import run

    root = ET.parse(HEALTH_VIEW).getroot()
    (base,) = [s.findtext("query") for s in root.iter("search") if s.get("id") == "health"]
    (source_input,) = [i for i in root.iter("input") if i.get("token") == "log_source"]
    token = f"{source_input.findtext('prefix')}{choice}{source_input.findtext('suffix')}"
    rows = run(without_tokens(base), events)
    return {title: run(query.replace("$log_source$", token), [dict(r) for r in rows])
            for title, query in health_panels(root, "health").items()}  # fmt: skip


def column(rows: list[dict[str, list[str]]], name: str) -> list[str | None]:
    return [(r.get(name) or [None])[0] for r in rows]


def test_the_source_input_offers_every_source_by_its_units_name_and_label():
    from cloudtrail_firehose.sources import SOURCES

    root = ET.parse(HEALTH_VIEW).getroot()
    (source_input,) = [i for i in root.iter("input") if i.get("token") == "log_source"]
    assert source_input.get("type") == "dropdown"
    choices = [(c.get("value"), c.text) for c in source_input.iter("choice")]
    assert choices == [("*", "All"), *((s.name, s.label) for s in SOURCES)]
    assert source_input.findtext("default") == "*"
    # The failures carry no source (recovery's error events), and the Pipelines table lists every source and the
    # polls without one: neither is filtered.
    for search in root.iter("search"):
        if "health" not in (search.get("id"), search.get("base")):
            assert "$log_source$" not in search.findtext("query"), search.get("id") or search.get("base")


def test_pipeline_health_shows_a_stalled_source_beside_one_that_flows():
    """VPC Flow Logs takes records in and delivers none while CloudTrail flows: the charts show each source's
    records on its own line, choosing VPC Flow Logs shows only its figures, and the single values show the worst of
    the two (highest freshness and latency, lowest success rate). A metric Firehose did not report (JSON null) does
    not hide the other source's figure; an earlier poll without a source (nothing deployed) is no series."""
    t0 = 1_760_000_100  # a multiple of 5 minutes
    shared = {"pipeline": "cloudtrail-firehose", "region": "us-east-1", "stack_status": "UPDATE_COMPLETE",
              "drift": "IN_SYNC", "failed_delivery_backlog": 2}  # fmt: skip

    def metrics(incoming, delivered, freshness, success, ack) -> dict:
        return {"incoming_records": incoming, "records_delivered": delivered, "data_freshness_seconds": freshness,
                "success_rate": success, "ack_latency_seconds": ack, "bytes_delivered": None,
                "throttled_records": None}  # fmt: skip

    def poll(at, source, state, figures):
        return health_event(at, {**shared, "log_source": source, "delivery_stream": "ACTIVE", "state": state,
                                 "why": "-", "metrics": figures})  # fmt: skip

    nothing = {"pipeline": "cloudtrail-firehose", "region": "us-east-1", "stack_status": "NOT_DEPLOYED",
               "state": "not_deployed", "why": "no stack", "metrics": metrics(*[None] * 5)}  # fmt: skip
    events = [
        health_event(t0 - 290, nothing),
        poll(t0 + 10, "cloudtrail", "flowing", metrics(120, 118, 45, 1.0, 3)),
        poll(t0 + 10, "vpcflow", "failing", metrics(80, 0, 1300, 0.4, None)),
        poll(t0 + 310, "cloudtrail", "flowing", metrics(90, 95, None, 1.0, 2.5)),
        poll(t0 + 310, "vpcflow", "stalled", metrics(70, 0, 1500, None, 7)),
    ]
    times = [str(t0), str(t0 + 300)]

    every = health_dashboard(events, "*")
    delivered = every["Records delivered to Splunk, by source"]
    assert delivered == [{"_time": [times[0]], "cloudtrail": ["118"], "vpcflow": ["0"]},
                         {"_time": [times[1]], "cloudtrail": ["95"], "vpcflow": ["0"]}]  # fmt: skip
    incoming = every["Records into Firehose, by source"]
    assert [(column(incoming, "cloudtrail"), column(incoming, "vpcflow"))] == [(["120", "90"], ["80", "70"])]
    assert column(every["Data freshness"], "freshness_seconds") == ["1300", "1500"]
    assert column(every["Delivery success"], "success_rate") == ["0.4", "1"]
    assert column(every["Acknowledgement latency"], "ack_latency_seconds") == ["3", "7"]
    assert column(every["Failed deliveries waiting"], "backlog") == ["2", "2"]
    worst = every["Freshness and acknowledgement latency (seconds, the worst source)"]
    assert (column(worst, "freshness_seconds"), column(worst, "ack_latency_seconds")) == (["1300", "1500"], ["3", "7"])

    vpcflow = health_dashboard(events, "vpcflow")
    assert vpcflow["Records delivered to Splunk, by source"] == [{"_time": [t], "vpcflow": ["0"]} for t in times]
    assert vpcflow["Records into Firehose, by source"] == [{"_time": [times[0]], "vpcflow": ["80"]},
                                                           {"_time": [times[1]], "vpcflow": ["70"]}]  # fmt: skip
    assert column(vpcflow["Delivery success"], "success_rate") == ["0.4", None]

    cloudtrail = health_dashboard(events, "cloudtrail")
    assert column(cloudtrail["Data freshness"], "freshness_seconds") == ["45", None]
    assert column(cloudtrail["Acknowledgement latency"], "ack_latency_seconds") == ["3", "2.5"]
    assert column(cloudtrail["Delivery success"], "success_rate") == ["1", "1"]
    # Every event, the poll without a source too, is in a row of the base search.
    root = ET.parse(HEALTH_VIEW).getroot()
    (base,) = [s.findtext("query") for s in root.iter("search") if s.get("id") == "health"]
    _, matching, kept = by_fields_kept(base, events, False)
    assert kept == matching == len(events)
