"""Splunk-side failures in words an admin can act on."""

from __future__ import annotations

from cloudtrail_firehose.errors import ActionableError


class SplunkError(ActionableError):
    """A Splunk-side step cannot go on (no such index, no token stored, ACS refused); the message says what to do.

    Not splunkd.SplunkdError, which is one failed call to splunkd, told in HTTP terms.
    """
