"""The template rendered as CloudFormation would for one set of parameters, with AWS's attribute shapes.

Conditions, Fn::If, Ref, Fn::GetAtt and Fn::Sub are resolved to plain values, so policies can be
evaluated against real ARNs. Ref and GetAtt return what each type's CloudFormation page documents
under "Return values" (not what moto returns):

- AWS::Logs::LogGroup: Ref the name; Arn "arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*" (note the ":*").
- AWS::Logs::LogStream: Ref the stream name.
- AWS::S3::Bucket: Ref the name; Arn "arn:aws:s3:::NAME".
- AWS::IAM::Role: Ref the name; Arn "arn:aws:iam::ACCOUNT:role/NAME".
- AWS::SecretsManager::Secret: Ref the secret's ARN (name plus a random six-character suffix).
- AWS::KinesisFirehose::DeliveryStream: Ref the name; Arn "arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME".
- AWS::Lambda::Function: Ref the name; Arn "arn:aws:lambda:REGION:ACCOUNT:function:NAME".
- AWS::EC2::FlowLog: Ref the flow log's id (fl-...); it has no Arn the template uses.
- AWS::CloudTrail::Trail: Ref the name; Arn "arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME", where ACCOUNT is the
  organization's management account for an organization trail, also when a delegated administrator creates it
  (AWS CloudTrail User Guide, "Organization delegated administrator": the management account remains the owner
  of the organization resources the delegated administrator creates).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from cfnlint.decode import decode_str
from cloudtrail_firehose.aws.pipeline import TEMPLATE_PATH
from cloudtrail_firehose.aws.rendering import render

NO_VALUE = object()
NAME_PROPERTY = {
    "AWS::Logs::LogGroup": "LogGroupName", "AWS::Logs::LogStream": "LogStreamName", "AWS::S3::Bucket": "BucketName",
    "AWS::IAM::Role": "RoleName", "AWS::SecretsManager::Secret": "Name",
    "AWS::KinesisFirehose::DeliveryStream": "DeliveryStreamName", "AWS::Lambda::Function": "FunctionName",
    "AWS::CloudTrail::Trail": "TrailName", "AWS::Logs::SubscriptionFilter": "FilterName",
}  # fmt: skip


# The VPCs a combination that creates flow logs logs (the driver lists the region's VPCs when vpc_ids is empty).
VPC_IDS = ["vpc-0a1b2c3d4e5f60718", "vpc-1a2b3c4d", "vpc-0fedcba9876543210"]


def creates_flow_logs(parameters: dict[str, str]) -> bool:
    return parameters.get("CollectVpcFlowLogs") == "true" and not parameters.get("VpcFlowLogGroupName")


def template_text(parameters: dict[str, str], vpc_ids: list[str] | None = None) -> str:
    """template.yaml as the driver deploys it for these parameters: its prototype flow log rendered once per VPC
    (aws/rendering.py), for vpc_ids or, by default, VPC_IDS when the combination creates flow logs."""
    if vpc_ids is None:
        vpc_ids = VPC_IDS if creates_flow_logs(parameters) else []
    return render(TEMPLATE_PATH.read_text(), vpc_ids)


@functools.lru_cache(maxsize=8)
def decoded(text: str) -> dict[str, Any]:
    """The template as cfn-lint reads it (intrinsic functions as {"Fn::...": ...}); shared, never changed."""
    template, problems = decode_str(text)
    assert not problems, problems
    return template


class Rendered:
    def __init__(self, parameters: dict[str, str], account: str, region: str, management: str | None = None,
                 vpc_ids: list[str] | None = None) -> None:  # fmt: skip
        """account: the one that deploys; management: the organization's management account (default: account);
        vpc_ids: the VPCs the driver renders flow logs for (default: template_text's)."""
        self.template = template = decoded(template_text(parameters, vpc_ids))
        self.account, self.region, self.management = account, region, management or account
        self.pseudo = {"AWS::AccountId": account, "AWS::Region": region, "AWS::Partition": "aws"}
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()}
        unknown = set(parameters) - set(self.parameters)
        assert not unknown, f"not template parameters: {unknown}"
        self.parameters.update(parameters)
        self.conditions: dict[str, bool] = {}
        for name, body in template.get("Conditions", {}).items():  # in order: a condition may name an earlier one
            self.conditions[name] = self.value(body)
        self.resources = {logical_id: resource for logical_id, resource in template["Resources"].items()
                          if "Condition" not in resource or self.conditions[resource["Condition"]]}  # fmt: skip

    def properties(self, logical_id: str) -> dict[str, Any]:
        return self.value(self.resources[logical_id].get("Properties", {}))

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: self.properties(lid) for lid, r in self.resources.items() if r["Type"] == resource_type}

    def name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        return self.value(resource["Properties"][NAME_PROPERTY[resource["Type"]]])

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        assert name in self.resources, f"Ref to {name}, which does not exist in this combination"
        if self.resources[name]["Type"] == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{self.name(name)}-AbCdEf"
        if self.resources[name]["Type"] == "AWS::EC2::FlowLog":
            return "fl-0123456789abcdef0"
        return self.name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        assert logical_id in self.resources, f"GetAtt of {logical_id}, which does not exist in this combination"
        kind, name, where = self.resources[logical_id]["Type"], self.name(logical_id), f"{self.region}:{self.account}"
        arns = {
            "AWS::Logs::LogGroup": f"arn:aws:logs:{where}:log-group:{name}:*",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{self.account}:role/{name}",
            "AWS::KinesisFirehose::DeliveryStream": f"arn:aws:firehose:{where}:deliverystream/{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{where}:function:{name}",
            "AWS::CloudTrail::Trail": f"arn:aws:cloudtrail:{self.region}:{self._trail_owner(logical_id)}:trail/{name}",
        }  # fmt: skip
        assert attribute == "Arn", f"no documented shape for {kind}.{attribute}"
        assert kind in arns, f"no documented shape for {kind}.Arn"
        return arns[kind]

    def _trail_owner(self, logical_id: str) -> str:
        organization = str(self.properties(logical_id).get("IsOrganizationTrail", "false")).lower() == "true"
        return self.management if organization else self.account

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (function, argument), = node.items()
            if function == "Ref":
                return NO_VALUE if argument == "AWS::NoValue" else self.ref(argument)
            if function == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(logical_id, attribute)
            if function == "Fn::Sub":
                return self.sub(argument)
            if function == "Fn::If":
                condition, yes, no = argument
                return self.value(yes if self.conditions[condition] else no)
            if function == "Fn::Equals":
                left, right = (str(self.value(v)) for v in argument)
                return left == right
            if function == "Fn::Not":
                return not self.value(argument[0])
            if function == "Fn::And":
                return all(self.value(v) for v in argument)
            if function == "Fn::Or":
                return any(self.value(v) for v in argument)
            if function == "Condition":
                return self.conditions[argument]
            assert not function.startswith("Fn::"), f"the renderer does not know {function}"
        resolved = {key: self.value(v) for key, v in node.items()}
        return {key: v for key, v in resolved.items() if v is not NO_VALUE}

    def sub(self, argument: str | list) -> str:
        """Fn::Sub: a string, or [string, {variable: value}] whose variables come first."""
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], self.value(argument[1]))

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".")[0] in self.resources:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)


ORGANIZATION_ID = "o-a1b2c3d4e5"
MANAGEMENT_ACCOUNT = "333333333333"  # the organization's management account
CUSTOM_PATTERN = "{ $.eventSource = iam.amazonaws.com }"
OPTIONS = {
    "existing_log_group": ["", "/aws/cloudtrail/organization"],
    "filter_preset": ["all", "write-only", "custom"],
    "organization_trail": [False, True],
    "multi_region": [True, False],
    "processor": ["native", "lambda"],
}


SECRET_ARN = "arn:aws:secretsmanager:us-east-1:111111111111:secret:cloudtrail-firehose/splunk-hec-token-AbCdEf"
VPCFLOW_SECRET_ARN = ("arn:aws:secretsmanager:us-east-1:111111111111:secret:cloudtrail-firehose/"
                      "splunk-hec-token-vpcflow-AbCdEf")  # fmt: skip
FLOW_LOG_GROUP = "/aws/vpc/flow-logs"
# VPC Flow Logs' choices, pairwise rather than their full product (every pair of two options' values occurs in
# some row): collect CloudTrail too (with its default choices, or an existing trail's log group), traffic type,
# aggregation interval, record format, flow logs created (direct) or taken from a log group. They and the CloudTrail
# product stand for every combination of every option (tests/aws/test_aws_template.py says why and checks it).
VPC_ROWS = [
    (True, "ALL", 600, "recommended", ""),
    (False, "ACCEPT", 60, "default", ""),
    (False, "REJECT", 600, "default", FLOW_LOG_GROUP),
    (True, "REJECT", 60, "recommended", ""),
    ("existing", "ACCEPT", 600, "default", FLOW_LOG_GROUP),
    (False, "ALL", 60, "recommended", FLOW_LOG_GROUP),
    (True, "ALL", 60, "default", ""),
    (False, "ACCEPT", 600, "recommended", ""),
]


VPC_OPTIONS = {
    "vpc_flow_traffic_type": ["ALL", "ACCEPT", "REJECT"],
    "vpc_flow_aggregation_interval": [600, 60],
    "vpc_flow_record_format": ["recommended", "default"],
    "vpc_flow_log_group": ["", FLOW_LOG_GROUP],
}


def every_choice() -> list[dict[str, str]]:
    """The template parameters of every combination of every option a user chooses (CloudTrail's and VPC Flow
    Logs', each source on or off), as PipelineSettings validates and renders it: over a thousand, too many to
    lint one by one (tests/aws/test_aws_template.py shows which ones the linted ones stand for)."""
    import itertools

    from cloudtrail_firehose.aws.settings import PipelineSettings, SettingsError

    trail_choices = [dict(zip(OPTIONS, v)) for v in itertools.product(*OPTIONS.values())]
    vpc_choices = [dict(zip(VPC_OPTIONS, v)) for v in itertools.product(*VPC_OPTIONS.values())]
    found = []
    for trail, vpc in itertools.product([None, *trail_choices], [None, *vpc_choices]):
        lambda_code = trail and trail["processor"] == "lambda"
        for code_key in ["", "lambda/processor-0123456789abcdef.zip"] if lambda_code else [""]:
            settings = PipelineSettings(
                hec_url="https://http-inputs-firehose-acme.splunkcloud.com", region="us-east-1",
                collect_cloudtrail=trail is not None, **(trail or {}), collect_vpc_flow_logs=vpc is not None,
                **(vpc or {}), processor_code_key=code_key,
                custom_filter_pattern=CUSTOM_PATTERN if trail and trail["filter_preset"] == "custom" else "",
                organization_id=ORGANIZATION_ID if trail and trail["organization_trail"] else "",
                organization_management_account=MANAGEMENT_ACCOUNT if trail and trail["organization_trail"] else "",
                hec_token_secret_arn=SECRET_ARN if trail else "",
                vpcflow_hec_token_secret_arn=VPCFLOW_SECRET_ARN if vpc else "",
            )  # fmt: skip
            try:
                settings.validate()
            except SettingsError:
                continue
            found.append({p["ParameterKey"]: p["ParameterValue"] for p in settings.template_parameters()})
    return found


@functools.cache  # computed once for the test modules that parametrize on it
def driver_combinations() -> dict[str, dict[str, str]]:
    """Every set of template parameters the driver can produce, by a readable id.

    Each combination of the options a user chooses, as PipelineSettings validates and renders it;
    the Lambda option comes twice: the first pass (no code uploaded yet) and the final one.
    """
    import itertools

    from cloudtrail_firehose.aws.settings import PipelineSettings, SettingsError

    found = {}
    for values in itertools.product(*OPTIONS.values()):
        chosen = dict(zip(OPTIONS, values))  # Python 3.9: no strict=; same length by construction
        code_keys = ["", "lambda/processor-0123456789abcdef.zip"] if chosen["processor"] == "lambda" else [""]
        for code_key in code_keys:
            settings = PipelineSettings(
                hec_url="https://http-inputs-firehose-acme.splunkcloud.com", region="us-east-1", **chosen,
                custom_filter_pattern=CUSTOM_PATTERN if chosen["filter_preset"] == "custom" else "",
                organization_id=ORGANIZATION_ID if chosen["organization_trail"] else "", processor_code_key=code_key,
                organization_management_account=MANAGEMENT_ACCOUNT if chosen["organization_trail"] else "",
                hec_token_secret_arn=SECRET_ARN,  # the driver creates the secret before the stack
            )  # fmt: skip
            try:
                settings.validate()
            except SettingsError:
                continue
            parameters = {p["ParameterKey"]: p["ParameterValue"] for p in settings.template_parameters()}
            name = "-".join([
                "existing" if chosen["existing_log_group"] else "trail", chosen["filter_preset"],
                "org" if chosen["organization_trail"] else "account",
                "multi" if chosen["multi_region"] else "single",
                chosen["processor"] + ("" if code_key or chosen["processor"] == "native" else "-first-pass"),
            ])  # fmt: skip
            found[name] = parameters
    for cloudtrail, traffic, interval, record_format, group in VPC_ROWS:
        settings = PipelineSettings(
            hec_url="https://http-inputs-firehose-acme.splunkcloud.com", region="us-east-1",
            collect_cloudtrail=bool(cloudtrail), existing_log_group="/aws/cloudtrail/organization"
            if cloudtrail == "existing" else "", collect_vpc_flow_logs=True, vpc_flow_traffic_type=traffic,
            vpc_flow_aggregation_interval=interval, vpc_flow_record_format=record_format, vpc_flow_log_group=group,
            hec_token_secret_arn=SECRET_ARN if cloudtrail else "", vpcflow_hec_token_secret_arn=VPCFLOW_SECRET_ARN,
        ).validate()  # fmt: skip
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in settings.template_parameters()}
        vpc = f"vpc-{traffic.lower()}-{interval}-{record_format}-{'loggroup' if group else 'direct'}"
        trail = {True: "trail-all-account-multi-native-", "existing": "existing-all-account-multi-native-"}
        found[trail.get(cloudtrail, "") + vpc] = parameters
    return found
