"""CloudFormation support that moto lacks, for the resource types the template uses, and
attributes and behaviour in the shapes AWS documents where moto's differ.

moto emulates Firehose and CloudWatch Logs, but its CloudFormation engine cannot create
AWS::KinesisFirehose::DeliveryStream or AWS::Logs::LogStream. These models create them through
moto's own backends, so a stack deployed to moto holds a real (emulated) delivery stream that the
app's status calls can read.
Importing this module registers them.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import models as cf_models
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.firehose.models import firehose_backends
from moto.logs.models import LogGroup, logs_backends


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
        arn = firehose_backends[account_id][region_name].create_delivery_stream(
            region_name, name, props.get("DeliveryStreamType", "DirectPut"), {},
            props.get("DeliveryStreamEncryptionConfigurationInput", {}), {}, {}, {}, {},
            props.get("SplunkDestinationConfiguration", {}), {}, {}, {}, [],
        )  # fmt: skip
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
