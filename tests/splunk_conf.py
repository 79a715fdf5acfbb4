"""Read Splunk .conf files the way Splunk does, for tests of the shipped configuration.

Splunk's rules: '#' starts a comment only at the start of a line; a trailing backslash
continues a value on the next line; keys before any stanza belong to [default]; a stanza
that appears twice is merged, the later key winning.

And the index-time settings the app uses, as Splunk's documents describe them:
- props.conf.spec LINE_BREAKER (SHOULD_LINEMERGE = false): `split_events`;
- props.conf.spec TIME_PREFIX, MAX_TIMESTAMP_LOOKAHEAD, TIME_FORMAT, and "Enhanced strptime() support"
  (Getting Data In, "Configure timestamp recognition") for %s, Unix epoch seconds: `event_time`;
- props.conf.spec SEDCMD-<class> (s/regex/replacement/flags, \n back references, g or a number as
  flag): `sed`;
- the order of the pipelines ("How indexing works", Managing Indexers and Clusters of Indexers): line
  breaking (parsing), then timestamps (merging/aggregation), then regex replacement such as SEDCMD
  (typing), so the timestamp is found in the event as it was broken, before SEDCMD rewrites it:
  `index_time`.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import regex


def parse_conf(text: str) -> dict[str, dict[str, str]]:
    stanzas: dict[str, dict[str, str]] = {"default": {}}
    current = stanzas["default"]
    pending_key: str | None = None
    for raw in text.splitlines():
        if pending_key is not None:
            value = raw.rstrip()
            continued = value.endswith("\\")
            current[pending_key] += "\n" + (value[:-1] if continued else value)
            pending_key = pending_key if continued else None
            continue
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = stanzas.setdefault(line[1:-1], {})
            continue
        if "=" not in line:
            raise ValueError(f"not a 'key = value' line: {raw!r}")
        key, value = (part.strip() for part in line.split("=", 1))
        if value.endswith("\\"):
            value, pending_key = value[:-1], key
        current[key] = value
    return stanzas


def read_conf(path: Path) -> dict[str, dict[str, str]]:
    return parse_conf(path.read_text(encoding="utf-8"))


def split_events(raw: str, line_breaker: str) -> list[str]:
    """Break a stream into events as Splunk's LINE_BREAKER does (SHOULD_LINEMERGE = false).

    The first capturing group is the delimiter: it is discarded, text before it ends one
    event and text after it starts the next.
    """
    pattern = regex.compile(line_breaker)  # PCRE, as Splunk reads it (branch reset groups too)
    events, start, search_from = [], 0, 0
    while (match := pattern.search(raw, search_from)) is not None:
        cut_start, cut_end = match.span(1)
        if cut_end == cut_start and match.end() == match.start():
            search_from = match.end() + 1  # an empty match would never advance
            continue
        events.append(raw[start:cut_start])
        start = search_from = cut_end
    events.append(raw[start:])
    return [event for event in events if event.strip()]


def sed(script: str, text: str) -> str:
    """props.conf.spec SEDCMD: "s/regex/replacement/flags": the replacement may hold back references
    \\n (n a single digit); flags is g (every match) or a number n (the n-th match); none: the first.
    The y/// form is not modelled (the app does not use it)."""
    if not script.startswith("s") or len(script) < 2:
        raise ValueError(f"only the s/// form of SEDCMD is modelled: {script!r}")
    delimiter = script[1]
    parts = re.split(rf"(?<!\\){re.escape(delimiter)}", script[2:])
    if len(parts) != 3:
        raise ValueError(f"not s/regex/replacement/flags: {script!r}")
    pattern, replacement, flags = parts
    compiled = regex.compile(pattern)
    if flags not in ("", "g") and not flags.isdigit():
        raise ValueError(f"flags {flags!r} are not modelled")
    nth = int(flags) if flags.isdigit() else 1
    count = 0

    def substitute(match) -> str:
        nonlocal count
        count += 1
        if flags != "g" and count != nth:
            return match.group(0)
        return re.sub(r"\\(\d)", lambda ref: match.group(int(ref.group(1))) or "", replacement)

    return compiled.sub(substitute, text)


def event_time(raw: str, stanza: dict[str, str]) -> datetime | None:
    """_time as TIME_PREFIX, MAX_TIMESTAMP_LOOKAHEAD and TIME_FORMAT find it: the timestamp is read from
    the text after the end of TIME_PREFIX's first match, within MAX_TIMESTAMP_LOOKAHEAD characters
    of it. None when it is not there (Splunk then takes another time; the tests want it found)."""
    prefix = regex.search(stanza["TIME_PREFIX"], raw)
    if prefix is None:
        return None
    window = raw[prefix.end() : prefix.end() + int(stanza["MAX_TIMESTAMP_LOOKAHEAD"])]
    if stanza["TIME_FORMAT"] == "%s":  # seconds since 1970-01-01 00:00:00 UTC
        digits = re.match(r"\d+", window)
        return None if digits is None else datetime.fromtimestamp(int(digits.group()), timezone.utc)
    raise ValueError(f"TIME_FORMAT {stanza['TIME_FORMAT']!r} is not modelled here (%s is)")


def index_time(stream: str, stanza: dict[str, str]) -> list[tuple[datetime | None, str]]:
    """(_time, _raw) of each event Splunk makes of one HEC raw request: LINE_BREAKER, then the timestamp,
    then every SEDCMD-<class> of the stanza (in class name order; the app has one)."""
    if stanza.get("SHOULD_LINEMERGE", "true").lower() != "false":
        raise ValueError("only SHOULD_LINEMERGE = false is modelled")
    events = []
    for event in split_events(stream, stanza["LINE_BREAKER"]):
        event = event[: int(stanza.get("TRUNCATE", "10000"))]
        time = event_time(event, stanza)
        for key in sorted(k for k in stanza if k.startswith("SEDCMD-")):
            event = sed(stanza[key], event)
        events.append((time, event))
    return events
