"""Each source's HEC token secret in Secrets Manager, which its Firehose stream reads: created (or restored)
with the real token before the stack exists, its settle time after a change, its ARN before the first apply,
and its retirement when the stack is destroyed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from botocore.exceptions import BotoCoreError, ClientError

from cloudtrail_firehose import settings as schema
from cloudtrail_firehose.aws.clients import Clients, Session, clients
from cloudtrail_firehose.aws.errors import PipelineError, aws_call, explain
from cloudtrail_firehose.aws.settings import PipelineSettings
from cloudtrail_firehose.sources import Source

FIREHOSE_SECRET_REFRESH = timedelta(minutes=15)  # Firehose's 10-minute secret cache, and a margin
DESCRIPTION = "Splunk HEC token for the {label} Firehose stream (written by the Splunk app)"


def secret_name(settings: PipelineSettings, source: Source) -> str:
    return f"{settings.hec_token_secret_name}{source.hec_name_suffix}"


def arn_setting(source: Source) -> str:
    """The pipeline setting that passes the source's secret ARN to its template parameter."""
    return next(s.name for s in schema.SETTINGS if s.parameter == source.hec_arn_parameter)


def ensure_hec_token_secret(secrets, name: str, token: str | None, progress: Callable[[str], None],
                            source: Source) -> str:  # fmt: skip
    """Make the secret Firehose reads hold this token (created or restored first); return its ARN.

    With no token, the secret must already hold one. Never logs the token.
    """
    try:
        described = secrets.describe_secret(SecretId=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise explain(error, "reading the HEC token secret") from error
        described = None
    except BotoCoreError as error:
        raise explain(error, "reading the HEC token secret") from error
    if described is None:
        if token is None:
            raise PipelineError(f"the {source.label} HEC token is not in Secrets Manager yet ({name}): deploy from "
                                f"the setup page, or set {source.token_env} to the token and apply again")  # fmt: skip
        created = aws_call("storing the HEC token", secrets.create_secret, Name=name,
                           Description=DESCRIPTION.format(label=source.label),
                           SecretString=json.dumps({"hec_token": token}))  # fmt: skip (no Tags: they need TagResource)
        progress("HEC token stored in Secrets Manager for Firehose")
        return created["ARN"]
    if described.get("DeletedDate"):  # an earlier destroy scheduled it for deletion
        aws_call("restoring the HEC token secret", secrets.restore_secret, SecretId=name)
        progress(f"Restored secret {name}, which an earlier destroy had scheduled for deletion")
    if token is not None:
        current = aws_call("reading the HEC token secret", secrets.get_secret_value, SecretId=name)
        if json.loads(current.get("SecretString") or "{}").get("hec_token") != token:
            aws_call("storing the HEC token", secrets.put_secret_value, SecretId=name,
                     SecretString=json.dumps({"hec_token": token}))  # fmt: skip
            progress("HEC token stored in Secrets Manager for Firehose")
    return described["ARN"]


def hec_token_settled_at(settings: PipelineSettings, source: Source, session: Session = None) -> datetime:
    """When every Firehose cache holds the source's secret's current token: it refreshes them every 10 minutes
    (Amazon Data Firehose Developer Guide, "Use the secret"), plus a margin for clocks."""
    secrets = clients(session, settings.region)("secretsmanager")
    described = aws_call("reading the HEC token secret", secrets.describe_secret,
                         SecretId=secret_name(settings, source))  # fmt: skip
    changed = described.get("LastChangedDate") or described.get("CreatedDate") or datetime.now(timezone.utc)
    return changed + FIREHOSE_SECRET_REFRESH


def secret_arn(client: Clients, settings: PipelineSettings, source: Source) -> str:
    """A source's token secret's ARN; before the first apply creates it, one of the same shape (a preview only)."""
    name = secret_name(settings, source)
    try:
        return client("secretsmanager").describe_secret(SecretId=name)["ARN"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise explain(error, "reading the HEC token secret") from error
    except BotoCoreError as error:
        raise explain(error, "reading the HEC token secret") from error
    identity = client.identity()
    partition = identity["Arn"].split(":")[1]
    return f"arn:{partition}:secretsmanager:{settings.region}:{identity['Account']}:secret:{name}"


def retire(secrets, name: str, progress: Callable[[str], None]) -> None:
    """Schedule the token's secret for deletion; the recovery window lets a later apply restore it."""
    try:
        described = secrets.describe_secret(SecretId=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return
        raise explain(error, "reading the HEC token secret") from error
    if not described.get("DeletedDate"):
        aws_call("deleting the HEC token secret", secrets.delete_secret, SecretId=name, RecoveryWindowInDays=7)
        progress(f"Secret {name} scheduled for deletion in 7 days (apply restores it)")
