"""Run the app's own SPL over events' fields, for the alert and dashboard tests (no Splunk here).

Only the commands and functions the VPC Flow Logs alerts and the Network Activity dashboard use, with the
search model's semantics (tests/splunk_search.py: search terms, eval with Splunk's null rules, `stats ... by`
leaving out a null by-field and counting a multivalue by-field under each value):
- search terms (macros in backquotes are dropped: the events given are the macro's), `search`, `eval`,
  `fillnull`, `where` (the model's eval, plus numeric <, <=, >, >= between two operands), `lookup <file.csv>`
  (CSV under lookups/, case-sensitive exact match, the first matching row), `bin _time span=<n>m|h`,
  `stats`/`timechart span=` (count, dc, sum, avg, values, min, max, latest; count(eval(...)), sum(eval(...)) and
  the like; timechart's `by <field>` with one aggregation),
  `eventstats` (the same functions, added to each event of its group), `sort`, `head`, `fields`.
Anything else raises, so a search that grows a command has to teach this first.
"""

from __future__ import annotations

import csv
import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from spl_fields import split_pipeline
from splunk_search import compile_eval, evaluate, search_matches

ROOT = Path(__file__).resolve().parents[2]
Row = dict[str, list[str]]
SPAN = {"m": 60, "h": 3600, "d": 86400}


def run(query: str, events: list[Row]) -> list[Row]:
    rows = [dict(e) for e in events]
    for index, command in enumerate(split_pipeline(query)):
        name, _, rest = command.partition(" ")
        if index == 0 and name not in STAGES:
            name, rest = "search", command
        rows = STAGES[name](rest.strip(), rows)
    return rows


def _search(rest: str, rows: list[Row]) -> list[Row]:
    terms = re.sub(r"`[^`]*`", " ", rest).strip()
    return [r for r in rows if not terms or search_matches(terms, r)]


def _eval(rest: str, rows: list[Row]) -> list[Row]:
    target, _, expression = rest.partition("=")
    node = compile_eval(expression)
    for r in rows:
        value = evaluate(node, r)
        if value is None:
            r.pop(target.strip(), None)
        else:
            if isinstance(value, bool):
                value = "true" if value else "false"
            r[target.strip()] = value if isinstance(value, list) else [value]
    return rows


def _number(text: str, row: Row) -> float | None:
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    values = row.get(text)
    try:
        return float(values[0]) if values else None
    except ValueError:
        return None


def _where(rest: str, rows: list[Row]) -> list[Row]:
    numeric = re.fullmatch(r"(\w+)\s*(<=|>=|<|>)\s*(\w+)", rest)
    if numeric:
        left, op, right = numeric.groups()
        compare = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}[op]
        kept = []
        for r in rows:
            a, b = _number(left, r), _number(right, r)
            if a is not None and b is not None and compare(a, b):
                kept.append(r)
        return kept
    node = compile_eval(rest)
    return [r for r in rows if evaluate(node, r) is True]


def _fillnull(rest: str, rows: list[Row]) -> list[Row]:
    value = re.search(r'value=("[^"]*"|\S+)', rest)
    filler = value.group(1).strip('"') if value else "0"
    names = [w for w in rest.split() if not w.startswith("value=")]
    for r in rows:
        for name in names:
            if not r.get(name):
                r[name] = [filler]
    return rows


def _lookup(rest: str, rows: list[Row]) -> list[Row]:
    words = rest.replace(",", " ").split()
    table, split_at = words[0], words.index("OUTPUT")

    def pairs(items):
        out, i = [], 0
        while i < len(items):
            if i + 2 < len(items) and items[i + 1] == "AS":
                out.append((items[i], items[i + 2]))
                i += 3
            else:
                out.append((items[i], items[i]))
                i += 1
        return out

    inputs, outputs = pairs(words[1:split_at]), pairs(words[split_at + 1 :])
    with (ROOT / "lookups" / table).open(newline="", encoding="utf-8") as handle:
        table_rows = list(csv.DictReader(handle))
    for r in rows:
        if any(not r.get(field) for _, field in inputs):
            continue
        match = next((t for t in table_rows if all(t[c] == r[f][0] for c, f in inputs)), None)
        for column, field in outputs:
            if match is not None and match[column]:
                r[field] = [match[column]]
            else:
                r.pop(field, None)
    return rows


def _bin(rest: str, rows: list[Row]) -> list[Row]:
    span = re.fullmatch(r"_time span=(\d+)([mhd])", rest)
    if not span:
        raise ValueError(f"bin {rest} is not modelled")
    seconds = int(span.group(1)) * SPAN[span.group(2)]
    for r in rows:
        t = int(float(r["_time"][0]))
        r["_time"] = [str(t - t % seconds)]
    return rows


def _aggregations(text: str) -> list[tuple[str, str, str]]:
    """(function, argument, output name) for 'count AS x dc(f) AS y sum(eval(...)) AS z ...'."""
    found, pos = [], 0
    while pos < len(text):
        match = re.compile(r"\s*(\w+)").match(text, pos)
        if not match:
            break
        function, pos, argument = match.group(1), match.end(), ""
        if text[pos : pos + 1] == "(":
            depth, start = 0, pos
            for i in range(pos, len(text)):
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                if depth == 0:
                    argument, pos = text[start + 1 : i], i + 1
                    break
        alias = re.compile(r"\s+AS\s+(\w+)").match(text, pos)
        if alias:
            pos = alias.end()
        name = alias.group(1) if alias else f"{function}({argument})" if argument else function
        found.append((function, argument, name))
    return found


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _text(number: float) -> str:
    """A result as Splunk shows it: a whole number without a fraction."""
    return str(int(number)) if number == int(number) else str(number)


def _aggregate(function: str, argument: str, group: list[Row]) -> list[str]:
    if argument.startswith("eval("):
        node = compile_eval(argument[5:-1])
        values = [evaluate(node, r) for r in group]
        values = [v for v in values if v is not None and v is not False]
    else:
        values = [v for r in group for v in r.get(argument, [])] if argument else [1] * len(group)
    if function == "count":
        return [str(len(values))]
    if function == "dc":
        return [str(len(set(values)))]
    if function == "sum":
        numbers = [float(v) for v in values if _NUMBER.fullmatch(str(v))]
        return [_text(sum(numbers))] if numbers else []
    if function == "values":
        return sorted(set(map(str, values)))
    if function == "avg":
        # "Statistical and charting functions": the mean of the values that are numbers; none, no value.
        numbers = [float(v) for v in values if _NUMBER.fullmatch(str(v))]
        return [_text(sum(numbers) / len(numbers))] if numbers else []
    if function in ("min", "max"):
        # "Statistical and charting functions": numbers compare as numbers; values that are all non-numeric,
        # in lexicographical order. How a mix of the two compares the document leaves open: refused.
        pick = min if function == "min" else max
        numeric = [_NUMBER.fullmatch(str(v)) is not None for v in values]
        if values and all(numeric):
            return [_text(pick(float(v) for v in values))]
        if any(numeric):
            raise ValueError(f"{function}() of numbers and text {sorted(map(str, values))} is not modelled")
        return [pick(map(str, values))] if values else []
    if function == "latest":
        # "Time functions" (stats): the value of the chronologically latest event that has the field.
        timed = [(float(r["_time"][0]), r[argument]) for r in group if r.get(argument) and r.get("_time")]
        return list(max(timed, key=lambda pair: pair[0])[1]) if timed else []
    raise ValueError(f"stats function {function} is not modelled")


def _groups(rows: list[Row], by: list[str]) -> dict[tuple[str, ...], list[Row]]:
    groups: dict[tuple[str, ...], list[Row]] = {}
    for r in rows:
        columns = [[v for v in r.get(name, []) if v != ""] for name in by]
        if not all(columns):
            continue  # a null by-field: in no group ("stats" command reference)
        for key in itertools.product(*columns):
            groups.setdefault(key, []).append(r)
    return groups


def _stats(rest: str, rows: list[Row]) -> list[Row]:
    text, _, by_clause = rest.partition(" by ")
    by = by_clause.split()
    groups = _groups(rows, by) if by else {(): rows}
    out = []
    for key, group in groups.items():
        row = {name: [value] for name, value in zip(by, key)}
        for function, argument, alias in _aggregations(text):
            values = _aggregate(function, argument, group)
            if values:
                row[alias] = values
        out.append(row)
    return out


def _eventstats(rest: str, rows: list[Row]) -> list[Row]:
    """"eventstats command": each event keeps its fields and gets its group's aggregates; an event whose
    by-field is null is in no group and gets none."""
    by = rest.partition(" by ")[2].split()
    for aggregate in _stats(rest, rows):
        members = [r for r in rows if all(r.get(name) == aggregate[name] for name in by)]
        for r in members:
            r.update({name: values for name, values in aggregate.items() if name not in by})
    return rows


TIMECHART_LIMIT = 10  # "timechart" command: limit, the number of series shown; the rest go to OTHER


def _timechart(rest: str, rows: list[Row]) -> list[Row]:
    """"timechart" command (Search Reference): one row per span of time. With a split-by clause (one aggregation:
    `<single-agg> BY <split-by-clause>`), each distinct value of the split-by field is a column of its own; a row
    without the field is in the NULL series (usenull=true, nullstr="NULL"). The series beyond `limit` (10) that
    go to OTHER, and the empty spans that cont=true adds, are not modelled."""
    span = re.match(r"span=(\S+)\s+", rest)
    rows = _bin(f"_time span={span.group(1)}", rows)
    aggregations, _, split_by = rest[span.end() :].partition(" by ")
    if not split_by:
        return sorted(_stats(aggregations + " by _time", rows), key=lambda r: int(r["_time"][0]))
    (field, *options) = split_by.split()
    if options or len(_aggregations(aggregations)) != 1:
        raise ValueError(f"timechart {rest}: only one aggregation BY one field, without options, is modelled")
    (function, argument, _), = _aggregations(aggregations)
    for r in rows:
        r[field] = [v for v in r.get(field, []) if v != ""] or ["NULL"]
    series = {v for r in rows for v in r[field]}
    if len(series) > TIMECHART_LIMIT:
        raise ValueError(f"timechart: {len(series)} series, over its limit of {TIMECHART_LIMIT}: OTHER is not modelled")
    # Every row has a column per series: [] (an empty cell) where the series has no value in that span.
    out: dict[str, Row] = {}
    for (time, value), group in _groups(rows, ["_time", field]).items():
        row = out.setdefault(time, {"_time": [time], **{name: [] for name in sorted(series)}})
        row[value] = _aggregate(function, argument, group)
    return sorted(out.values(), key=lambda r: int(r["_time"][0]))


def _sort(rest: str, rows: list[Row]) -> list[Row]:
    words = rest.split()
    limit = int(words.pop(0)) if words and words[0].isdigit() else 0
    for word in reversed([w for w in words if w not in "+-"]):
        descending = word.startswith("-") or (words.index(word) > 0 and words[words.index(word) - 1] == "-")
        name = word.lstrip("+-")

        def key(r, name=name):
            value = (r.get(name) or [None])[0]
            if value is None:  # a row without the field sorts below every value
                return (0, 0.0, "")
            return (1, float(value), "") if re.fullmatch(r"-?\d+(\.\d+)?", value) else (2, 0.0, value)

        rows = sorted(rows, key=key, reverse=descending)
    return rows[:limit] if limit else rows


def _head(rest: str, rows: list[Row]) -> list[Row]:
    return rows[: int(rest)]


def _fields(rest: str, rows: list[Row]) -> list[Row]:
    names = rest.split()
    return [{n: r[n] for n in names if n in r} for r in rows]


STAGES = {"search": _search, "eval": _eval, "where": _where, "fillnull": _fillnull, "lookup": _lookup,
          "bin": _bin, "stats": _stats, "eventstats": _eventstats, "timechart": _timechart, "sort": _sort,
          "head": _head, "fields": _fields}  # fmt: skip


def without_tokens(query: str) -> str:
    return re.sub(r"\$[^$\s]+\$", " ", re.sub(r"\$[\w.:]+\|s\$", '"*"', query))


def with_defaults(query: str, root: ET.Element) -> str:
    """The search a page load runs: each input's token replaced by its default (with prefix and suffix,
    which Simple XML adds to a non-empty value), the time range left out."""
    for element in root.iter("input"):
        if element.get("type") == "time":
            continue
        value = element.findtext("default") or ""
        if value:
            value = f"{element.findtext('prefix') or ''}{value}{element.findtext('suffix') or ''}"
        query = query.replace(f"${element.get('token')}$", value)
    return without_tokens(query)
