"""Just enough of Splunk's search language for the stand-in splunkd to run the recovery input's dedupe
search (inputs/indexed.py) the way Splunk would, and to refuse (SplError, answered 400) anything else,
so that no search passes here that Splunk would answer differently.

Indexed events are dicts: _raw, _time (epoch seconds), index, sourcetype, source. What is modelled:

- The time range of the request (REST API Reference: search/jobs earliest_time / latest_time; Search
  Reference: Time modifiers): epoch seconds only, earliest inclusive, latest exclusive.
- `search` (Search Reference: search): index=, sourcetype=, source= with `*` wildcards and
  case-insensitive values, TERM(), OR and AND (implicit too), parentheses. OR binds tighter than AND
  ("Boolean expressions": parentheses, NOT, OR, AND). NOT and any other field are refused: the stand-in
  extracts no search-time fields (KV_MODE=json would, for the first 5,000 bytes only).
- TERM(x) against the index's terms, built as segmenters.conf.spec describes the default segmenter: _raw
  split at the MAJOR breakers; each major segment is a term, and so is, for each MINOR breaker in it, the
  text from the segment's start to that breaker and the text between two minor breakers. Terms are
  case-insensitive (the lexicon holds them lowercased).
- `rex [max_match=N] "<regex>"` on _raw (Search Reference: rex): named groups become fields, every match
  with max_match=0. PCRE's (?<name>...) is read as Python's (?P<name>...); the regexes used here mean the
  same in both.
- `eval name=<expr>` with string literals, integers, fields set earlier, `.`, `==`, AND, and if, case,
  in, mvindex, sha256, null, true (Evaluation functions), with Splunk's null: null in a comparison, a
  concatenation, in() or mvindex() gives null, and a null condition is false.
- `stats count AS x, values(f) AS y` without a by-clause: exactly one row, even without events; values
  distinct and sorted lexicographically; a field with no value is left out of the row (Search
  Reference: stats). Values are strings in the JSON answer, as splunkd writes them.
"""

from __future__ import annotations

import hashlib
import re

MAJOR = ["[", "]", "<", ">", "(", ")", "{", "}", "|", "!", ";", ",", "'", '"', "*", "\n", "\r", " ", "\t", "&",
         "?", "+", "%21", "%26", "%2526", "%3B", "%7C", "%20", "%2B", "%3D", "--", "%2520", "%5D", "%5B", "%3A",
         "%0A", "%2C", "%28", "%29"]  # fmt: skip
MINOR = ["/", ":", "=", "@", ".", "-", "$", "#", "%", "\\", "_"]
_MAJOR_SPLIT = re.compile("|".join(re.escape(b) for b in sorted(MAJOR, key=len, reverse=True)), re.IGNORECASE)
_MINOR_SPLIT = re.compile("|".join(re.escape(b) for b in MINOR))
DEFAULT_FIELDS = ("_raw", "_time", "index", "sourcetype", "source")


class SplError(Exception):
    """A search the stand-in does not understand."""


def terms(raw: str) -> set[str]:
    found = set()
    for segment in _MAJOR_SPLIT.split(raw):
        if not segment:
            continue
        found.add(segment.lower())
        last = 0
        for breaker in _MINOR_SPLIT.finditer(segment):
            found.add(segment[: breaker.start()].lower())
            found.add(segment[last : breaker.start()].lower())
            last = breaker.end()
        found.add(segment[last:].lower())
    found.discard("")
    return found


def run(search: str, events: list[dict], earliest: str | None, latest: str | None) -> tuple[list[str], list[dict]]:
    """(field names, result rows) of a search over these events."""
    low, high = _epoch(earliest, "earliest_time"), _epoch(latest, "latest_time")
    steps = _pipeline(search)
    first = steps[0]
    if not first.startswith("search "):
        raise SplError(f"the stand-in runs searches that start with `search`, not {first[:40]!r}")
    match = _search_expression(first[len("search ") :])
    rows = [{k: [str(event[k])] for k in DEFAULT_FIELDS if k in event} for event in events
            if (low is None or event["_time"] >= low) and (high is None or event["_time"] < high)
            and match(event)]  # fmt: skip
    known = set(DEFAULT_FIELDS)
    for step in steps[1:-1]:
        command, _, rest = step.partition(" ")
        if command == "rex":
            _rex(rest, rows, known)
        elif command == "eval":
            _eval(rest, rows, known)
        else:
            raise SplError(f"the stand-in cannot run `{command}`")
    command, _, rest = steps[-1].partition(" ")
    if command != "stats":
        raise SplError("the stand-in's searches end with `stats` (it does not return events)")
    return _stats(rest, rows, known)


def _epoch(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    if not re.fullmatch(r"\d+(\.\d+)?", value):
        raise SplError(f"{name}={value!r}: the stand-in takes epoch seconds only")
    return float(value)


def _pipeline(search: str) -> list[str]:
    steps, current, quoted, escaped = [], [], False, False
    for char in search:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "|" and not quoted:
            steps.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if quoted:
        raise SplError("unbalanced quotes")
    steps.append("".join(current).strip())
    return steps


def _unquote(literal: str) -> str:
    if not (literal.startswith('"') and literal.endswith('"') and len(literal) >= 2):
        return literal
    return re.sub(r"\\(.)", lambda m: m.group(1), literal[1:-1])


# --- search ---------------------------------------------------------------------------------------

_SEARCH_TOKEN = re.compile(r'\s*(?:(?P<open>\()|(?P<close>\))|TERM\((?P<term>[^()\s"]+)\)'
                           r"|(?P<word>OR|AND|NOT)(?=[\s()]|$)"
                           r'|(?P<field>\w+)=(?P<value>"(?:[^"\\]|\\.)*"|[^\s()"]+))')  # fmt: skip


def _search_expression(text: str):
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        token = _SEARCH_TOKEN.match(text, position)
        if not token:
            raise SplError(f"the stand-in cannot read the search at {text[position : position + 40]!r}")
        if token.group("word") == "NOT":
            raise SplError("the stand-in does not evaluate NOT")
        if token.group("field") and token.group("field") not in ("index", "sourcetype", "source"):
            raise SplError(f"the stand-in extracts no search-time field: {token.group('field')}=")
        tokens.append(token)
        position = token.end()
    index = 0

    def conjunction():  # AND of disjunctions: OR binds tighter
        nonlocal index
        parts = [disjunction()]
        while index < len(tokens) and not tokens[index].group("close"):
            if tokens[index].group("word") == "AND":
                index += 1
            parts.append(disjunction())
        return lambda event: all(p(event) for p in parts)

    def disjunction():
        nonlocal index
        parts = [atom()]
        while index < len(tokens) and tokens[index].group("word") == "OR":
            index += 1
            parts.append(atom())
        return lambda event: any(p(event) for p in parts)

    def atom():
        nonlocal index
        if index >= len(tokens):
            raise SplError("the search ends too early")
        token = tokens[index]
        index += 1
        if token.group("open"):
            inner = conjunction()
            if index >= len(tokens) or not tokens[index].group("close"):
                raise SplError("unbalanced parentheses")
            index += 1
            return inner
        if token.group("term"):
            wanted = token.group("term").lower()
            return lambda event: wanted in terms(event["_raw"])
        if token.group("field"):
            name, pattern = token.group("field"), _wildcard(_unquote(token.group("value")))
            return lambda event: event.get(name) is not None and bool(pattern.fullmatch(str(event[name])))
        raise SplError(f"the stand-in cannot read {token.group(0).strip()!r} here")

    if not tokens:
        raise SplError("an empty search")
    expression = conjunction()
    if index != len(tokens):
        raise SplError("unbalanced parentheses")
    return expression


def _wildcard(value: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in value.split("*")), re.IGNORECASE | re.DOTALL)


# --- rex ------------------------------------------------------------------------------------------


def _rex(rest: str, rows: list[dict], known: set[str]) -> None:
    match = re.fullmatch(r'(?:max_match=(\d+)\s+)?("(?:[^"\\]|\\.)*")', rest.strip())
    if not match:
        raise SplError(f'the stand-in reads `rex [max_match=N] "regex"` on _raw only, not {rest[:60]!r}')
    limit = int(match.group(1) or 1)
    literal = match.group(2)[1:-1]
    if "\\\\" in literal:
        raise SplError("the stand-in does not know how rex reads \\\\")
    pattern = re.compile(literal.replace('\\"', '"').replace("(?<", "(?P<").replace("(?P<=", "(?<=")
                         .replace("(?P<!", "(?<!"))  # fmt: skip
    names = list(pattern.groupindex)
    if not names:
        raise SplError("a rex without a named group extracts nothing")
    known.update(names)
    for row in rows:
        values: dict[str, list[str]] = {name: [] for name in names}
        for count, found in enumerate(pattern.finditer(row["_raw"][0]), start=1):
            for name in names:
                if found.group(name) is not None:
                    values[name].append(found.group(name))
            if limit and count >= limit:
                break
        for name in names:
            if values[name]:
                row[name] = values[name]
            else:
                row.pop(name, None)


# --- eval -----------------------------------------------------------------------------------------

_EVAL_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+)(?![\w.])|(?P<op>==|[(),.])'
                         r"|(?P<word>AND|OR)(?=[\s(]|$)|(?P<name>[A-Za-z_]\w*))")  # fmt: skip
_FUNCTIONS = {"if", "case", "in", "mvindex", "sha256", "null", "true"}


def _eval(rest: str, rows: list[dict], known: set[str]) -> None:
    target, equals, expression = rest.partition("=")
    target = target.strip()
    if not equals or not re.fullmatch(r"[A-Za-z_]\w*", target) or expression.startswith("="):
        raise SplError(f"the stand-in reads `eval name=expression`, not {rest[:60]!r}")
    tree = _EvalParser(expression, known).parse()
    for row in rows:
        value = tree(row)
        if value is None:
            row.pop(target, None)
        elif isinstance(value, bool):
            raise SplError("the stand-in does not store booleans in fields")
        else:
            row[target] = value if isinstance(value, list) else [value]
    known.add(target)


class _EvalParser:
    def __init__(self, text: str, known: set[str]) -> None:
        self.tokens, self.index, self.known = [], 0, known
        position, text = 0, text.strip()
        while position < len(text):
            token = _EVAL_TOKEN.match(text, position)
            if not token or token.end() == position:
                raise SplError(f"the stand-in cannot read the eval at {text[position : position + 40]!r}")
            self.tokens.append(token)
            position = token.end()

    def parse(self):
        tree = self.conjunction()
        if self.index != len(self.tokens):
            raise SplError(f"the stand-in cannot read the eval at {self.tokens[self.index].group(0)!r}")
        return tree

    def peek(self, kind: str, text: str | None = None) -> bool:
        if self.index >= len(self.tokens):
            return False
        value = self.tokens[self.index].group(kind)
        return value is not None and (text is None or value == text)

    def take(self, kind: str, text: str | None = None):
        if not self.peek(kind, text):
            raise SplError(f"the stand-in expected {text or kind} in the eval")
        self.index += 1
        return self.tokens[self.index - 1].group(kind)

    def conjunction(self):
        parts = [self.comparison()]
        while self.peek("word", "AND"):
            self.index += 1
            parts.append(self.comparison())
        if self.peek("word", "OR"):
            raise SplError("the stand-in does not evaluate OR")
        if len(parts) == 1:
            return parts[0]

        def both(row):
            values = [_boolean(p(row)) for p in parts]
            return False if False in values else None if None in values else True

        return both

    def comparison(self):
        left = self.concatenation()
        if not self.peek("op", "=="):
            return left
        self.index += 1
        right = self.concatenation()

        def equal(row):
            a, b = _single(left(row)), _single(right(row))
            return None if a is None or b is None else a == b

        return equal

    def concatenation(self):
        parts = [self.primary()]
        while self.peek("op", "."):
            self.index += 1
            parts.append(self.primary())
        if len(parts) == 1:
            return parts[0]

        def joined(row):
            values = [_single(p(row)) for p in parts]
            return None if any(v is None for v in values) else "".join(str(v) for v in values)

        return joined

    def primary(self):
        if self.peek("string"):
            value = _unquote(self.take("string"))
            return lambda row: value
        if self.peek("number"):
            number = int(self.take("number"))
            return lambda row: number
        if self.peek("op", "("):
            self.index += 1
            inner = self.conjunction()
            self.take("op", ")")
            return inner
        name = self.take("name")
        if self.peek("op", "("):
            self.index += 1
            arguments = []
            while not self.peek("op", ")"):
                arguments.append(self.conjunction())
                if not self.peek("op", ")"):
                    self.take("op", ",")
            self.index += 1
            return _function(name, arguments)
        if name not in self.known:
            raise SplError(f"the stand-in has no field {name} here (it extracts no search-time fields)")
        return lambda row: _value(row.get(name))


def _function(name: str, arguments: list):
    if name not in _FUNCTIONS:
        raise SplError(f"the stand-in has no eval function {name}()")
    count = len(arguments)
    if name in ("null", "true"):
        if count:
            raise SplError(f"{name}() takes no arguments")
        return (lambda row: None) if name == "null" else (lambda row: True)
    if name == "if":
        if count != 3:
            raise SplError("if() takes 3 arguments")
        test, then, other = arguments
        return lambda row: then(row) if _boolean(test(row)) is True else other(row)
    if name == "case":
        if count < 2 or count % 2:
            raise SplError("case() takes pairs of arguments")

        def case(row):
            for position in range(0, count, 2):
                if _boolean(arguments[position](row)) is True:
                    return arguments[position + 1](row)
            return None

        return case
    if name == "in":
        if count < 2:
            raise SplError("in() takes a value and at least one more")

        def contains(row):
            value = _single(arguments[0](row))
            return None if value is None else value in [_single(a(row)) for a in arguments[1:]]

        return contains
    if name == "mvindex":
        if count != 2:
            raise SplError("the stand-in's mvindex() takes a field and one index")

        def element(row):
            values, position = arguments[0](row), arguments[1](row)
            if values is None:
                return None
            values = values if isinstance(values, list) else [values]
            return values[position] if -len(values) <= position < len(values) else None

        return element
    if count != 1:  # sha256
        raise SplError("sha256() takes 1 argument")

    def digest(row):
        value = _single(arguments[0](row))
        return None if value is None else hashlib.sha256(str(value).encode("utf-8", "surrogatepass")).hexdigest()

    return digest


def _value(values: list[str] | None):
    return None if values is None else values if len(values) > 1 else values[0]


def _single(value):
    if isinstance(value, list):
        raise SplError("the stand-in does not know what this operator does with a multivalue field")
    return value


def _boolean(value):
    if value is None or isinstance(value, bool):
        return value
    raise SplError("a condition in the eval is not a comparison")


# --- stats ----------------------------------------------------------------------------------------


def _stats(rest: str, rows: list[dict], known: set[str]) -> tuple[list[str], list[dict]]:
    if re.search(r"\bby\b", rest, re.IGNORECASE):
        raise SplError("the stand-in's stats has no by-clause")
    names, result = [], {}
    for part in rest.split(","):
        match = re.fullmatch(r"\s*(count|values\((\w+)\))\s+AS\s+(\w+)\s*", part)
        if not match:
            raise SplError(f"the stand-in's stats takes `count AS x` and `values(f) AS y`, not {part.strip()!r}")
        name = match.group(3)
        names.append(name)
        if match.group(1) == "count":
            result[name] = str(len(rows))
            continue
        field = match.group(2)
        if field not in known:
            raise SplError(f"the stand-in has no field {field} here")
        values = sorted({v for row in rows for v in row.get(field, [])})
        if values:
            result[name] = values[0] if len(values) == 1 else values
    return names, [result]
