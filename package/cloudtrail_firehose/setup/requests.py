"""What Splunk hands the setup handler, parsed and bounded before anything else reads it.

The envelope of Splunk's persistent REST handler protocol, then (after the capability check) the body:
anything that is not what Splunk Web sends is a RequestError with a 4xx status that says what is wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A form is a flat object of a few dozen short fields; anything far bigger or deeper is not one.
MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 3
MAX_NUMBER_DIGITS = 30


class RequestError(Exception):
    def __init__(self, status: int, error: str, what_to_do: str = "") -> None:
        super().__init__(error)
        self.status, self.error, self.what_to_do = status, error, what_to_do


ENVELOPE = "call the endpoint through splunkd (services/cloudtrail_firehose/setup/...), as the setup page does"
METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")
ENVELOPE_DEPTH = 4  # the envelope's own nesting: {"query": [["since", "3"]]} is 3 deep


def parse_request(raw: str | bytes) -> dict[str, Any]:
    """The envelope Splunk hands a persistent REST handler (JSON: method, path_info, query and form and
    headers as lists of [name, value] pairs, payload as text, session {user, authtoken}, server {rest_uri});
    the body stays raw until after authorization. Anything else is a 4xx that says what is wrong."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise RequestError(400, "the request envelope is not UTF-8 text", ENVELOPE) from error
    if not isinstance(raw, str):
        raise RequestError(400, "the request envelope is not text", ENVELOPE)
    if len(raw) > MAX_BODY_BYTES * 2:
        raise RequestError(413, "the request is too large", f"send at most {MAX_BODY_BYTES // 1024} KiB")
    if _depth(raw) > ENVELOPE_DEPTH:
        raise RequestError(400, f"the request envelope is nested more than {ENVELOPE_DEPTH} levels deep", ENVELOPE)
    try:
        request = json.loads(raw, parse_int=_bounded_int)
    except (ValueError, RecursionError) as error:
        raise RequestError(400, "the request envelope is not JSON", ENVELOPE) from error
    if not isinstance(request, dict):
        raise RequestError(400, "the request envelope is not a JSON object", ENVELOPE)
    method = request.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise RequestError(405, f"the method {str(method)[:20]!r} is not an HTTP method", "use GET or POST")
    path = request.get("path_info", "")
    if not isinstance(path, str):
        raise RequestError(400, "the request's path_info is not text", ENVELOPE)
    payload = request.get("payload")
    if payload is not None and not isinstance(payload, str):
        raise RequestError(400, "the request's payload is not text (a JSON body, as a string)", ENVELOPE)
    for name in ("form", "headers"):
        _pairs(request, name)
    server = _object(request, "server")
    rest_uri = server.get("rest_uri", "https://127.0.0.1:8089")
    if not isinstance(rest_uri, str) or not re.fullmatch(r"https?://[A-Za-z0-9.:\[\]-]+/?", rest_uri):
        raise RequestError(400, "the request's server.rest_uri is not splunkd's address", ENVELOPE)
    session = request.get("session")
    token = session.get("authtoken") if isinstance(session, dict) else None
    if not isinstance(token, str) or not token:
        raise RequestError(401, "the request carries no Splunk session", "sign in to Splunk Web again, then retry")
    return {"method": method.upper(), "path": path, "query": dict(_pairs(request, "query")), "payload": payload or "",
            "rest_uri": rest_uri, "token": token}  # fmt: skip


def _object(request: dict, name: str) -> dict:
    value = request.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RequestError(400, f"the request's {name} is not a JSON object", ENVELOPE)
    return value


def _pairs(request: dict, name: str) -> list[tuple[str, str]]:
    """query, form or headers: a list of [name, value] text pairs (a JSON object of texts is read as one)."""
    value = request.get(name)
    if value is None:
        return []
    pairs = list(value.items()) if isinstance(value, dict) else value
    if not isinstance(pairs, list) or not all(
        isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs
    ):
        raise RequestError(400, f"the request's {name} is not a list of [name, value] pairs of text", ENVELOPE)
    return [(k, v) for k, v in pairs]


def parse_body(raw: str | bytes) -> dict[str, Any]:
    """A request body: a JSON object, bounded in size, depth and number length, or a clear 4xx."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if len(raw) > MAX_BODY_BYTES:
        raise RequestError(413, f"the request body is over {MAX_BODY_BYTES // 1024} KiB", "send only the form's fields")
    if not raw.strip():
        return {}
    if _depth(raw) > MAX_DEPTH:
        raise RequestError(400, f"the request body is nested more than {MAX_DEPTH} levels deep",
                           "send a flat JSON object of the form's fields")  # fmt: skip
    try:
        body = json.loads(raw, parse_int=_bounded_int, parse_constant=_no_constant)
    except ValueError as error:  # JSONDecodeError, and the bounds above
        raise RequestError(400, f"the request body is not valid JSON: {str(error)[:200]}",
                           "send a JSON object of the form's fields") from error  # fmt: skip
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object", "send a JSON object of the form's fields")
    return body


def _depth(raw: str) -> int:
    """How deep brackets nest outside strings, without parsing (json.loads would recurse that deep)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number with {len(text)} digits")
    return int(text)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")
