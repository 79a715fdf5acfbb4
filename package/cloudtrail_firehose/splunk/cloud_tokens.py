"""The app's HEC tokens on a Splunk Cloud stack, through ACS (splunk/acs.py): which to create, reuse, fix,
rotate and retire. Named as splunk/hec.py names them; setup/delivery.py's Cloud choice calls these.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cloudtrail_firehose.splunk.acs import Acs, AcsError, HecToken, validate_stack
from cloudtrail_firehose.splunk.hec import TokenSpec

# Facts the setup page shows as they are; kept as data so page and docs say the same thing.
FIREHOSE_SUPPORT_CAVEAT = (
    "Splunk Cloud Platform accepts Amazon Data Firehose only on the Firehose HEC endpoint "
    "https://http-inputs-firehose-{stack}.splunkcloud.com, which on some stacks must first be enabled "
    "by Splunk Support: file a support case asking to enable HEC for AWS Firehose on stack {stack} "
    "(\"Set up and use HTTP Event Collector in Splunk Web\", HEC and Splunk Cloud Platform caveats). "
    "Until then Firehose cannot connect (Splunk.ConnectionTimeout or Splunk.SSLHandshake)."
)


@dataclass(frozen=True)
class EnsuredToken:
    """What ensure_hec_token did, and the token Firehose is to use."""

    token: HecToken
    outcome: str  # created | reused | updated | rotated
    endpoint: str


def firehose_endpoint(stack: str) -> str:
    """The HEC URL Firehose must use on Splunk Cloud (the stack's Firehose-specific HEC endpoint)."""
    return f"https://http-inputs-firehose-{validate_stack(stack)}.splunkcloud.com"


def desired_token(spec: TokenSpec, index: str, name: str | None = None) -> HecToken:
    """The token Firehose needs: acknowledgement on, only the chosen index, the spec's source and sourcetype."""
    if not index or any(c.isspace() for c in index):
        raise ValueError(f"not an index name: {index!r}")
    return HecToken(name=name or spec.name, default_index=index, allowed_indexes=(index,), default_source=spec.source,
                    default_sourcetype=spec.sourcetype, use_ack=True, disabled=False)  # fmt: skip


def app_tokens(acs: Acs, spec: TokenSpec) -> list[HecToken]:
    """The spec's tokens on the stack (named as hec.py names them), oldest first: the last is the one Firehose
    should use."""
    tokens = {t.name: t for t in acs.list_hec_tokens()}
    return [tokens[name] for name in spec.oldest_first(tokens)]


def ensure_hec_token(acs: Acs, spec: TokenSpec, index: str, rotate: bool = False) -> EnsuredToken:
    """Create the app's HEC token through ACS, reuse the newest when it is right, or fix its settings.

    rotate makes before it breaks: a new token (<name>-2, -3, ...) is created while the old
    ones keep working; the caller points Secrets Manager and Firehose at it, then retires the others
    (retire_app_tokens) once Firehose can only hold the new one.
    """
    names = [t.name for t in app_tokens(acs, spec)]
    name = names[-1] if names else spec.name
    wanted = desired_token(spec, index, name)
    endpoint = firehose_endpoint(acs.stack)
    current = acs.describe_hec_token(name) if names else None
    if current is None:
        try:
            return EnsuredToken(acs.create_hec_token(wanted), "created", endpoint)
        except AcsError as error:
            if error.status != 409:
                raise
            # Created meanwhile (another setup run, or ACS's listing lagging): use what is there.
            current = acs.wait(f"HEC token {name}", name, lambda t: t is not None and t.value)
    if rotate:
        successor = dataclasses.replace(wanted, name=spec.next_name(names + [name]))
        return EnsuredToken(acs.create_hec_token(successor), "rotated", endpoint)
    if current.settings() == wanted.settings():
        return EnsuredToken(current, "reused", endpoint)
    updated = acs.update_hec_token(wanted)
    return EnsuredToken(dataclasses.replace(updated, value=updated.value or current.value), "updated", endpoint)


def retire_app_tokens(acs: Acs, spec: TokenSpec, keep: str | None = None) -> list[str]:
    """Delete the spec's tokens other than keep (None: all of them; they stop working); return their names."""
    retired = [t.name for t in app_tokens(acs, spec) if t.name != keep]
    for name in retired:
        acs.delete_hec_token(name)
    return retired
