"""Check an existing HEC token on another tier the way Firehose will use it, without indexing anything.

Firehose posts to the raw endpoint over HTTPS with "Authorization: Splunk <token>" and a request
channel, then polls /services/collector/ack on that channel. The check walks the same path with
requests that carry no event ("HTTP Event Collector REST API endpoints"; reply codes as in
"Troubleshoot HTTP Event Collector"):

1. TLS: the certificate as Firehose verifies it (certificates.py);
2. GET /services/collector/health: code 17 healthy, 18-20 unhealthy (queues full, ack service down);
3. POST /services/collector/ack with a fresh channel and an ack id never used: 200 {"acks": {...}}
   means the token is valid and acknowledgement is on; code 14 ack disabled, 4 invalid token,
   1 token disabled, 9 server busy;
4. POST /services/collector/raw with an empty body on that channel: code 5 "No data" is the answer
   Firehose's own connection test expects (token accepted on the raw endpoint, nothing indexed).

HEC does not tell a client a token's default source or sourcetype; when the caller can read them
(data/inputs/http on the HEC tier, or ACS) it passes them in, otherwise the result says exactly what
to set. setup/delivery.py runs it for the delivery choice "an existing HEC token on another tier".

Every call goes through outbound_http: a redirect fails the step (Firehose does not follow one, and the
token must not go where it points), each call has one deadline (`timeout`), an answer is read up to
MAX_ANSWER bytes, and the token is masked in whatever HEC says back.
"""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from cloudtrail_firehose import outbound_http
from cloudtrail_firehose.certificates import check_hec_certificate
from cloudtrail_firehose.outbound_http import HttpError
from cloudtrail_firehose.sources.unit import TokenSpec
from cloudtrail_firehose.splunk.hec import REST_ENDPOINT
from cloudtrail_firehose.splunk.splunkd import Splunkd
from cloudtrail_firehose.urls import UrlError, parse_url

MAX_ANSWER = 1024 * 1024  # HEC's answers are a few dozen bytes of JSON
UNUSED_ACK_ID = 0  # asking for an ack id that was never issued is harmless and answers false
TOKEN_CODES = {1, 2, 3, 4, 21, 22}  # the token is missing, unreadable, unknown or disabled


@dataclass(frozen=True)
class HecCheck:
    ok: bool
    step: str  # url | tls | health | token | ack | raw | done
    message: str
    warnings: tuple[str, ...] = field(default=())


def check_hec_token(
    url: str,
    token: str,
    index: str | None = None,
    token_settings: Mapping[str, object] | None = None,
    timeout: float = 10.0,
    cafile: str | None = None,
    spec: TokenSpec | None = None,
) -> HecCheck:
    """Whether Firehose can deliver with this token at this URL; the first failing step says why. With spec
    (the source the token is for), warnings say where the token's settings differ from what it needs."""
    try:
        parts = parse_url(url.strip(), ("https",))
    except UrlError as error:
        return HecCheck(False, "url", f"{error}; Firehose delivers to HEC only over HTTPS to a host name (for "
                                      "example https://hec.example.com:8088 or your load balancer's name).")
    token = (token or "").strip()
    if not token or any(c.isspace() for c in token):
        return HecCheck(False, "token", "the HEC token is empty or has spaces; paste the token value (a GUID).")
    if not all(" " < c < "\x7f" for c in token):
        return HecCheck(False, "token", "the HEC token holds characters an HTTP header cannot carry (letters outside "
                                        "ASCII, control characters); paste the token value (a GUID).")
    base = parts.origin
    certificate = check_hec_certificate(base, timeout=timeout, cafile=cafile)
    if not certificate.ok:
        return HecCheck(False, "tls", certificate.detail)
    hec = _Hec(base, token, timeout, outbound_http.public_context(cafile))

    step = "health"
    try:
        status, answer = hec.call("GET", "services/collector/health", auth=False)
        if status == 404:
            return HecCheck(False, "health", f"{base} answers, but not as HEC (404 for /services/collector/health); "
                                             "use the HEC port (8088 by default) or a load balancer that forwards "
                                             "/services/collector/* to it.")  # fmt: skip
        if answer.get("code") != 17:
            return HecCheck(False, "health", _explain(status, answer, base))

        step = "ack"
        status, answer = hec.call("POST", "services/collector/ack", {"acks": [UNUSED_ACK_ID]})
        if status != 200 or not isinstance(answer.get("acks"), dict):
            step = "token" if answer.get("code") in TOKEN_CODES else "ack"
            return HecCheck(False, step, _explain(status, answer, base))

        step = "raw"
        status, answer = hec.call("POST", "services/collector/raw", None)
        if not (status == 400 and answer.get("code") == 5):
            return HecCheck(False, "raw", _explain(status, answer, base))
    except HttpError as error:
        return HecCheck(False, step, _failed(error, base, step))

    warnings = _settings_warnings(spec, token_settings, index) if spec else ()
    return HecCheck(True, "done", f"HEC at {base} is healthy, the token is valid and indexer acknowledgement is "
                                  "on; Firehose can deliver to it.", warnings)  # fmt: skip


class _Hec:
    def __init__(self, base: str, token: str, timeout: float, context: ssl.SSLContext) -> None:
        self.base, self.token, self.timeout, self.context = base, token, timeout, context
        self.channel = str(uuid.uuid4())  # one channel for the whole check, as Firehose keeps one per connection

    def call(self, method: str, path: str, body: object = None, auth: bool = True) -> tuple[int, dict]:
        """The status and JSON answer of one call (an answer that is not JSON: {"text": its start});
        HttpError when there is no usable answer. The token is masked even in calls that do not send it."""
        headers = {"X-Splunk-Request-Channel": self.channel}
        if auth:
            headers["Authorization"] = f"Splunk {self.token}"
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        answer = outbound_http.request(method, f"{self.base}/{path}", data, headers, timeout=self.timeout,
                                       max_body=MAX_ANSWER, context=self.context, secrets=(self.token,))  # fmt: skip
        return answer.status, _json(answer)


def _failed(error: HttpError, base: str, step: str) -> str:
    """An answer that never came, or could not be used, in words for the step it stopped."""
    asked = {"health": "/services/collector/health", "ack": "/services/collector/ack",
             "raw": "/services/collector/raw"}[step]  # fmt: skip
    if error.kind == "redirect":
        return (f"HEC at {base} {error.detail} (for {asked}). Firehose does not follow redirects either: give "
                "the URL of HEC itself, or of a load balancer that forwards to it.")
    if error.kind == "timeout":
        return (f"HEC at {base} gave no complete answer to {asked} in time ({error.detail}); check HEC's load "
                "and any proxy in between, then run the check again.")
    if error.kind in ("resolve", "connect", "tls", "certificate"):
        return (f"cannot reach HEC at {base} ({error.detail}); check that HEC is enabled and listening on this "
                "port (Splunk.ConnectionRefused).")
    if error.kind == "too_large":
        return (f"HEC at {base} sent an answer to {asked} larger than HEC ever does ({error.detail}); check that "
                "the URL points at HEC.")
    return (f"HEC at {base} answered {asked} with something that is not HTTP ({error.detail}); check that the URL "
            "points at HEC and not at a proxy that breaks its answers.")


# HEC reply codes ("Troubleshoot HTTP Event Collector") and what the user does about each.
ADVICE = {
    1: "The token is disabled. Enable it on the HEC tier (Settings > Data inputs > HTTP Event Collector), "
       "or in inputs.conf set disabled = 0 in its [http://<name>] stanza.",
    2: "HEC got no token; check that a proxy in front of HEC passes the Authorization header through.",
    3: "HEC could not read the Authorization header; check that a proxy in front of HEC passes it unchanged.",
    4: "HEC does not know this token (Splunk.InvalidToken). Copy the token value again from the HEC tier; with "
       "several indexers or heavy forwarders the token must exist on every one behind the URL.",
    9: "HEC is busy (Splunk.IndexerBusy). Check indexer queues and capacity, then run the check again.",
    10: "HEC asked for a request channel, so acknowledgement is on, but the channel did not arrive; check that "
        "a proxy passes the X-Splunk-Request-Channel header through.",
    11: "HEC refused the request channel; check that a proxy passes the X-Splunk-Request-Channel header unchanged.",
    14: "Indexer acknowledgement is off for this token (Splunk.DisabledAck); Firehose requires it. Turn on "
        "\"Enable indexer acknowledgement\" for the token (inputs.conf: useACK = 1 in its [http://<name>] stanza) "
        "on every HEC instance behind the URL.",
    18: "HEC is unhealthy: its queues are full. Check indexer queues and capacity, then run the check again.",
    19: "HEC is unhealthy: its acknowledgement service is unavailable. Check splunkd.log on the HEC tier.",
    20: "HEC is unhealthy: queues are full and the acknowledgement service is unavailable. Check the HEC tier.",
    21: "HEC does not know this token (Splunk.InvalidToken). Copy the token value again from the HEC tier.",
    22: "The token is disabled. Enable it on the HEC tier.",
}


def _explain(status: int, answer: dict, base: str) -> str:
    code, text = answer.get("code"), answer.get("text") or ""
    said = f"HEC at {base} answered {status}" + (f" code {code} ({text})" if code is not None else f" ({text})")
    if code in ADVICE:
        return f"{said}. {ADVICE[code]}"
    if status >= 500:
        return f"{said}. HEC had a server error (Splunk.ServerError); check splunkd.log on the HEC tier."
    return f"{said}, which Firehose would not accept; check that the URL points at HEC."


def settings_from_splunkd(splunkd: Splunkd, token: str) -> dict | None:
    """The settings of the HEC input that holds this token value, read from the HEC tier's splunkd
    (data/inputs/http), or None when no input there has it."""
    entries = splunkd.get(REST_ENDPOINT, count="0").get("entry", [])
    for entry in entries:
        content = entry.get("content", {})
        if content.get("token") == token.strip():
            return {key: content.get(key) for key in ("source", "sourcetype", "index", "indexes", "useACK")}
    return None


def _settings_warnings(spec: TokenSpec, settings: Mapping[str, object] | None, index: str | None) -> tuple[str, ...]:
    """Index-time settings are keyed on the source's token source (http:<name>) and sourcetype."""
    wanted = {"source": spec.source, "sourcetype": spec.sourcetype}
    if settings is None:
        return (
            "HEC cannot report a token's default source and sourcetype. On the HEC tier set, for this token, "
            f"source = {spec.source} and sourcetype = {spec.sourcetype}"
            + (f", index = {index} and allowed indexes including {index}" if index else "")
            + " (Settings > Data inputs > HTTP Event Collector > Edit, or inputs.conf [http://<name>]); the app's "
            "line breaking and timestamps apply only to data with that source.",
        )
    warnings = [
        f"the token's default {key} is {settings.get(key) or 'not set'!s}; set it to {value} (index-time settings "
        f"apply to source {spec.source} and sourcetype {spec.sourcetype})."
        for key, value in wanted.items()
        if settings.get(key) != value
    ]
    if index:
        allowed = settings.get("indexes") or []
        allowed = [allowed] if isinstance(allowed, str) else list(allowed)  # type: ignore[arg-type]
        if allowed and index not in allowed:
            warnings.append(f"the token may only write to {', '.join(map(str, allowed))}; add {index} to its "
                            "allowed indexes (Splunk.InvalidIndex otherwise).")
        elif settings.get("index") not in (index, None, ""):
            warnings.append(f"the token's default index is {settings.get('index')}; set it to {index}.")
    return tuple(warnings)


def _json(answer: outbound_http.Response) -> dict:
    """HEC's JSON object; anything else as {"text": its first 200 characters} (the token already masked)."""
    try:
        return answer.json(dict, empty={})
    except HttpError:
        return {"text": answer.text(200)}
