"""A stand-in for Splunk's HTTP Event Collector over HTTPS on 127.0.0.1 (certificate for "localhost").

It answers the endpoints and reply codes of "HTTP Event Collector REST API endpoints" and
"Troubleshoot HTTP Event Collector" (the codes are the ones in the shared corpus's
splunkadmins_hec_reply_code_lookup.csv):

- GET /services/collector/health needs no token: 200 {"text": "HEC is healthy", "code": 17}, or 503
  with 18 (queues full) / 19 (ack service unavailable) when `unhealthy` says so;
- every other endpoint needs "Authorization: Splunk <token>": no header 401 code 2, another scheme
  401 code 3, an unknown token 403 code 4, a disabled one 403 code 1; `busy` answers 503 code 9;
- POST /services/collector/ack: the channel (X-Splunk-Request-Channel header or ?channel=) is
  required (400 code 10; not a GUID 400 code 11); a token without acknowledgement 400 code 14;
  otherwise 200 {"acks": {"<id>": false}} for ids never issued on that channel;
- POST /services/collector/raw: a channel is required when the token acknowledges; an empty body is
  400 code 5 "No data"; data is indexed (kept in `indexed`) and answered with an ackId.
"""

from __future__ import annotations

import json
import ssl
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path

from certificates import self_signed
from fake_http import Request, json_handler, serve


class FakeHec:
    def __init__(self, directory: Path, host: str = "localhost") -> None:
        self.tokens: dict[str, dict] = {}  # value -> {"ack": bool, "disabled": bool}
        self.busy = False
        self.unhealthy: int | None = None  # 18, 19 or 20
        self.indexed: list[bytes] = []
        self.acks: dict[str, int] = {}  # channel -> next ack id
        self.requests: list[tuple[str, str, dict]] = []
        self.cert, key = self_signed(directory, host)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        serve(self.server)

    @property
    def url(self) -> str:
        return f"https://localhost:{self.server.server_address[1]}"

    def add_token(self, ack: bool = True, disabled: bool = False) -> str:
        value = str(uuid.uuid4())
        self.tokens[value] = {"ack": ack, "disabled": disabled}
        return value

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler_class(self):
        return json_handler(self._request, methods=("GET", "POST"))

    def _request(self, request: Request) -> tuple[int, dict]:
        headers = dict(request.headers)
        self.requests.append((request.method, request.path, headers))
        return self.route(request.method, request.path.strip("/"), request.query, headers, request.body)

    def route(self, method: str, path: str, query: dict, headers: dict, body: bytes) -> tuple[int, dict]:
        if path.startswith("services/collector/health"):
            if self.unhealthy == 18:
                return reply(503, 18, "HEC is unhealthy, queues are full")
            if self.unhealthy == 19:
                return reply(503, 19, "HEC is unhealthy, ack service unavailable")
            if self.unhealthy == 20:
                return reply(503, 20, "HEC is unhealthy, queues are full, ack service unavailable")
            return reply(200, 17, "HEC is healthy")
        if not path.startswith("services/collector"):
            return 404, {"text": "The requested URL was not found on this server.", "code": 404}
        authorization = headers.get("Authorization", "")
        if not authorization:
            return reply(401, 2, "Token is required")
        if not authorization.startswith("Splunk "):
            return reply(401, 3, "Invalid authorization")
        token = self.tokens.get(authorization.removeprefix("Splunk ").strip())
        if token is None:
            return reply(403, 4, "Invalid token")
        if token["disabled"]:
            return reply(403, 1, "Token disabled")
        if self.busy:
            return reply(503, 9, "Server is busy")
        channel = headers.get("X-Splunk-Request-Channel") or query.get("channel")
        if channel is not None:
            try:
                uuid.UUID(channel)
            except ValueError:
                return reply(400, 11, "Invalid data channel")
        if path == "services/collector/ack" and method == "POST":
            if not token["ack"]:
                return reply(400, 14, "ACK is disabled")
            if channel is None:
                return reply(400, 10, "Data channel is missing")
            issued = self.acks.get(channel, 0)
            ids = json.loads(body or b"{}").get("acks", [])
            return 200, {"acks": {str(i): False if i >= issued else True for i in ids}}
        if path == "services/collector/raw" and method == "POST":
            if token["ack"] and channel is None:
                return reply(400, 10, "Data channel is missing")
            if not body:
                return reply(400, 5, "No data")
            self.indexed.append(body)
            if token["ack"]:
                ack_id = self.acks.get(channel, 0)
                self.acks[channel] = ack_id + 1
                return 200, {"text": "Success", "code": 0, "ackId": ack_id}
            return reply(200, 0, "Success")
        return 404, {"text": "The requested URL was not found on this server.", "code": 404}


def reply(status: int, code: int, text: str) -> tuple[int, dict]:
    return status, {"text": text, "code": code}
