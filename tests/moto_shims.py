"""CloudFormation support that moto lacks, for the resource types the template uses, and
attributes and behaviour in the shapes AWS documents where moto's differ.

moto emulates Firehose and CloudWatch Logs, but its CloudFormation engine cannot create
AWS::KinesisFirehose::DeliveryStream or AWS::Logs::LogStream. These models create them through
moto's own backends, so a stack deployed to moto holds a real (emulated) delivery stream that the
app's status calls can read.
IAM's SimulatePrincipalPolicy, which moto lacks, is added too (at the end).
Importing this module registers them.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from iam_eval import allowed
from moto.cloudformation import exceptions as cf_exceptions
from moto.cloudformation import models as cf_models
from moto.cloudformation import parsing
from moto.cloudformation import responses as cf_responses
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult
from moto.firehose.models import firehose_backends
from moto.iam.exceptions import NotFoundException
from moto.iam.responses import IamResponse
from moto.logs.models import LogGroup, logs_backends
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition


class _Shim:
    """What the models share. moto finds models as direct subclasses of CloudFormationModel."""

    attributes: dict[str, str] = {}

    def __init__(self, physical_id: str, attributes: dict[str, str]) -> None:
        self.physical_id = physical_id
        self.attribute_values = attributes

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.attributes

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.attribute_values[attribute_name]


class DeliveryStreamShim(_Shim, CloudFormationModel):
    __module__ = "moto.firehose.shims"  # moto files models by the second part of their module
    attributes = {"Arn": ""}

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::KinesisFirehose::DeliveryStream"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "DeliveryStreamName"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> DeliveryStreamShim:  # fmt: skip
        props = cloudformation_json["Properties"]
        name = props.get("DeliveryStreamName", resource_name)
        backend = firehose_backends[account_id][region_name]
        # Every destination argument empty but Splunk's, by name: moto's list of destinations grows by version.
        arguments = {name: {} for name in inspect.signature(backend.create_delivery_stream).parameters
                     if name.endswith("_configuration") or name.endswith("_configuration_input")}  # fmt: skip
        arguments.update(delivery_stream_encryption_configuration_input=props.get(
            "DeliveryStreamEncryptionConfigurationInput", {}),
            splunk_destination_configuration=props.get("SplunkDestinationConfiguration", {}))  # fmt: skip
        arn = backend.create_delivery_stream(region=region_name, delivery_stream_name=name,
                                             delivery_stream_type=props.get("DeliveryStreamType", "DirectPut"),
                                             tags=[], **arguments)  # fmt: skip
        return cls(name, {"Arn": arn})

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str) -> None:  # fmt: skip
        firehose_backends[account_id][region_name].delete_delivery_stream(resource_name)


class LogStreamShim(_Shim, CloudFormationModel):
    __module__ = "moto.logs.shims"
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Logs::LogStream"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "LogStreamName"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> LogStreamShim:  # fmt: skip
        props = cloudformation_json["Properties"]
        logs_backends[account_id][region_name].create_log_stream(props["LogGroupName"], props["LogStreamName"])
        return cls(props["LogStreamName"], {})


parsing.get_model_map.cache_clear()


# --- Stack-level tags (AWS CloudFormation User Guide, "Tag your CloudFormation resources"): CloudFormation
# tags what it creates with aws:cloudformation:stack-name, aws:cloudformation:logical-id and
# aws:cloudformation:stack-id, plus the stack's own tags. moto tags nothing; the app tells a bucket an
# earlier destroy kept from someone else's by these tags, so S3 buckets get them here.
_parse_and_create_resource = parsing.parse_and_create_resource


def _create_tagged_or_imported(logical_id: str, resource_json: dict[str, Any], resources_map: Any,
                               account_id: str, region_name: str) -> Any:  # fmt: skip
    imported = _IMPORTING.get(resources_map.stack_id, {}).get(logical_id)
    if imported is not None:
        return imported
    resource = _parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name)
    if resource is not None and resource_json.get("Type") == "AWS::S3::Bucket":
        tags = {**resources_map.tags, "aws:cloudformation:stack-name": resources_map["AWS::StackName"],
                "aws:cloudformation:logical-id": logical_id, "aws:cloudformation:stack-id": resources_map.stack_id}
        s3_backends[account_id][get_partition(region_name)].put_bucket_tagging(resource.name, tags)
    return resource


parsing.parse_and_create_resource = _create_tagged_or_imported


# --- Resource import (AWS CloudFormation User Guide, "Import AWS resources into a CloudFormation stack"):
# a change set of type IMPORT brings existing resources, named in ResourcesToImport, under a stack.
# Every resource in its template must be one to import (nothing is created, changed or deleted), each
# must have a DeletionPolicy, Outputs cannot be added, and each must exist. moto has no import at all.
_IMPORTING: dict[str, dict[str, Any]] = {}  # stack id -> logical id -> the existing resource
_create_change_set_response = cf_responses.CloudFormationResponse.create_change_set


def _create_change_set_with_import(self: cf_responses.CloudFormationResponse) -> Any:
    if self._get_param("ChangeSetType") != "IMPORT":
        return _create_change_set_response(self)
    to_import = self._get_param("ResourcesToImport", [])
    template = cf_models.Stack.parse_template(self._get_param("TemplateBody"))
    listed = {r["LogicalResourceId"]: r for r in to_import}
    problems = [f"{name} is not in ResourcesToImport: an import cannot create resources"
                for name in template.get("Resources", {}) if name not in listed]  # fmt: skip
    problems += [f"{name} has no DeletionPolicy" for name, body in template.get("Resources", {}).items()
                 if name in listed and "DeletionPolicy" not in body]  # fmt: skip
    if template.get("Outputs"):
        problems.append("As part of the import operation, you cannot modify or add [Outputs]")
    backend = s3_backends[self.current_account][get_partition(self.region)]
    existing = {}
    for name, resource in listed.items():
        bucket = backend.buckets.get(resource["ResourceIdentifier"]["BucketName"])
        if resource["ResourceType"] != "AWS::S3::Bucket" or bucket is None:
            problems.append(f"resource {resource['ResourceIdentifier']} does not exist")
        existing[name] = bucket
    if problems:
        raise cf_exceptions.ValidationError(message="; ".join(problems))
    answer = _create_change_set_response(self)
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    _IMPORTING[stack.stack_id] = existing
    return answer


cf_responses.CloudFormationResponse.create_change_set = _create_change_set_with_import


# CloudFormation, "AWS::Logs::LogGroup", return values: Arn is "arn:...:log-group:NAME:*". moto returns it
# without ":*", which hid a policy built as "${TrailLogGroup.Arn}:log-stream:*" that matches no stream.
_log_group_attribute = LogGroup.get_cfn_attribute


def _log_group_attribute_as_documented(self: LogGroup, attribute_name: str) -> str:
    value = _log_group_attribute(self, attribute_name)
    return f"{value}:*" if attribute_name == "Arn" and not value.endswith(":*") else value


LogGroup.get_cfn_attribute = _log_group_attribute_as_documented


# moto rebuilds a stack's outputs on create_stack but not when a change set creates or updates it.
_apply_change_set = cf_models.ChangeSet.apply


def _apply_and_refresh_outputs(self: cf_models.ChangeSet) -> None:
    _apply_change_set(self)
    self.stack.template_dict = self.template_dict
    self.stack.output_map = self.stack._create_output_map()


cf_models.ChangeSet.apply = _apply_and_refresh_outputs


# IAM API Reference, "SimulatePrincipalPolicy", which moto lacks. The principal is named by its whole ARN, path
# included, and one that does not exist is NoSuchEntity: an IAM Identity Center role lives under
# /aws-reserved/sso.amazonaws.com/<region>/, and the same ARN without that path names no role. The principal's
# inline and attached policies are evaluated with IAM's rules (tests/iam_eval.py), context entries as the
# request's condition keys, in pages of MaxItems (default 100) with IsTruncated and Marker. (Whether a name is an
# action at all is left to tests/test_deploy_policy.py: Python 3.9's cfn-lint has an older action list.)
def _simulate_principal_policy(self: IamResponse) -> ActionResult:
    arn = self._get_param("PolicySourceArn")
    principals = [*self.backend.roles.values(), *self.backend.users.values()]
    principal = next((p for p in principals if p.arn == arn), None)
    if principal is None:
        kind, name = arn.split(":", 5)[-1].split("/")[0], arn.rsplit("/", 1)[-1]
        raise NotFoundException(f"The {kind} with name {name} cannot be found.")
    documents = [*principal.policies.values(), *(v.document for p in principal.managed_policies.values()
                                                  for v in p.versions if v.is_default)]  # fmt: skip
    statements = []
    for document in documents:
        statement = json.loads(document)["Statement"]
        statements += statement if isinstance(statement, list) else [statement]
    context = {e["ContextKeyName"]: e["ContextKeyValues"][0] for e in self._get_param("ContextEntries", [])}
    actions = self._get_param("ActionNames", [])
    start, size = int(self._get_param("Marker") or 0), int(self._get_param("MaxItems") or 100)
    results = [{"EvalActionName": action, "EvalResourceName": "*",
                "EvalDecision": "allowed" if allowed(statements, action, "*", context) else "implicitDeny"}
               for action in actions[start:start + size]]  # fmt: skip
    more = start + size < len(actions)
    return ActionResult({"EvaluationResults": results, "IsTruncated": more, **({"Marker": str(start + size)} if more
                                                                              else {})})  # fmt: skip


IamResponse.simulate_principal_policy = _simulate_principal_policy
