"""A stand-in for the Admin Config Service's HEC token endpoints, over real HTTP on 127.0.0.1.

It follows "Manage HTTP Event Collector (HEC) tokens in Splunk Cloud Platform" and the ACS OpenAPI
document (operations CreateHEC, ListHECs, DescribeHec, UpdateHEC, DeleteHec):

- /{stack}/adminconfig/v2/inputs/http-event-collectors[/{name}], bearer JWT (Authorization: Bearer ...);
- POST (a HecSpec, "name" required) answers 202 {"http-event-collector": spec}; PUT and DELETE answer 202;
  each change becomes visible to GET only after `lag` further GETs (ACS applies writes asynchronously);
- GET list answers {"http_event_collectors": [HecInfo]} paged by count (1..100, default 30) and offset;
  GET one answers {"http-event-collector": {"spec": HecSpec, "token": value}} or 404 "404-hec-not-found";
- errors are {"code": "<status>-<reason>", "message": ...} ("Troubleshoot ACS error messages"):
  401-unauthorized, 404-stack-not-found, 409-object-already-exists, and whatever `faults` queues
  (429, 424-dependency-incomplete, 424-failed-dependency, 500, 503, ...).
It takes JSON keys in any case, since the manual writes useACK and the OpenAPI document useAck, and
answers with the manual's spelling.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import uuid
from http.server import ThreadingHTTPServer

from fake_http import Request, json_handler, serve

STACK = "acme"
JWT = "eyJraWQiOiJzcGx1bmsuc2VjcmV0IiwiYWxnIjoiSFM1MTIifQ.acs-test.signature"
SPEC_FIELDS = ("name", "defaultHost", "defaultIndex", "defaultSource", "defaultSourcetype", "disabled",
               "allowedIndexes", "useACK", "token")  # fmt: skip
_CANONICAL = {f.lower(): f for f in SPEC_FIELDS}


class FakeAcs:
    def __init__(self, stack: str = STACK, lag: int = 1) -> None:
        self.stack = stack
        self.lag = lag  # GETs before a write is visible
        self.tokens: dict[str, dict] = {}  # visible state: name -> spec (with "token")
        self.pending: list[list] = []  # [remaining GETs, name, spec or None for delete]
        self.faults: list[tuple[str | None, int, str, str]] = []  # (method or None, status, code, message)
        self.requests: list[tuple[str, str, dict | None]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        serve(self.server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def seed(self, name: str, lag: int = -1, **spec) -> str:
        """A token that already exists on the stack, or (lag >= 0) that another client has just created and
        that GETs show only after lag more of them; returns its value."""
        value = str(uuid.uuid4())
        if lag >= 0:
            self.pending.append([lag, name, {"name": name, **spec, "token": value}])
        else:
            self.tokens[name] = {"name": name, **spec, "token": value}
        return value

    def fail(self, status: int, code: str, message: str, method: str | None = None, times: int = 1) -> None:
        self.faults += [(method, status, code, message)] * times

    def _handler_class(self):
        return json_handler(self._request, methods=("GET", "POST", "PUT", "DELETE"))

    def _request(self, request: Request) -> tuple[int, object]:
        try:
            body = json.loads(request.body) if request.body else None
        except json.JSONDecodeError:
            body = "not json"
        with self.lock:
            self.requests.append((request.method, request.path, body))
            return self.route(request.method, request.path, request.query, body, request.headers)

    def route(self, method: str, path: str, query: dict, body, headers) -> tuple[int, object]:
        if headers.get("Authorization", "") != f"Bearer {JWT}":
            return error(401, "unauthorized", "call not properly authenticated")
        stack, _, rest = path.strip("/").partition("/")
        if stack != self.stack:
            return error(404, "stack-not-found", f"stack {stack} not found")
        for i, (fault_method, status, code, message) in enumerate(self.faults):
            if fault_method in (None, method):
                del self.faults[i]
                return status, {"code": code, "message": message}
        collection = "adminconfig/v2/inputs/http-event-collectors"
        if rest == collection and method == "GET":
            self._tick()
            count, offset = int(query.get("count", 30)), int(query.get("offset", 0))
            if not 1 <= count <= 100 or offset < 0:
                return error(400, "bad-request", "count must be 1 to 100 and offset 0 or more")
            names = sorted(self.tokens)[offset : offset + count]
            return 200, {"http_event_collectors": [info(self.tokens[n]) for n in names]}
        if rest == collection and method == "POST":
            spec = canonical(body)
            if spec is None or not spec.get("name"):
                return error(400, "bad-request", "request body must be a JSON object with a name")
            name = spec["name"]
            if name in self.tokens or any(p[1] == name and p[2] for p in self.pending):
                return error(409, "object-already-exists", f"http event collector {name} already exists")
            spec.setdefault("token", str(uuid.uuid4()))
            self.pending.append([self.lag, name, spec])
            return 202, {"http-event-collector": {k: v for k, v in spec.items() if k != "token"}}
        if rest.startswith(collection + "/"):
            name = urllib.parse.unquote(rest.removeprefix(collection + "/"))
            if method == "GET":
                self._tick()
                if name not in self.tokens:
                    return error(404, "hec-not-found", f"http event collector {name} not found")
                return 200, {"http-event-collector": info(self.tokens[name])}
            if name not in self.tokens:
                return error(404, "hec-not-found", f"http event collector {name} not found")
            if method == "PUT":
                spec = canonical(body)
                if spec is None:
                    return error(400, "bad-request", "request body must be a JSON object")
                self.pending.append([self.lag, name, {**self.tokens[name], **spec, "name": name,
                                                      "token": self.tokens[name]["token"]}])  # fmt: skip
                return 202, "successfully submitted a hec token update"
            if method == "DELETE":
                if body is None:
                    return error(400, "bad-request", "request body is required")
                self.pending.append([self.lag, name, None])
                return 202, "successfully submitted hec token deletion"
        return error(404, "not-found", f"fake ACS has no {method} {path}")

    def _tick(self) -> None:
        """One GET passes: writes whose lag has run out become visible."""
        for item in list(self.pending):
            item[0] -= 1
            if item[0] < 0:
                self.pending.remove(item)
                if item[2] is None:
                    self.tokens.pop(item[1], None)
                else:
                    self.tokens[item[1]] = item[2]


def canonical(body) -> dict | None:
    if not isinstance(body, dict):
        return None
    return {_CANONICAL.get(str(k).lower(), k): v for k, v in body.items()}


def info(spec: dict) -> dict:
    return {"spec": {k: v for k, v in spec.items() if k != "token"}, "token": spec["token"]}


def error(status: int, reason: str, message: str) -> tuple[int, dict]:
    return status, {"code": f"{status}-{reason}", "message": message}
