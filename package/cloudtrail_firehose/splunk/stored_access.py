"""The AWS access the setup page stored, read from splunkd: the settings and, in keys mode, the secret key.

The modular inputs read it with the session key Splunk hands them; the AWS side (aws/clients.py) makes
the session from what this returns.
"""

from __future__ import annotations

from collections.abc import Mapping

from cloudtrail_firehose.access_modes import mode_of, mode_problem
from cloudtrail_firehose.splunk import app_config
from cloudtrail_firehose.splunk.errors import SplunkError
from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError


class StoredAccessError(SplunkError):
    """The stored AWS access cannot be read or is incomplete; the message says what to do."""


def read_secret(splunkd: Splunkd, config: Mapping[str, str]) -> str | None:
    """The secret access key, read in keys mode only: no other mode ever touches storage/passwords."""
    return app_config.read_secret_key(splunkd) if mode_of(config) == "keys" else None


def stored_access(splunkd: Splunkd) -> tuple[dict[str, str], str | None]:
    """The settings the setup page stored and, in keys mode, the secret key.

    No stored settings means setup never ran: the default chain (instance mode) applies. splunkd not
    answering is an error, never a reason to use other credentials than the configured ones.
    """
    try:
        config = app_config.read_settings(splunkd)
        if not config:
            return {"aws_auth": "instance"}, None
        secret = read_secret(splunkd, config)
    except SplunkdError as error:
        raise StoredAccessError(
            f"cannot read the app's AWS access from splunkd at {splunkd.base_url} ({error}); "
            "check that splunkd is running and reachable from this process; the input tries again at its next run"
        ) from error
    problem = mode_problem(config)
    if problem:
        raise StoredAccessError(problem)
    if mode_of(config) == "keys" and not secret:
        raise StoredAccessError("aws_auth is keys but no secret access key is stored; enter it on the setup page "
                                "and save")  # fmt: skip
    return config, secret
