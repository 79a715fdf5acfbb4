"""Rotating the HEC token without a gap: make the new token, hand it to Firehose, break the old one last.

Firehose caches the secret and refreshes it every 10 minutes (Amazon Data Firehose Developer
Guide, "Use the secret"), so the old token must keep working until every cache can have switched.
Only a deploy that succeeded calls this: after a failed one, both tokens keep working.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone

from cloudtrail_firehose.aws import pipeline
from cloudtrail_firehose.aws.settings import PipelineSettings
from cloudtrail_firehose.splunk import hec
from cloudtrail_firehose.splunk.splunkd import Splunkd


def retire_old_tokens(splunkd: Splunkd, settings: PipelineSettings, session: pipeline.Session,
                      progress: Callable[[str], None], sleep: Callable[[float], None] = time.sleep,
                      now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> list[str]:  # fmt: skip
    """Once Firehose can only be using the secret's token (the newest input's), delete the app's other HEC inputs."""
    inputs = hec.app_inputs(splunkd)
    if len(inputs) < 2:
        return []
    keep = inputs[-1].name
    settled = pipeline.hec_token_settled_at(settings, session)
    wait = (settled - now()).total_seconds()
    if wait > 0:
        progress(f"Keeping the old HEC token until {settled:%H:%M} UTC: Firehose refreshes its copy of the "
                 "secret every 10 minutes, and the old token must work until then")  # fmt: skip
        sleep(wait)
    retired = hec.retire_hec_inputs(splunkd, keep)
    progress(f"Removed the old HEC input(s) {', '.join(retired)}: only the new token works now")
    return retired
