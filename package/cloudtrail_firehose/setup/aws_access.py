"""How the app reaches AWS: access keys, a role to assume, or the instance's own role."""

from __future__ import annotations

import logging
import re

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from cloudtrail_firehose.aws.errors import explain
from cloudtrail_firehose.splunk import app_config
from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError

MODES = ("keys", "role", "instance")
ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{12,124}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


def access_problems(config: dict[str, str], has_secret: bool) -> list[str]:
    mode = config.get("aws_auth", "keys")
    if mode not in MODES:
        return [f"aws_auth: {mode!r} is not one of {', '.join(MODES)}"]
    problems = []
    if mode == "keys":
        if not ACCESS_KEY_ID.match(config.get("aws_access_key_id", "")):
            problems.append("aws_access_key_id: an access key id starts with AKIA (or ASIA) and has 16+ letters/digits")
        if not has_secret:
            problems.append("aws_secret_access_key: enter the secret access key that belongs to the key id")
    if mode == "role" and not ROLE_ARN.match(config.get("aws_role_arn", "")):
        problems.append("aws_role_arn: give the ARN of the role to assume, arn:aws:iam::<account>:role/<name>")
    return problems


def aws_session(config: dict[str, str], secret: str | None, region: str) -> boto3.Session:
    """A boto3 session for the configured access mode."""
    mode = config.get("aws_auth", "keys")
    if mode == "keys":
        return boto3.Session(aws_access_key_id=config.get("aws_access_key_id"), aws_secret_access_key=secret,
                             region_name=region)  # fmt: skip
    base = boto3.Session(region_name=region)
    if mode == "instance":
        return base
    arguments = {"RoleArn": config["aws_role_arn"], "RoleSessionName": "cloudtrail-firehose-setup",
                 "DurationSeconds": 3600}  # fmt: skip
    if config.get("aws_external_id"):
        arguments["ExternalId"] = config["aws_external_id"]
    try:
        credentials = base.client("sts").assume_role(**arguments)["Credentials"]
    except (ClientError, BotoCoreError) as error:
        raise explain(error, f"assuming role {config['aws_role_arn']}") from error
    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"], region_name=region)  # fmt: skip


def stored_access(splunkd: Splunkd, log: logging.Logger) -> tuple[dict[str, str], str | None]:
    """The AWS access the setup page stored; the environment's credentials when splunkd cannot say."""
    try:
        config = app_config.read_settings(splunkd)
        secret = app_config.read_secret_key(splunkd) if config.get("aws_auth", "keys") == "keys" else None
    except SplunkdError as error:
        log.warning("cannot read the app's AWS settings from splunkd (%s); using the environment's credentials", error)
        return {"aws_auth": "instance"}, None
    if not config:
        return {"aws_auth": "instance"}, None
    return config, secret
