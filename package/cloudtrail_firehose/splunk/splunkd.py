"""A small client for the few splunkd REST endpoints the app calls, with the caller's session token.

Form-encoded bodies (send_json: a JSON document, for the KV store), JSON out (output_mode=json).
splunkd answers errors as {"messages": [{"type", "text"}]};
they come back as SplunkdError with splunkd's own words.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class SplunkdError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"splunkd answered {status}: {message}")
        self.status = status
        self.message = message


class Splunkd:
    def __init__(self, base_url: str, token: str, verify: bool = False, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
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
                text = response.read().decode()
                return json.loads(text) if text.strip() else {}
        except urllib.error.HTTPError as error:
            raise SplunkdError(error.code, _message(error.read().decode(errors="replace"))) from error
        except urllib.error.URLError as error:
            raise SplunkdError(0, f"cannot reach splunkd at {self.base_url} ({error.reason})") from error
        except (TimeoutError, ConnectionError) as error:  # after connecting: a read timed out or was cut
            raise SplunkdError(0, f"splunkd at {self.base_url} did not answer ({error})") from error

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


def _message(text: str) -> str:
    try:
        return "; ".join(m.get("text", "") for m in json.loads(text).get("messages", [])) or text[:300]
    except (json.JSONDecodeError, AttributeError):
        return text[:300]


def quote(name: str) -> str:
    """A name as one path segment."""
    return urllib.parse.quote(name, safe="")
