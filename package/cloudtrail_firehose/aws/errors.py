"""AWS failures in words an admin can act on."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from cloudtrail_firehose.errors import ActionableError


class PipelineError(ActionableError):
    """An AWS-side step failed; the message says what failed, why, and what to do."""


# errorCode -> what to do about it.
ADVICE = {
    "AccessDenied": "the AWS identity lacks a permission; grant it (see 'preflight' for the full list) and retry",
    "AccessDeniedException": "the AWS identity lacks a permission; grant it and retry",
    "UnauthorizedOperation": "the AWS identity lacks a permission; grant it and retry",
    "InvalidClientTokenId": "the access key is not valid in this account or region; check the key id and region",
    "SignatureDoesNotMatch": "the secret access key does not match the key id; enter the key pair again",
    "ExpiredToken": "the temporary credentials have expired; refresh them (for example aws sso login) and retry",
    "ExpiredTokenException": "the temporary credentials have expired; refresh them and retry",
    "Throttling": "AWS is throttling requests; wait a minute and retry",
    "ThrottlingException": "AWS is throttling requests; wait a minute and retry",
    "LimitExceededException": "an account quota is reached; raise it in Service Quotas or remove unused resources",
    "AlreadyExistsException": "a resource with that name already exists; choose another name_prefix",
    "InsufficientCapabilitiesException": "the stack creates named IAM roles; this is a bug in the app: report it",
}


def explain(error: Exception, doing: str) -> PipelineError:
    """Turn a boto3/botocore failure into a PipelineError that says what to do."""
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return PipelineError(
            f"{doing}: no AWS credentials found. Give --profile, or set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run where an instance role is attached."
        )
    if isinstance(error, ProfileNotFound):
        return PipelineError(f"{doing}: {error}. List profiles with 'aws configure list-profiles'.")
    if isinstance(error, NoRegionError):
        return PipelineError(f"{doing}: no AWS region; give --region or set AWS_DEFAULT_REGION.")
    if isinstance(error, EndpointConnectionError):
        return PipelineError(
            f"{doing}: cannot reach AWS at {error.kwargs.get('endpoint_url')}: check the network, proxy, "
            "or AWS_ENDPOINT_URL."
        )
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        message = error.response.get("Error", {}).get("Message", "")
        advice = ADVICE.get(code, "see the message above")
        return PipelineError(f"{doing}: AWS said {code}: {message} ({advice})")
    return PipelineError(f"{doing}: {error}")


def aws_call(doing: str, function, **kwargs):
    """function(**kwargs), its boto3/botocore failure raised as a PipelineError that says what to do."""
    try:
        return function(**kwargs)
    except (ClientError, BotoCoreError) as error:
        raise explain(error, doing) from error
