"""The ways to AWS the setting aws_auth offers, and what each needs stored. Both sides read them: the
Splunk side reading the stored access (splunk/stored_access.py), the AWS side making a session from it
(aws/clients.py)."""

from __future__ import annotations

from collections.abc import Mapping

from cloudtrail_firehose.settings import BY_NAME

MODES = tuple(value for value, _ in BY_NAME["aws_auth"].choices)
NO_ROLE_ARN = "aws_auth is role but no role ARN is stored; open the setup page and give the role's ARN"


def mode_of(config: Mapping[str, str]) -> str:
    """The way to AWS the stored settings choose (aws_auth, its default when none is stored)."""
    return config.get("aws_auth") or str(BY_NAME["aws_auth"].default)


def mode_problem(config: Mapping[str, str]) -> str:
    """Why the stored settings name no way to AWS ("" when they do): an unknown mode, or the role mode without
    its role's ARN."""
    mode = mode_of(config)
    if mode not in MODES:
        return f"aws_auth: {mode!r} is not one of {', '.join(MODES)}; choose one on the setup page"
    if mode == "role" and not (config.get("aws_role_arn") or "").strip():
        return NO_ROLE_ARN
    return ""
