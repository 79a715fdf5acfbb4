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
declares) keeps JSON documents in `kv`, shared by whoever calls this splunkd, as a search head
cluster's members share the replicated KV store; `kv_available = False` answers 503, as splunkd does
where the KV store is disabled (a heavy forwarder).
"""

from __future__ import annotations

import configparser
import json
import threading
import time
import urllib.parse
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path

from fake_http import Request, json_handler

APP_NS = "servicesNS/nobody/cloudtrail_firehose"
KV_DATA = f"{APP_NS}/storage/collections/data/"
COLLECTIONS_CONF = Path(__file__).resolve().parents[1] / "default" / "collections.conf"
ADMIN_TOKEN = "admin-session"
USER_TOKEN = "user-session"


class FakeSplunkd:
    def __init__(self) -> None:
        self.conf: dict[str, dict[str, str]] = {}
        self.passwords: dict[str, str] = {}
        self.indexes = {"main", "aws_cloudtrail"}
        self.hec_enabled = False
        self.hec_inputs: dict[str, dict[str, str]] = {}
        self.macros: dict[str, str] = {"cloudtrail_firehose_events": '(index=* sourcetype="aws:cloudtrail")'}
        self.requests: list[tuple[str, str, dict]] = []
        # What searches find: rows with eventID / recovery_id / recovery_hash, and optionally
        # "searchable_at" (epoch seconds): as in Splunk, an event is found only some time after it is sent.
        self.indexed: list[dict] = []
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
        self.kv: dict[str, dict[str, dict]] = {name: {} for name in conf.sections()}  # collection -> key -> doc
        self.kv_available = True
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()

    def _handler_class(self):
        return json_handler(self._request, methods=("GET", "POST", "DELETE"))

    def _request(self, request: Request) -> tuple[int, dict]:
        path = urllib.parse.unquote(request.path.strip("/"))
        token = request.headers.get("Authorization", "").removeprefix("Splunk ")
        if path.startswith(KV_DATA) and token == ADMIN_TOKEN:
            self.requests.append((request.method, path, {}))
            return self._kv(request.method, path.removeprefix(KV_DATA), request.query, request)
        form = {k: v[0] for k, v in urllib.parse.parse_qs(request.body.decode()).items()}
        self.requests.append((request.method, path, form))
        return self.route(request.method, path, form, token)

    def _kv(self, method: str, path: str, query: dict, request: Request) -> tuple[int, object]:
        """storage/collections/data as "KV store endpoint descriptions" says: JSON documents, _key made
        when absent, a `query` filter (equality here), 404 for an unknown collection or key."""
        if not self.kv_available:
            return 503, error("KV Store is disabled. Please enable it to start the data store.")
        name, _, key = path.partition("/")
        if name not in self.kv:
            return 404, error(f"Collection not found: {name}")
        collection = self.kv[name]
        if method == "POST":
            if request.headers.get("Content-Type") != "application/json":
                return 400, error("Content-Type must be application/json")
            try:
                doc = json.loads(request.body)
            except ValueError:
                return 400, error("Malformed JSON")
            key = key or str(doc.get("_key") or uuid.uuid4().hex)
            collection[key] = {**{k: v for k, v in doc.items() if k != "_key"}, "_key": key, "_user": "nobody"}
            return (200 if path.count("/") else 201), {"_key": key}
        if key:
            if key not in collection:
                return 404, error(f"Could not find object id={key}")
            if method == "DELETE":
                del collection[key]
                return 200, {}
            return 200, collection[key]
        wanted = json.loads(query.get("query") or "{}")
        return 200, [doc for doc in collection.values() if all(doc.get(k) == v for k, v in wanted.items())]

    def route(self, method: str, path: str, form: dict, token: str) -> tuple[int, dict]:
        if token not in (ADMIN_TOKEN, USER_TOKEN):
            return 401, error("call not properly authenticated")
        if path == "services/authentication/current-context":
            capabilities = ["search", "cloudtrail_firehose_admin"] if token == ADMIN_TOKEN else ["search"]
            return 200, entry("context", {"username": "admin" if token == ADMIN_TOKEN else "analyst",
                                          "capabilities": capabilities})  # fmt: skip
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
            return 200, {"results": self.search_identities(form.get("search", ""))}
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

    def search_identities(self, search: str) -> list[dict]:
        """The rows a search for identities finds: those it names (as quoted terms) that are searchable now."""
        now = time.time()
        fields = ("eventID", "recovery_id", "recovery_hash")
        named = [row for row in self.indexed if any(json.dumps(row[k]) in search for k in fields if k in row)]
        return [{k: row[k] for k in fields if k in row} for row in named if row.get("searchable_at", 0) <= now]


def entry(name: str, content: dict) -> dict:
    return {"entry": [{"name": name, "content": content}]}


def error(text: str) -> dict:
    return {"messages": [{"type": "ERROR", "text": text}]}
