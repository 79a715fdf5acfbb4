"""Secrets a call sends, masked in whatever it returns: a server that echoes a token cannot put it into a
check's message or a log line (outbound_http.py masks every answer and message with these)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Mapping

MASK = "****"
MIN_SECRET = 4  # shorter strings are not masked: replacing every "ab" would garble the text, not hide a secret


def mask(text: str, secrets: Iterable[str]) -> str:
    """text with every secret (as sent, percent-encoded or JSON-escaped) replaced with MASK."""
    for variant in _variants(secrets):
        text = text.replace(variant, MASK)
    return text


def mask_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """data with every secret masked, as mask does for text."""
    for variant in _variants(secrets):
        data = data.replace(variant.encode("utf-8"), MASK.encode())
    return data


def _variants(secrets: Iterable[str]) -> list[str]:
    found = set()
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET:
            found |= {secret, urllib.parse.quote(secret, safe=""), json.dumps(secret)[1:-1]}
    return sorted(found, key=len, reverse=True)  # the longest first, so no variant is half-masked


def header_secrets(headers: Mapping[str, str]) -> list[str]:
    """The credentials a request's headers carry: Authorization's value, and its part after the scheme."""
    found = []
    for name, value in headers.items():
        if name.lower() in ("authorization", "proxy-authorization", "cookie"):
            found += [value, value.partition(" ")[2].strip()]
    return found
