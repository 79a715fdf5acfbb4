"""HEC tokens on Splunk Cloud Platform through the Admin Config Service (ACS) API.

Splunk Cloud gives no access to inputs.conf or to the indexers' data/inputs/http, so the token Firehose
uses is managed through ACS ("Manage HTTP Event Collector (HEC) tokens in Splunk Cloud Platform"):
https://admin.splunk.com/{stack}/adminconfig/v2/inputs/http-event-collectors, authenticated with an
ACS (JWT) token as a bearer. Writes are asynchronous: POST, PUT and DELETE answer 202 and the change
shows up in a later GET, so every write here polls until it is visible. Errors come as
{"code": "<status>-<reason>", "message": ...} ("Troubleshoot ACS error messages"); 424 "dependency
incomplete", 429 and 502/503/504 are retried, everything else becomes an AcsError that says what
failed and what to do. The HEC token value is never logged nor put in an error message.
Calls go through outbound_http: a redirect is refused (it would carry the bearer JWT to another host),
each call has one deadline (`timeout`), an answer is read up to MAX_ANSWER bytes, the JWT is masked in
whatever ACS (or whatever answers in its place) says, and an answer that is not ACS's JSON of the
documented shape is an AcsError ("not-acs-json"), never "no tokens".
The app's own tokens on a stack (which to make, reuse, rotate and retire) are splunk/cloud_tokens.py's job.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cloudtrail_firehose import outbound_http
from cloudtrail_firehose.log import get_logger
from cloudtrail_firehose.outbound_http import HttpError
from cloudtrail_firehose.settings import BY_NAME
from cloudtrail_firehose.urls import url_problem

ACS_URL = "https://admin.splunk.com"
COLLECTION = "adminconfig/v2/inputs/http-event-collectors"
PAGE_SIZE = 100  # the API's maximum `count`
RETRY_STATUSES = {429, 502, 503, 504}
MAX_ANSWER = 1024 * 1024  # a page of 100 tokens is ~50 KB
NOT_ACS = ("Check that the ACS URL is https://admin.splunk.com and that no proxy, firewall page or captive portal "
           "answers in its place, then run the step again.")  # fmt: skip
STACK_NAME = re.compile(BY_NAME["splunk_cloud_stack"].pattern)  # the setup form's rule, matched whole
ACS_REQUIREMENTS = (
    "ACS manages HEC tokens on Splunk Cloud Platform 8.1.2101 or later, Victoria and Classic Experience, "
    "on deployments with separate search heads or a search head cluster (not single-instance stacks); "
    "the ACS token's user needs the ACS HEC capabilities (the sc_admin role has them)."
)


class AcsError(Exception):
    """An ACS call that failed, with ACS's own code and what the user can do about it."""

    def __init__(self, operation: str, status: int, code: str, message: str, action: str, where: str = "") -> None:
        self.operation, self.status, self.code, self.message, self.action = operation, status, code, message, action
        where = where or (f"ACS answered {status} {code}" if status else "ACS could not be reached")
        super().__init__(f"{operation} failed: {where}: {message}. {action}".replace("..", "."))


@dataclass(frozen=True)
class HecToken:
    """One HEC token as ACS describes it. The value is kept out of repr so it cannot end up in a log."""

    name: str
    default_index: str = ""
    allowed_indexes: tuple[str, ...] = ()
    default_source: str = ""
    default_sourcetype: str = ""
    use_ack: bool = False
    disabled: bool = False
    value: str = field(default="", repr=False)

    def spec(self) -> dict[str, Any]:
        """The request body ACS takes (HecSpec), in the manual's field names; the value is never sent."""
        return {
            "name": self.name,
            "defaultIndex": self.default_index,
            "allowedIndexes": list(self.allowed_indexes),
            "defaultSource": self.default_source,
            "defaultSourcetype": self.default_sourcetype,
            "useACK": self.use_ack,
            "disabled": self.disabled,
        }

    def settings(self) -> tuple:
        return dataclasses.astuple(dataclasses.replace(self, value=""))


def validate_stack(stack: str) -> str:
    stack = (stack or "").strip()
    if not STACK_NAME.fullmatch(stack):
        raise ValueError(
            f"not a Splunk Cloud stack name: {stack!r}. The stack name is the first part of your Splunk Cloud "
            "URL: for https://acme.splunkcloud.com it is acme (lowercase letters, digits and hyphens)."
        )
    return stack


class Acs:
    def __init__(
        self,
        stack: str,
        token: str,
        base_url: str = ACS_URL,
        timeout: float = 30,
        attempts: int = 6,
        poll_interval: float = 5,
        poll_timeout: float = 600,
        sleep: Callable[[float], None] = time.sleep,
        context: ssl.SSLContext | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.stack = validate_stack(stack)
        self.token = (token or "").strip()
        if not self.token or any(c.isspace() for c in self.token):
            raise ValueError("the ACS token is empty or not a single JWT; paste the token value, not its id")
        if not all(" " < c < "\x7f" for c in self.token):  # a JWT is base64url and dots; nothing else fits a header
            raise ValueError("the ACS token holds characters an HTTP header cannot carry (letters outside ASCII, "
                             "control characters); paste the token value (a JWT) again")  # fmt: skip
        self.base_url = base_url.rstrip("/")
        problem = url_problem(self.base_url)
        if problem:
            raise ValueError(f"not an ACS URL: {problem}")
        self.timeout, self.attempts = timeout, attempts
        self.poll_interval, self.poll_timeout, self.sleep = poll_interval, poll_timeout, sleep
        self.context = context or outbound_http.public_context()
        self.log = log or get_logger("setup")

    # --- the five documented operations ---

    def list_hec_tokens(self) -> list[HecToken]:
        tokens: list[HecToken] = []
        offset = 0
        while True:
            operation = "list HEC tokens"
            page = self._call(operation, "GET", COLLECTION, query={"count": PAGE_SIZE, "offset": offset})
            items = page.get("http_event_collectors", _MISSING)
            items = [] if items is None else items  # null: no tokens
            if not isinstance(items, list):
                raise _not_acs(operation, 200, "no http_event_collectors list")
            tokens += [_from_info(item, operation) for item in items]
            if len(items) < PAGE_SIZE:
                return tokens
            offset += len(items)

    def describe_hec_token(self, name: str) -> HecToken | None:
        """The token named name, or None when ACS does not (yet) know it."""
        operation = f"describe HEC token {name}"
        try:
            body = self._call(operation, "GET", f"{COLLECTION}/{_quote(name)}")
        except AcsError as error:
            if error.status == 404 and error.code != "404-stack-not-found":
                return None
            raise
        return _from_info(body.get("http-event-collector"), operation)

    def create_hec_token(self, wanted: HecToken) -> HecToken:
        """Submit the token and wait until ACS has created it; returns it with its value."""
        self._call(f"create HEC token {wanted.name}", "POST", COLLECTION, wanted.spec())
        self.log.info("ACS accepted HEC token %s on stack %s; waiting for it", wanted.name, self.stack)
        return self.wait(f"creation of HEC token {wanted.name}", wanted.name, lambda t: t is not None and t.value)

    def update_hec_token(self, wanted: HecToken) -> HecToken:
        """Replace the token's settings (its value stays) and wait until ACS shows them."""
        self._call(f"update HEC token {wanted.name}", "PUT", f"{COLLECTION}/{_quote(wanted.name)}", wanted.spec())
        return self.wait(f"update of HEC token {wanted.name}", wanted.name,
                          lambda t: t is not None and t.settings() == wanted.settings())  # fmt: skip

    def delete_hec_token(self, name: str) -> None:
        self._call(f"delete HEC token {name}", "DELETE", f"{COLLECTION}/{_quote(name)}", {})
        self.wait(f"deletion of HEC token {name}", name, lambda t: t is None)

    # --- plumbing ---

    def wait(self, what: str, name: str, done: Callable[[HecToken | None], Any]) -> HecToken:
        deadline = time.monotonic() + self.poll_timeout
        while True:
            current = self.describe_hec_token(name)
            if done(current):
                return current  # type: ignore[return-value]
            if time.monotonic() >= deadline:
                raise AcsError(what, 0, "timeout", f"not done after {self.poll_timeout:.0f} s",
                               "ACS applies changes asynchronously; check the stack's HEC tokens in Splunk Web "
                               "and run the step again in a few minutes.")  # fmt: skip
            self.sleep(self.poll_interval)

    def _call(self, operation: str, method: str, path: str, body: dict | None = None,
              query: dict | None = None) -> dict:  # fmt: skip
        """ACS's JSON answer (an object for reads); AcsError for anything else, retrying what may pass."""
        url = f"{self.base_url}/{urllib.parse.quote(self.stack)}/{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(1, self.attempts + 1):
            try:
                answer = outbound_http.request(method, url, data, headers, timeout=self.timeout, max_body=MAX_ANSWER,
                                               context=self.context)  # fmt: skip
            except HttpError as error:
                failure = self._failure(operation, error)
                if failure.code not in ("unreachable", "timeout", "broken-answer") or attempt == self.attempts:
                    raise failure from None
                self.log.info("ACS: %s (attempt %d of %d); retrying", failure, attempt, self.attempts)
                self.sleep(self._backoff(attempt, None))
                continue
            status = answer.status
            if 200 <= status < 300:
                try:
                    if method == "GET":
                        return answer.json(dict)
                    answer.json(empty={})  # writes answer 202 with a document nothing reads, but ACS's JSON still
                    return {}
                except HttpError as error:
                    raise _not_acs(operation, status, error.detail) from None
            try:
                said = answer.json(dict)
            except HttpError:
                said = {"message": answer.text(300)}  # a proxy's page: its words, the JWT masked
            code = str(said.get("code") or status)
            message = str(said.get("message") or answer.reason or "")[:300]
            if not _retryable(status, code, message) or attempt == self.attempts:
                raise AcsError(operation, status, code, message, _action(status, code, message, attempt))
            self.log.info("ACS answered %s %s to %s; retrying (attempt %d of %d)", status, code, operation, attempt,
                          self.attempts)  # fmt: skip
            self.sleep(self._backoff(attempt, answer.headers.get("retry-after")))
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    def _failure(self, operation: str, error: HttpError) -> AcsError:
        """A call that got no usable answer, as an AcsError (its code says whether to try again)."""
        if error.kind == "redirect":
            return AcsError(operation, error.status, "redirect", error.detail,
                            "ACS does not redirect its API: " + NOT_ACS, where="ACS's address redirected")  # fmt: skip
        if error.kind == "timeout":
            return AcsError(operation, 0, "timeout", f"{self.base_url}: {error.detail}",
                            "ACS or the network to it is slow; run the step again in a few minutes.",
                            where="ACS did not answer in time")  # fmt: skip
        if error.kind in ("broken", "too_large"):  # a cut connection may pass on a retry, an oversized answer not
            code = "broken-answer" if error.kind == "broken" else "answer-too-large"
            return AcsError(operation, error.status, code, f"{self.base_url}: {error.detail}", NOT_ACS,
                            where="ACS's answer was unusable")  # fmt: skip
        return AcsError(operation, 0, "unreachable", f"cannot reach {self.base_url} ({error.detail})",
                        "Check that this Splunk instance can open HTTPS connections to admin.splunk.com "
                        "(outbound firewall or proxy).")  # fmt: skip

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), 120.0)
        return min(2.0 ** attempt, 60.0)


def _from_info(info: object, operation: str) -> HecToken:
    """A HecInfo ({"spec": HecSpec, "token": value}) as a HecToken; keys are matched case-insensitively
    because the manual writes useACK and the OpenAPI document useAck. Any other shape is an AcsError."""
    spec = info.get("spec", info) if isinstance(info, dict) else None
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
        raise _not_acs(operation, 200, f"a HEC token without a name ({json.dumps(info)[:80]})")
    spec = {str(k).lower(): v for k, v in spec.items()}
    value = info.get("token") or spec.get("token") or ""  # type: ignore[union-attr]
    allowed = spec.get("allowedindexes") or ()
    if not isinstance(allowed, (list, tuple)) or not isinstance(value, str):
        raise _not_acs(operation, 200, f"HEC token {spec['name'][:60]}: allowedIndexes is not a list or the "
                                       "token not text")  # fmt: skip
    return HecToken(
        name=spec["name"],
        default_index=str(spec.get("defaultindex") or ""),
        allowed_indexes=tuple(str(i) for i in allowed),
        default_source=str(spec.get("defaultsource") or ""),
        default_sourcetype=str(spec.get("defaultsourcetype") or ""),
        use_ack=bool(spec.get("useack")),
        disabled=bool(spec.get("disabled")),
        value=value,
    )


_MISSING = object()


def _not_acs(operation: str, status: int, what: str) -> AcsError:
    return AcsError(operation, status, "not-acs-json", what, NOT_ACS,
                    where="ACS answered something that is not ACS's JSON")  # fmt: skip


def _retryable(status: int, code: str, message: str) -> bool:
    if status == 424:
        # "424-dependency-incomplete" / "A deployment task is still in progress" pass; a failed one does not.
        return "incomplete" in code or "in progress" in message.lower()
    return status in RETRY_STATUSES


def _action(status: int, code: str, message: str, attempts: int) -> str:
    tried = f" (tried {attempts} times)" if attempts > 1 else ""
    if status == 401:
        return ("The ACS token is expired, not yet valid or not a token of this stack. Create a new authentication "
                "token on the stack (Settings > Tokens) and enter its value (not its token id).")
    if status == 403:
        return ("The ACS token's user lacks the capabilities to manage HEC tokens (the sc_admin role has them), or "
                "this stack's Experience does not support the operation. " + ACS_REQUIREMENTS)
    if status == 404:
        return ("Check the stack name: it is the first part of the Splunk Cloud URL "
                "(https://<stack>.splunkcloud.com).")
    if status == 409:
        return "A HEC token with this name already exists on the stack; reuse it or choose another name."
    if status == 424:
        if _retryable(status, code, message):
            return f"A deployment task is still running on the stack{tried}; run the step again in a few minutes."
        return ("An earlier operation on the stack failed. Retry it through ACS (\"Retry failed operations in "
                "Splunk Cloud Platform\") or contact Splunk Support, then run the step again.")
    if status == 429:
        return f"ACS is rate limiting requests{tried}; wait a minute and run the step again."
    if status == 500:
        return ("ACS had an internal error. ACS does not support single-instance deployments; if the stack has "
                "separate search heads, run the step again later or contact Splunk Support.")
    if status >= 500:
        return f"ACS is unavailable{tried} (concurrent requests can cause this); run the step again later."
    return "ACS refused the request; check the index name and the token settings."


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")
