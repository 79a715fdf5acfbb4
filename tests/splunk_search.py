"""A small model of Splunk's search-time field pipeline, to test the shipped configuration.

No Splunk runs here, so this applies what the app ships, as Splunk's documents describe it:

- "The sequence of search-time operations" (Knowledge Manager Manual): REPORT- (transform
  extractions) -> KV_MODE=json -> FIELDALIAS -> EVAL -> LOOKUP -> eventtypes -> tags; each step sees
  only what the steps before it made. The model refuses (EvalError) an extraction whose field name
  KV_MODE=json also gives the event: the documents do not say how automatic key-value extraction
  merges with a field that an extraction already made, so the app extracts into names of its own.
- transforms.conf.spec, search-time transforms: REGEX applied to SOURCE_KEY (default _raw) at every
  match; FORMAT = name::value pairs where $n is the n-th capturing group (concatenation allowed);
  without FORMAT, each named capturing group is a field; MV_ADD = true appends a value to a field that
  the extraction already gave, false keeps the first.
- limits.conf.spec [spath] extraction_cutoff (default 5000): "For 'extract-all' spath extraction
  mode, only apply extraction to the first <integer> number of bytes. This setting applies both the
  auto kv extraction and the spath command". The documents do not say which fields come from a JSON
  event cut there, so the model takes the conservative reading: KV_MODE=json gives exactly the
  leaves whose complete key and value lie within the first 5000 bytes of _raw (counted in UTF-8); a
  value cut by the cutoff, and everything after it, is not extracted. _raw is the event as CloudTrail
  writes it (`raw_of`): compact JSON, top-level keys in CloudTrail's order.
- props.conf.spec FIELDALIAS and "Field alias behavior change" (7.2.4+): an alias whose source
  field is absent removes the destination field (ASNEW would keep it; the app does not use it).
- props.conf.spec EVAL-: calculated fields are evaluated independently, all against the fields
  as they were before any EVAL; one cannot use another's result.
- "Configure CSV lookups" / lookup command: an automatic lookup matches every value of a
  multivalue input field; the output field gets one value per matched input value.
- "stats" command reference: an event whose by-field is null is left out of every group; an
  event with a multivalue by-field counts in the group of each value (`stats_by`).
- Multivalue eval functions: mvzip pairs values; coalesce/lower/replace keep every value. Where
  the documents do not say what an operator does with a multivalue operand (comparison, `.`,
  match, like), the model refuses (EvalError) instead of guessing.

It implements exactly the subset of the eval language the app uses (and fails loudly on anything
else), with Splunk's null semantics: a comparison with null is null, if() takes the false branch
on null, concatenation with null is null. Regular expressions use the `regex` module
(PCRE-compatible). What it does not model is listed in README.md ("Testing against Splunk's
documented behaviour").
"""

from __future__ import annotations

import csv
import fnmatch
import ipaddress
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import regex
from splunk_conf import read_conf

Fields = dict[str, list[str]]


# --- _raw ---------------------------------------------------------------------------------------

# limits.conf [spath] extraction_cutoff: the default, which Splunk Cloud and a default install use.
EXTRACTION_CUTOFF = 5000

# The order in which CloudTrail writes an event's top-level keys ("CloudTrail record contents"; the
# same order as the genuine events in the corpus: AWS's documentation examples, the Splunk data
# sources' example logs, the gdi toolkit's S3 log file).
CLOUDTRAIL_ORDER = (
    "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
    "userAgent", "errorCode", "errorMessage", "requestParameters", "responseElements", "additionalEventData",
    "requestID", "eventID", "readOnly", "resources", "eventType", "apiVersion", "managementEvent",
    "recipientAccountId", "sharedEventID", "vpcEndpointId", "vpcEndpointAccountId", "serviceEventDetails",
    "eventCategory", "addendum", "sessionCredentialFromConsole", "edgeDeviceDetails", "tlsDetails",
    "insightDetails",
)  # fmt: skip


def raw_of(event: object) -> str:
    """_raw for an event: compact JSON as CloudTrail writes it (and the Lambda processor keeps it).

    An event whose top-level keys are in sorted order (the Stratus Red Team logs: their anonymiser
    wrote them so) is put back in CloudTrail's order first; any other keeps its own order.
    """
    if isinstance(event, dict) and len(event) > 3 and list(event) == sorted(event) and "eventName" in event:
        rank = {key: i for i, key in enumerate(CLOUDTRAIL_ORDER)}
        event = dict(sorted(event.items(), key=lambda item: rank.get(item[0], len(rank))))
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


# --- KV_MODE = json -----------------------------------------------------------------------------


def json_fields(event: object) -> Fields:
    """Fields as KV_MODE=json names them: a.b for objects, a{} for arrays, one value per leaf."""
    fields: Fields = {}

    def walk(value: object, path: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for child in value:
                walk(child, f"{path}{{}}")
        else:
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif value is None:
                text = "null"
            else:
                text = str(value)
            fields.setdefault(path, []).append(text)

    walk(event, "")
    return fields


class _CutError(Exception):
    """The JSON text ends (at the cutoff) before the value being read does."""


_LITERAL = regex.compile(r"-?\d[\d.eE+-]*|true|false|null")
_SPACE = regex.compile(r"\s*")


def json_fields_of_prefix(text: str) -> Fields:
    """KV_MODE=json on JSON text cut short: the leaves whose key and whole value the text holds."""
    fields: Fields = {}

    def skip(i: int) -> int:
        i = _SPACE.match(text, i).end()
        if i >= len(text):
            raise _CutError
        return i

    def string(i: int) -> tuple[str, int]:
        try:
            return json.decoder.scanstring(text, i + 1)
        except ValueError:
            raise _CutError from None

    def value(i: int, path: str) -> int:
        i = skip(i)
        if text[i] in "{[":
            closing, is_object = ("}", True) if text[i] == "{" else ("]", False)
            i = skip(i + 1)
            if text[i] == closing:
                return i + 1
            while True:
                if is_object:
                    key, i = string(skip(i))
                    i = skip(i)
                    if text[i] != ":":
                        raise EvalError(f"not JSON at {i}")
                    i = value(i + 1, f"{path}.{key}" if path else key)
                else:
                    i = value(i, f"{path}{{}}")
                i = skip(i)
                if text[i] == closing:
                    return i + 1
                if text[i] != ",":
                    raise EvalError(f"not JSON at {i}")
                i += 1
        if text[i] == '"':
            leaf, i = string(i)
        else:
            match = _LITERAL.match(text, i)
            if not match:
                raise EvalError(f"not JSON at {i}")
            i = match.end()
            skip(i)  # a number or literal is whole only if something follows it
            leaf = json_fields(json.loads(match.group()))[""][0]  # the text json_fields gives the same value
        fields.setdefault(path, []).append(leaf)
        return i

    try:
        value(0, "")
    except _CutError:
        pass
    return fields


def kv_json(raw: str, cutoff: int | None = EXTRACTION_CUTOFF) -> Fields:
    """The fields KV_MODE=json gives an event whose _raw is raw (limits.conf [spath] extraction_cutoff)."""
    data = raw.encode("utf-8")
    if cutoff is None or len(data) <= cutoff:
        return json_fields(json.loads(raw))
    return json_fields_of_prefix(data[:cutoff].decode("utf-8", "ignore"))


def json_paths(event: object) -> set[str]:
    """Every field name KV_MODE=json can give an event, containers included."""
    paths: set[str] = set()

    def walk(value: object, path: str) -> None:
        if path:
            paths.add(path)
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            paths.add(f"{path}{{}}")
            for child in value:
                walk(child, f"{path}{{}}")

    walk(event, "")
    return paths


# --- eval expressions ---------------------------------------------------------------------------

TOKEN = regex.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<field>'[^']+')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|<=|>=|[=<>().,+])
      | (?P<minus>-(?=\s))
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    regex.X,
)


class EvalError(Exception):
    pass


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = TOKEN.match(text, pos)
        if not match:
            raise EvalError(f"cannot read eval expression at: {text[pos:pos + 40]!r}")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "minus":
            kind = "op"
        if kind == "name" and value.upper() in ("AND", "OR", "NOT"):
            kind, value = "op", value.upper()
        tokens.append((kind, value))
        pos = match.end()
    return tokens


class Parser:
    """Recursive descent: OR < AND < NOT < comparison < concatenation < primary."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise EvalError(f"expected {value!r}, found {token!r}")
        self.pos += 1
        return token

    def parse(self):
        node = self.parse_or()
        if self.peek() is not None:
            raise EvalError(f"unexpected {self.peek()!r}")
        return node

    def parse_or(self):
        node = self.parse_and()
        while self.peek() == ("op", "OR"):
            self.take()
            node = ("or", node, self.parse_and())
        return node

    def parse_and(self):
        node = self.parse_not()
        while self.peek() == ("op", "AND"):
            self.take()
            node = ("and", node, self.parse_not())
        return node

    def parse_not(self):
        if self.peek() == ("op", "NOT"):
            self.take()
            return ("not", self.parse_not())
        return self.parse_comparison()

    def parse_comparison(self):
        node = self.parse_concat()
        token = self.peek()
        if token and token[0] == "op" and token[1] in ("==", "=", "!=", "<", "<=", ">", ">="):
            self.take()
            node = ("cmp", "==" if token[1] == "=" else token[1], node, self.parse_concat())
        return node

    def parse_concat(self):
        node = self.parse_primary()
        while self.peek() in (("op", "."), ("op", "+"), ("op", "-")):
            operator = self.take()[1]
            node = ("minus" if operator == "-" else "concat", node, self.parse_primary())
        return node

    def parse_primary(self):
        kind, value = self.take()
        if kind == "string":
            return ("lit", regex.sub(r"\\(.)", r"\1", value[1:-1]))
        if kind == "number":
            return ("lit", value)
        if kind == "field":
            return ("field", value[1:-1])
        if (kind, value) == ("op", "("):
            node = self.parse_or()
            self.take(")")
            return node
        if kind == "name":
            if self.peek() == ("op", "("):
                self.take("(")
                args = []
                if self.peek() != ("op", ")"):
                    args.append(self.parse_or())
                    while self.peek() == ("op", ","):
                        self.take()
                        args.append(self.parse_or())
                self.take(")")
                return ("call", value.lower(), args)
            return ("field", value)
        raise EvalError(f"unexpected {value!r}")


def _single(value, what: str):
    if isinstance(value, list):
        if len(value) == 1:
            return value[0]
        raise EvalError(f"{what} of a multivalue field is not modelled (use an mv function): {value!r}")
    return value


def _truth(value) -> bool:
    return value is True


def evaluate(node, fields: Fields):
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "field":
        values = fields.get(node[1])
        if not values:
            return None
        return values[0] if len(values) == 1 else list(values)
    if kind == "and":
        left, right = evaluate(node[1], fields), evaluate(node[2], fields)
        if left is False or right is False:
            return False
        return None if left is None or right is None else True
    if kind == "or":
        left, right = evaluate(node[1], fields), evaluate(node[2], fields)
        if left is True or right is True:
            return True
        return None if left is None or right is None else False
    if kind == "not":
        value = evaluate(node[1], fields)
        return None if value is None else not value
    if kind == "cmp":
        left = _single(evaluate(node[2], fields), "comparison")
        right = _single(evaluate(node[3], fields), "comparison")
        if left is None or right is None:
            return None
        op = node[1]
        if op == "==":
            return left == right
        if op == "!=":
            return left != right
        raise EvalError(f"operator {op} is not modelled")
    if kind == "concat":
        left = _single(evaluate(node[1], fields), "concatenation")
        right = _single(evaluate(node[2], fields), "concatenation")
        return None if left is None or right is None else f"{left}{right}"
    if kind == "minus":
        # "eval command" arithmetic operators: X - Y of two numbers; null when either is not a number.
        left = _number(_single(evaluate(node[1], fields), "subtraction"))
        right = _number(_single(evaluate(node[2], fields), "subtraction"))
        if left is None or right is None:
            return None
        difference = left - right
        return str(int(difference)) if difference == int(difference) else str(difference)
    if kind == "call":
        return call(node[1], node[2], fields)
    raise EvalError(f"unknown node {kind}")


def _number(value) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _to_number(text: str) -> str | None:
    if regex.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
        return text
    if regex.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)[eE][+-]?\d+", text):
        raise EvalError(f"tonumber({text!r}): exponent notation is not modelled")
    return None


def _map(value, function):
    if value is None:
        return None
    if isinstance(value, list):
        return [function(v) for v in value]
    return function(value)


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def call(name: str, args: list, fields: Fields):
    if name == "if":
        condition = evaluate(args[0], fields)
        return evaluate(args[1] if _truth(condition) else args[2], fields)
    if name == "case":
        for condition, result in zip(args[0::2], args[1::2], strict=True):
            if _truth(evaluate(condition, fields)):
                return evaluate(result, fields)
        return None
    if name == "coalesce":
        for arg in args:
            value = evaluate(arg, fields)
            if value is not None:
                return value
        return None
    values = [evaluate(arg, fields) for arg in args]
    if name == "null":
        return None
    if name == "true":
        return True
    if name == "isnull":
        return values[0] is None
    if name == "isnotnull":
        return values[0] is not None
    if name == "lower":
        return _map(values[0], str.lower)
    if name == "tonumber":
        # "Conversion functions": tonumber(<str>) converts a string to a number, and returns null for a value it
        # cannot parse (text such as JSON's null, or a number with a space around it). Base 10 only; a number
        # in exponent notation is refused: the document does not say whether it parses.
        if len(args) != 1:
            raise EvalError("tonumber() with a base is not modelled")
        return _map(values[0], _to_number)
    if name == "match":
        subject = _single(values[0], "match()")
        return None if subject is None else regex.search(values[1], subject) is not None
    if name == "like":
        subject = _single(values[0], "like()")
        if subject is None:
            return None
        pattern = "".join(".*" if c == "%" else "." if c == "_" else regex.escape(c) for c in values[1])
        return regex.fullmatch(pattern, subject, flags=regex.S) is not None
    if name == "mvzip":
        # Multivalue eval functions: the first value of X with the first of Y, and so on.
        if values[0] is None or values[1] is None:
            return None
        delimiter = values[2] if len(values) > 2 else ","
        left, right = _as_list(values[0]), _as_list(values[1])
        zipped = [f"{a}{delimiter}{b}" for a, b in zip(left, right, strict=False)]
        return zipped[0] if len(zipped) == 1 else zipped
    if name == "replace":
        pattern, replacement = values[1], values[2]
        return _map(values[0], lambda v: regex.sub(pattern, replacement, v))
    if name == "cidrmatch":
        # "Comparison and Conditional functions": cidrmatch(<cidr>, <ip>) is TRUE when the address is in the
        # subnet. A null address gives null (as every comparison with null here); text that is not an address
        # of the subnet's family is not in it.
        subject = _single(values[1], "cidrmatch()")
        if subject is None:
            return None
        try:
            return ipaddress.ip_address(subject) in ipaddress.ip_network(values[0], strict=False)
        except ValueError:
            return False
    raise EvalError(f"eval function {name}() is not modelled")


def compile_eval(expression: str):
    return Parser(expression).parse()


# --- the pipeline -------------------------------------------------------------------------------


@dataclass
class Lookup:
    rows: list[dict[str, str]]
    wildcard: set[str]
    case_sensitive: bool

    def match(self, inputs: dict[str, str]) -> dict[str, str] | None:
        for row in self.rows:
            if all(self._matches(name, row[name], value) for name, value in inputs.items()):
                return row
        return None

    def _matches(self, name: str, pattern: str, value: str) -> bool:
        if not self.case_sensitive:
            pattern, value = pattern.lower(), value.lower()
        if name in self.wildcard:
            return fnmatch.fnmatchcase(value, pattern)
        return pattern == value


@dataclass
class Transform:
    """A search-time field transform (transforms.conf REGEX, FORMAT, SOURCE_KEY, MV_ADD)."""

    regex: str
    format: str
    source_key: str = "_raw"
    mv_add: bool = False

    def apply(self, fields: Fields, raw: str) -> None:
        sources = [raw] if self.source_key == "_raw" else fields.get(self.source_key, [])
        pattern = regex.compile(self.regex)
        for source in sources:
            for match in pattern.finditer(source):
                if not self.format:
                    # transforms.conf.spec REGEX: named capturing groups are extracted to fields directly, so
                    # FORMAT is not needed; a group that took no part in the match gives no field.
                    for name, value in match.groupdict().items():
                        if value is not None and (name not in fields or self.mv_add):
                            fields.setdefault(name, []).append(value)
                    continue
                for pair in self.format.split():
                    name, _, value = pair.partition("::")
                    name, value = self._expand(name, match), self._expand(value, match)
                    if name in fields and not self.mv_add:
                        continue  # MV_ADD = false: the first value found is kept
                    fields.setdefault(name, []).append(value)

    @staticmethod
    def _expand(template: str, match) -> str:
        """$n is the n-th capturing group where the regex has one (transforms.conf.spec FORMAT)."""

        def group(ref):
            n = int(ref.group(1))
            return (match.group(n) or "") if n <= len(match.groups()) else ref.group(0)

        return regex.sub(r"\$(\d+)", group, template)


@dataclass
class SearchTime:
    """The shipped search-time configuration for one sourcetype."""

    aliases: list[tuple[str, str]]
    evals: dict[str, object]
    lookups: list[tuple[Lookup, list[tuple[str, str]], list[tuple[str, str]]]]
    eventtypes: dict[str, str]
    tags: dict[str, set[str]] = field(default_factory=dict)
    reports: list[Transform] = field(default_factory=list)
    extraction_cutoff: int | None = EXTRACTION_CUTOFF
    kv_mode: str = "json"  # props.conf KV_MODE: json, or none (no automatic key-value extraction)

    @classmethod
    def load(cls, app_root: Path, sourcetype: str = "aws:cloudtrail") -> SearchTime:
        default = app_root / "default"
        props = read_conf(default / "props.conf")[sourcetype]
        transforms = read_conf(default / "transforms.conf")
        aliases, evals, lookups, reports = [], {}, [], []
        for key, value in props.items():
            if key.startswith("EXTRACT-"):
                raise EvalError(f"{key}: EXTRACT- is not modelled (the app uses REPORT-)")
            if key.startswith("REPORT-"):
                for name in (part.strip() for part in value.split(",")):
                    stanza = transforms[name]
                    unknown = set(stanza) - {"REGEX", "FORMAT", "SOURCE_KEY", "MV_ADD"}
                    if unknown:
                        raise EvalError(f"{name}: {sorted(unknown)} not modelled")
                    if "FORMAT" not in stanza and not regex.compile(stanza["REGEX"]).groupindex:
                        raise EvalError(f"{name}: no FORMAT and no named group")
                    reports.append(Transform(stanza["REGEX"], stanza.get("FORMAT", ""),
                                             stanza.get("SOURCE_KEY", "_raw"),
                                             stanza.get("MV_ADD", "false").lower() == "true"))  # fmt: skip
            elif key.startswith("FIELDALIAS-"):
                words = value.split()
                for i in range(0, len(words), 3):
                    if words[i + 1] != "AS":
                        raise EvalError(f"{key}: only 'AS' aliases are modelled")
                    aliases.append((words[i], words[i + 2]))
            elif key.startswith("EVAL-"):
                evals[key.removeprefix("EVAL-")] = compile_eval(value)
            elif key.startswith("LOOKUP-"):
                lookups.append(cls._lookup(app_root, transforms, key, value))
        eventtypes = {
            name: stanza["search"]
            for name, stanza in read_conf(default / "eventtypes.conf").items()
            if "search" in stanza
        }
        tags = {
            name: {tag for tag, state in stanza.items() if state == "enabled"}
            for name, stanza in read_conf(default / "tags.conf").items()
            if name != "default"
        }
        kv_mode = props.get("KV_MODE", "auto").lower()
        if kv_mode not in ("json", "none"):
            raise EvalError(f"KV_MODE = {kv_mode} is not modelled (json and none are)")
        return cls(aliases, evals, lookups, eventtypes, tags, reports, kv_mode=kv_mode)

    @staticmethod
    def _lookup(app_root: Path, transforms, key: str, value: str):
        words = value.split()
        name, rest = words[0], words[1:]
        split_at = next(i for i, w in enumerate(rest) if w in ("OUTPUT", "OUTPUTNEW"))
        if rest[split_at] != "OUTPUT":
            raise EvalError(f"{key}: only OUTPUT is modelled")

        def pairs(items: list[str]) -> list[tuple[str, str]]:
            out, i = [], 0
            while i < len(items):
                if i + 2 < len(items) and items[i + 1] == "AS":
                    out.append((items[i], items[i + 2]))
                    i += 3
                else:
                    out.append((items[i], items[i]))
                    i += 1
            return out

        stanza = transforms[name]
        wildcard = set(regex.findall(r"WILDCARD\((\w+)\)", stanza.get("match_type", "")))
        with (app_root / "lookups" / stanza["filename"]).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if stanza.get("max_matches") != "1":
            raise EvalError(f"{name}: only max_matches = 1 is modelled")
        table = Lookup(rows, wildcard, stanza.get("case_sensitive_match", "true") == "true")
        return table, pairs(rest[:split_at]), pairs(rest[split_at + 1 :])

    def fields_of(self, event: dict | None, sourcetype: str = "aws:cloudtrail", raw: str | None = None,
                  source: str = "http:cloudtrail_firehose") -> Fields:
        """The event's fields at search time; raw is its _raw (default: raw_of(event)).

        props.conf.spec KV_MODE: json extracts the JSON fields (within the extraction cutoff); none
        extracts nothing automatically, so the fields are only those the configuration makes."""
        raw = raw_of(event) if raw is None else raw
        fields: Fields = {}
        for transform in self.reports:  # REPORT- runs before automatic key-value extraction
            transform.apply(fields, raw)
        kv = kv_json(raw, self.extraction_cutoff) if self.kv_mode == "json" else {}
        clash = set(kv) & set(fields)
        if clash:
            raise EvalError(f"how KV_MODE=json merges with extracted fields {sorted(clash)} is not modelled")
        fields.update(kv)
        fields.update(sourcetype=[sourcetype], source=[source], index=["main"])
        aliased = dict(fields)
        for source, target in self.aliases:
            if source in fields:
                aliased[target] = list(fields[source])
            else:
                aliased.pop(target, None)  # Splunk 7.2.4+: no source, no destination
        fields = aliased
        computed = {}
        for name, node in self.evals.items():
            value = evaluate(node, fields)
            if isinstance(value, bool):
                value = "true" if value else "false"
            computed[name] = value
        for name, value in computed.items():
            if value is None:
                fields.pop(name, None)
            else:
                fields[name] = value if isinstance(value, list) else [value]
        for table, inputs, outputs in self.lookups:
            self._apply_lookup(table, inputs, outputs, fields)
        matched = sorted(name for name, search in self.eventtypes.items() if search_matches(search, fields))
        if matched:
            fields["eventtype"] = matched
        tags: set[str] = set()
        tagged_fields: dict[str, set[str]] = {}
        for name in matched:
            for tag in self.tags.get(f"eventtype={name}", ()):
                tags.add(tag)
                tagged_fields.setdefault("eventtype", set()).add(tag)
        for pair, pair_tags in self.tags.items():
            field_name, _, value = pair.partition("=")
            if field_name != "eventtype" and value in fields.get(field_name, []):
                tags |= pair_tags
                tagged_fields.setdefault(field_name, set()).update(pair_tags)
        if tags:
            fields["tag"] = sorted(tags)
            for field_name, values in tagged_fields.items():
                fields[f"tag::{field_name}"] = sorted(values)
        return fields

    @staticmethod
    def _apply_lookup(table: Lookup, inputs, outputs, fields: Fields) -> None:
        if any(field_name not in fields for _, field_name in inputs):
            return  # Splunk skips a lookup whose input fields are missing
        multivalue = [field_name for _, field_name in inputs if len(fields[field_name]) > 1]
        if len(inputs) > 1 and multivalue:
            raise EvalError(f"a multivalue input ({multivalue}) to a lookup of several fields is not modelled")
        # Every value of a multivalue input is looked up; each match adds its output values.
        rows = []
        for values in zip(*(fields[field_name] for _, field_name in inputs), strict=True):
            row = table.match({column: value for (column, _), value in zip(inputs, values, strict=True)})
            if row is not None:
                rows.append(row)
        if not rows:
            return
        for column, field_name in outputs:
            values = [row[column] for row in rows if row.get(column)]
            if values:
                fields[field_name] = values
            else:
                fields.pop(field_name, None)

    def produced_fields(self) -> set[str]:
        """Every field name the configuration can add (the static measure)."""
        names = {target for _, target in self.aliases} | set(self.evals)
        for _, _, outputs in self.lookups:
            names |= {target for _, target in outputs}
        if self.eventtypes:
            names |= {"eventtype"}
        if self.tags:
            names |= {"tag"} | {f"tag::{pair.partition('=')[0]}" for pair in self.tags}
        return names


# --- stats ... by ---------------------------------------------------------------------------------


def stats_by(rows: list[Fields], by: list[str]) -> dict[tuple[str, ...], int]:
    """Event counts per group, as `stats count by <by>` gives them ("stats" command reference):
    an event with a null (absent) by-field is in no group; a multivalue by-field puts the event
    in the group of each of its values."""
    groups: dict[tuple[str, ...], int] = {}
    for fields in rows:
        columns = [[v for v in fields.get(name, []) if v != ""] for name in by]
        if not all(columns):
            continue
        for key in itertools.product(*columns):
            groups[key] = groups.get(key, 0) + 1
    return groups


def kept_by(rows: list[Fields], by: list[str]) -> int:
    """How many of the events reach at least one group of `stats ... by <by>`."""
    return sum(1 for fields in rows if stats_by([fields], by))


# --- eventtype searches -------------------------------------------------------------------------

SEARCH_TERM = regex.compile(r'\s*(?:(\()|(\))|(NOT|OR|AND)\b|([\w.{}:]+)(!=|=)("(?:[^"\\]|\\.)*"|[^\s()]+))')


def search_matches(search: str, fields: Fields) -> bool:
    """Evaluate the simple searches eventtypes use: field=value terms, AND/OR/NOT, parentheses."""
    tokens, pos = [], 0
    while pos < len(search) and search[pos:].strip():
        match = SEARCH_TERM.match(search, pos)
        if not match:
            raise EvalError(f"cannot read search at: {search[pos:]!r}")
        if match.group(1) or match.group(2):
            tokens.append(match.group(1) or match.group(2))
        elif match.group(3):
            tokens.append(match.group(3))
        else:
            value = match.group(6)
            tokens.append(("term", match.group(4), match.group(5), value.strip('"')))
        pos = match.end()

    position = 0

    def term_matches(name: str, op: str, pattern: str) -> bool:
        values = fields.get(name, [])
        hit = any(fnmatch.fnmatchcase(v.lower(), pattern.lower()) for v in values)
        return hit if op == "=" else bool(values) and not hit

    def parse_or() -> bool:
        nonlocal position
        result = parse_and()
        while position < len(tokens) and tokens[position] == "OR":
            position += 1
            result = parse_and() or result
        return result

    def parse_and() -> bool:
        nonlocal position
        result = True
        while position < len(tokens) and tokens[position] not in ("OR", ")"):
            if tokens[position] == "AND":
                position += 1
                continue
            result = parse_unary() and result
        return result

    def parse_unary() -> bool:
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "NOT":
            return not parse_unary()
        if token == "(":
            result = parse_or()
            position += 1  # ")"
            return result
        _, name, op, pattern = token
        return term_matches(name, op, pattern)

    return parse_or()
