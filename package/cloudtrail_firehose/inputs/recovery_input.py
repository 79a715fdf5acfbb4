"""The firehose_recovery modular input: splunklib's protocol around inputs.recovery.Recovery.

AWS access is the one the setup page stored (cloudtrail_firehose.conf and storage/passwords),
read through splunkd with the session key Splunk hands the input (cloudtrail_firehose.access).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from splunklib.modularinput import Argument, Event, Scheme, Script

from cloudtrail_firehose import access
from cloudtrail_firehose.aws.errors import PipelineError
from cloudtrail_firehose.aws.settings import known_regions
from cloudtrail_firehose.inputs.recovery import Checkpoint, Output, Recovery
from cloudtrail_firehose.log import get_logger
from cloudtrail_firehose.settings import input_index
from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError

BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class RecoveryInput(Script):
    def get_scheme(self) -> Scheme:
        scheme = Scheme("Firehose failed-delivery recovery")
        scheme.description = (
            "Reads Firehose's failed deliveries from S3 and writes each CloudTrail event back into Splunk "
            "exactly once, with an aws:firehose:error event per failed record."
        )
        scheme.use_external_validation = True
        scheme.use_single_instance = False
        arguments = (("bucket", "Failed-delivery S3 bucket", True), ("region", "AWS region", True),
                     ("index", "Index for recovered events", False))  # fmt: skip
        for name, title, required in arguments:
            argument = Argument(name, title=title, data_type=Argument.data_type_string,
                                required_on_create=required, required_on_edit=required)  # fmt: skip
            scheme.add_argument(argument)
        return scheme

    def validate_input(self, definition) -> None:
        problems = validation_problems(definition.parameters)
        if problems:
            raise ValueError("; ".join(problems))

    def stream_events(self, inputs, ew) -> None:
        log = get_logger("recovery")
        metadata = inputs.metadata
        splunkd = Splunkd(metadata["server_uri"], metadata["session_key"])
        try:
            config, secret = access.stored_access(splunkd)
        except access.AccessError as error:
            log.error("no failed-delivery object was read: %s", error)
            return
        for stanza, parameters in inputs.inputs.items():
            index = input_index(parameters.get("index"), config)
            aws = access.clients_for(config, secret, parameters["region"])
            name = hashlib.sha256(stanza.encode()).hexdigest()[:16]
            checkpoint = Checkpoint(Path(metadata["checkpoint_dir"]) / f"recovery-{name}.json")

            def write(output: Output, stanza: str = stanza, index: str = index) -> None:
                ew.write_event(Event(data=output.text, stanza=stanza, index=index, source=output.source,
                                     sourcetype=output.sourcetype,
                                     time=f"{output.time:.3f}" if output.time is not None else None))  # fmt: skip

            recovery = Recovery(aws("s3"), parameters["bucket"], write, checkpoint,
                                lambda ids, index=index: indexed_identities(splunkd, index, ids, log))  # fmt: skip
            try:
                summary = recovery.run()
            except (ClientError, BotoCoreError, PipelineError) as error:
                log.error("%s: cannot read s3://%s (%s); the next run tries again", stanza, parameters["bucket"], error)
                continue
            log.info("%s: %d objects, %d events, %d error events, %d already indexed", stanza, summary.objects,
                     summary.events, summary.errors, summary.skipped_as_indexed)  # fmt: skip


def validation_problems(parameters: dict) -> list[str]:
    problems = []
    if not BUCKET.match(parameters.get("bucket", "")):
        problems.append(f"bucket: {parameters.get('bucket')!r} is not an S3 bucket name")
    if parameters.get("region") not in known_regions():
        problems.append(f"region: {parameters.get('region')!r} is not an AWS region")
    return problems


def indexed_identities(splunkd: Splunkd, index: str, identities: list[str], log=None) -> set[str]:
    """Which of these events Splunk already has (eventID of CloudTrail events, recovery_id of errors).

    When Splunk cannot be asked, the answer is "none": writing an event twice is better than losing it.
    """
    if not identities:
        return set()
    try:
        return _search_identities(splunkd, index, identities)
    except SplunkdError as error:
        if log:
            log.warning("cannot ask Splunk which events it has (%s); writing them, duplicates are possible", error)
        return set()


def _search_identities(splunkd: Splunkd, index: str, identities: list[str]) -> set[str]:
    quoted = ", ".join(json.dumps(i) for i in identities)
    # Any source: an event Firehose delivered itself (acknowledgement timeout) counts too.
    search = (f"search index={json.dumps(index)} (sourcetype=aws:cloudtrail OR sourcetype=aws:firehose:error) "
              f"(eventID IN ({quoted}) OR recovery_id IN ({quoted})) | fields eventID recovery_id")  # fmt: skip
    answer = splunkd.post("services/search/jobs", {"search": search, "exec_mode": "oneshot", "count": "0",
                                                   "earliest_time": "0", "output_mode": "json"})  # fmt: skip
    found = set()
    for row in answer.get("results", []):
        found.update(v for v in (row.get("eventID"), row.get("recovery_id")) if v)
    return found & set(identities)
