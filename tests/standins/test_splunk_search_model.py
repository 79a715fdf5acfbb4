"""The search-time model (tests/splunk_search.py) behaves as Splunk's documents say.

Each test names the document it follows. The app's own tests are only as good as this model, so
where the model and a document disagree, the model is fixed first.
"""

from __future__ import annotations

import pytest
from splunk_search import EvalError, Lookup, SearchTime, Transform, compile_eval, kept_by, raw_of, stats_by


def model(aliases=(), evals=None, lookups=(), eventtypes=None, tags=None) -> SearchTime:
    compiled = {name: compile_eval(expression) for name, expression in (evals or {}).items()}
    return SearchTime(list(aliases), compiled, list(lookups), eventtypes or {}, tags or {})


def protocols(case_sensitive: bool = True) -> Lookup:
    rows = [{"code": "6", "name": "tcp"}, {"code": "17", "name": "udp"}]
    return Lookup(rows, set(), case_sensitive)


# --- "stats" command reference (Search Reference) ------------------------------------------------


def test_stats_by_leaves_out_events_whose_by_field_is_null():
    rows = [{"user": ["alice"], "src_ip": ["192.0.2.1"]}, {"user": ["bob"]}, {"user": ["carol"], "src_ip": [""]}]
    assert stats_by(rows, ["user", "src_ip"]) == {("alice", "192.0.2.1"): 1}
    assert kept_by(rows, ["user", "src_ip"]) == 1
    assert kept_by(rows, ["user"]) == 3


def test_stats_by_a_multivalue_field_counts_the_event_under_each_value():
    rows = [{"object": ["i-1", "i-2"], "user": ["alice"]}, {"object": ["i-1"], "user": ["alice"]}]
    assert stats_by(rows, ["object", "user"]) == {("i-1", "alice"): 2, ("i-2", "alice"): 1}


# --- props.conf.spec FIELDALIAS; "Field alias behavior change" (Splunk 7.2.4+) --------------------


def test_field_alias_copies_every_value_of_its_source():
    fields = model(aliases=[("a{}", "b")]).fields_of({"a": ["x", "y"]})
    assert fields["b"] == ["x", "y"]
    assert fields["a{}"] == ["x", "y"]  # an alias does not remove its source


def test_field_alias_with_an_absent_source_removes_the_destination():
    event_with_destination_only = {"b": "stale"}
    fields = model(aliases=[("a", "b")]).fields_of(event_with_destination_only)
    assert "b" not in fields


# --- props.conf.spec EVAL-: calculated fields are evaluated independently ----------------------


def test_calculated_fields_cannot_see_each_other():
    config = model(evals={"x": '"computed"', "y": 'coalesce(x, "no x")'})
    assert config.fields_of({})["y"] == ["no x"]
    fields = config.fields_of({"x": "extracted"})
    assert fields["x"] == ["computed"]  # EVAL replaces the extracted field ...
    assert fields["y"] == ["extracted"]  # ... but the other EVAL saw the value from before


def test_a_calculated_field_that_evaluates_to_null_removes_the_field():
    assert "x" not in model(evals={"x": "null()"}).fields_of({"x": "extracted"})


# --- Multivalue eval functions; automatic lookups of multivalue fields -------------------------


def test_eval_keeps_every_value_of_a_multivalue_field():
    config = model(evals={"ports": 'mvzip(\'r{}.from\', \'r{}.to\', "-")', "low": "lower('r{}.name')",
                          "first": "coalesce(missing, 'r{}.name')"})  # fmt: skip
    fields = config.fields_of({"r": [{"from": 22, "to": 22, "name": "A"}, {"from": 80, "to": 90, "name": "B"}]})
    assert fields["ports"] == ["22-22", "80-90"]
    assert fields["low"] == ["a", "b"]
    assert fields["first"] == ["A", "B"]


@pytest.mark.parametrize("expression", ["'r{}' . \"x\"", "'r{}' == \"a\"", "match('r{}', \"a\")"])
def test_the_model_refuses_operators_the_documents_leave_undefined_for_multivalue(expression):
    with pytest.raises(EvalError, match="multivalue"):
        model(evals={"x": expression}).fields_of({"r": ["a", "b"]})


def test_an_automatic_lookup_matches_every_value_of_a_multivalue_input():
    config = model(lookups=[(protocols(), [("code", "codes{}")], [("name", "protocol")])])
    assert config.fields_of({"codes": ["6", "17", "99"]})["protocol"] == ["tcp", "udp"]
    assert config.fields_of({"codes": ["17"]})["protocol"] == ["udp"]
    assert "protocol" not in config.fields_of({"other": "6"})  # no input field: the lookup is skipped


# --- "The sequence of search-time operations" (Knowledge Manager Manual) -----------------------


def test_each_operation_sees_only_what_the_operations_before_it_made():
    config = model(
        aliases=[("proto", "code")],
        evals={"code": "coalesce(code, \"6\")", "seen_protocol": "coalesce(protocol, \"none\")"},
        lookups=[(protocols(), [("code", "code")], [("name", "protocol")])],
        eventtypes={"tcp_traffic": "protocol=tcp"},
        tags={"eventtype=tcp_traffic": {"network"}},
    )
    fields = config.fields_of({"proto": "6"})
    assert fields["protocol"] == ["tcp"]  # the lookup used the alias and the calculated field
    assert fields["seen_protocol"] == ["none"]  # the calculated field ran before the lookup
    assert fields["eventtype"] == ["tcp_traffic"]  # event types see lookup outputs
    assert fields["tag"] == ["network"]  # tags come last, from event types
    assert config.fields_of({})["protocol"] == ["tcp"]  # the lookup input came from EVAL alone


def test_each_shipped_alias_names_its_own_destination():
    """props.conf.spec FIELDALIAS: one alias name applies to one source field, and a calculated field
    of the same name would replace it; the app keeps aliases and EVALs apart."""
    from pathlib import Path

    shipped = SearchTime.load(Path(__file__).resolve().parents[2])
    destinations = [target for _, target in shipped.aliases]
    assert len(destinations) == len(set(destinations))
    assert not set(destinations) & set(shipped.evals)


# --- limits.conf.spec [spath] extraction_cutoff; transforms.conf.spec search-time transforms ----


def test_kv_json_extracts_only_what_lies_within_the_first_5000_bytes():
    """limits.conf.spec [spath] extraction_cutoff (default 5000): auto kv extraction of JSON applies
    only to the first 5000 bytes. The documents do not say what a cut JSON event gives; the model
    takes the conservative reading: a key whose whole value lies within those bytes, nothing after."""
    event = {"first": "kept", "n": 12, "long": "x" * 6000, "after": "lost"}
    fields = model().fields_of(event)
    assert (fields["first"], fields["n"]) == (["kept"], ["12"])
    assert "long" not in fields  # cut by the cutoff: not extracted
    assert "after" not in fields
    assert model().fields_of({**event, "long": "x" * 100})["after"] == ["lost"]  # a small event: every key


def test_the_cutoff_counts_bytes_of_raw_not_characters():
    """limits.conf.spec [spath] extraction_cutoff counts bytes: 2,600 two-byte characters are past it."""
    event = {"name": "é" * 2600, "after": "lost"}
    assert len(raw_of(event)) < 5000 < len(raw_of(event).encode("utf-8"))
    assert "after" not in model().fields_of(event)
    assert model().fields_of({"name": "e" * 2600, "after": "kept"})["after"] == ["kept"]


def test_a_number_or_literal_ending_at_the_cutoff_is_not_taken_as_whole():
    """limits.conf.spec [spath] extraction_cutoff, conservative reading: the digits before the cutoff
    may be only the start of the number."""
    head = '{"pad":"' + "x" * (5000 - len('{"pad":"","n":') - 3) + '","n":'
    raw = head + "12345}"
    assert len(raw[:5000].encode()) == 5000
    assert raw[:5000].endswith("123")
    fields = model().fields_of({}, raw=raw)
    assert "n" not in fields
    assert fields["pad"] == ["x" * (5000 - len('{"pad":"","n":') - 3)]


def test_a_report_transform_extracts_at_every_match_before_automatic_extraction():
    """transforms.conf.spec: REGEX is applied to SOURCE_KEY (_raw by default), FORMAT names the field
    and value with $n for the n-th group, MV_ADD = true appends every further value (false keeps the
    first). "The sequence of search-time operations": transform extractions come before automatic
    key-value extraction, which therefore still sees only the first 5000 bytes."""
    every = Transform(r'"id":"(\w+)"', "seen_$1::$1", mv_add=True)
    mv = Transform(r'"id":"(\w+)"', "ids::$1", mv_add=True)
    first = Transform(r'"id":"(\w+)"', "first_id::$1")
    config = SearchTime([], {}, [], {}, {}, [every, mv, first])
    fields = config.fields_of({"a": {"id": "x1"}, "pad": "p" * 6000, "b": {"id": "y2"}})
    assert fields["ids"] == ["x1", "y2"]  # found past the cutoff too: transforms read all of _raw
    assert fields["first_id"] == ["x1"]
    assert (fields["seen_x1"], fields["seen_y2"]) == (["x1"], ["y2"])
    assert fields["a.id"] == ["x1"]
    assert "b.id" not in fields  # KV_MODE=json stops at the cutoff


def test_the_model_refuses_an_extraction_that_kv_json_also_makes():
    """The documents do not say how automatic key-value extraction merges with a field an extraction
    already made (one value, or two), so the model refuses instead of guessing."""
    config = SearchTime([], {}, [], {}, {}, [Transform(r'"id":"(\w+)"', "id::$1")])
    with pytest.raises(EvalError, match="not modelled"):
        config.fields_of({"id": "x1"})


# --- "bin", "timechart" (Search Reference); "Statistical and charting functions"; "Conversion functions" ------


def test_bin_puts_each_time_into_its_span():
    """"bin" command: `bin _time span=5m` sets _time to the start of its 5-minute span."""
    from spl_run import run

    rows = run("bin _time span=5m", [{"_time": ["1760000100"]}, {"_time": ["1760000399"]}, {"_time": ["1760000400"]}])
    assert [r["_time"] for r in rows] == [["1760000100"], ["1760000100"], ["1760000400"]]


def test_timechart_by_a_field_makes_each_value_a_series():
    """"timechart" command: with a split-by clause, each distinct value of the field becomes a series (a column of
    the span's row); a span where a series has no value leaves its cell empty; an event without the field is in
    the NULL series (usenull defaults to true, nullstr to NULL)."""
    from spl_run import run

    events = [{"_time": ["1760000100"], "src": ["a"], "n": ["3"]}, {"_time": ["1760000150"], "src": ["a"], "n": ["4"]},
              {"_time": ["1760000200"], "src": ["b"], "n": ["0"]}, {"_time": ["1760000450"], "src": ["b"], "n": ["5"]},
              {"_time": ["1760000460"], "n": ["1"]}]  # fmt: skip
    assert run("timechart span=5m sum(n) by src", events) == [
        {"_time": ["1760000100"], "NULL": [], "a": ["7"], "b": ["0"]},
        {"_time": ["1760000400"], "NULL": ["1"], "a": [], "b": ["5"]},
    ]
    assert run("timechart span=5m sum(n) AS total", events) == [{"_time": ["1760000100"], "total": ["7"]},
                                                                {"_time": ["1760000400"], "total": ["6"]}]  # fmt: skip


def test_the_model_refuses_timechart_splits_it_does_not_know():
    """"timechart" command: the syntax gives one aggregation with a split-by clause, and `limit` (10 by default)
    sends the other series to OTHER; how the model would name several aggregations' columns, or pick the OTHER
    series, it does not guess."""
    from spl_run import run

    events = [{"_time": ["1760000100"], "src": [f"s{i}"], "n": ["1"]} for i in range(11)]
    with pytest.raises(ValueError, match="limit"):
        run("timechart span=5m sum(n) by src", events)
    with pytest.raises(ValueError, match="one aggregation"):
        run("timechart span=5m sum(n) max(n) by src", events[:2])


def test_min_max_and_avg_compare_numbers_as_numbers():
    """"Statistical and charting functions": max and min compare numbers as numbers and non-numeric values in
    lexicographical order (a mix is not described, so the model refuses it); avg is the mean of the numbers;
    a fraction stays a fraction."""
    from spl_run import run

    rows = [{"n": ["9"], "w": ["null"]}, {"n": ["10"], "w": ["abc"]}, {"n": ["0.4"], "w": ["2"]}]
    (row,) = run("stats max(n) AS high min(n) AS low avg(n) AS mean avg(w) AS mean_w", rows)
    assert (row["high"], row["low"], row["mean_w"]) == (["10"], ["0.4"], ["2"])
    assert float(row["mean"][0]) == pytest.approx(19.4 / 3)
    assert run("stats max(w) AS high", rows[:2]) == [{"high": ["null"]}]
    with pytest.raises(ValueError, match="numbers and text"):
        run("stats max(w) AS high", rows)


def test_tonumber_gives_null_for_text_that_is_no_number():
    """"Conversion functions": tonumber converts a string to a number; a value it cannot parse (JSON's null as
    KV_MODE=json gives it, a number with spaces around it) gives null."""
    config = model(evals={"n": "tonumber(x)"})
    assert config.fields_of({"x": "12.5"})["n"] == ["12.5"]
    assert config.fields_of({"x": 3})["n"] == ["3"]
    assert "n" not in config.fields_of({"x": None})
    assert "n" not in config.fields_of({"x": " 1"})
