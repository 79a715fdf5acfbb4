"""The first source: AWS CloudTrail, through a trail's CloudWatch Logs group and a subscription filter.

Its events reach Firehose as gzip CloudWatch Logs payloads, which the stream unpacks (or the optional Lambda
processor does); each is one CloudTrail JSON event, indexed as sourcetype aws:cloudtrail, the name the
Splunk Add-on for AWS and the security content use. CloudTrail writes its own eventID after
requestParameters and responseElements, so the last "eventID" key in an event's text is the event's own.
"""

from __future__ import annotations

from cloudtrail_firehose.sources.unit import Knowledge, Source, TemplatePart, TokenSpec

EVENTTYPES = tuple(f"cloudtrail_firehose_{kind}" for kind in (
    "authentication", "root_authentication", "account_change", "instance_change", "network_change", "audit_change",
    "change"))  # fmt: skip

CLOUDTRAIL = Source(
    name="cloudtrail",
    label="CloudTrail",
    token=TokenSpec("cloudtrail_firehose", "aws:cloudtrail"),
    backup_prefix="",  # the stream's S3Configuration has no Prefix: failed deliveries at the bucket's top
    record_format="cloudwatch-json",
    event_id_key="eventID",
    stream_output="DeliveryStreamName",
    hec_arn_parameter="HecTokenSecretArn",
    hec_name_suffix="",
    template=TemplatePart({
        "Parameters": ("CollectCloudTrail", "FilterPreset", "CustomFilterPattern", "ExistingLogGroupName",
                       "Processor", "MultiRegionTrail", "OrganizationTrail", "TrailLogRetentionDays", "OrganizationId",
                       "OrganizationManagementAccountId", "ProcessorCodeKey", "HecTokenSecretArn"),
        "Conditions": ("CollectsCloudTrail", "NoExistingLogGroup", "CreateTrail", "UseLambda", "IsOrganizationTrail",
                       "WriteOnly", "CustomFilter"),
        "Rules": ("OrganizationTrailNeedsOrganizationId", "CloudTrailNeedsItsToken"),
        "Resources": ("FirehoseSplunkLogStream", "FirehoseBackupLogStream", "FirehoseRole", "DeliveryStream",
                      "ProcessorLogGroup", "ProcessorRole", "ProcessorFunction", "LogsToFirehoseRole",
                      "SubscriptionFilter", "TrailBucket", "TrailBucketPolicy", "TrailLogGroup", "TrailToLogsRole",
                      "Trail"),
        "Outputs": ("DeliveryStreamName", "DeliveryStreamArn", "HecTokenSecretArn", "LogGroupName", "TrailName",
                    "TrailBucketName", "ProcessorFunctionName"),
    }),  # fmt: skip
    knowledge=Knowledge(
        stanzas={
            "props": ("aws:cloudtrail", "source::http:cloudtrail_firehose"),
            "transforms": ("cloudtrail_firehose_eventnames", "cloudtrail_firehose_errorcodes",
                           "cloudtrail_firehose_ip_protocols", "cloudtrail_firehose_late_fields",
                           "cloudtrail_firehose_late_mfa", "cloudtrail_firehose_late_resources"),
            "eventtypes": EVENTTYPES,
            "tags": (*(f"eventtype={name}" for name in EVENTTYPES), "object_category=user", "action=failure",
                     "status=failure"),
            "macros": ("cloudtrail_firehose_events", "cloudtrail_firehose_principal(1)"),
            "savedsearches": ("CloudTrail - Root account activity", "CloudTrail - Console login failures",
                              "CloudTrail - Console login without MFA", "CloudTrail - Logging tampering",
                              "CloudTrail - IAM credentials created",
                              "CloudTrail - Unauthorized calls by one principal",
                              "CloudTrail - Security group opened to the internet"),
        },
        lookups=("cloudtrail_firehose_eventnames.csv", "cloudtrail_firehose_errorcodes.csv",
                 "cloudtrail_firehose_ip_protocols.csv"),
        views=("user_activity", "principal_activity"),
    ),
    enabled_setting="collect_cloudtrail",
    enabled_by_default=True,
    index_setting="index",
    existing_hec_setting="hec_token",
    events_macro="cloudtrail_firehose_events",
)
