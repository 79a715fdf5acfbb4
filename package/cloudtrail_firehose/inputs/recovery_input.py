"""The firehose_recovery modular input: splunklib's protocol around inputs.recovery.Recovery.

AWS access is the one the setup page stored (cloudtrail_firehose.conf and storage/passwords),
read through splunkd with the session key Splunk hands the input (splunk/stored_access.py).
"""

from __future__ import annotations

import re

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from splunklib.modularinput import Event, Script

from cloudtrail_firehose import settings as schema
from cloudtrail_firehose import sources
from cloudtrail_firehose.aws.clients import clients_for, not_aws
from cloudtrail_firehose.aws.errors import PipelineError
from cloudtrail_firehose.aws.settings import known_regions
from cloudtrail_firehose.inputs.arguments import RECOVERY
from cloudtrail_firehose.inputs.indexed import indexed_identities
from cloudtrail_firehose.inputs.outputs import Output
from cloudtrail_firehose.inputs.recovery import SETTLE_SECONDS, Recovery, Summary
from cloudtrail_firehose.inputs.s3_lease import Lease
from cloudtrail_firehose.log import get_logger
from cloudtrail_firehose.settings import input_index
from cloudtrail_firehose.splunk.splunkd import Splunkd
from cloudtrail_firehose.splunk.stored_access import StoredAccessError, stored_access

BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class RecoveryInput(Script):
    def get_scheme(self):
        return RECOVERY.scheme()

    def validate_input(self, definition) -> None:
        problems = validation_problems(definition.parameters)
        if problems:
            raise ValueError("; ".join(problems))

    def stream_events(self, inputs, ew) -> None:
        log = get_logger("recovery")
        metadata = inputs.metadata
        splunkd = Splunkd(metadata["server_uri"], metadata["session_key"])
        try:
            config, secret = stored_access(splunkd)
            no_access = None
        except StoredAccessError as error:
            config, secret, no_access = {}, None, str(error)
        for stanza, parameters in inputs.inputs.items():
            # Each stanza stands alone: bad settings or an unreachable bucket never stop the next one.
            if no_access:
                log.error("%s: no failed-delivery object was read: %s", stanza, no_access)
                continue
            problems = validation_problems(parameters)
            if problems:
                log.error("%s: not run, its settings are invalid (%s); fix them in Settings > Data inputs", stanza,
                          "; ".join(problems))  # fmt: skip
                continue
            try:
                summary = run_stanza(stanza, parameters, metadata, config, secret, splunkd, ew, log)
            except (ClientError, BotoCoreError, PipelineError) as error:
                log.error("%s: cannot read s3://%s (%s); the next run tries again", stanza, parameters["bucket"], error)
                continue
            except ResponseParserError:
                log.error("%s: cannot read s3://%s (%s); the next run tries again", stanza, parameters["bucket"],
                          not_aws(parameters["region"]))  # fmt: skip
                continue
            except Exception:  # noqa: BLE001 - a defect in one stanza must not silence the next
                log.exception("%s: stopped by an unexpected error; the next run tries again", stanza)
                continue
            if summary.standing_by:
                continue
            log.info("%s: %d objects retired, %d waiting, %d failed; wrote %d events, %d error events; "
                     "%d already indexed%s", stanza, summary.objects, summary.awaiting, summary.failed_objects,
                     summary.events, summary.errors, summary.skipped_as_indexed,
                     f"; stopped: {summary.search_unavailable}" if summary.search_unavailable else "")  # fmt: skip


def run_stanza(stanza: str, parameters: dict, metadata: dict, config: dict, secret: str | None, splunkd: Splunkd,
               ew, log) -> Summary:  # fmt: skip
    index = input_index(parameters.get("index"), config)  # its own events, and its first source's
    indexes = event_indexes(index, config)
    aws = clients_for(config, secret, parameters["region"])

    def index_of(output: Output) -> str:
        return indexes.get(output.sourcetype, index)

    def write(output: Output) -> None:
        ew.write_event(Event(data=output.text, stanza=stanza, index=index_of(output), source=output.source,
                             sourcetype=output.sourcetype,
                             time=f"{output.time:.3f}" if output.time is not None else None))  # fmt: skip

    def already_indexed(outputs: list[Output]) -> set[str]:
        return indexed_identities(splunkd, sorted({index_of(o) for o in outputs}), outputs, bucket)

    s3, bucket = aws("s3"), parameters["bucket"]
    # Every search head cluster member, and every stanza naming this bucket, runs this: one at a time.
    lease = Lease(s3, bucket, owner=f"{metadata.get('server_host', '')}:{stanza}")
    recovery = Recovery(s3, bucket, write, already_indexed, lease, settle_seconds=settle_seconds(parameters))
    return recovery.run()


def event_indexes(index: str, config: dict) -> dict[str, str]:
    """Sourcetype -> the index a source's recovered events go to: the one setup saved for it (else the
    setting's default); the first collected source's (CloudTrail's unless it is off) is the input's own index."""
    found = {source.sourcetype: schema.source_index(source, config) for source in sources.SOURCES}
    collected = sources.chosen(config)
    if collected:
        found[collected[0].sourcetype] = index
    return found


def settle_seconds(parameters: dict) -> float:
    return float(parameters.get("settle_seconds") or SETTLE_SECONDS)


def validation_problems(parameters: dict) -> list[str]:
    problems = []
    if not BUCKET.match(parameters.get("bucket", "")):
        problems.append(f"bucket: {parameters.get('bucket')!r} is not an S3 bucket name")
    if parameters.get("region") not in known_regions():
        problems.append(f"region: {parameters.get('region')!r} is not an AWS region")
    settle = parameters.get("settle_seconds")
    if settle not in (None, "") and not (isinstance(settle, str) and settle.isdigit() and 60 <= int(settle) <= 86400):
        problems.append(f"settle_seconds: {settle!r} is not a whole number of seconds from 60 to 86400")
    return problems
