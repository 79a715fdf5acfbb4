"""Read Splunk .conf files the way Splunk does, for tests of the shipped configuration.

Splunk's rules: '#' starts a comment only at the start of a line; a trailing backslash
continues a value on the next line; keys before any stanza belong to [default]; a stanza
that appears twice is merged, the later key winning.
"""

from __future__ import annotations

import re
from pathlib import Path


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
    pattern = re.compile(line_breaker)
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
