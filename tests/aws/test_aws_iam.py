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
from cfn_render import (
    FLOW_LOG_GROUP,
    MANAGEMENT_ACCOUNT,
    ORGANIZATION_ID,
    VPC_IDS,
    VPC_ROWS,
    Rendered,
    driver_combinations,
)
from iam_eval import allowed, arn_matches, condition_keys

ACCOUNT = "111111111111"  # the account that deploys (for an organization trail: a delegated administrator, or
# the management account, MANAGEMENT_ACCOUNT, when the test deploys from there)
MEMBER = "222222222222"  # another account of the organization
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
COMBINATIONS = driver_combinations()
CLOUDTRAIL = [n for n, p in COMBINATIONS.items() if p["CollectCloudTrail"] == "true"]
VPCFLOW = [n for n, p in COMBINATIONS.items() if p["CollectVpcFlowLogs"] == "true"]
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
    if service == "logs.amazonaws.com (flow logs)":  # the subscription filter of the flow logs' group
        service, log_group = "logs.amazonaws.com", rendered.parameters["VpcFlowLogGroupName"]
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
    assert len(COMBINATIONS) == 3 * 2 * 2 * 3 + 3 * 1 * 2 * 3 + len(VPC_ROWS)
    # VPC Flow Logs' options pairwise (tests/standins/cfn_render.py VPC_ROWS): every pair of values of two options
    # occurs in some row, each with the CloudTrail choices on or off.
    rows = [(bool(c), t, i, f, bool(g)) for c, t, i, f, g in VPC_ROWS]
    values = [sorted(set(column), key=str) for column in zip(*rows)]
    assert [len(v) for v in values] == [2, 3, 2, 2, 2]
    for a in range(5):
        for b in range(a + 1, 5):
            assert {(r[a], r[b]) for r in rows} == {(x, y) for x in values[a] for y in values[b]}, (a, b)


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


@pytest.mark.parametrize("name", CLOUDTRAIL)
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


@pytest.mark.parametrize("name", CLOUDTRAIL)
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
    assert checked >= 2  # a Firehose role, the failed-delivery bucket policy (and more, as the options add them)


def test_cloudtrails_parts_are_absent_when_it_is_not_collected_and_the_vpc_parts_when_flow_logs_are_not():
    for name, parameters in COMBINATIONS.items():
        types = {r["Type"] for r in render(name).resources.values()}
        lids = set(render(name).resources)
        assert ("DeliveryStream" in lids) == (parameters["CollectCloudTrail"] == "true"), name
        assert ("AWS::CloudTrail::Trail" in types) == (name.startswith("trail-")), name
        assert ("VpcFlowDeliveryStream" in lids) == (parameters["CollectVpcFlowLogs"] == "true"), name
        flow_logs = [lid for lid, r in render(name).resources.items() if r["Type"] == "AWS::EC2::FlowLog"]
        direct = parameters["CollectVpcFlowLogs"] == "true" and not parameters["VpcFlowLogGroupName"]
        assert len(flow_logs) == (len(VPC_IDS) if direct else 0), name
        assert ("VpcFlowSubscriptionFilter" in lids) == (parameters["VpcFlowLogGroupName"] != ""), name


@pytest.mark.parametrize("name", VPCFLOW)
def test_the_flow_logs_stream_can_assume_its_role_and_reach_only_its_own_prefix(name):
    rendered = render(name)
    service = "firehose.amazonaws.com"
    assert allowed(trust_statements(rendered, "VpcFlowFirehoseRole"), "sts:AssumeRole", "*",
                   service_context(rendered, service), service)  # fmt: skip
    assert not allowed(trust_statements(rendered, "VpcFlowFirehoseRole"), "sts:AssumeRole", "*",
                       {"sts:ExternalId": "999999999999"}, service)  # fmt: skip
    statements = role_statements(rendered, "VpcFlowFirehoseRole")
    bucket = rendered.get_att("FailedDeliveryBucket", "Arn")
    for action in ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"):
        assert allowed(statements, action, bucket), action
    stream = rendered.properties("VpcFlowDeliveryStream")["SplunkDestinationConfiguration"]
    backup = stream["S3Configuration"]
    assert (backup["Prefix"], stream["S3BackupMode"], stream["HECEndpointType"]) == ("vpcflow/", "FailedEventsOnly",
                                                                                      "Raw")  # fmt: skip
    # Amazon Data Firehose Developer Guide, "Custom Prefixes for Amazon S3 Objects": failed records go under
    # ErrorOutputPrefix, its !{firehose:error-output-type} evaluated to splunk-failed, processing-failed, ...
    assert backup["ErrorOutputPrefix"] == "vpcflow/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
    for kind in ("splunk-failed", "processing-failed", "decompression-failed"):
        key = backup["ErrorOutputPrefix"].replace("!{firehose:error-output-type}", kind).replace(
            "!{timestamp:yyyy/MM/dd/HH}", "2026/12/01/00") + "cloudtrail-firehose-vpcflow-1-2026-12-01-00-00-00-x"
        assert key.startswith(f"vpcflow/{kind}/")  # where recovery lists the unit's failures
        assert allowed(statements, "s3:PutObject", f"{bucket}/{key}"), key
    # Not the CloudTrail stream's failed deliveries at the bucket's top, nor the app's own prefixes.
    for key in ("splunk-failed/2026/12/01/00/x", "recovered/vpcflow/x", "lambda/processor.zip"):
        assert not allowed(statements, "s3:PutObject", f"{bucket}/{key}"), key
        assert not allowed(statements, "s3:GetObject", f"{bucket}/{key}"), key
    assert stream["SecretsManagerConfiguration"]["SecretARN"] == rendered.parameters["VpcFlowHecTokenSecretArn"]
    assert allowed(statements, "secretsmanager:GetSecretValue", stream["SecretsManagerConfiguration"]["SecretARN"])
    assert not allowed(statements, "secretsmanager:GetSecretValue", rendered.parameters["HecTokenSecretArn"])
    # Its own two log streams in the shared error log group, and not CloudTrail's.
    group = rendered.name("FirehoseLogGroup")
    for options in (stream["CloudWatchLoggingOptions"], backup["CloudWatchLoggingOptions"]):
        assert options["Enabled"] is True
        assert options["LogGroupName"] == group
        log_stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:{options['LogStreamName']}"
        assert allowed(statements, "logs:PutLogEvents", log_stream), log_stream
    for other in ("SplunkDelivery", "BackupDelivery"):
        assert not allowed(statements, "logs:PutLogEvents",
                           f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:{other}")  # fmt: skip


# AWS Managed Policy Reference, "AWSServiceRoleForLogDeliveryPolicy" (v4): the policy of the service-linked role
# AWSServiceRoleForLogDelivery, with which delivery.logs.amazonaws.com puts vended logs (flow logs) into a stream.
LOG_DELIVERY_POLICY = [{
    "Sid": "LogDeliveryToFirehose", "Effect": "Allow",
    "Action": ["firehose:PutRecord", "firehose:PutRecordBatch", "firehose:ListTagsForDeliveryStream"],
    "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/LogDeliveryEnabled": "true"}},
}]  # fmt: skip


@pytest.mark.parametrize("name", [n for n in VPCFLOW if not COMBINATIONS[n]["VpcFlowLogGroupName"]])
def test_log_delivery_can_put_flow_records_into_the_tagged_stream_each_flow_log_names(name):
    rendered = render(name)
    stream = rendered.get_att("VpcFlowDeliveryStream", "Arn")
    tags = {t["Key"]: t["Value"] for t in rendered.properties("VpcFlowDeliveryStream")["Tags"]}
    keys = condition_keys_sent()[("delivery.logs.amazonaws.com", "service-linked role policy")]
    assert {"aws:ResourceTag/LogDeliveryEnabled"} <= keys
    context = {"aws:ResourceTag/LogDeliveryEnabled": tags["LogDeliveryEnabled"]}  # the stream's own tag
    for action in ("firehose:PutRecord", "firehose:PutRecordBatch", "firehose:ListTagsForDeliveryStream"):
        assert allowed(LOG_DELIVERY_POLICY, action, stream, context), action
        assert not allowed(LOG_DELIVERY_POLICY, action, stream, {}), action  # an untagged stream: refused
    flow_logs = rendered.of_type("AWS::EC2::FlowLog")
    assert sorted(p["ResourceId"] for p in flow_logs.values()) == sorted(VPC_IDS)
    for logical_id, flow_log in flow_logs.items():
        assert logical_id == "VpcFlowLog" + flow_log["ResourceId"].removeprefix("vpc-")
        assert (flow_log["LogDestinationType"], flow_log["LogDestination"]) == ("kinesis-data-firehose", stream)
        # Same account: no role for the flow log (Amazon VPC User Guide, "Publish flow logs to Amazon Data Firehose").
        assert "DeliverLogsPermissionArn" not in flow_log
        assert "DeliverCrossAccountRole" not in flow_log
        assert flow_log["TrafficType"] == rendered.parameters["VpcFlowTrafficType"]
        assert flow_log["MaxAggregationInterval"] == rendered.parameters["VpcFlowMaxAggregationInterval"]
        assert flow_log["LogFormat"] == rendered.parameters["VpcFlowLogFormat"]
    # Straight from flow logs: uncompressed records, nothing for Firehose to unpack.
    destination = rendered.properties("VpcFlowDeliveryStream")["SplunkDestinationConfiguration"]
    assert destination["ProcessingConfiguration"] == {"Enabled": False}


@pytest.mark.parametrize("name", [n for n in VPCFLOW if COMBINATIONS[n]["VpcFlowLogGroupName"]])
def test_cloudwatch_logs_can_put_the_flow_log_groups_records_into_the_flow_logs_stream_only(name):
    rendered = render(name)
    service = "logs.amazonaws.com"
    trust = trust_statements(rendered, "VpcFlowLogsToFirehoseRole")
    assert allowed(trust, "sts:AssumeRole", "*", service_context(rendered, "logs.amazonaws.com (flow logs)"), service)
    assert not allowed(trust, "sts:AssumeRole", "*",
                       {"aws:SourceArn": f"arn:aws:logs:{REGION}:999999999999:log-group:{FLOW_LOG_GROUP}:*"},
                       service)  # fmt: skip
    stream = rendered.get_att("VpcFlowDeliveryStream", "Arn")
    subscription = rendered.properties("VpcFlowSubscriptionFilter")
    assert (subscription["LogGroupName"], subscription["DestinationArn"]) == (FLOW_LOG_GROUP, stream)
    assert subscription["RoleArn"] == rendered.get_att("VpcFlowLogsToFirehoseRole", "Arn")
    statements = role_statements(rendered, "VpcFlowLogsToFirehoseRole")
    for action in ("firehose:PutRecord", "firehose:PutRecordBatch"):
        assert allowed(statements, action, stream)
        assert not allowed(statements, action, stream.replace("-vpcflow", ""))  # not the CloudTrail stream
    assert rendered.of_type("AWS::EC2::FlowLog") == {}  # the existing flow logs are used, none created
    processors = rendered.properties("VpcFlowDeliveryStream")["SplunkDestinationConfiguration"][
        "ProcessingConfiguration"]["Processors"]
    assert [p["Type"] for p in processors] == ["Decompression", "CloudWatchLogProcessing"]  # as CloudTrail's
