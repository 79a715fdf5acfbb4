"""Bad input gets a clear error before any AWS call."""

from __future__ import annotations

import pytest
from cloudtrail_firehose.aws.settings import PipelineSettings, SettingsError

GOOD = {"hec_url": "https://http-inputs-firehose-acme.splunkcloud.com", "region": "us-east-1"}


def problems(**overrides) -> str:
    with pytest.raises(SettingsError) as caught:
        PipelineSettings.from_mapping({**GOOD, **overrides}).validate()
    return str(caught.value)


def test_good_settings_pass_and_become_template_parameters():
    settings = PipelineSettings.from_mapping({**GOOD, "multi_region": "false", "hec_ack_timeout": "600"}).validate()
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in settings.template_parameters()}
    assert parameters["HecUrl"] == GOOD["hec_url"]
    assert parameters["MultiRegionTrail"] == "false"
    assert parameters["HecAcknowledgmentTimeout"] == "600"
    assert "region" not in parameters


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"region": "us-east-9"}, "region: 'us-east-9' is not an AWS region"),
        ({"region": "useast1"}, "is not an AWS region"),
        ({"region": ""}, "no AWS region given"),
        ({"hec_url": "http://hec.example.com"}, "must start with https://"),
        ({"hec_url": "https://203.0.113.10:8088"}, "uses an IP address"),
        ({"hec_url": "https://[2001:db8::1]"}, "uses an IP address"),
        ({"hec_url": "https://hec.example.com/services/collector"}, "Firehose adds the path"),
        ({"hec_url": "https://splunk"}, "is not https:// and a public host name"),
        ({"hec_url": "https://hec.example.com:99999"}, "port"),
        # Issue 21, point 4: accepted by the save, then "'idna' codec ... label too long" in Check.
        ({"hec_url": f"https://{'h' * 64}.example.com"}, "is 64 characters long; a DNS label has at most 63"),
        ({"hec_url": "https://" + ".".join(["h" * 63] * 4) + ".com"}, "DNS allows at most 253"),
        ({"hec_url": ""}, "give the public HTTP Event Collector URL"),
        ({"hec_ack_timeout": 60}, "hec_ack_timeout: 60 is out of range; use 180 to 600"),
        ({"retry_duration": 7201}, "retry_duration: 7201 is out of range; use 0 to 7200"),
        ({"buffer_size_mb": 0}, "buffer_size_mb: 0 is out of range; use 1 to 5"),
        ({"buffer_interval": 61}, "buffer_interval: 61 is out of range"),
        ({"log_retention_days": 10}, "log_retention_days: 10 is not allowed"),
        ({"filter_preset": "everything"}, "filter_preset: 'everything' is not allowed"),
        ({"filter_preset": "custom"}, "give a CloudWatch Logs filter pattern"),
        ({"name_prefix": "Bad_Name"}, "must be 3-27 lower-case letters"),
        ({"name_prefix": "a" * 28}, "name_prefix: at most 27 characters"),
        ({"name_prefix": "pipeline-"}, "must end with a letter or digit"),
        ({"existing_log_group": "bad name!"}, "is not a CloudWatch Logs group name"),
        ({"organization_trail": "true", "existing_log_group": "/aws/x"}, "clear existing_log_group"),
        ({"hec_ack_timeout": "soon"}, "hec_ack_timeout: 'soon' is not a whole number"),
        ({"multi_region": "maybe"}, "is not a true/false"),
        ({"colour": "blue"}, "unknown setting 'colour'"),
    ],
)
def test_bad_settings_are_explained(overrides, message):
    assert message in problems(**overrides)


def test_a_line_break_in_a_free_text_setting_is_refused():
    assert "must not hold control characters" in problems(filter_preset="custom",
                                                          custom_filter_pattern="x\n[pipeline]\nindex = main")


def test_every_problem_is_reported_at_once():
    text = problems(hec_url="http://x", hec_ack_timeout=1, region="mars-1")
    assert len(text.splitlines()) == 3


# --- issue 23: which sources, and VPC Flow Logs' choices ------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"collect_cloudtrail": "false"}, "collect_cloudtrail: nothing to collect"),
        ({"collect_cloudtrail": "false", "collect_vpc_flow_logs": "true", "organization_trail": "true"},
         "organization_trail: only applies while CloudTrail is collected"),
        ({"collect_vpc_flow_logs": "true", "vpc_ids": "vpc-0123456789abcdef0, vpc-XYZ"},
         "vpc_ids: 'vpc-XYZ' is not a VPC id"),
        ({"collect_vpc_flow_logs": "true", "vpc_ids": "vpc-0a1b2c3d,,vpc-0a1b2c3e"}, "separated by single commas"),
        ({"collect_vpc_flow_logs": "true", "vpc_ids": "vpc-0a1b2c3d,vpc-0a1b2c3d"},
         "vpc_ids: vpc-0a1b2c3d given more than once"),
        ({"collect_vpc_flow_logs": "true", "vpc_ids": ",".join(f"vpc-{n:08x}" for n in range(201))}, "at most 200"),
        ({"collect_vpc_flow_logs": "true", "vpc_ids": "vpc-0a1b2c3d", "vpc_flow_log_group": "/vpc/flows"},
         "vpc_ids: only applies when the app creates the flow logs"),
        ({"collect_vpc_flow_logs": "true", "vpc_flow_log_group": "/aws/cloudtrail/cloudtrail-firehose"},
         "vpc_flow_log_group: is the CloudTrail log group"),
        ({"collect_vpc_flow_logs": "true", "vpc_flow_traffic_type": "SOME"}, "vpc_flow_traffic_type: 'SOME' is not"),
        ({"collect_vpc_flow_logs": "true", "vpc_flow_aggregation_interval": "300"}, "300 is not allowed"),
        ({"collect_vpc_flow_logs": "true", "vpc_flow_record_format": "custom"}, "'custom' is not allowed"),
        ({"collect_vpc_flow_logs": "true", "vpc_flow_log_group": "bad name!"}, "is not a CloudWatch Logs group name"),
    ],
)
def test_bad_source_choices_are_explained(overrides, message):
    assert message in problems(**overrides)


def test_flow_log_choices_become_template_parameters_and_the_record_format_its_log_format():
    from cloudtrail_firehose.sources.vpcflow import FORMATS, log_format

    settings = PipelineSettings.from_mapping({**GOOD, "collect_cloudtrail": "false", "collect_vpc_flow_logs": "true",
                                              "vpc_ids": " vpc-0a1b2c3d , vpc-0123456789abcdef0",
                                              "vpc_flow_aggregation_interval": "60"}).validate()  # fmt: skip
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in settings.template_parameters()}
    assert (parameters["CollectCloudTrail"], parameters["CollectVpcFlowLogs"]) == ("false", "true")
    assert parameters["VpcFlowMaxAggregationInterval"] == "60"
    assert parameters["VpcFlowLogFormat"] == log_format(FORMATS["recommended"])  # the default choice
    assert "VpcIds" not in parameters  # the renderer writes each VPC's flow log (aws/rendering.py)
    assert settings.chosen_vpc_ids == ["vpc-0a1b2c3d", "vpc-0123456789abcdef0"]
    assert settings.creates_flow_logs
    assert settings.bucket_names("123456789012") == ["cloudtrail-firehose-failed-123456789012-us-east-1"]  # no trail
    default = PipelineSettings.from_mapping({**GOOD, "collect_vpc_flow_logs": "true",
                                             "vpc_flow_record_format": "default"}).validate()  # fmt: skip
    assert {p["ParameterKey"]: p["ParameterValue"] for p in default.template_parameters()}[
        "VpcFlowLogFormat"] == log_format(FORMATS["default"])  # fmt: skip
