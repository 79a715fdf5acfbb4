"""The sources the app collects, each one unit (sources/unit.py says what a unit holds), and what every
pipeline shares (CORE). Adding a source: write its unit beside cloudtrail.py and register it in SOURCES."""

from __future__ import annotations

from collections.abc import Mapping

from cloudtrail_firehose.sources.cloudtrail import CLOUDTRAIL
from cloudtrail_firehose.sources.unit import Knowledge, Source, TemplatePart, TokenSpec
from cloudtrail_firehose.sources.vpcflow import VPCFLOW

__all__ = ["CLOUDTRAIL", "CORE_KNOWLEDGE", "CORE_TEMPLATE", "SOURCES", "Knowledge", "Source", "TemplatePart",
           "TokenSpec", "VPCFLOW", "by_sourcetype", "chosen"]

SOURCES: tuple[Source, ...] = (CLOUDTRAIL, VPCFLOW)

# What no single source owns: the failed-delivery bucket and Firehose's error log group, the recovery and
# health inputs' events, the app's own logs, the pipeline health dashboard and its alerts, the setup page.
CORE_TEMPLATE = TemplatePart({
    "Parameters": ("HecUrl", "NamePrefix", "HecAcknowledgmentTimeout", "RetryDuration", "BufferIntervalSeconds",
                   "BufferSizeMB", "LogRetentionDays", "FailedDeliveryRetentionDays"),
    "Rules": ("CollectSomething",),  # at least one source on
    "Resources": ("FailedDeliveryBucket", "FailedDeliveryBucketPolicy", "FirehoseLogGroup"),
    "Outputs": ("FailedDeliveryBucketName",),
})  # fmt: skip
CORE_KNOWLEDGE = Knowledge(
    stanzas={
        "props": ("aws:firehose:health", "aws:firehose:error", "source::.../var/log/splunk/cloudtrail_firehose_*.log*",
                  "cloudtrail_firehose:log"),
        "macros": ("cloudtrail_firehose_pipeline",),
        "savedsearches": ("CloudTrail via Firehose - Delivery stalled or failing",
                          "CloudTrail via Firehose - Failed deliveries rising"),
    },
    lookups=("cloudtrail_firehose_delivery_errors.csv",),
    views=("pipeline_health", "setup"),
)


def by_sourcetype() -> dict[str, Source]:
    return {s.sourcetype: s for s in SOURCES}


def chosen(config: Mapping[str, object]) -> list[Source]:
    """The sources the settings collect, in SOURCES' order."""
    return [s for s in SOURCES if s.chosen(config)]
