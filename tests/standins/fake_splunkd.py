"""A stand-in for the few splunkd REST endpoints the setup handler calls, over real HTTP on 127.0.0.1.

It answers in splunkd's JSON shape ({"entry": [{"name", "content"}]}, errors as {"messages"}) and
keeps what was stored where, so tests can assert that the AWS secret key is only in
storage/passwords and the HEC token only in the HEC input.

Distributed topologies: `peers` are indexers this search head searches, each with its own indexes
(indexes that exist only there, not in this splunkd's data/indexes); `| rest splunk_server=*
/services/data/indexes` answers one row per server and index, from the search head and every peer
that is up, as the rest command does across search peers ("rest", Search Reference).
services/search/distributed/peers lists the peers: one entry per peer, named by its host:port, with
`content.peerName` (the peer's serverName, which distributed searches report as splunk_server:
"Manage distributed server names", Distributed Search manual) and `content.status` ("Up" or "Down";
"View search peer status in Settings" shows the same state per peer). The JSON keys are the ones
splunk/docker-splunk's own tests read from a real search head (tests/test_docker_splunk.py:
`x["content"]["peerName"]` of each entry); the REST API Reference page itself was not available here.
A standalone instance answers with no entries. `peers_listable = False` answers 403 (a role that
may not list peers); `peers_down` are peers listed Down that answer no search. `local_hec = False`
is a splunkd that offers no HEC inputs (data/inputs/http answers 404), like a search head whose HEC
tier is elsewhere; `rest_allowed = False` is a user without the rest capability (the search fails).

The KV store (storage/collections/data/<collection>, the collections default/collections.conf
declares) keeps JSON documents in `kv`; `kv_available = False` answers 503, as splunkd does where
the KV store is disabled (a heavy forwarder). A search head cluster is `member(name, ...)`: another
splunkd whose KV store writes go to this one's store (the captain's) and whose reads come from its
own replica, which may lag up to `lag_writes` writes and `lag_seconds` behind, never going back, as
"About the app key value store" describes: writes are delegated to the KV store captain, reads are
local. `server_roles` is what services/server/info lists (shc_member on a cluster member).

Searches (services/search/jobs, exec_mode=oneshot, output_mode=json) run over `indexed`, a list of
events {"_raw", "_time", "index", "sourcetype", "source"} with optional "searchable_at" (epoch seconds:
as in Splunk, an event is found only some time after it is sent) and "splunk_server" (a peer: its
events are missing, with splunkd's WARN "Unable to distribute to peer named ...", while it is in
`peers_down`). fake_spl evaluates the SPL and answers 400 for any it does not understand. `search_fault`
makes the answer go wrong in one of the ways of SEARCH_FAULTS; `search_delay` answers that many seconds
late. The answers' JSON shape ({"preview", "init_offset", "messages", "fields", "results"}) is the one
splunk-sdk-python's JSONResultsReader reads (results.py: "messages" with "type" and "text", "results").
"""

from __future__ import annotations

import configparser
import copy
import json
import random
import threading
import time
import urllib.parse
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path

from fake_http import Raw, Request, json_handler, serve
from fake_spl import SplError, run

APP_NS = "servicesNS/nobody/cloudtrail_firehose"
KV_DATA = f"{APP_NS}/storage/collections/data/"
COLLECTIONS_CONF = Path(__file__).resolve().parents[2] / "default" / "collections.conf"
ADMIN_TOKEN = "admin-session"
USER_TOKEN = "user-session"


class KVStore:
    """The captain's copy of every collection. Writes apply here, one at a time; while some member's
    replica lags, each version is kept so that the replica can serve it."""

    def __init__(self, names: list[str]) -> None:
        self.data: dict[str, dict[str, dict]] = {name: {} for name in names}  # collection -> key -> doc
        self.lock = threading.Lock()
        self.version = 0
        self.history: list[tuple[float, int, dict]] = []  # (monotonic time, version, copy of data)
        self.keep_history = False

    def write(self, change) -> tuple[int, object]:
        with self.lock:
            status, reply = change(self.data)
            if status < 300:
                self.version += 1
                if self.keep_history:
                    self.history.append((time.monotonic(), self.version, copy.deepcopy(self.data)))
            return status, reply


class Replica:
    """A member's local copy: it serves a version of the captain's data no older than `lag_writes`
    writes and `lag_seconds`, chosen at random within that bound, and never goes back."""

    def __init__(self, store: KVStore, lag_writes: int, lag_seconds: float, seed: str) -> None:
        self.store, self.lag_writes, self.lag_seconds = store, lag_writes, lag_seconds
        self.random = random.Random(seed)  # noqa: S311 - a lag, not a secret
        store.keep_history = True
        with store.lock:
            self.version, self.data = store.version, copy.deepcopy(store.data)

    def read(self, read):
        with self.store.lock:
            now = time.monotonic()
            newer = [h for h in self.store.history if h[1] > self.version]
            must = [h for h in newer if h[1] <= self.store.version - self.lag_writes or now - h[0] >= self.lag_seconds]
            if newer:
                pick = self.random.randint(len(must), len(newer))  # how many newer versions it has applied
                if pick:
                    _, self.version, self.data = newer[pick - 1]
            return copy.deepcopy(read(self.data))


class FakeSplunkd:
    def __init__(self, store: KVStore | None = None, replica: dict | None = None) -> None:
        self.conf: dict[str, dict[str, str]] = {}
        self.passwords: dict[str, str] = {}
        self.indexes = {"main", "aws_cloudtrail"}
        self.hec_enabled = False
        self.hec_inputs: dict[str, dict[str, str]] = {}
        self.macros: dict[str, str] = {"cloudtrail_firehose_events": '(index=* sourcetype="aws:cloudtrail")'}
        self.requests: list[tuple[str, str, dict]] = []
        # What searches find: events {"_raw", "_time", "index", "sourcetype", "source"}, optionally with
        # "searchable_at" (epoch seconds) and "splunk_server" (the peer holding it).
        self.indexed: list[dict] = []
        self.search_fault: str | None = None  # one of SEARCH_FAULTS
        self.search_delay = 0.0
        self.inputs: dict[str, dict[str, dict[str, str]]] = {}  # modular inputs by kind and name
        self.app_configured = False
        self.server_name = "sh1"
        self.peers: dict[str, set[str]] = {}  # indexer -> its indexes
        self.disabled_on_peers: set[tuple[str, str]] = set()  # (indexer, index)
        self.peers_listable = True
        self.peers_down: set[str] = set()
        self.local_hec = True
        self.rest_allowed = True
        conf = configparser.ConfigParser(interpolation=None)
        conf.read(COLLECTIONS_CONF)
        self.store = store or KVStore(conf.sections())
        self.replica = Replica(self.store, **replica) if replica else None
        self.kv = self.store.data  # the captain's copy, for tests to look at
        self.kv_available = True
        self.server_roles: list[str] | None = ["indexer", "search_head", "kv_store"]  # None: server/info fails
        self.members: list[FakeSplunkd] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        serve(self.server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        for member in self.members:
            member.close()
        self.server.shutdown()
        self.server.server_close()

    def member(self, name: str, lag_writes: int = 0, lag_seconds: float = 0.0) -> FakeSplunkd:
        """Another search head cluster member: writes to this KV store, reads from a lagging replica."""
        member = FakeSplunkd(self.store, {"lag_writes": lag_writes, "lag_seconds": lag_seconds, "seed": name})
        member.server_name = name
        member.server_roles = ["search_head", "shc_member", "kv_store"]
        self.server_roles = ["search_head", "shc_member", "shc_captain", "kv_store"]
        self.members.append(member)
        return member

    def _handler_class(self):
        return json_handler(self._request, methods=("GET", "POST", "DELETE"))

    def _request(self, request: Request) -> tuple[int, dict]:
        path = urllib.parse.unquote(request.path.strip("/"))
        token = request.headers.get("Authorization", "").removeprefix("Splunk ")
        if path.startswith(KV_DATA) and token == ADMIN_TOKEN:
            self.requests.append((request.method, path, {}))
            return self._kv(request.method, path.removeprefix(KV_DATA), request.query, request)
        # keep_blank_values: a field posted empty sets the key to empty, as splunkd does ("key=" in a conf POST)
        form = {k: v[0] for k, v in urllib.parse.parse_qs(request.body.decode(), keep_blank_values=True).items()}
        self.requests.append((request.method, path, form))
        return self.route(request.method, path, form, token)

    def _kv(self, method: str, path: str, query: dict, request: Request) -> tuple[int, object]:
        """storage/collections/data as "KV store endpoint descriptions" says: JSON documents, _key made
        when absent, `query` (equality here), `sort` and `limit`, 404 for an unknown collection or key;
        an insert with a _key already there is 409, as splunkd answers ("A document with the same key
        and user already exists."), since the KV store keeps _key unique ("About the app key value store")."""
        if not self.kv_available:
            return 503, error("KV Store is disabled. Please enable it to start the data store.")
        name, _, key = path.partition("/")
        if name not in self.store.data:
            return 404, error(f"Collection not found: {name}")
        if method == "GET":
            return self._kv_read(name, key, query)
        doc: dict = {}
        if method == "POST":
            if request.headers.get("Content-Type") != "application/json":
                return 400, error("Content-Type must be application/json")
            try:
                doc = json.loads(request.body)
            except ValueError:
                return 400, error("Malformed JSON")

        def change(data: dict) -> tuple[int, object]:
            collection = data[name]
            if method == "DELETE":
                if key not in collection:
                    return 404, error(f"Could not find object id={key}")
                del collection[key]
                return 200, {}
            new = key or str(doc.get("_key") or uuid.uuid4().hex)
            if not key and new in collection:
                return 409, error("A document with the same key and user already exists.")
            collection[new] = {**{k: v for k, v in doc.items() if k != "_key"}, "_key": new, "_user": "nobody"}
            return (200 if key else 201), {"_key": new}

        return self.store.write(change)

    def _kv_read(self, name: str, key: str, query: dict) -> tuple[int, object]:
        def read(data: dict) -> tuple[int, object]:
            collection = data[name]
            if key:
                found = collection.get(key)
                return (200, found) if found is not None else (404, error(f"Could not find object id={key}"))
            wanted = json.loads(query.get("query") or "{}")
            docs = [doc for doc in collection.values() if all(doc.get(k) == v for k, v in wanted.items())]
            if query.get("sort"):
                field, _, direction = query["sort"].partition(":")
                docs.sort(key=lambda d: d.get(field, 0), reverse=direction == "-1")
            return 200, docs[: int(query["limit"])] if query.get("limit") else docs

        if self.replica is not None:
            return self.replica.read(read)
        with self.store.lock:
            return copy.deepcopy(read(self.store.data))

    def route(self, method: str, path: str, form: dict, token: str) -> tuple[int, dict]:
        if token not in (ADMIN_TOKEN, USER_TOKEN):
            return 401, error("call not properly authenticated")
        if path == "services/authentication/current-context":
            capabilities = ["search", "cloudtrail_firehose_admin"] if token == ADMIN_TOKEN else ["search"]
            return 200, entry("context", {"username": "admin" if token == ADMIN_TOKEN else "analyst",
                                          "capabilities": capabilities})  # fmt: skip
        if path == "services/server/info" and self.server_roles is None:
            return 500, error("fake splunkd: server/info could not be read")
        if path == "services/server/info":
            return 200, entry("server-info", {"serverName": self.server_name, "server_roles": self.server_roles})
        if token != ADMIN_TOKEN:
            return 403, error("permission denied")
        conf = f"{APP_NS}/configs/conf-cloudtrail_firehose"
        if path == conf and method == "POST":
            name = form.pop("name")
            self.conf.setdefault(name, {}).update(form)
            return 201, entry(name, dict(self.conf[name]))
        if path.startswith(conf + "/"):
            stanza = path.removeprefix(conf + "/")
            if stanza not in self.conf:
                return 404, error(f"Could not find object id={stanza}")
            if method == "POST":
                self.conf[stanza].update(form)
            return 200, entry(stanza, dict(self.conf[stanza]))
        passwords = f"{APP_NS}/storage/passwords"
        if path == passwords and method == "POST":
            self.passwords[f"{form['realm']}:{form['name']}:"] = form["password"]
            return 201, entry(form["name"], {})
        if path.startswith(passwords + "/"):
            key = path.removeprefix(passwords + "/")
            if key not in self.passwords:
                return 404, error("not found")
            if method == "DELETE":
                del self.passwords[key]
                return 200, {}
            if method == "POST":
                self.passwords[key] = form["password"]
            return 200, entry(key, {"clear_password": self.passwords[key]})
        if path == "services/search/distributed/peers" and method == "GET":
            if not self.peers_listable:
                return 403, error("permission denied")
            listed = [(peer, "Down" if peer in self.peers_down else "Up") for peer in sorted(self.peers)]
            return 200, {"entry": [{"name": f"{peer}.example.com:8089", "content": {"peerName": peer, "status": status}}
                                   for peer, status in listed]}  # fmt: skip
        if path.startswith("services/data/indexes/"):
            name = path.removeprefix("services/data/indexes/")
            return (200, entry(name, {})) if name in self.indexes else (404, error(f"no index {name}"))
        if path.startswith("services/data/inputs/http") and not self.local_hec:
            return 404, error("Not Found: this splunkd offers no HTTP Event Collector inputs")
        if path == "services/data/inputs/http/http":
            return 200, entry("http", {"disabled": "0" if self.hec_enabled else "1"})
        if path == "services/data/inputs/http/http/enable":
            self.hec_enabled = True
            return 200, entry("http", {"disabled": "0"})
        if path == "services/data/inputs/http" and method == "GET":
            return 200, {"entry": [{"name": f"http://{n}", "content": c} for n, c in self.hec_inputs.items()]}
        if path == "services/data/inputs/http" and method == "POST":
            name = form.pop("name")
            self.hec_inputs[name] = {**form, "token": str(uuid.uuid4())}
            return 201, entry(f"http://{name}", self.hec_inputs[name])
        if path.startswith("services/data/inputs/http/"):
            name = path.removeprefix("services/data/inputs/http/")
            if name not in self.hec_inputs:
                return 404, error("not found")
            if method == "DELETE":
                del self.hec_inputs[name]
                return 200, {}
            if method == "POST":
                self.hec_inputs[name].update(form)
            return 200, entry(f"http://{name}", self.hec_inputs[name])
        if path == "services/apps/local/cloudtrail_firehose" and method == "POST":
            self.app_configured = form.get("configured") == "1"
            return 200, entry("cloudtrail_firehose", form)
        inputs = f"{APP_NS}/data/inputs/"
        if path.startswith(inputs):
            kind, _, name = path.removeprefix(inputs).partition("/")
            stored = self.inputs.setdefault(kind, {})
            if not name and method == "POST":
                stored[form.pop("name")] = form
                return 201, entry(kind, form)
            if name not in stored:
                return 404, error("not found")
            stored[name].update(form if method == "POST" else {})
            return 200, entry(name, stored[name])
        if path == "services/search/jobs" and method == "POST" and form.get("exec_mode") == "oneshot":
            if form.get("search", "").lstrip().startswith("| rest"):
                return self._rest_search(form["search"])
            return self._oneshot(form)
        macro = f"{APP_NS}/configs/conf-macros/"
        if path.startswith(macro) and method == "POST":
            self.macros[path.removeprefix(macro)] = form["definition"]
            return 200, entry(path.removeprefix(macro), form)
        return 404, error(f"fake splunkd has no {method} {path}")

    def _rest_search(self, search: str) -> tuple[int, dict]:
        if not self.rest_allowed:
            return 400, error("Error in 'rest' command: You do not have the capability to run the rest command")
        if "/services/data/indexes" not in search:
            return 400, error(f"fake splunkd cannot run {search}")
        servers = {self.server_name: self.indexes}
        if "splunk_server=local" not in search:
            servers |= {peer: indexes for peer, indexes in self.peers.items() if peer not in self.peers_down}
        rows = [{"splunk_server": server, "title": index,
                 "disabled": "1" if (server, index) in self.disabled_on_peers else "0"}
                for server, indexes in servers.items() for index in sorted(indexes)]  # fmt: skip
        return 200, {"results": rows}

    def _oneshot(self, form: dict) -> tuple[int, object]:
        if self.search_delay:
            time.sleep(self.search_delay)
        if self.search_fault in ("http_503", "disconnect", "garbage_status", "html", "empty", "non_utf8",
                                 "cut_short", "huge"):  # fmt: skip
            return _status(SEARCH_FAULTS[self.search_fault]())
        now = time.time()
        visible = [e for e in self.indexed if e.get("searchable_at", 0) <= now]
        down = sorted({e["splunk_server"] for e in visible if e.get("splunk_server") in self.peers_down})
        try:
            names, rows = run(form.get("search", ""), [e for e in visible if e.get("splunk_server") not in down],
                              form.get("earliest_time"), form.get("latest_time"))  # fmt: skip
        except SplError as problem:
            return 400, error(f"fake splunkd cannot run this search: {problem}")
        messages = [{"type": "WARN", "text": f"Unable to distribute to peer named {peer} at uri https://{peer}:8089 "
                     'because peer has status = "Down". Verify uri-scheme, connectivity to the search peer, that the '
                     "search peer is up, and that an adequate level of system resources are available."}
                    for peer in down]  # fmt: skip
        answer = {"preview": False, "init_offset": 0, "messages": messages,
                  "fields": [{"name": n} for n in names], "results": rows, "highlighted": {}}  # fmt: skip
        if self.search_fault:
            return _status(SEARCH_FAULTS[self.search_fault](answer))
        return 200, answer


def _status(reply) -> tuple[int, object]:
    return (200, reply) if isinstance(reply, Raw) else reply


def _raw_answer(status_line: bytes, body: bytes, content_type: bytes = b"application/json",
                length: int | None = None) -> Raw:  # fmt: skip
    size = str(len(body) if length is None else length).encode()
    return Raw(status_line + b"\r\nContent-Type: " + content_type + b"\r\nContent-Length: " + size
               + b"\r\nConnection: close\r\n\r\n" + body)  # fmt: skip


def _with(answer: dict, **changes) -> tuple[int, dict]:
    return 200, {**answer, **changes}


# The ways a oneshot search's answer goes wrong. The texts are splunkd's: "Unable to distribute to peer"
# (DistributedPeerManager, Troubleshooting Manual: "Intermittent authentication timeouts on search peers"),
# "Search results may be incomplete, peer ...'s search ended prematurely" (splunk/splunk-shuttl#125), "The
# search job has failed due to an error" (Splunk Web's search job messages).
SEARCH_FAULTS = {
    "http_503": lambda: (
        503,
        error(
            "Search not executed: The maximum number of concurrent historical searches "
            "on this instance has been reached."
        ),
    ),  # fmt: skip
    "disconnect": lambda: Raw(b""),
    "garbage_status": lambda: Raw(b"HTTP/1.1 twohundred OK\r\n\r\n"),
    "html": lambda: _raw_answer(
        b"HTTP/1.1 200 OK", b"<html><body><h1>502 Bad Gateway</h1></body></html>", b"text/html"
    ),  # fmt: skip
    "empty": lambda: _raw_answer(b"HTTP/1.1 200 OK", b""),
    "non_utf8": lambda: _raw_answer(b"HTTP/1.1 200 OK", b'{"results": [{"events": "1", "identities": "\xff\xfe"}]}'),
    "cut_short": lambda: _raw_answer(b"HTTP/1.1 200 OK", b'{"preview": false, "results": [{"ev', length=4096),
    "huge": lambda: _raw_answer(b"HTTP/1.1 200 OK", b" " * (64 * 1024 * 1024 + 1)),
    "truncated_json": lambda answer: _raw_answer(b"HTTP/1.1 200 OK", json.dumps(answer).encode()[:30]),
    "error_message": lambda answer: _with(
        answer,
        results=[],
        messages=[
            {"type": "ERROR", "text": "Error in 'search' command: Unable to parse the search"},
            {"type": "FATAL", "text": "Search not executed: The search job has failed due to an error."},
        ],
    ),
    "incomplete_warning": lambda answer: _with(
        answer,
        messages=[{"type": "WARN", "text": "Search results may be incomplete, peer idx2's search ended prematurely."}],
    ),
    "preview": lambda answer: _with(answer, preview=True),
    "not_an_object": lambda answer: (200, [answer]),
    "results_not_a_list": lambda answer: _with(answer, results={"events": "1"}),
    "row_not_an_object": lambda answer: _with(answer, results=["events"]),
    "no_row": lambda answer: _with(answer, results=[]),
    "values_not_strings": lambda answer: _with(answer, results=[{"events": "2", "identities": [1, 2]}]),
    "messages_not_a_list": lambda answer: _with(answer, messages="WARN: incomplete"),
}


def entry(name: str, content: dict) -> dict:
    return {"entry": [{"name": name, "content": content}]}


def error(text: str) -> dict:
    return {"messages": [{"type": "ERROR", "text": text}]}
