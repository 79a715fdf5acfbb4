"""The shared corpus of real CloudTrail events (../shared/corpus, read its SOURCES.md)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# CI lays shared/ beside the clone; CLOUDTRAIL_FIREHOSE_CORPUS points elsewhere.
CORPUS = Path(os.environ.get("CLOUDTRAIL_FIREHOSE_CORPUS", ROOT.parent / "shared" / "corpus"))
DATA_SOURCES = CORPUS / "splunk_security_content" / "data_sources"


def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        raise FileNotFoundError(
            f"the shared corpus is missing: expected it at {CORPUS} (set CLOUDTRAIL_FIREHOSE_CORPUS)"
        )
    return CORPUS


def _records(document: object) -> list[dict]:
    if isinstance(document, dict) and "Records" in document:
        return document["Records"]
    return document if isinstance(document, list) else [document]


def data_sources() -> list[dict]:
    """The security_content data_sources files that list fields (one per eventName)."""
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
    for source in data_sources():
        events.append((source["path"].name, json.loads(source["example_log"])))
    return events


def event_named(name: str, predicate=lambda event: True) -> dict:
    """The first corpus event with this eventName that satisfies predicate."""
    for _, event in cloudtrail_events():
        if event.get("eventName") == name and predicate(event):
            return event
    raise LookupError(f"no {name} event in the corpus")
