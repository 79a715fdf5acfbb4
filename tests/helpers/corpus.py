"""The shared corpus of real CloudTrail events (../shared/corpus, read its SOURCES.md)."""

from __future__ import annotations

import copy
import functools
import gzip
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# CI lays shared/ beside the clone; CLOUDTRAIL_FIREHOSE_CORPUS points elsewhere.
CORPUS = Path(os.environ.get("CLOUDTRAIL_FIREHOSE_CORPUS", ROOT.parent / "shared" / "corpus"))
DATA_SOURCES = CORPUS / "splunk_security_content" / "data_sources"


MISSING = f"needs the shared corpus, absent at {CORPUS} (README: The test corpus)"


def corpus_dir() -> Path:
    """The corpus; a test (or a test module, at import) that needs it and runs without it is skipped."""
    if not CORPUS.is_dir():
        import pytest  # bench scripts end here too, with this message

        pytest.skip(MISSING, allow_module_level=True)
    return CORPUS


class Lazy(Sequence):
    """A list read from the corpus on first use, so a module whose tests mostly do without it imports anyway."""

    def __init__(self, load: Callable[[], list]):
        self._load, self._items = load, None

    def _loaded(self) -> list:
        if self._items is None:
            self._items = self._load()
        return self._items

    def __getitem__(self, index):
        return self._loaded()[index]

    def __len__(self) -> int:
        return len(self._loaded())

    def __eq__(self, other: object) -> bool:
        return self._loaded() == (other._loaded() if isinstance(other, Lazy) else other)

    __hash__ = None


def _records(document: object) -> list[dict]:
    if isinstance(document, dict) and "Records" in document:
        return document["Records"]
    return document if isinstance(document, list) else [document]


def data_sources() -> list[dict]:
    """The security_content data_sources files that list fields (one per eventName)."""
    return copy.deepcopy(_data_sources())  # a copy: a test may change what it gets


@functools.cache  # parsing the YAML files takes ~0.4 s, and many test modules ask
def _data_sources() -> list[dict]:
    sources = []
    for path in sorted((corpus_dir() / "splunk_security_content" / "data_sources").glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if document.get("fields"):
            document["path"] = path
            sources.append(document)
    return sources


def cloudtrail_events() -> list[tuple[str, dict]]:
    """(label, event) for every complete CloudTrail event in the corpus.

    Left out, as SOURCES.md says: the user-identity fragment (not an event) and the CloudWatch
    Logs payload examples (their messages are truncated, invalid JSON).
    """
    return copy.deepcopy(_cloudtrail_events())  # a copy: a test may change what it gets


@functools.cache
def _cloudtrail_events() -> list[tuple[str, dict]]:
    base = corpus_dir()
    events: list[tuple[str, dict]] = []
    for path in sorted((base / "stratus-red-team" / "detonation-logs").glob("*.json")):
        events += [(f"{path.name}#{i}", e) for i, e in enumerate(json.loads(path.read_text()))]
    for path in sorted((base / "awsdocs-aws-cloudtrail-user-guide").glob("*.json")):
        if "user-identity" in path.name:
            continue
        events += [(f"{path.name}#{i}", e) for i, e in enumerate(_records(json.loads(path.read_text())))]
    sample = base / "splunk-aws-gdi-toolkit" / "sample-cloudtrail.json.gz"
    records = _records(json.loads(gzip.decompress(sample.read_bytes())))
    events += [(f"{sample.name}#{i}", e) for i, e in enumerate(records)]
    for source in _data_sources():
        events.append((source["path"].name, json.loads(source["example_log"])))
    return events


def event_named(name: str, predicate=lambda event: True) -> dict:
    """The first corpus event with this eventName that satisfies predicate."""
    for _, event in _cloudtrail_events():
        if event.get("eventName") == name and predicate(event):
            return copy.deepcopy(event)
    raise LookupError(f"no {name} event in the corpus")
