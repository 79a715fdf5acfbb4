"""AWS sessions and clients for everyone (setup handler, modular inputs, CLI).

Three ways in, chosen by the setting aws_auth:

- keys: an access key id and its secret (the setup page stores them: splunk/stored_access.py);
- role: a role assumed from the default credential chain (optional external id), its credentials
  refreshed before they expire, as botocore does for the CLI's role profiles;
- instance: the default credential chain (instance role, environment, profile).

`Clients` then holds every AWS client of one flow, each created once with the app's client config
(standard retries, a user agent naming the app), and asks for the caller identity once.
AWS_ENDPOINT_URL still points every client at an emulator (botocore reads it itself).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Optional, Union

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from cloudtrail_firehose.access_modes import mode_of, mode_problem
from cloudtrail_firehose.aws.errors import PipelineError, explain

ROLE_SESSION_NAME = "cloudtrail-firehose-setup"
# A page (not an API answer) starts like this: a proxy or captive portal answering in AWS's place.
PAGE_START = re.compile(rb"\s*(<!doctype html|<html|<head|<body)", re.I)
# What botocore's parsers raise, or what reading their result raises, when an answer is not AWS's API.
PARSE_ERRORS = (ResponseParserError, KeyError, IndexError, TypeError, ValueError, AttributeError)
# One hour is what every role allows (MaxSessionDuration is at least 3600); refresh covers longer runs.
ROLE_DURATION_SECONDS = 3600
APP_CONF = Path(__file__).resolve().parents[3] / "default" / "app.conf"

Clock = Callable[[], datetime]


class AccessError(PipelineError):
    """The app's AWS access cannot be set up; the message says what failed and what to do."""


class NotAwsAnswerError(BotoCoreError):
    """An answer to an AWS call that is not AWS's API (an HTML page from a proxy, say).

    A BotoCoreError, so every caller that handles AWS failures handles this one too, with its message.
    """

    fmt = "{message}"


def not_aws(region: str, doing: str = "") -> str:
    """What to say when an answer from AWS is not its API."""
    return (f"AWS answered something that is not its API in {region or 'the default region'} (a proxy?)"
            f"{f' while {doing}' if doing else ''}; check HTTPS_PROXY/NO_PROXY and the network path from "
            "this server to AWS")  # fmt: skip


@cache
def app_version() -> str:
    """The app's version from default/app.conf (next to lib/ in the app, next to package/ in a clone)."""
    try:
        found = re.search(r"^\[id\][^\[]*?^version\s*=\s*(\S+)", APP_CONF.read_text(encoding="utf-8"), re.M | re.S)
    except OSError:
        found = None
    return found.group(1) if found else "unknown"


@cache
def client_config() -> Config:
    """Standard retries back off on throttling and transient errors; the user agent names the app."""
    return Config(retries={"mode": "standard", "max_attempts": 8},
                  user_agent_extra=f"cloudtrail_firehose/{app_version()}")  # fmt: skip


# --- which access ------------------------------------------------------------------------------


def known_mode(config: Mapping[str, str]) -> str:
    """The access mode, with what it needs stored (a role mode without its role's ARN is no mode at all).

    The modes and their rules: cloudtrail_firehose/access_modes.py.
    """
    problem = mode_problem(config)
    if problem:
        raise AccessError(problem)
    return mode_of(config)


# --- sessions ----------------------------------------------------------------------------------


def clients_for(config: Mapping[str, str], secret: str | None, region: str, base: boto3.Session | None = None,
                clock: Clock | None = None) -> Clients:  # fmt: skip
    """The flow's clients on the configured access. base: the default chain (the CLI passes its profile)."""
    return Clients(session_for(config, secret, region, base, clock), region)


def session_for(config: Mapping[str, str], secret: str | None, region: str, base: boto3.Session | None = None,
                clock: Clock | None = None) -> boto3.Session:  # fmt: skip
    """A boto3 session for the configured mode."""
    mode = known_mode(config)
    if mode == "keys":
        return boto3.Session(aws_access_key_id=config.get("aws_access_key_id"), aws_secret_access_key=secret,
                             region_name=region)  # fmt: skip
    base = base or boto3.Session(region_name=region or None)
    if mode == "instance":
        return base
    return assumed_role_session(base, config["aws_role_arn"].strip(), config.get("aws_external_id") or "", region,
                                clock)  # fmt: skip


def assumed_role_session(base: boto3.Session, role_arn: str, external_id: str = "", region: str = "",
                         clock: Clock | None = None) -> boto3.Session:  # fmt: skip
    """A session whose credentials come from sts:AssumeRole and are fetched again before they expire.

    botocore refreshes them itself (15 minutes before expiry when it can, 10 minutes before at the
    latest), so a deploy watched for longer than the role's session duration keeps working.
    """
    sts = refusing_pages(base.client("sts", region_name=region or None, config=client_config()))
    arguments = {"RoleArn": role_arn, "RoleSessionName": ROLE_SESSION_NAME, "DurationSeconds": ROLE_DURATION_SECONDS}
    if external_id:
        arguments["ExternalId"] = external_id

    def fetch() -> dict[str, str]:
        try:
            credentials = sts.assume_role(**arguments)["Credentials"]
        except PARSE_ERRORS as error:
            raise AccessError(f"{not_aws(region, f'assuming role {role_arn}')}") from error
        except (ClientError, BotoCoreError) as error:
            what = explain(error, f"assuming role {role_arn}")
            raise AccessError(f"{what}. The role's trust policy must allow this identity (and the external id, "
                              "if one is set) to call sts:AssumeRole") from error  # fmt: skip
        return {"access_key": credentials["AccessKeyId"], "secret_key": credentials["SecretAccessKey"],
                "token": credentials["SessionToken"], "expiry_time": credentials["Expiration"].isoformat()}  # fmt: skip

    options: dict[str, Any] = {"time_fetcher": clock} if clock else {}
    credentials = DeferredRefreshableCredentials(refresh_using=fetch, method="assume-role", **options)
    # The base's profile still gives the settings other than credentials (CA bundle, endpoints).
    core = botocore.session.Session(profile=base.profile_name if base.profile_name in base.available_profiles else None)
    # Only this provider: an assumed role must never quietly become the chain's own identity.
    core.register_component("credential_provider", CredentialResolver([_Given(credentials)]))
    return boto3.Session(botocore_session=core, region_name=region or None)


class _Given(CredentialProvider):
    METHOD = "assume-role"

    def __init__(self, credentials: DeferredRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> DeferredRefreshableCredentials:
        return self._credentials


# --- clients -----------------------------------------------------------------------------------


class Clients:
    """Every AWS client of one flow, each made once with the app's client config, for one region."""

    def __init__(self, session: boto3.Session | None = None, region: str = "") -> None:
        self.session = session or boto3.Session(region_name=region or None)
        self.region = region or self.session.region_name or ""
        self._made: dict[str, Any] = {}
        self._identity: dict[str, str] | None = None

    def __call__(self, service: str) -> BaseClient:
        if service not in self._made:
            self._made[service] = refusing_pages(self.session.client(service, region_name=self.region or None,
                                                                     config=client_config()))  # fmt: skip
        return self._made[service]

    def identity(self) -> dict[str, str]:
        """sts:GetCallerIdentity, asked once per flow."""
        if self._identity is None:
            try:
                self._identity = self("sts").get_caller_identity()
            except PARSE_ERRORS as error:
                raise PipelineError(not_aws(self.region, "checking AWS credentials")) from error
            except (ClientError, BotoCoreError) as error:
                raise explain(error, "checking AWS credentials") from error
        return self._identity

    @property
    def account(self) -> str:
        return self.identity()["Account"]


# What every flow function takes: the flow's Clients, or a boto3 session to build them from (None: the default chain).
Session = Optional[Union[Clients, boto3.Session]]  # typing's spelling: a runtime alias on Python 3.9


def clients(session: Session, region: str) -> Clients:
    """The flow's clients: the ones given when they are for this region, else new ones."""
    if isinstance(session, Clients):
        return session if session.region == region or not region else Clients(session.session, region)
    return Clients(session, region)


def refusing_pages(client: BaseClient) -> BaseClient:
    """The client, made to raise NotAwsAnswerError on a successful answer that is a web page.

    botocore parses such a page as best it can: a KeyError from its XML parser, or an empty answer that
    fails later far from the call. Checked before parsing, and only on 2xx answers: AWS's own 5xx pages
    stay errors botocore retries. A streaming body (an S3 object) may be any page at all.
    """
    region = client.meta.region_name or ""

    def check(operation_model, response_dict, **_) -> None:
        if operation_model.has_streaming_output or not 200 <= response_dict.get("status_code", 0) < 300:
            return
        body = response_dict.get("body")
        if isinstance(body, bytes) and PAGE_START.match(body[:512]):
            raise NotAwsAnswerError(message=not_aws(region, f"calling {operation_model.name}"))

    client.meta.events.register("before-parse", check)
    return client
