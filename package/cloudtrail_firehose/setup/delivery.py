"""Where Firehose delivers (the `delivery` setting): one class per choice, each with the same four steps.

- Local: this Splunk instance receives HEC; the app creates its token here (data/inputs/http);
- Existing: a token the user made on another tier; it is checked the way Firehose uses it
  (splunk/hec_check.py) before anything is deployed;
- Cloud: Splunk Cloud Platform; the app creates, reuses or rotates its token through ACS
  (splunk/acs.py) and Firehose delivers to the stack's Firehose endpoint.

check() answers the Check job without changing anything; prepare() runs first in Deploy and raises
SplunkError before any AWS change when the token cannot work, so a failure leaves no stack and no
secret behind; retire() runs after a deploy that succeeded; remove() after Remove deleted the stack.
Each choice serves one source's token (sources/: its TokenSpec). Index-time settings are keyed on the
token's source, http:<name>: where the app makes the token it sets that source and sourcetype, where it
only uses one it checks them or says what to set.

The rotation rule, for every choice where the app makes tokens: Firehose caches the secret and
refreshes it every 10 minutes (Amazon Data Firehose Developer Guide, "Use the secret"), so a token the
secret no longer names is deleted only once the secret's last change is that long ago plus a margin
(the caller's settled_at: aws/hec_secret.hec_token_settled_at, from the secret's LastChangedDate). Only a
deploy that succeeded retires; after a failed one every token keeps working, and the next deploy that
succeeds uses the newest and retires the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import ClassVar

from cloudtrail_firehose import settings as schema
from cloudtrail_firehose.sources import CLOUDTRAIL, Source
from cloudtrail_firehose.splunk import acs, app_config, cloud_tokens, hec, hec_check, indexes
from cloudtrail_firehose.splunk.errors import SplunkError
from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError

Progress = Callable[[str], None]
AcsFactory = Callable[[str, str], acs.Acs]  # (stack, ACS token)
HecChecker = Callable[..., hec_check.HecCheck]
NO_LOCAL_HEC = ("this Splunk instance offers no HTTP Event Collector inputs (data/inputs/http answered 404), as on a "
                "search head whose HEC tier is elsewhere; choose 'An existing HEC token on another tier' or "
                "'Splunk Cloud through ACS' under Where Firehose delivers")  # fmt: skip


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Prepared:
    """The token Firehose is to use, its name where the app made it, and where Firehose delivers."""

    token: str
    hec_url: str
    name: str = ""


@dataclass(frozen=True)
class Tools:
    """How to reach ACS, check a HEC token, wait and tell the time; tests point these at their stand-ins."""

    acs: AcsFactory = acs.Acs
    check_hec: HecChecker = hec_check.check_hec_token
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = _utc_now


TOOLS = Tools()


def check_index(splunkd: Splunkd, index: str) -> dict:
    """Ask the indexers; only an index found nowhere fails, one that cannot be confirmed is a warning."""
    found = indexes.check_index(splunkd, index)
    return {"name": "Splunk index", "ok": {"found": True, "missing": False}.get(found.status), "detail": found.message}


def require_index(splunkd: Splunkd, index: str, progress: Progress) -> None:
    found = indexes.check_index(splunkd, index)
    if not found.ok:
        raise SplunkError(found.message)
    progress(("" if found.status == "found" else "warning: ") + found.message)


class Delivery:
    """One delivery choice; delivery_for(config) picks it."""

    choice: ClassVar[str]
    fills_hec_url: ClassVar[bool] = False  # True: the app derives the HEC URL, the form does not ask for it

    def __init__(self, config: Mapping[str, str], source: Source, tools: Tools = TOOLS) -> None:
        self.config, self.source, self.spec, self.tools = config, source, source.token, tools

    @property
    def index(self) -> str:
        """The index the source's events go to (its index setting, else the setting's default)."""
        return schema.source_index(self.source, self.config)

    def hec_url(self) -> str:
        """The URL Firehose delivers to (ValueError when the settings it comes from are not valid)."""
        return self.config.get("hec_url", "")

    def check(self, splunkd: Splunkd) -> list[dict]:
        """What the Check job reports about delivery; nothing is created or changed."""
        raise NotImplementedError

    def prepare(self, splunkd: Splunkd, rotate: bool, progress: Progress) -> Prepared:
        """The token for Firehose, made, reused, rotated or checked; SplunkError (nothing changed in AWS)
        when it cannot work."""
        raise NotImplementedError

    def retire(self, splunkd: Splunkd, prepared: Prepared, progress: Progress,
               settled_at: Callable[[], datetime]) -> list[str]:  # fmt: skip
        """After a deploy that succeeded: delete the tokens Firehose no longer uses, by the rotation rule."""
        return []

    def remove(self, splunkd: Splunkd, progress: Progress) -> None:
        """After Remove deleted the stack, so no Firehose stream holds the token any more. The AWS side is
        already gone, so a failure here is a warning that says what to delete by hand."""
        raise NotImplementedError

    def _secret(self, splunkd: Splunkd, name: str) -> str:
        secret = app_config.read_secret(splunkd, name)
        if not secret:
            raise SplunkError(f"no {name} is stored; enter it on the setup page and save")
        return secret


class _AppMadeTokens(Delivery):
    """A choice where the app makes the tokens, so it also retires and removes them (names: splunk/hec.py)."""

    noun: ClassVar[str]  # what a token is called where it lives
    via: ClassVar[str] = ""
    by_hand: ClassVar[str]  # where to delete one when the app could not
    failures: ClassVar[tuple[type[Exception], ...]]

    def _retire(self, splunkd: Splunkd, keep: str | None) -> list[str]:
        """Delete the app's tokens other than keep (None: all); their names."""
        raise NotImplementedError

    def _names(self, splunkd: Splunkd) -> list[str]:
        raise NotImplementedError

    def retire(self, splunkd: Splunkd, prepared: Prepared, progress: Progress,
               settled_at: Callable[[], datetime]) -> list[str]:  # fmt: skip
        try:
            old = [name for name in self._names(splunkd) if name != prepared.name]
        except self.failures as error:
            progress(f"warning: could not list the app's {self.noun}s to retire the old ones ({error}); the next "
                     "deploy retries")  # fmt: skip
            return []
        if not old:
            return []
        settled = settled_at().astimezone(timezone.utc)  # botocore reads AWS's timestamps in local time
        wait = (settled - self.tools.now()).total_seconds()
        if wait > 0:
            progress(f"Keeping the old {self.noun}(s) {', '.join(old)} until {settled:%H:%M} UTC: Firehose refreshes "
                     "its copy of the secret every 10 minutes, and the old token must work until then")  # fmt: skip
            self.tools.sleep(wait)
        try:
            retired = self._retire(splunkd, keep=prepared.name)
        except self.failures as error:
            progress(f"warning: the old {self.noun}(s) {', '.join(old)} still work ({error}); delete them "
                     f"{self.by_hand}, or deploy again")  # fmt: skip
            return []
        if retired:
            progress(f"Deleted the old {self.noun}(s) {', '.join(retired)}{self.via}: only the new token works now")
        return retired

    def remove(self, splunkd: Splunkd, progress: Progress) -> None:
        try:
            retired = self._retire(splunkd, keep=None)
        except self.failures as error:
            progress(f"warning: the app's {self.noun}s were not deleted ({error}); delete {self.spec.rotations} "
                     f"{self.by_hand}")  # fmt: skip
            return
        if retired:
            progress(f"Deleted the {self.noun}(s) {', '.join(retired)}{self.via}: their tokens no longer work")


class Local(_AppMadeTokens):
    """This Splunk instance's HEC: the app's HEC inputs here."""

    choice = "local"
    noun = "HEC input"
    by_hand = "under Settings > Data inputs > HTTP Event Collector"
    failures = (SplunkdError,)

    def check(self, splunkd: Splunkd) -> list[dict]:
        try:
            splunkd.get(f"{hec.REST_ENDPOINT}/http")
        except SplunkdError as error:
            if error.status != 404:
                raise
            return [{"name": "HEC on this instance", "ok": False, "detail": NO_LOCAL_HEC}]
        return [{"name": "HEC on this instance", "ok": True,
                 "detail": f"setup creates the token {self.spec.name} here with source {self.spec.source}, "
                           f"sourcetype {self.spec.sourcetype} and indexer acknowledgement on"}]  # fmt: skip

    def prepare(self, splunkd: Splunkd, rotate: bool, progress: Progress) -> Prepared:
        index = self.index
        try:
            if hec.ensure_hec_enabled(splunkd):
                progress("HTTP Event Collector was off; turned it on")
        except SplunkdError as error:
            if error.status == 404:
                raise SplunkError(NO_LOCAL_HEC) from error
            raise
        hec_input = hec.ensure_hec_input(splunkd, self.spec, index, rotate=rotate)
        progress(f"HEC input {hec_input.name} ready (index {index}, indexer acknowledgement on)")
        return Prepared(hec_input.token, self.hec_url(), hec_input.name)

    def _names(self, splunkd: Splunkd) -> list[str]:
        return [i.name for i in hec.app_inputs(splunkd, self.spec)]

    def _retire(self, splunkd: Splunkd, keep: str | None) -> list[str]:
        try:
            return hec.retire_hec_inputs(splunkd, self.spec, keep)
        except SplunkdError as error:
            if error.status == 404:  # this splunkd has no HEC inputs: the app made none here
                return []
            raise


class Cloud(_AppMadeTokens):
    """Splunk Cloud Platform: the app's HEC tokens through ACS, delivered to the stack's Firehose endpoint."""

    choice = "cloud"
    fills_hec_url = True
    noun = "Splunk Cloud HEC token"
    via = " through ACS"
    by_hand = "in Splunk Web or through ACS"
    failures = (acs.AcsError, SplunkError)

    def hec_url(self) -> str:
        return cloud_tokens.firehose_endpoint(self.config.get("splunk_cloud_stack", ""))

    def check(self, splunkd: Splunkd) -> list[dict]:
        stack = self.config.get("splunk_cloud_stack")
        caveat = {"name": "Splunk Cloud Firehose endpoint", "ok": None,
                  "detail": cloud_tokens.FIREHOSE_SUPPORT_CAVEAT.format(stack=stack)}  # fmt: skip
        client = self._acs(splunkd)
        try:
            tokens = cloud_tokens.app_tokens(client, self.spec)
            current = client.describe_hec_token(tokens[-1].name) if tokens else None
        except acs.AcsError as error:
            return [{"name": "ACS", "ok": False, "detail": str(error)}, caveat]
        if current is None:
            detail = f"deploy creates the HEC token {self.spec.name} on stack {client.stack} through ACS"
        elif current.settings() == cloud_tokens.desired_token(self.spec, self.index, current.name).settings():
            detail = f"the HEC token {current.name} on stack {client.stack} is as Firehose needs it; deploy reuses it"
        else:
            detail = (f"deploy updates the HEC token {current.name} on stack {client.stack} (index, source "
                      f"{self.spec.source}, sourcetype {self.spec.sourcetype}, indexer acknowledgement on)")
        return [{"name": "ACS", "ok": True, "detail": detail}, caveat]

    def prepare(self, splunkd: Splunkd, rotate: bool, progress: Progress) -> Prepared:
        index, client = self.index, self._acs(splunkd)
        try:
            ensured = cloud_tokens.ensure_hec_token(client, self.spec, index, rotate=rotate)
        except acs.AcsError as error:
            raise SplunkError(str(error)) from error
        progress(f"Splunk Cloud HEC token {ensured.token.name} {ensured.outcome} through ACS (index {index}, source "
                 f"{self.spec.source}, sourcetype {self.spec.sourcetype}, indexer acknowledgement on)")  # fmt: skip
        progress(cloud_tokens.FIREHOSE_SUPPORT_CAVEAT.format(stack=client.stack))
        return Prepared(ensured.token.value, ensured.endpoint, ensured.token.name)

    def _names(self, splunkd: Splunkd) -> list[str]:
        return [t.name for t in cloud_tokens.app_tokens(self._acs(splunkd), self.spec)]

    def _retire(self, splunkd: Splunkd, keep: str | None) -> list[str]:
        return cloud_tokens.retire_app_tokens(self._acs(splunkd), self.spec, keep)

    def _acs(self, splunkd: Splunkd) -> acs.Acs:
        try:
            return self.tools.acs(self.config.get("splunk_cloud_stack", ""), self._secret(splunkd, "acs_token"))
        except ValueError as error:
            raise SplunkError(str(error)) from error


class Existing(Delivery):
    """A token made on another tier: checked, handed to Firehose, never created, rotated or deleted here."""

    choice = "existing"

    def check(self, splunkd: Splunkd) -> list[dict]:
        result = self._check(splunkd, self._secret(splunkd, self.source.existing_hec_setting))
        checks = [{"name": "HEC token", "ok": result.ok, "detail": result.message}]
        checks += [{"name": "HEC token settings", "ok": None, "detail": w} for w in result.warnings]
        return checks

    def prepare(self, splunkd: Splunkd, rotate: bool, progress: Progress) -> Prepared:
        token = self._secret(splunkd, self.source.existing_hec_setting)
        result = self._check(splunkd, token)
        if not result.ok:
            raise SplunkError(f"the HEC token does not work at {self.hec_url()}: {result.message}")
        progress(result.message)
        for warning in result.warnings:
            progress(f"warning: {warning}")
        if rotate:
            progress("warning: rotate the token on the HEC tier, paste the new value here and deploy again; the app "
                     "does not create tokens on another tier")  # fmt: skip
        return Prepared(token, self.hec_url())

    def remove(self, splunkd: Splunkd, progress: Progress) -> None:
        """The app's copy of the token is forgotten; the token belongs to the tier where it was made."""
        if app_config.delete_secret(splunkd, self.source.existing_hec_setting):
            progress("Forgot the stored copy of the HEC token. The token itself belongs to the HEC tier where it "
                     "was made: delete it there once nothing else uses it")  # fmt: skip

    def _check(self, splunkd: Splunkd, token: str) -> hec_check.HecCheck:
        try:  # the settings can be read only when this splunkd holds the token too (a heavy forwarder, say)
            settings = hec_check.settings_from_splunkd(splunkd, token)
        except SplunkdError:
            settings = None
        return self.tools.check_hec(self.hec_url(), token, index=self.index, token_settings=settings,
                                    spec=self.spec)


CHOICES: dict[str, type[Delivery]] = {kind.choice: kind for kind in (Local, Existing, Cloud)}


def delivery_for(config: Mapping[str, str], tools: Tools = TOOLS, source: Source = CLOUDTRAIL) -> Delivery:
    """The delivery the settings choose (this instance when none is saved) for a source's token; ValueError for
    an unknown one. Every source is delivered the same way, each with its own token; where only the HEC URL
    matters, any source will do."""
    choice = config.get("delivery") or Local.choice
    if choice not in CHOICES:
        raise ValueError(f"delivery: {choice!r} is not one of {', '.join(CHOICES)}")
    return CHOICES[choice](config, source, tools)
