"""Where Firehose delivers (the `delivery` setting): the HEC token and URL for each choice.

- local: this Splunk instance receives HEC; the app creates its token here (data/inputs/http);
- existing: a token the user made on another tier; it is checked the way Firehose uses it
  (splunk/hec_check.py) before anything is deployed;
- cloud: Splunk Cloud Platform; the app creates, reuses or rotates its token through ACS
  (splunk/acs.py) and Firehose delivers to the stack's Firehose endpoint.

check() answers the Check job without changing anything; prepare() runs first in Deploy and raises
SplunkError before any AWS change when the token cannot work, so a failure leaves no stack and no
secret behind. Index-time settings are keyed on source http:cloudtrail_firehose: where the app makes
the token it sets that source and sourcetype, where it only uses one it checks them or says what to set.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cloudtrail_firehose.splunk import acs, app_config, hec, hec_check, indexes
from cloudtrail_firehose.splunk.errors import SplunkError
from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError

Progress = Callable[[str], None]
AcsFactory = Callable[[str, str], acs.Acs]  # (stack, ACS token)
HecChecker = Callable[..., hec_check.HecCheck]
# Firehose caches the secret and refreshes it every 10 minutes (Amazon Data Firehose Developer Guide,
# "Use the secret"): a replaced token must keep working that long, plus a margin.
SECRET_REFRESH_SECONDS = 15 * 60
NO_LOCAL_HEC = ("this Splunk instance offers no HTTP Event Collector inputs (data/inputs/http answered 404), as on a "
                "search head whose HEC tier is elsewhere; choose 'An existing HEC token on another tier' or "
                "'Splunk Cloud through ACS' under Where Firehose delivers")  # fmt: skip


@dataclass(frozen=True)
class Prepared:
    """The token Firehose is to use and where; retire names an ACS token to delete once Firehose switched."""

    token: str
    hec_url: str
    retire: str | None = None


@dataclass(frozen=True)
class Tools:
    """How to reach ACS, check a HEC token and wait; tests point these at their stand-ins."""

    acs: AcsFactory = acs.Acs
    check_hec: HecChecker = hec_check.check_hec_token
    sleep: Callable[[float], None] = time.sleep


TOOLS = Tools()


def choice(config: Mapping[str, str]) -> str:
    return config.get("delivery") or "local"


def hec_url(config: Mapping[str, str]) -> str:
    """The URL Firehose delivers to: the stack's Firehose endpoint for cloud, else the one given."""
    if choice(config) == "cloud":
        return acs.firehose_endpoint(config.get("splunk_cloud_stack", ""))
    return config.get("hec_url", "")


def check_index(splunkd: Splunkd, index: str) -> dict:
    """Ask the indexers; only an index found nowhere fails, one that cannot be confirmed is a warning."""
    found = indexes.check_index(splunkd, index)
    return {"name": "Splunk index", "ok": {"found": True, "missing": False}.get(found.status), "detail": found.message}


def require_index(splunkd: Splunkd, index: str, progress: Progress) -> None:
    found = indexes.check_index(splunkd, index)
    if not found.ok:
        raise SplunkError(found.message)
    progress(("" if found.status == "found" else "warning: ") + found.message)


def check(splunkd: Splunkd, config: Mapping[str, str], tools: Tools) -> list[dict]:
    """What the Check job reports about delivery; nothing is created or changed."""
    how = choice(config)
    if how == "existing":
        return _existing_checks(splunkd, config, tools)
    if how == "cloud":
        return _cloud_checks(splunkd, config, tools)
    try:
        splunkd.get(f"{hec.REST_ENDPOINT}/http")
    except SplunkdError as error:
        if error.status != 404:
            raise
        return [{"name": "HEC on this instance", "ok": False, "detail": NO_LOCAL_HEC}]
    return [{"name": "HEC on this instance", "ok": True,
             "detail": f"setup creates the token {hec.INPUT_NAME} here with source {hec.SOURCE}, sourcetype "
                       f"{hec.SOURCETYPE} and indexer acknowledgement on"}]  # fmt: skip


def prepare(splunkd: Splunkd, config: Mapping[str, str], rotate: bool, progress: Progress, tools: Tools) -> Prepared:
    """The token for Firehose, made or checked for the chosen delivery; raises SplunkError (nothing
    changed in AWS) when it cannot work."""
    how, index = choice(config), config["index"]
    if how == "existing":
        token = _secret(splunkd, "hec_token")
        result = _check_existing(splunkd, config, token, tools)
        if not result.ok:
            raise SplunkError(f"the HEC token does not work at {config.get('hec_url')}: {result.message}")
        progress(result.message)
        for warning in result.warnings:
            progress(f"warning: {warning}")
        if rotate:
            progress("warning: rotate the token on the HEC tier, paste the new value here and deploy again; the app "
                     "does not create tokens on another tier")  # fmt: skip
        return Prepared(token, config["hec_url"])
    if how == "cloud":
        client = _acs(splunkd, config, tools)
        try:
            ensured = acs.ensure_hec_token(client, index, rotate=rotate)
        except acs.AcsError as error:
            raise SplunkError(str(error)) from error
        progress(f"Splunk Cloud HEC token {ensured.token.name} {ensured.outcome} through ACS (index {index}, source "
                 f"{hec.SOURCE}, sourcetype {hec.SOURCETYPE}, indexer acknowledgement on)")  # fmt: skip
        progress(acs.FIREHOSE_SUPPORT_CAVEAT.format(stack=client.stack))
        return Prepared(ensured.token.value, ensured.endpoint, ensured.retire)
    try:
        if hec.ensure_hec_enabled(splunkd):
            progress("HTTP Event Collector was off; turned it on")
    except SplunkdError as error:
        if error.status == 404:
            raise SplunkError(NO_LOCAL_HEC) from error
        raise
    hec_input = hec.ensure_hec_input(splunkd, index, rotate=rotate)
    progress(f"HEC input {hec_input.name} ready (index {index}, indexer acknowledgement on)")
    return Prepared(hec_input.token, config["hec_url"])


def retire(splunkd: Splunkd, config: Mapping[str, str], prepared: Prepared, progress: Progress, tools: Tools) -> None:
    """After a deploy that succeeded: delete the ACS token a rotation replaced, once Firehose has
    refreshed its copy of the secret (a failed deploy never gets here, so both tokens keep working)."""
    if not prepared.retire:
        return
    progress(f"Keeping the old Splunk Cloud HEC token {prepared.retire} for {SECRET_REFRESH_SECONDS // 60} minutes: "
             "Firehose refreshes its copy of the secret every 10 minutes")  # fmt: skip
    tools.sleep(SECRET_REFRESH_SECONDS)
    client = _acs(splunkd, config, tools)
    try:
        acs.retire_hec_token(client, prepared.retire)
    except acs.AcsError as error:
        progress(f"warning: the old Splunk Cloud HEC token {prepared.retire} is still valid: {error}")
        return
    progress(f"Deleted the old Splunk Cloud HEC token {prepared.retire} through ACS")


def remove_tokens(splunkd: Splunkd, config: Mapping[str, str], progress: Progress, tools: Tools) -> None:
    """After Remove deleted the stack, so no Firehose stream holds the token any more: the tokens the app
    made stop working, and its copy of a token made elsewhere is forgotten. The AWS side is already
    gone, so a failure here is a warning that says what to delete by hand."""
    how = choice(config)
    if how == "existing":
        if app_config.delete_secret(splunkd, "hec_token"):
            progress("Forgot the stored copy of the HEC token. The token itself belongs to the HEC tier where it "
                     "was made: delete it there once nothing else uses it")  # fmt: skip
        return
    if how == "cloud":
        try:
            retired = acs.retire_app_tokens(_acs(splunkd, config, tools))
        except (acs.AcsError, SplunkError) as error:
            progress(f"warning: the app's Splunk Cloud HEC tokens were not deleted ({error}); delete "
                     f"{hec.INPUT_NAME} and any {hec.INPUT_NAME}-<n> in Splunk Web or through ACS")  # fmt: skip
            return
        if retired:
            progress(f"Deleted the Splunk Cloud HEC token(s) {', '.join(retired)} through ACS")
        return
    try:
        retired = hec.retire_hec_inputs(splunkd, keep=None)
    except SplunkdError as error:
        if error.status == 404:  # this splunkd has no HEC inputs: the app made none here
            return
        progress(f"warning: the app's HEC input(s) were not deleted ({error.message}); delete {hec.INPUT_NAME} "
                 "under Settings > Data inputs > HTTP Event Collector")  # fmt: skip
        return
    if retired:
        progress(f"Deleted the HEC input(s) {', '.join(retired)}: their tokens no longer work")


def _existing_checks(splunkd: Splunkd, config: Mapping[str, str], tools: Tools) -> list[dict]:
    result = _check_existing(splunkd, config, _secret(splunkd, "hec_token"), tools)
    checks = [{"name": "HEC token", "ok": result.ok, "detail": result.message}]
    checks += [{"name": "HEC token settings", "ok": None, "detail": w} for w in result.warnings]
    return checks


def _check_existing(splunkd: Splunkd, config: Mapping[str, str], token: str, tools: Tools) -> hec_check.HecCheck:
    try:  # the settings can be read only when this splunkd holds the token too (a heavy forwarder, say)
        settings = hec_check.settings_from_splunkd(splunkd, token)
    except SplunkdError:
        settings = None
    return tools.check_hec(config.get("hec_url", ""), token, index=config.get("index"), token_settings=settings)


def _cloud_checks(splunkd: Splunkd, config: Mapping[str, str], tools: Tools) -> list[dict]:
    caveat = {"name": "Splunk Cloud Firehose endpoint", "ok": None,
              "detail": acs.FIREHOSE_SUPPORT_CAVEAT.format(stack=config.get("splunk_cloud_stack"))}  # fmt: skip
    client = _acs(splunkd, config, tools)
    try:
        current = client.describe_hec_token(hec.INPUT_NAME)
    except acs.AcsError as error:
        return [{"name": "ACS", "ok": False, "detail": str(error)}, caveat]
    if current is None:
        detail = f"deploy creates the HEC token {hec.INPUT_NAME} on stack {client.stack} through ACS"
    elif current.settings() == acs.desired_token(config["index"]).settings():
        detail = f"the HEC token {hec.INPUT_NAME} on stack {client.stack} is as Firehose needs it; deploy reuses it"
    else:
        detail = (f"deploy updates the HEC token {hec.INPUT_NAME} on stack {client.stack} (index, source "
                  f"{hec.SOURCE}, sourcetype {hec.SOURCETYPE}, indexer acknowledgement on)")
    return [{"name": "ACS", "ok": True, "detail": detail}, caveat]


def _acs(splunkd: Splunkd, config: Mapping[str, str], tools: Tools) -> acs.Acs:
    try:
        return tools.acs(config.get("splunk_cloud_stack", ""), _secret(splunkd, "acs_token"))
    except ValueError as error:
        raise SplunkError(str(error)) from error


def _secret(splunkd: Splunkd, name: str) -> str:
    secret = app_config.read_secret(splunkd, name)
    if not secret:
        raise SplunkError(f"no {name} is stored; enter it on the setup page and save")
    return secret
