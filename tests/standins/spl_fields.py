"""Which fields an SPL pipeline reads, and which it hands to the next command.

Enough of SPL for the app's own dashboards and saved searches: search terms, eval, where, fillnull,
stats, timechart, bin, sort, head, fields, table, iplocation, geostats, lookup. Any other command is an error,
so a new panel that uses one has to teach this module first instead of going unchecked.
"""

from __future__ import annotations

import re

FUNCTIONS = {
    "if", "case", "coalesce", "isnull", "isnotnull", "match", "like", "lower", "upper", "replace",
    "strftime", "strptime", "trim", "len", "null", "true", "false", "tostring", "tonumber", "round",
    "mvindex", "split", "now", "relative_time", "count", "dc", "sum", "avg", "min", "max", "values",
    "latest", "earliest", "eval", "distinct_count", "list", "first", "last",
}  # fmt: skip
KEYWORDS = {"AND", "OR", "NOT", "AS", "as", "by", "BY", "IN"}
IPLOCATION_FIELDS = {"City", "Country", "Region", "lat", "lon"}
OPTION = re.compile(r"^(span|bins|limit|useother|usenull|latfield|longfield|partial|minspan|cont|start|end)=")


class UnknownCommandError(Exception):
    pass


def split_pipeline(query: str) -> list[str]:
    """Commands separated by '|' outside quotes and backquoted macros."""
    parts, current, quote = [], [], None
    for char in query:
        if quote:
            current.append(char)
            if char == quote:
                quote = None
        elif char in "\"`":
            quote = char
            current.append(char)
        elif char == "|":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _strip_strings(text: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)


def expression_fields(expression: str) -> set[str]:
    """Field names an eval/where expression reads."""
    text = _strip_strings(expression)
    quoted = set(re.findall(r"'([^']+)'", text))
    text = re.sub(r"'[^']+'", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_][\w.{}:]*", text):
        name = match.group(0)
        following = text[match.end() :].lstrip()
        if following.startswith("(") or name in KEYWORDS or re.fullmatch(r"\d+\w*", name):
            continue
        names.add(name)
    return names | quoted


def search_term_fields(text: str) -> set[str]:
    """Fields named in field=value / field!=value search terms."""
    text = _strip_strings(re.sub(r"`[^`]*`", " ", text))
    return {m.group(1) for m in re.finditer(r"([A-Za-z_][\w.{}:]*)\s*!?=", text)}


def _aggregations(text: str) -> tuple[set[str], set[str]]:
    """(fields read, fields written) by 'func(arg) AS name ...' lists, including count(eval(...))."""
    reads, writes = set(), set()
    for match in re.finditer(r"(\w+)\(((?:[^()]|\((?:[^()]|\([^()]*\))*\))*)\)(?:\s+AS\s+(\w+))?", text):
        function, argument, alias = match.groups()
        if argument.startswith("eval("):
            reads |= expression_fields(argument[5:-1])
        elif argument:
            reads.add(argument.strip())
        writes.add(alias or (f"{function}({argument})" if argument else function))
    for match in re.finditer(r"\bcount\b(?!\()(?:\s+AS\s+(\w+))?", text):
        writes.add(match.group(1) or "count")
    return reads, writes


def _event_names(items: list[str]) -> set[str]:
    """The event-side names of a lookup's `column [AS name] ...` list."""
    names, i = set(), 0
    while i < len(items):
        if i + 2 < len(items) and items[i + 1] == "AS":
            names.add(items[i + 2])
            i += 3
        else:
            names.add(items[i])
            i += 1
    return names


def analyse(query: str, available: set[str]) -> tuple[list[tuple[str, set[str]]], set[str]]:
    """Walk the pipeline: (stages that read fields not available, with those fields), output fields."""
    problems = []
    fields = set(available)
    for index, command in enumerate(split_pipeline(query)):
        name, _, rest = command.partition(" ")
        if index == 0 and name not in {"search", "stats", "timechart", "where", "eval", "fields", "sort", "head",
                                       "iplocation", "geostats", "table"}:  # fmt: skip
            name, rest = "search", command
        before = fields
        reads, fields = _stage(name, rest, fields)
        unknown = {r for r in reads if r not in before}
        if unknown:
            problems.append((command, unknown))
    return problems, fields


def _stage(name: str, rest: str, fields: set[str]) -> tuple[set[str], set[str]]:
    if name == "search":
        return search_term_fields(rest), fields
    if name == "where":
        return expression_fields(rest), fields
    if name == "eval":
        target, _, expression = rest.partition("=")
        reads = expression_fields(expression)
        return reads, fields | {target.strip()}
    if name in ("stats", "timechart", "geostats"):
        words = rest
        by = set()
        if re.search(r"\bby\b", rest):
            words, _, by_clause = rest.partition(" by ")
            by = {w for w in by_clause.split() if not OPTION.match(w)}
        words = " ".join(w for w in words.split() if not OPTION.match(w))
        reads, writes = _aggregations(words)
        if name == "stats":
            return reads | by, writes | by
        if name == "geostats":
            return reads | by | {"lat", "lon"}, writes | {"geobin", "latitude", "longitude"}
        # timechart: one column per split value, which later stages name freely.
        return reads | by | {"_time"}, writes | {"_time"} | ({"*split*"} if by else set())
    if name == "eventstats":
        # "eventstats command": the events keep their fields and get the aggregates.
        reads, writes = _stage("stats", rest, fields)
        return reads, fields | writes
    if name == "fillnull":
        # Fills the named fields (creating them); without names, every field of the results.
        names = {w for w in rest.split() if not w.startswith("value=")}
        return set(), fields | names
    if name == "bin":
        return {rest.split()[0]}, fields
    if name == "sort":
        return {w.lstrip("+-") for w in rest.split() if not w.isdigit() and w not in "+-"}, fields
    if name == "head":
        return set(), fields
    if name in ("fields", "table"):
        words = rest.split()
        if words and words[0] == "-":
            return set(words[1:]), fields - set(words[1:])
        return set(words), set(words)
    if name == "iplocation":
        return {rest.split()[-1]}, fields | IPLOCATION_FIELDS
    if name == "lookup":
        # lookup <table> (<lookup-field> [AS <event-field>])... OUTPUT (<lookup-dest> [AS <event-dest>])...
        # ("lookup" command reference): reads the event fields, writes the destination fields.
        words = rest.replace(",", " ").split()
        if "OUTPUT" not in words:
            raise UnknownCommandError("lookup without OUTPUT is not modelled")
        split_at = words.index("OUTPUT")
        return _event_names(words[1:split_at]), fields | _event_names(words[split_at + 1 :])
    raise UnknownCommandError(f"SPL command {name!r} is not modelled in tests/standins/spl_fields.py")
