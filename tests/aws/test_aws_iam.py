"""Every IAM statement of the template, for every option combination, against the requests AWS really makes.

moto neither evaluates IAM nor returns attributes in AWS's shapes, so a deploy that passes against moto
can still fail in a real account (a trail whose role matches no log stream, a trust that the service's
request cannot satisfy). Here the template is rendered with AWS's documented attribute shapes
(tests/standins/cfn_render.py) and each policy is evaluated with IAM's rules (tests/standins/iam_eval.py) against the
ARNs and condition keys each service uses, which tests/data/trust_condition_keys.csv documents.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from cfn_render import MANAGEMENT_ACCOUNT, ORGANIZATION_ID, Rendered, driver_combinations
from iam_eval import allowed, arn_matches, condition_keys

ACCOUNT = "111111111111"  # the account that deploys (for an organization trail: a delegated administrator, or
# the management account, MANAGEMENT_ACCOUNT, when the test deploys from there)
MEMBER = "222222222222"  # another account of the organization
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
COMBINATIONS = driver_combinations()
KEYS_TABLE = Path(__file__).resolve().parents[1] / "data" / "trust_condition_keys.csv"


def condition_keys_sent() -> dict[tuple[str, str], set[str]]:
    with KEYS_TABLE.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(row["document"] and row["url"].startswith("https://docs.aws.amazon.com/") for row in rows)
    return {(row["principal"], row["policy"]): set(row["condition_keys"].split()) for row in rows}


def role_statements(rendered: Rendered, logical_id: str) -> list[dict]:
    role = rendered.properties(logical_id)
    return [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def trust_statements(rendered: Rendered, logical_id: str) -> list[dict]:
    return rendered.properties(logical_id)["AssumeRolePolicyDocument"]["Statement"]


def service_context(rendered: Rendered, service: str) -> dict[str, str]:
    """The condition keys (with values) each service puts in its AssumeRole request, per the table."""
    log_group = rendered.parameters["ExistingLogGroupName"] or f"/aws/cloudtrail/{rendered.parameters['NamePrefix']}"
    values = {
        "cloudtrail.amazonaws.com": {},
        "firehose.amazonaws.com": {"sts:ExternalId": ACCOUNT},
        "logs.amazonaws.com": {"aws:SourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{log_group}:*"},
        "lambda.amazonaws.com": {},
    }[service]
    assert set(values) <= condition_keys_sent()[(service, "role trust")], f"{service} is not documented to send these"
    return values


def render(name: str) -> Rendered:
    return Rendered(COMBINATIONS[name], ACCOUNT, REGION)


def test_the_driver_produces_every_option_combination():
    # filters x organization choices x region choices x processors (native; lambda's first pass and final), the
    # organization option only where the app creates the trail (validate refuses it with an existing log group).
    assert len(COMBINATIONS) == 3 * 2 * 2 * 3 + 3 * 1 * 2 * 3


def test_the_evaluator_applies_iam_wildcard_rules():
    # IAM User Guide, "IAM JSON policy elements: Resource": wildcards within segments; the resource part spans ":".
    group = "arn:aws:logs:us-east-1:111111111111:log-group:/aws/cloudtrail/x"
    stream = f"{group}:log-stream:111111111111_CloudTrail_us-east-1"
    assert arn_matches(f"{group}:log-stream:*", stream)
    assert arn_matches(f"{group}:*", stream)
    assert not arn_matches(f"{group}:*:log-stream:*", stream)  # what "${LogGroup.Arn}:log-stream:*" renders to
    assert arn_matches("arn:aws:logs:*:111111111111:*", stream)
    assert not arn_matches("arn:aws:logs:us-east-?:222222222222:*", stream)
    assert allowed([{"Effect": "Allow", "Action": "logs:Put*", "Resource": "*"}], "logs:PutLogEvents", stream)
    assert not allowed([{"Effect": "Allow", "Action": "logs:*", "Resource": "*"},
                        {"Effect": "Deny", "Action": "*", "Resource": group + ":*"}], "logs:PutLogEvents", stream)


@pytest.mark.parametrize("name", [n for n in COMBINATIONS if n.startswith("trail-")])
@pytest.mark.slow
def test_cloudtrail_can_assume_its_role_and_write_every_stream_it_uses(name):
    rendered = render(name)
    service = "cloudtrail.amazonaws.com"
    assert allowed(trust_statements(rendered, "TrailToLogsRole"), "sts:AssumeRole", "*",
                   service_context(rendered, service), service)  # fmt: skip
    group = rendered.get_att("TrailLogGroup", "Arn").removesuffix(":*")
    # CloudTrail writes to the trail's home region log group, one stream per account and source region.
    regions = [REGION, OTHER_REGION] if rendered.parameters["MultiRegionTrail"] == "true" else [REGION]
    accounts = [ACCOUNT, MEMBER] if rendered.parameters["OrganizationTrail"] == "true" else [ACCOUNT]
    prefix = f"{ORGANIZATION_ID}_" if rendered.parameters["OrganizationTrail"] == "true" else ""
    for account in accounts:
        for region in regions:
            stream = f"{group}:log-stream:{prefix}{account}_CloudTrail_{region}"
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                assert allowed(role_statements(rendered, "TrailToLogsRole"), action, stream), (action, stream)
    elsewhere = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/other:log-stream:{ACCOUNT}_CloudTrail_{REGION}"
    assert not allowed(role_statements(rendered, "TrailToLogsRole"), "logs:PutLogEvents", elsewhere)
    # The Trail resource hands CloudTrail the log group's Arn attribute, which ends in ":*" as CloudTrail expects.
    assert rendered.properties("Trail")["CloudWatchLogsLogGroupArn"].endswith(":*")


TRAIL_DEPLOYS = [(name, deployer) for name in COMBINATIONS if name.startswith("trail-")
                 for deployer in ([MANAGEMENT_ACCOUNT, ACCOUNT] if "-org-" in name else [ACCOUNT])]  # fmt: skip


@pytest.mark.parametrize(("name", "deployer"), TRAIL_DEPLOYS,
                         ids=[f"{n}-{'delegated-admin' if d == ACCOUNT and '-org-' in n else 'own'}"
                              for n, d in TRAIL_DEPLOYS])  # fmt: skip
def test_cloudtrail_can_write_its_log_files_and_nothing_outside_its_prefix(name, deployer):
    """An organization trail is owned by the management account, also when a delegated administrator creates it,
    and CloudTrail's aws:SourceArn is that trail's ARN (AWS CloudTrail User Guide, "Creating a trail for an
    organization with the AWS CLI", "Organization delegated administrator")."""
    rendered = Rendered(COMBINATIONS[name], deployer, REGION, management=MANAGEMENT_ACCOUNT)
    service = "cloudtrail.amazonaws.com"
    policy = rendered.properties("TrailBucketPolicy")["PolicyDocument"]["Statement"]
    bucket = rendered.get_att("TrailBucket", "Arn")
    organization = rendered.parameters["OrganizationTrail"] == "true"
    owner = MANAGEMENT_ACCOUNT if organization else deployer
    trail = f"arn:aws:cloudtrail:{REGION}:{owner}:trail/{rendered.parameters['NamePrefix']}"  # what CloudTrail sends
    assert rendered.get_att("Trail", "Arn") == trail
    context = {"aws:SourceArn": trail, "aws:SourceAccount": owner, "s3:x-amz-acl": "bucket-owner-full-control",
               "aws:SecureTransport": "true"}  # fmt: skip
    assert set(context) - {"aws:SecureTransport"} <= condition_keys_sent()[(service, "bucket policy")]
    assert allowed(policy, "s3:GetBucketAcl", bucket, context, service)
    accounts = {MANAGEMENT_ACCOUNT, deployer, MEMBER}
    paths = [f"AWSLogs/{ORGANIZATION_ID}/{account}" for account in sorted(accounts)] if organization else []
    for path in [f"AWSLogs/{owner}", *paths]:
        key = f"{bucket}/{path}/CloudTrail/{REGION}/2026/12/01/{owner}_CloudTrail_{REGION}_20261201T0000Z_x.json.gz"
        assert allowed(policy, "s3:PutObject", key, context, service), key
        assert not allowed(policy, "s3:PutObject", key, {**context, "aws:SecureTransport": "false"}, service)
        assert not allowed(policy, "s3:PutObject", key, {**context, "aws:SourceArn": trail + "-other"}, service)
        other_account = trail.replace(f":{owner}:", ":444444444444:")
        assert not allowed(policy, "s3:PutObject", key, {**context, "aws:SourceArn": other_account}, service)
    # Another organization's logs, or a path outside AWSLogs/<account or organization>/, are refused.
    for path in ("AWSLogs/o-zzzzzzzzzz/333333333333", "AWSLogs/444444444444", "elsewhere"):
        assert not allowed(policy, "s3:PutObject", f"{bucket}/{path}/x.json.gz", context, service), path


@pytest.mark.parametrize("name", list(COMBINATIONS))
def test_firehose_can_assume_its_role_and_reach_everything_it_uses(name):
    rendered = render(name)
    service = "firehose.amazonaws.com"
    assert allowed(trust_statements(rendered, "FirehoseRole"), "sts:AssumeRole", "*",
                   service_context(rendered, service), service)  # fmt: skip
    assert not allowed(trust_statements(rendered, "FirehoseRole"), "sts:AssumeRole", "*",
                       {"sts:ExternalId": "999999999999"}, service)  # fmt: skip
    statements = role_statements(rendered, "FirehoseRole")
    bucket = rendered.get_att("FailedDeliveryBucket", "Arn")
    for action in ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"):
        assert allowed(statements, action, bucket), action
    for prefix in ("splunk-failed", "processing-failed", "decompression-failed"):
        assert allowed(statements, "s3:PutObject", f"{bucket}/{prefix}/2026/12/01/00/x")
    stream = rendered.properties("DeliveryStream")["SplunkDestinationConfiguration"]
    assert allowed(statements, "secretsmanager:GetSecretValue", stream["SecretsManagerConfiguration"]["SecretARN"])
    # Firehose's own error logs: the Splunk delivery stream and the S3 backup stream, both declared in the template.
    for options in (stream["CloudWatchLoggingOptions"], stream["S3Configuration"]["CloudWatchLoggingOptions"]):
        assert options["Enabled"] is True
        group, name = options["LogGroupName"], options["LogStreamName"]
        log_stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:{name}"
        assert allowed(statements, "logs:PutLogEvents", log_stream), log_stream
    if rendered.conditions["UseLambda"]:
        function = next(p["ParameterValue"] for p in stream["ProcessingConfiguration"]["Processors"][0]["Parameters"]
                        if p["ParameterName"] == "LambdaArn")  # fmt: skip
        for arn in (function, f"{function}:$LATEST"):
            assert allowed(statements, "lambda:InvokeFunction", arn), arn
            assert allowed(statements, "lambda:GetFunctionConfiguration", arn), arn


@pytest.mark.parametrize("name", list(COMBINATIONS))
def test_cloudwatch_logs_can_assume_its_role_and_put_into_the_stream(name):
    rendered = render(name)
    service = "logs.amazonaws.com"
    assert allowed(trust_statements(rendered, "LogsToFirehoseRole"), "sts:AssumeRole", "*",
                   service_context(rendered, service), service)  # fmt: skip
    assert not allowed(trust_statements(rendered, "LogsToFirehoseRole"), "sts:AssumeRole", "*",
                       {"aws:SourceArn": f"arn:aws:logs:{REGION}:999999999999:log-group:x:*"}, service)  # fmt: skip
    stream = rendered.get_att("DeliveryStream", "Arn")
    assert rendered.properties("SubscriptionFilter")["DestinationArn"] == stream
    for action in ("firehose:PutRecord", "firehose:PutRecordBatch"):
        assert allowed(role_statements(rendered, "LogsToFirehoseRole"), action, stream)


@pytest.mark.parametrize("name", [n for n in COMBINATIONS if n.endswith("-lambda")])
def test_the_processor_can_assume_its_role_log_and_reingest(name):
    rendered = render(name)
    service = "lambda.amazonaws.com"
    assert allowed(trust_statements(rendered, "ProcessorRole"), "sts:AssumeRole", "*",
                   service_context(rendered, service), service)  # fmt: skip
    statements = role_statements(rendered, "ProcessorRole")
    group = rendered.properties("ProcessorLogGroup")["LogGroupName"]
    assert group == f"/aws/lambda/{rendered.properties('ProcessorFunction')['FunctionName']}"  # where Lambda logs
    instance = "2026/12/01/[$LATEST]0123456789abcdef0123456789abcdef"  # Lambda's stream: date, version, instance
    stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:{instance}"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert allowed(statements, action, stream), action
    assert allowed(statements, "firehose:PutRecordBatch", rendered.get_att("DeliveryStream", "Arn"))
    assert "ReservedConcurrentExecutions" not in rendered.properties("ProcessorFunction")


@pytest.mark.parametrize("name", list(COMBINATIONS))
def test_every_condition_uses_only_keys_its_principal_sends(name):
    sent = condition_keys_sent()
    rendered = render(name)
    checked = 0
    for logical_id, resource in rendered.resources.items():
        if resource["Type"] == "AWS::IAM::Role":
            statements, kind = trust_statements(rendered, logical_id), "role trust"
        elif resource["Type"] == "AWS::S3::BucketPolicy":
            statements, kind = rendered.properties(logical_id)["PolicyDocument"]["Statement"], "bucket policy"
        else:
            continue
        for statement in statements:
            principal = statement["Principal"]
            services = ["*"] if principal == "*" else principal["Service"]
            for service in services if isinstance(services, list) else [services]:
                assert (service, kind) in sent, f"{logical_id}: no documented condition keys for {service} ({kind})"
                extra = condition_keys(statement) - sent[(service, kind)]
                assert not extra, f"{logical_id}: {service} does not send {sorted(extra)} ({KEYS_TABLE.name})"
                checked += 1
    assert checked >= 3  # the Firehose and CloudWatch Logs roles, the failed-delivery bucket policy
