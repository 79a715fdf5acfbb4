"""A small client for the few splunkd REST endpoints the app calls, with the caller's session token.

Form-encoded bodies (send_json: a JSON document, for the KV store), JSON out (output_mode=json).
splunkd answers errors as {"messages": [{"type", "text"}]};
they come back as SplunkdError with splunkd's own words.

Whatever comes back, the caller gets parsed JSON or a SplunkdError with a short reason, never another
exception: an HTTP error, no answer in time, a connection cut or refused, a TLS failure, a status line
that is not HTTP (http.client.BadStatusLine, LineTooLong, RemoteDisconnected), a body cut short
(IncompleteRead), a body over MAX_BODY bytes, a body that is not UTF-8, or not JSON (an HTML page from
a proxy). An empty body is {} (splunkd answers some DELETEs that way).
"""

from __future__ import annotations

import copy
import http.client
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

MAX_BODY = 64 * 1024 * 1024  # the largest answer read; the app's answers are a few KB (search: identities only)


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
        if not url.startswith(("https://", "http://")):
            raise SplunkdError(0, f"not a splunkd URL: {self.base_url}")
        headers = {**headers, "Authorization": f"Splunk {self.token}"}
        request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - checked above
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:  # noqa: S310
                status = response.status
                data = self._read(response, status)
        except urllib.error.HTTPError as error:
            try:
                text = self._read(error, error.code).decode("utf-8", errors="replace")
            except SplunkdError as unreadable:
                text = unreadable.message
            raise SplunkdError(error.code, _message(text)) from error
        except urllib.error.URLError as error:
            raise SplunkdError(0, f"cannot reach splunkd at {self.base_url} ({error.reason})") from error
        except (http.client.HTTPException, ssl.SSLError) as error:  # not HTTP, cut short, TLS broken
            raise SplunkdError(0, f"splunkd at {self.base_url} sent a broken answer ({_reason(error)})") from error
        except OSError as error:  # after connecting: a read timed out (socket.timeout on 3.9) or was cut
            raise SplunkdError(0, f"splunkd at {self.base_url} did not answer ({_reason(error)})") from error
        return _parsed(data, status)

    def _read(self, response, status: int) -> bytes:
        """The body, at most max_body bytes (more is an error, not a truncated answer)."""
        data = response.read(self.max_body + 1)
        if len(data) > self.max_body:
            raise SplunkdError(status, f"the answer is larger than {self.max_body} bytes")
        missing = getattr(response, "length", None)  # what Content-Length announced and did not come
        if missing:
            raise SplunkdError(status, f"the answer was cut short after {len(data)} bytes ({missing} missing)")
        return data

    def with_timeout(self, seconds: float) -> Splunkd:
        """This client with another time limit for each read (a search may take longer than a REST call)."""
        clone = copy.copy(self)
        clone.timeout = seconds
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


def _reason(error: object) -> str:
    """A short reason: the exception's words, or its name when it has none (RemoteDisconnected has words,
    IncompleteRead's are byte counts)."""
    if isinstance(error, http.client.IncompleteRead):
        return f"the answer was cut short after {len(error.partial)} bytes"
    words = str(error).strip()
    name = type(error).__name__
    return f"{name}: {words[:200]}" if words else name


def _message(text: str) -> str:
    try:
        return "; ".join(m.get("text", "") for m in json.loads(text).get("messages", [])) or text[:300]
    except (json.JSONDecodeError, AttributeError):
        return text[:300]


def quote(name: str) -> str:
    """A name as one path segment."""
    return urllib.parse.quote(name, safe="")
