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
import re
import warnings
from typing import Any

from iam_eval import allowed
from moto.cloudformation import exceptions as cf_exceptions
from moto.cloudformation import models as cf_models
from moto.cloudformation import parsing
from moto.cloudformation import responses as cf_responses
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ec2.models.flow_logs import FlowLogs
from moto.firehose.models import firehose_backends
from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.iam.responses import IamResponse
from moto.logs.models import LogGroup, logs_backends
from moto.s3.models import S3Backend, s3_backends
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
                                             tags=props.get("Tags", []), **arguments)  # fmt: skip
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


# --- AWS::EC2::FlowLog to a Firehose stream. moto creates flow logs from a template but checks little: it takes a
# Ref'd Number as text, accepts any destination, property or field name. Here they are checked as the documents
# say (CloudFormation resource schema AWS::EC2::FlowLog, as cfn-lint ships it; Amazon EC2 API Reference,
# CreateFlowLogs; Amazon VPC User Guide, "Flow log records" for the fields, "Publish flow logs to Amazon Data
# Firehose"), the stream must exist in the account and region, and CreateFlowLogs tags it LogDeliveryEnabled=true
# (Amazon CloudWatch Logs User Guide, "Logs sent to Firehose"). Deleting the stack deletes the flow logs.
FLOW_LOG_PROPERTIES = {"DeliverCrossAccountRole", "DeliverLogsPermissionArn", "DestinationOptions", "LogDestination",
                       "LogDestinationType", "LogFormat", "LogGroupName", "MaxAggregationInterval", "ResourceId",
                       "ResourceType", "TagFieldSpecifications", "Tags", "TrafficType"}  # fmt: skip
FLOW_LOG_RESOURCE_TYPES = ("NetworkInterface", "Subnet", "VPC", "TransitGateway", "TransitGatewayAttachment",
                           "RegionalNatGateway")  # fmt: skip
# VPC User Guide, "Flow log records", Available fields, as tests/data/vpcflow/NOTES.md lists them (versions 2-7, and
# the later fields it names without a version). Written out: moto_server.py runs this module without tests/helpers.
FLOW_LOG_FIELDS = {
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets",
    "bytes", "start", "end", "action", "log-status", "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type",
    "pkt-srcaddr", "pkt-dstaddr", "region", "az-id", "sublocation-type", "sublocation-id", "pkt-src-aws-service",
    "pkt-dst-aws-service", "flow-direction", "traffic-path", "ecs-cluster-arn", "ecs-cluster-name",
    "ecs-container-instance-arn", "ecs-container-instance-id", "ecs-container-id", "ecs-second-container-id",
    "ecs-service-name", "ecs-task-definition-arn", "ecs-task-arn", "ecs-task-id", "reject-reason", "resource-id",
    "encryption-status",
}  # fmt: skip
_create_flow_log = FlowLogs.create_from_cloudformation_json


def flow_log_problems(props: dict[str, Any], account_id: str, region_name: str) -> list[str]:
    problems = [f"unknown property {name}" for name in sorted(set(props) - FLOW_LOG_PROPERTIES)]
    problems += [f"{name} is required" for name in ("ResourceId", "ResourceType") if not props.get(name)]
    if props.get("ResourceType") not in FLOW_LOG_RESOURCE_TYPES:
        problems.append(f"ResourceType {props.get('ResourceType')!r} is not one of {FLOW_LOG_RESOURCE_TYPES}")
    if not str(props.get("ResourceType", "")).startswith("Transit") and props.get("TrafficType") not in (
            "ACCEPT", "REJECT", "ALL"):  # fmt: skip
        problems.append(f"TrafficType {props.get('TrafficType')!r} is not ACCEPT, REJECT or ALL")
    if str(props.get("MaxAggregationInterval", 600)) not in ("60", "600"):
        problems.append(f"MaxAggregationInterval {props.get('MaxAggregationInterval')!r} is not 60 or 600")
    log_format = props.get("LogFormat")
    if log_format is not None:
        fields = re.fullmatch(r"\$\{[a-z0-9-]+\}( \$\{[a-z0-9-]+\})*", log_format) and re.findall(r"\$\{([a-z0-9-]+)\}",
                                                                                                   log_format)
        if not fields:
            problems.append(f"LogFormat {log_format[:60]!r} is not ${{field}} names separated by single spaces")
        problems += [f"LogFormat: no flow log field {name!r}" for name in fields or [] if name not in FLOW_LOG_FIELDS]
    if props.get("LogDestinationType") != "kinesis-data-firehose":
        return problems + [f"LogDestinationType {props.get('LogDestinationType')!r}: the shim models Firehose only"]
    if "LogGroupName" in props or "DestinationOptions" in props:
        problems.append("LogGroupName and DestinationOptions are for CloudWatch Logs and S3 destinations")
    destination = str(props.get("LogDestination", ""))
    match = re.fullmatch(r"arn:aws[a-z-]*:firehose:([a-z0-9-]+):([0-9]{12}):deliverystream/(.+)", destination)
    if not match:
        return problems + [f"LogDestination {destination!r} is not a Firehose stream ARN"]
    region, account, name = match.groups()
    if account != account_id and not props.get("DeliverLogsPermissionArn"):
        problems.append("a stream in another account needs DeliverLogsPermissionArn (cross-account delivery)")
    if region != region_name or name not in firehose_backends[account][region].delivery_streams:
        problems.append(f"LogDestination {destination}: no such delivery stream")
    return problems


def _strict_flow_log(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                     **kwargs: Any) -> Any:  # fmt: skip
    props = dict(cloudformation_json["Properties"])
    problems = flow_log_problems(props, account_id, region_name)
    if problems:
        raise cf_exceptions.ValidationError(message=f"AWS::EC2::FlowLog {resource_name}: " + "; ".join(problems))
    if "MaxAggregationInterval" in props:
        props["MaxAggregationInterval"] = int(props["MaxAggregationInterval"])  # a Number parameter arrives as text
    flow_log = _create_flow_log.__func__(cls, resource_name, {**cloudformation_json, "Properties": props}, account_id,
                                         region_name, **kwargs)  # fmt: skip
    name = props["LogDestination"].rsplit("/", 1)[1]
    firehose_backends[account_id][region_name].tag_delivery_stream(name, [{"Key": "LogDeliveryEnabled",
                                                                           "Value": "true"}])  # fmt: skip
    return flow_log


def _delete_flow_log(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                     region_name: str) -> None:  # fmt: skip
    ec2_backends[account_id][region_name].delete_flow_logs([resource_name])


FlowLogs.create_from_cloudformation_json = classmethod(_strict_flow_log)
FlowLogs.delete_from_cloudformation_json = classmethod(_delete_flow_log)


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
        imported.logical_resource_id, imported.cf_resource_type = logical_id, resource_json["Type"]
        return imported
    resource = _parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name)
    if resource is not None and resource_json.get("Type") == "AWS::S3::Bucket":
        tags = {**resources_map.tags, "aws:cloudformation:stack-name": resources_map["AWS::StackName"],
                "aws:cloudformation:logical-id": logical_id, "aws:cloudformation:stack-id": resources_map.stack_id}
        s3_backends[account_id][get_partition(region_name)].put_bucket_tagging(resource.name, tags)
    return resource


parsing.parse_and_create_resource = _create_tagged_or_imported


# --- Resource import (AWS CloudFormation User Guide, "Import AWS resources into a CloudFormation stack"):
# a change set of type IMPORT brings existing resources, named in ResourcesToImport, under a stack, a new
# one or one that already exists. Every resource in its template must be one to import or one the stack
# already holds, unchanged (nothing is created, changed or deleted), the parameters stay as they are, each
# imported resource must have a DeletionPolicy, Outputs cannot be added, and each must exist. moto has no
# import at all.
_IMPORTING: dict[str, dict[str, Any]] = {}  # stack id -> logical id -> the existing resource
_create_change_set_response = cf_responses.CloudFormationResponse.create_change_set


def _create_change_set_with_import(self: cf_responses.CloudFormationResponse) -> Any:
    if self._get_param("ChangeSetType") != "IMPORT":
        return _create_change_set_response(self)
    backend = self.cloudformation_backend
    stack = next((s for s in backend.stacks.values() if s.name == self._get_param("StackName")
                  and s.status != "REVIEW_IN_PROGRESS"), None)  # fmt: skip
    given = self._get_param("Parameters", [])
    parameters = {p["ParameterKey"]: stack.parameters[p["ParameterKey"]] if stack and p.get("UsePreviousValue")
                  else p.get("ParameterValue") for p in given}  # fmt: skip
    template = cf_models.Stack.parse_template(self._get_param("TemplateBody"))
    listed = {r["LogicalResourceId"]: r for r in self._get_param("ResourcesToImport", [])}
    present = _present(template, parameters, stack)
    held = _present(stack.template_dict, stack.parameters, stack) if stack else {}
    problems = [f"{name} is not in ResourcesToImport: an import cannot create resources"
                for name in present if name not in listed and name not in held]  # fmt: skip
    problems += [f"{name} has no DeletionPolicy" for name, body in present.items()
                 if name in listed and "DeletionPolicy" not in body]  # fmt: skip
    problems += [f"{name} in ResourcesToImport is not in the template, or its Condition is false"
                 for name in listed if name not in present]  # fmt: skip
    if stack:
        # "You have modified resources [...] in your template that are not being imported. Update, create or
        # delete operations cannot be executed during import operations."
        modified = sorted({name for name in held if name not in present or present[name] != held[name]}
                          | ({"Parameters"} if parameters != stack.parameters else set()))  # fmt: skip
        if modified:
            problems.append(f"You have modified resources {modified} in your template that are not being "
                            "imported. Update, create or delete operations cannot be executed during import "
                            "operations.")  # fmt: skip
    if (template.get("Outputs") or {}) != ((stack.template_dict.get("Outputs") or {}) if stack else {}):
        problems.append("As part of the import operation, you cannot modify or add [Outputs]")
    s3 = s3_backends[self.current_account][get_partition(self.region)]
    existing = {}
    for name, resource in listed.items():
        bucket = s3.buckets.get(resource["ResourceIdentifier"]["BucketName"])
        if resource["ResourceType"] != "AWS::S3::Bucket" or bucket is None:
            problems.append(f"resource {resource['ResourceIdentifier']} does not exist")
        existing[name] = bucket
    if problems:
        raise cf_exceptions.ValidationError(message="; ".join(problems))
    if stack is None:
        answer = _create_change_set_response(self)
        stack = backend.get_stack(self._get_param("StackName"))
    else:  # moto makes a new stack for every type but UPDATE: an import into this one is an update of it
        change_set_id, _ = backend.create_change_set(
            stack_name=stack.name, change_set_name=self._get_param("ChangeSetName"),
            template=self._get_param("TemplateBody"), parameters=parameters, description="",
            change_set_type="UPDATE", role_arn=self._get_param("RoleARN"))  # fmt: skip
        backend.change_sets[change_set_id].change_set_type = "IMPORT"
        answer = cf_responses.ActionResult({"Id": change_set_id, "StackId": stack.stack_id})
    _IMPORTING[stack.stack_id] = existing
    return answer


cf_responses.CloudFormationResponse.create_change_set = _create_change_set_with_import


# --- Conditions (AWS CloudFormation User Guide, "Conditions syntax"): a resource whose condition is false is
# not in the stack; a change of parameters that makes it true creates it, one that makes it false deletes it
# (or, with DeletionPolicy Retain, only removes it from the stack: "DeletionPolicy attribute"). moto compares
# templates as text and ignores conditions there, so a plan that only flips a condition changed nothing.
def _present(template: dict[str, Any], parameters: dict[str, Any], stack: Any) -> dict[str, Any]:
    """The template's resources whose Condition holds with these parameters (logical id -> body)."""
    if not template.get("Resources"):
        return {}
    scratch = parsing.ResourceMap(stack.stack_id if stack else "", stack.name if stack else "", parameters, {},
                                  stack.region_name if stack else "us-east-1",
                                  stack.account_id if stack else "123456789012", template, None)  # fmt: skip
    scratch.load_mapping()
    scratch.load_parameters()
    scratch.load_conditions()
    return {name: body for name, body in template["Resources"].items()
            if not body.get("Condition") or scratch.lazy_condition_map[body["Condition"]]}  # fmt: skip


def _diff_with_conditions(self: parsing.ResourceMap, other_template: dict[str, Any],
                          parameters: dict[str, Any] | None = None) -> dict[str, list[str]]:  # fmt: skip
    old = {name: body for name, body in self._resource_json_map.items()
           if not body.get("Condition") or self.lazy_condition_map[body["Condition"]]}  # fmt: skip
    scratch = type("Scratch", (), {"stack_id": self.stack_id, "name": self["AWS::StackName"],
                                   "region_name": self._region_name, "account_id": self._account_id})  # fmt: skip
    new = _present(other_template, parameters if parameters is not None else self.input_parameters, scratch)
    changed = [p for p in (parameters or {}) if self.input_parameters.get(p) != parameters[p]]
    return {
        "Add": [name for name in new if name not in old],
        "Modify": [name for name in new if name in old and (new[name] != old[name] or any(
            p in parsing.get_references_from_template(new[name]) for p in changed))],
        "Remove": [name for name in old if name not in new],
    }  # fmt: skip


parsing.ResourceMap.build_resource_diff = _diff_with_conditions
_update_resources = parsing.ResourceMap.update


def _update_keeping_retained(self: parsing.ResourceMap, template: dict[str, Any],
                             parameters: dict[str, Any] | None = None) -> None:  # fmt: skip
    removed = self.build_resource_diff(template, parameters)["Remove"]
    for name in removed:  # moto deletes whatever leaves the template, whatever its DeletionPolicy
        if self._resource_json_map[name].get("DeletionPolicy") == "Retain":
            self._parsed_resources.pop(name, None)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unable to delete")
        _update_resources(self, template, parameters)
    for name in removed:  # and lists them still
        self._parsed_resources.pop(name, None)


parsing.ResourceMap.update = _update_keeping_retained


def _changes_with_conditions(self: cf_models.ChangeSet) -> list[cf_models.Change]:
    actions = self.stack.resource_map.build_resource_diff(self.template_dict, self.parameters)
    types = {**self.stack.resource_map._resource_json_map, **self.template_dict.get("Resources", {})}
    return [cf_models.Change(action=action, logical_resource_id=name, resource_type=types[name]["Type"])
            for action, names in actions.items() for name in names]  # fmt: skip


cf_models.ChangeSet.diff = _changes_with_conditions


# --- A named bucket that already exists (AWS CloudFormation User Guide, "Troubleshooting CloudFormation":
# the resource fails with "<name> already exists", and the stack rolls back: a new stack to ROLLBACK_COMPLETE,
# an update to UPDATE_ROLLBACK_COMPLETE). moto's S3 in us-east-1 hands back the existing bucket instead, or
# the change set's execution fails as a whole. Checked before anything is applied, so the rollback is exact.
_execute_change_set = cf_models.CloudFormationBackend.execute_change_set


def _execute_or_fail_on_existing_bucket(self: cf_models.CloudFormationBackend, change_set_name: str,
                                        stack_name: str | None = None) -> None:  # fmt: skip
    named = [c for c in self.change_sets.values() if c.change_set_name == change_set_name]
    change_set = self.change_sets.get(change_set_name) or (named[-1] if named else None)  # as moto picks it
    if change_set is None or change_set.change_set_type == "IMPORT":
        stack = self.stacks.get(change_set.stack_id) if change_set else None
        seen = len(stack.events) if stack else 0
        _execute_change_set(self, change_set_name, stack_name)
        if stack is not None:
            _IMPORTING.pop(stack.stack_id, None)
            for event in stack.events[seen:]:  # moto says UPDATE_ for every type but CREATE
                event.resource_status = event.resource_status.replace("UPDATE_", "IMPORT_")
        return
    stack = self.stacks[change_set.stack_id]
    added = stack.resource_map.build_resource_diff(change_set.template_dict, change_set.parameters)["Add"]
    clash = next(((name, bucket) for name, bucket in _bucket_names(stack, change_set, added)
                  if bucket in s3_backends.bucket_accounts), None)  # fmt: skip
    if clash is None:
        return _execute_change_set(self, change_set_name, stack_name)
    name, bucket = clash
    creating = change_set.change_set_type == "CREATE"
    stack._add_stack_event("CREATE_IN_PROGRESS" if creating else "UPDATE_IN_PROGRESS", "User Initiated")
    for status, reason in (("CREATE_IN_PROGRESS", None), ("CREATE_FAILED", f"{bucket} already exists")):
        stack.events.append(cf_models.Event(stack.stack_id, stack.name, name, "", "AWS::S3::Bucket", status,
                                            reason, None))  # fmt: skip
    final = "ROLLBACK" if creating else "UPDATE_ROLLBACK"
    stack._add_stack_event(f"{final}_IN_PROGRESS", f"The following resource(s) failed to create: [{name}].")
    stack._add_stack_event(f"{final}_COMPLETE")
    stack.status = f"{final}_COMPLETE"
    change_set.execution_status = "EXECUTE_FAILED"


def _bucket_names(stack: Any, change_set: Any, logical_ids: list[str]) -> list[tuple[str, str]]:
    """(logical id, BucketName) of the named buckets among these resources, with the change set's parameters."""
    resources = change_set.template_dict.get("Resources", {})
    named = [i for i in logical_ids if resources[i]["Type"] == "AWS::S3::Bucket"
             and "BucketName" in resources[i].get("Properties", {})]  # fmt: skip
    if not named:
        return []
    scratch = parsing.ResourceMap(stack.stack_id, stack.name, change_set.parameters, {}, stack.region_name,
                                  stack.account_id, change_set.template_dict, None)  # fmt: skip
    scratch.load_mapping()
    scratch.load_parameters()
    scratch.load_conditions()
    return [(i, parsing.clean_json(resources[i]["Properties"]["BucketName"], scratch)) for i in named]


cf_models.CloudFormationBackend.execute_change_set = _execute_or_fail_on_existing_bucket


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


# Amazon S3 API Reference, ListObjectsV2 and ListObjectVersions, MaxKeys: "By default, the action returns up
# to 1,000 key names. The response might contain fewer keys but will never contain more." moto returns as many
# as MaxKeys asks for, so a caller that asked for more, or read one page only, was not caught.
S3_PAGE = 1000
_list_objects_v2 = S3Backend.list_objects_v2
_list_object_versions = S3Backend.list_object_versions


def _list_objects_v2_in_pages(self: S3Backend, *args: Any, **kwargs: Any) -> Any:
    kwargs["max_keys"] = min(kwargs["max_keys"], S3_PAGE)  # moto's response passes every argument by name
    return _list_objects_v2(self, *args, **kwargs)


def _list_object_versions_in_pages(self: S3Backend, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
    kwargs["max_keys"] = min(kwargs.get("max_keys") or S3_PAGE, S3_PAGE)
    return _list_object_versions(self, bucket_name, *args, **kwargs)


S3Backend.list_objects_v2 = _list_objects_v2_in_pages
S3Backend.list_object_versions = _list_object_versions_in_pages


# IAM API Reference, "SimulatePrincipalPolicy", which moto lacks. The principal is named by its whole ARN, path
# included, and one that does not exist is NoSuchEntity: an IAM Identity Center role lives under
# /aws-reserved/sso.amazonaws.com/<region>/, and the same ARN without that path names no role. The principal's
# inline and attached policies are evaluated with IAM's rules (tests/standins/iam_eval.py), context entries as the
# request's condition keys, in pages of MaxItems (default 100) with IsTruncated and Marker. (Whether a name is an
# action at all is left to tests/aws/test_deploy_policy.py: Python 3.9's cfn-lint has an older action list.)
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


# --- A service role (AWS CloudFormation User Guide, "CloudFormation service role"): CreateChangeSet and
# DeleteStack take RoleARN, and CloudFormation refuses a role that does not exist or does not trust
# cloudformation.amazonaws.com: "Role <arn> is invalid or cannot be assumed". moto takes any string.
# The change sets and deletes that named a role are kept here, so a test can see the driver passed it.
ROLES_USED: list[tuple[str, str]] = []  # (operation, role ARN)


def _refusing_roles_cloudformation_cannot_assume(name: str, operation: Any) -> Any:
    def checked(self: cf_responses.CloudFormationResponse) -> Any:
        arn = self._get_param("RoleARN")
        if arn:
            iam = iam_backends[self.current_account][get_partition(self.region)]
            role = next((r for r in iam.roles.values() if r.arn == arn), None)
            trust = json.loads(role.assume_role_policy_document) if role else {}
            trusted = any(s.get("Effect") == "Allow" and "cloudformation.amazonaws.com" in json.dumps(
                s.get("Principal", {})) for s in trust.get("Statement", []))  # fmt: skip
            if not trusted:
                raise cf_exceptions.ValidationError(message=f"Role {arn} is invalid or cannot be assumed")
            ROLES_USED.append((name, arn))
        return operation(self)

    return checked


cf_responses.CloudFormationResponse.create_change_set = _refusing_roles_cloudformation_cannot_assume(
    "CreateChangeSet",     cf_responses.CloudFormationResponse.create_change_set)  # fmt: skip
cf_responses.CloudFormationResponse.delete_stack = _refusing_roles_cloudformation_cannot_assume(
    "DeleteStack",     cf_responses.CloudFormationResponse.delete_stack)  # fmt: skip
