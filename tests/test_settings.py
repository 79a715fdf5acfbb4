"""The one settings schema: the files generated from it are current, and its rules hold for every field."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from cloudtrail_firehose import settings as schema
from cloudtrail_firehose.aws.pipeline import TEMPLATE_PATH
from cloudtrail_firehose.aws.settings import PipelineSettings

ROOT = Path(__file__).resolve().parents[1]
TEXT_SETTINGS = [s for s in schema.SETTINGS if s.kind == "string" and not s.choices]


def test_the_committed_conf_spec_is_the_generated_one():
    committed = (ROOT / "README" / "cloudtrail_firehose.conf.spec").read_text()
    assert committed == schema.conf_spec(), "run python3 build.py generate"
    for setting in schema.SETTINGS:
        assert (f"\n{setting.name} = " in committed) != setting.secret, setting.name


def test_the_template_parameters_are_the_generated_ones():
    committed = TEMPLATE_PATH.read_text()
    assert committed == schema.with_template_parameters(committed), "run python3 build.py generate"
    parameters = {s.parameter for s in schema.SETTINGS if s.parameter}
    section = committed[committed.index("\nParameters:\n") : committed.index("\nConditions:\n")]
    declared = set(re.findall(r"^  ([A-Za-z]+):\n", section, flags=re.M))
    assert declared == parameters


def test_the_template_names_its_buckets_with_the_one_formula():
    committed = TEMPLATE_PATH.read_text()
    for kind in schema.BUCKET_KINDS:
        formula = schema.bucket_name("${NamePrefix}", kind, "${AWS::AccountId}", "${AWS::Region}")
        assert f'BucketName: !Sub "{formula}"' in committed, kind
    settings = PipelineSettings(region="eu-west-1", name_prefix="acme")
    assert settings.bucket_names("123456789012") == ["acme-failed-123456789012-eu-west-1",
                                                     "acme-trail-123456789012-eu-west-1"]  # fmt: skip
    for group in schema.log_group_names("${NamePrefix}"):
        assert f'LogGroupName: !Sub "{group}"' in committed, group
    existing = dataclasses.replace(settings, existing_log_group="/aws/trail")
    assert existing.bucket_names("123456789012") == ["acme-failed-123456789012-eu-west-1"]


def test_pipeline_settings_are_the_schema_pipeline_settings():
    names = [f.name for f in dataclasses.fields(PipelineSettings)]
    assert names == [s.name for s in schema.SETTINGS if s.scope == "pipeline"]
    defaults = PipelineSettings()
    assert (defaults.hec_ack_timeout, defaults.multi_region, defaults.processor) == (300, True, "native")


def test_patterns_use_only_what_python_and_javascript_read_alike():
    for setting in schema.SETTINGS:
        for pattern in [setting.pattern, *(p for p, _ in setting.refuse)]:
            re.compile(pattern)
            assert not re.search(r"\\[dwDWbB]", pattern), f"{setting.name}: {pattern} (use ASCII classes)"
        if setting.pattern:
            assert setting.pattern_help, setting.name


def index_problems(name: str) -> list[str]:
    return schema.value_problems(schema.BY_NAME["index"], name)


@pytest.mark.parametrize("name", ["main", "aws_cloudtrail", "cloudtrail-prod", "0day", "a" * 255])
def test_index_names_splunk_accepts_pass(name):
    assert index_problems(name) == []


@pytest.mark.parametrize(
    "name",
    ["_internal", "-x", "AWS", "aws cloudtrail", 'x" OR index=*', "x)", "my_kvstore_copy", "a" * 256, "idx.1", "é"],
)
def test_index_names_splunk_refuses_are_refused(name):
    """indexes.conf.spec: only numbers, lowercase letters, underscores and hyphens; not starting with an
    underscore or hyphen; never containing the word kvstore."""
    assert index_problems(name)


@pytest.mark.parametrize("bad", ["a\nb", "a\r\n[pipeline]\nindex = main", "a\x00b", "a\u2028b", "a\x85b", "a\\"])
@pytest.mark.parametrize("setting", TEXT_SETTINGS, ids=lambda s: s.name)
def test_no_text_setting_takes_a_line_break_a_control_character_or_a_trailing_backslash(setting, bad):
    assert schema.value_problems(setting, bad), f"{setting.name} took {bad!r}"


def test_a_problem_quotes_what_was_given_so_a_line_break_shows():
    (problem,) = schema.value_problems(schema.BY_NAME["retry_duration"], "600\n[pipeline]")
    assert "\n" not in problem
    assert schema.value_problems(schema.BY_NAME["retry_duration"], "9000") == [
        "retry_duration: 9000 is out of range; use 0 to 7200"
    ]


def test_a_secret_is_never_repeated_in_a_problem():
    secret = schema.BY_NAME["aws_secret_access_key"]
    (problem,) = schema.value_problems(secret, "wJalrXUtnFEMI\nK7MDENG")
    assert "wJalr" not in problem


def test_required_settings_are_required_only_while_shown():
    keys_mode = schema.problems({"aws_auth": "keys"}, scopes=("access",))
    assert any(p.startswith("aws_access_key_id:") for p in keys_mode)
    assert any(p.startswith("aws_secret_access_key:") for p in keys_mode)
    assert schema.problems({"aws_auth": "keys", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE"}, scopes=("access",),
                           has_secret=True) == []  # fmt: skip
    role_mode = schema.problems({"aws_auth": "role"}, scopes=("access",))
    assert [p.split(":")[0] for p in role_mode] == ["aws_role_arn"]
    assert schema.problems({"aws_auth": "instance"}, scopes=("access",)) == []


def test_the_schema_served_to_the_page_holds_every_rule():
    served = schema.schema()
    assert [g["name"] for g in served["groups"]] == [g for g, _ in schema.GROUPS]
    by_name = {s["name"]: s for s in served["settings"]}
    assert by_name["hec_ack_timeout"]["minimum"] == 180
    assert by_name["aws_secret_access_key"]["secret"] is True
    assert by_name["aws_role_arn"]["when"] == ["aws_auth", "role"]
    assert all(len(s["refuse"]) >= len(schema.COMMON_REFUSALS) for s in served["settings"])
    assert {s["group"] for s in served["settings"]} <= {g for g, _ in schema.GROUPS}


S3_RULES = 'Amazon S3 User Guide, "General purpose bucket naming rules"'
TRAIL_RULES = 'AWS CloudTrail User Guide, "Trail naming requirements"'


@pytest.mark.parametrize(("prefix", "rule", "why"), [
    ("abc-", TRAIL_RULES, "must end with a letter or digit"),  # starts and ends with a letter or number
    ("ab--cd", TRAIL_RULES, "must not hold two hyphens in a row"),  # no adjacent periods, underscores or dashes
    ("xn--abc", S3_RULES, "must not start with xn--, sthree- or amzn-s3-demo-"),  # reserved prefix xn--
    ("sthree-logs", S3_RULES, "must not start with xn--, sthree- or amzn-s3-demo-"),  # reserved prefix sthree-
    ("amzn-s3-demo-logs", S3_RULES, "must not start with xn--, sthree- or amzn-s3-demo-"),  # reserved prefix
    ("ab", S3_RULES, "must be 3-27 lower-case letters"),  # 3 to 63 characters (and a trail name 3 to 128)
    ("Trail", S3_RULES, "must be 3-27 lower-case letters"),  # only lowercase letters, numbers, periods, hyphens
    ("trail.logs", S3_RULES, "must be 3-27 lower-case letters"),  # periods: not in stack or stream names here
    ("trail_logs", S3_RULES, "must be 3-27 lower-case letters"),  # no underscores in a bucket name
    ("a" * 28, S3_RULES, "at most 27 characters"),  # {prefix}-failed-{account}-us-isof-south-1 within 63
])  # fmt: skip
def test_name_prefixes_aws_refuses_are_refused_with_the_rule(prefix, rule, why):
    """Each refused by the schema (so the page and the save alike) and by the template's AllowedPattern."""
    (problem,) = schema.value_problems(schema.BY_NAME["name_prefix"], prefix)
    assert problem.startswith("name_prefix: "), (rule, problem)
    assert why in problem, (rule, problem)
    block = re.split(r"\n  (?=\S)", schema.template_parameters().split("  NamePrefix:\n", 1)[1])[0]
    max_length = int(re.search(r"MaxLength: ([0-9]+)", block).group(1))
    allowed_pattern = json.loads(re.search(r"AllowedPattern: (.*)", block).group(1))
    assert len(prefix) > max_length or not re.fullmatch(allowed_pattern, prefix), rule


@pytest.mark.parametrize("prefix", ["cloudtrail-firehose", "abc", "a1-b2-c3", "a" * schema.NAME_PREFIX_MAX])
def test_name_prefixes_aws_accepts_pass(prefix):
    assert schema.value_problems(schema.BY_NAME["name_prefix"], prefix) == []


def test_every_region_firehose_runs_in_passes_the_region_rule():
    """eusc-de-east-1 (AWS European Sovereign Cloud) has a four-letter first part."""
    import botocore.session

    session = botocore.session.get_session()
    regions = {region for partition in session.get_available_partitions()
               for region in session.get_available_regions("firehose", partition_name=partition)}  # fmt: skip
    assert "eusc-de-east-1" in regions
    assert [r for r in sorted(regions) if schema.value_problems(schema.BY_NAME["region"], r)] == []


@pytest.mark.slow
def test_the_prefix_limit_comes_from_the_longest_region_botocore_knows():
    import botocore.session

    session = botocore.session.get_session()
    regions = {region for partition in session.get_available_partitions()
               for region in session.get_available_regions("firehose", partition_name=partition)}  # fmt: skip
    assert schema.LONGEST_REGION in regions
    assert max(len(r) for r in regions) == len(schema.LONGEST_REGION)
    longest = schema.bucket_name("a" * schema.NAME_PREFIX_MAX, "failed", "123456789012", schema.LONGEST_REGION)
    assert len(longest) == 63


def test_a_setting_shown_under_several_conditions_is_required_only_while_all_hold():
    token = schema.BY_NAME["vpcflow_hec_token"]
    assert schema.conditions(token) == (("delivery", "existing"), ("collect_vpc_flow_logs", True))
    assert schema.schema()["settings"][list(schema.BY_NAME).index("vpcflow_hec_token")]["when"] == [
        ["delivery", "existing"], ["collect_vpc_flow_logs", True]]  # fmt: skip
    for delivery, vpc, shown in (("existing", True, True), ("existing", False, False), ("local", True, False)):
        values = {"delivery": delivery, "collect_vpc_flow_logs": vpc}
        assert schema.is_shown(token, values) is shown
        missing = [p for p in schema.problems(values, scopes=("splunk",)) if p.startswith("vpcflow_hec_token:")]
        assert bool(missing) is shown
    record_format = schema.BY_NAME["vpc_flow_record_format"]
    assert record_format.parameter_value("default").startswith("${version} ${account-id}")
