"""What recovery writes: one Output per event, each with an identity Splunk can be searched for (its
eventID, a hash of the event when it has none a search term finds, or an error event's recovery_id),
shared by the object reader (inputs/object_reader.py) and the search that asks Splunk (inputs/indexed.py)."""

from __future__ import annotations

import hashlib
from typing import NamedTuple

SOURCE_PREFIX = "firehose_recovery:"
ERRORS = "aws:firehose:error"  # the sourcetype of recovery's own events: one per failed record


class SearchUnavailableError(Exception):
    """Splunk could not say for sure which events it has."""


class Output(NamedTuple):  # a NamedTuple: one per event, and twice as quick to make as a frozen dataclass
    text: str
    time: float  # the event's _time: its own, else its record's arrival, else the object's LastModified
    sourcetype: str
    source: str
    identity: str  # eventID (sha256:<hash> when not TERM_SAFE) or an error event's recovery_id


def identity_of_text(text: str) -> str:
    """The identity of an event without a searchable eventID: Splunk's sha256(_raw) finds it."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
