"""A small client for the few splunkd REST endpoints the app calls, with the caller's session token.

Form-encoded bodies (send_json: a JSON document, for the KV store), JSON out (output_mode=json).
splunkd answers errors as {"messages": [{"type", "text"}]};
they come back as SplunkdError with splunkd's own words.

Calls go through outbound_http: `timeout` bounds each whole call (connect, send, the answer's last
byte), a redirect is never followed (it would carry the session key elsewhere), and the session key
is masked in whatever the answer says. Whatever comes back, the caller gets parsed JSON or a
SplunkdError with a short reason, never another exception: an HTTP error, a redirect, no answer in
time, a connection cut or refused, a TLS failure, a status line that is not HTTP (BadStatusLine,
LineTooLong, RemoteDisconnected), a body cut short, a body over max_body bytes, a body that is not
UTF-8, or not JSON (an HTML page from a proxy). An empty body is {} (splunkd answers some DELETEs that way).
"""

from __future__ import annotations

import copy
import json
import ssl
import urllib.parse
from typing import Any

from cloudtrail_firehose import outbound_http
from cloudtrail_firehose.outbound_http import HttpError
from cloudtrail_firehose.urls import url_problem

# The largest answer read by default. REST answers are a few KB, but data/inputs/http with count=0 lists
# every HEC input of a large HEC tier (2-3 KB each); the search has a cap of its own (inputs/indexed.py).
MAX_BODY = 64 * 1024 * 1024


class SplunkdError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"splunkd answered {status}: {message}")
        self.status = status
        self.message = message


class Splunkd:
    def __init__(self, base_url: str, token: str, verify: bool = False, timeout: float = 30,
                 max_body: int = MAX_BODY) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.max_body = max_body
        # splunkd's management port usually has Splunk's own certificate; it is reached on localhost.
        self.context = ssl.create_default_context() if verify else ssl._create_unverified_context()  # noqa: S323

    def request(self, method: str, path: str, data: dict[str, Any] | None = None, **query: str) -> dict:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        return self._send(method, path, body, {}, query)

    def send_json(self, method: str, path: str, document: dict[str, Any] | None = None, **query: str) -> Any:
        """A request whose body is a JSON document, as the KV store's storage/collections/data takes."""
        body = json.dumps(document).encode() if document is not None else None
        return self._send(method, path, body, {"Content-Type": "application/json"}, query)

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str], query: dict) -> Any:
        url = f"{self.base_url}/{path.lstrip('/')}?" + urllib.parse.urlencode({"output_mode": "json", **query})
        problem = url_problem(url)
        if problem:
            raise SplunkdError(0, f"not a splunkd URL: {problem}")
        headers = {**headers, "Authorization": f"Splunk {self.token}"}
        try:
            answer = outbound_http.request(method, url, body, headers, timeout=self.timeout, max_body=self.max_body,
                                           context=self.context)  # fmt: skip
        except HttpError as error:
            raise SplunkdError(error.status, self._failure(error)) from None
        if answer.status >= 400:
            raise SplunkdError(answer.status, _message(answer.text()))
        return _parsed(answer.body, answer.status)

    def _failure(self, error: HttpError) -> str:
        if error.kind in ("url", "header", "resolve", "connect", "tls", "certificate"):
            return f"cannot reach splunkd at {self.base_url} ({error.detail})"
        if error.kind == "timeout":
            return f"splunkd at {self.base_url} did not answer in time ({error.detail})"
        if error.kind == "redirect":
            return f"splunkd at {self.base_url} {error.detail}"
        if error.kind == "too_large":
            return error.detail
        return f"splunkd at {self.base_url} sent a broken answer ({error.detail})"

    def with_timeout(self, seconds: float, max_body: int | None = None) -> Splunkd:
        """This client with another limit for each whole call (a search may take longer than a REST call),
        and another cap on the answer when given."""
        clone = copy.copy(self)
        clone.timeout = seconds
        clone.max_body = max_body or self.max_body
        return clone

    def get(self, path: str, **query: str) -> dict:
        return self.request("GET", path, **query)

    def post(self, path: str, data: dict[str, Any]) -> dict:
        return self.request("POST", path, data)

    def delete(self, path: str) -> dict:
        return self.request("DELETE", path)

    def upsert(self, collection: str, entity: str, values: dict[str, Any], create: dict[str, Any]) -> dict:
        """Update the entity at collection/entity, or create it in collection with the create fields."""
        path = f"{collection}/{quote(entity)}"
        if self.exists(path):
            return self.post(path, values)
        return self.post(collection, {**create, **values})

    def exists(self, path: str) -> bool:
        try:
            self.get(path)
            return True
        except SplunkdError as error:
            if error.status == 404:
                return False
            raise


def _parsed(data: bytes, status: int) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SplunkdError(status, f"the answer is not UTF-8 text (byte {error.start} of {len(data)})") from None
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise SplunkdError(status, f"the answer is not JSON ({len(data)} bytes, starting {text[:40]!r})") from None


def _message(text: str) -> str:
    try:
        return "; ".join(m.get("text", "") for m in json.loads(text).get("messages", [])) or text[:300]
    except (json.JSONDecodeError, AttributeError):
        return text[:300]


def quote(name: str) -> str:
    """A name as one path segment."""
    return urllib.parse.quote(name, safe="")
