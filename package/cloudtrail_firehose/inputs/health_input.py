"""The firehose_health modular input: one aws:firehose:health event per pipeline, source and poll."""

from __future__ import annotations

import json
import logging
import time

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from splunklib.modularinput import Event, Script

from cloudtrail_firehose.aws.clients import clients_for
from cloudtrail_firehose.aws.errors import PipelineError
from cloudtrail_firehose.aws.settings import PipelineSettings, SettingsError
from cloudtrail_firehose.inputs.arguments import HEALTH
from cloudtrail_firehose.inputs.health import pipeline_health
from cloudtrail_firehose.log import get_logger
from cloudtrail_firehose.settings import input_index
from cloudtrail_firehose.splunk.splunkd import Splunkd
from cloudtrail_firehose.splunk.stored_access import StoredAccessError, stored_access


class HealthInput(Script):
    def get_scheme(self):
        return HEALTH.scheme()

    def validate_input(self, definition) -> None:
        settings(definition.parameters)

    def stream_events(self, inputs, ew) -> None:
        log = get_logger("health")
        splunkd = Splunkd(inputs.metadata["server_uri"], inputs.metadata["session_key"])
        try:
            config, secret = stored_access(splunkd)
            no_access = None
        except StoredAccessError as error:
            config, secret, no_access = {}, None, f"the health check has no AWS access: {error}"
        for stanza, parameters in inputs.inputs.items():
            # Each stanza stands alone: one with bad settings or an unreachable account never stops the next.
            owner = f"{inputs.metadata.get('server_host', '')}:{stanza}"
            reports = stanza_health(parameters, config, secret, no_access, owner)
            if reports is None:
                log.info("%s: another Splunk instance holds this pipeline's health lease and reports it", stanza)
                continue
            index = input_index(parameters.get("index"), config)
            for report in reports:
                ew.write_event(Event(data=json.dumps(report), stanza=stanza, time=f"{time.time():.3f}", index=index,
                                     source=f"firehose_health:{report['pipeline']}", sourcetype="aws:firehose:health"))
                log.log(logging.ERROR if report.get("invalid") else logging.INFO, "%s: %s%s (%s)", stanza,
                        report["state"], f" ({report['log_source']})" if "log_source" in report else "", report["why"])


def stanza_health(parameters: dict, config: dict[str, str], secret: str | None, no_access: str | None,
                  owner: str | None = None) -> list[dict] | None:  # fmt: skip
    """One stanza's health reports (one per source); one "unknown" report (never an exception) when it cannot
    be judged; None when another instance holds the pipeline's health lease (see pipeline_health)."""
    try:
        chosen = settings(parameters)
    except ValueError as error:
        return [{"pipeline": str(parameters.get("name_prefix", "")), "region": str(parameters.get("region", "")),
                 "state": "unknown", "invalid": True,
                 "why": f"this input's settings are invalid ({error}); fix them in Settings > Data inputs"}]
    return unknown(chosen, no_access) if no_access else health(chosen, config, secret, owner)


def health(chosen: PipelineSettings, config: dict[str, str], secret: str | None,
           owner: str | None) -> list[dict] | None:  # fmt: skip
    try:
        aws = clients_for(config, secret, chosen.region)
    except PipelineError as error:  # AccessError: the stored access is incomplete
        return unknown(chosen, f"the health check has no AWS access: {error}")
    try:
        return pipeline_health(chosen, aws, owner=owner)
    except (PipelineError, ClientError, BotoCoreError, ResponseParserError) as error:
        return unknown(chosen, f"the health check could not reach AWS: {error}")


def unknown(chosen: PipelineSettings, why: str) -> list[dict]:
    return [{"pipeline": chosen.stack_name, "region": chosen.region, "state": "unknown", "why": why}]


def settings(parameters: dict) -> PipelineSettings:
    """Only region and name_prefix matter for reading health; the HEC URL is not needed."""
    chosen = PipelineSettings(hec_url="https://placeholder.invalid", region=parameters.get("region", ""),
                              name_prefix=parameters.get("name_prefix", ""))  # fmt: skip
    try:
        return chosen.validate()
    except SettingsError as error:
        raise ValueError("; ".join(error.problems)) from error
