"""What a user chooses for the AWS side, checked before any AWS call.

Each setting maps to one parameter of template.yaml; the limits here are the template's own
(tests/test_aws_settings.py keeps the two in step). moto, and sometimes AWS, accept values that
would fail later, so everything is checked here first and explained in words an admin can act on.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

import botocore.session

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)  # fmt: skip
FILTER_PRESETS = ("all", "write-only", "custom")
PROCESSORS = ("native", "lambda")
PROCESSOR_CODE_KEY = re.compile(r"^(lambda/[A-Za-z0-9._-]+\.zip)?$")
NAME_PREFIX = re.compile(r"^[a-z][a-z0-9-]{2,30}$")
LOG_GROUP_NAME = re.compile(r"^[A-Za-z0-9_/.#-]{1,512}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class SettingsError(ValueError):
    """One or more settings are wrong; str() lists each with what to do."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Setting:
    parameter: str  # the template parameter
    minimum: int | None = None
    maximum: int | None = None
    allowed: tuple = ()


def _setting(parameter: str, default: Any, **limits: Any) -> Any:
    return field(default=default, metadata={"setting": Setting(parameter, **limits)})


@dataclass(frozen=True)
class PipelineSettings:
    hec_url: str = _setting("HecUrl", "")
    region: str = field(default="", metadata={})
    name_prefix: str = _setting("NamePrefix", "cloudtrail-firehose")
    hec_ack_timeout: int = _setting("HecAcknowledgmentTimeout", 300, minimum=180, maximum=600)
    retry_duration: int = _setting("RetryDuration", 3600, minimum=0, maximum=7200)
    buffer_interval: int = _setting("BufferIntervalSeconds", 60, minimum=0, maximum=60)
    buffer_size_mb: int = _setting("BufferSizeMB", 5, minimum=1, maximum=5)
    existing_log_group: str = _setting("ExistingLogGroupName", "")
    multi_region: bool = _setting("MultiRegionTrail", True)
    organization_trail: bool = _setting("OrganizationTrail", False)
    log_retention_days: int = _setting("LogRetentionDays", 14, allowed=LOG_RETENTION_DAYS)
    filter_preset: str = _setting("FilterPreset", "all", allowed=FILTER_PRESETS)
    custom_filter_pattern: str = _setting("CustomFilterPattern", "")
    failed_delivery_retention_days: int = _setting("FailedDeliveryRetentionDays", 90, minimum=7, maximum=3650)
    trail_log_retention_days: int = _setting("TrailLogRetentionDays", 365, minimum=1, maximum=3650)
    processor: str = _setting("Processor", "native", allowed=PROCESSORS)
    # Set by the app when it uploads the processor's code (aws/pipeline.py); not a user choice.
    processor_code_key: str = _setting("ProcessorCodeKey", "")

    @property
    def stack_name(self) -> str:
        return self.name_prefix

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> PipelineSettings:
        """Settings from a config file or form: strings are converted; unknown keys are errors."""
        known = {f.name: f for f in fields(cls)}
        problems = [f"unknown setting {key!r}: known settings are {', '.join(sorted(known))}"
                    for key in values if key not in known]  # fmt: skip
        converted: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known or value is None:
                continue
            kind = type(known[key].default)
            try:
                converted[key] = _convert(value, kind)
            except ValueError:
                problems.append(f"{key}: {value!r} is not a {'whole number' if kind is int else 'true/false'}")
        if problems:
            raise SettingsError(problems)
        return cls(**converted)

    def validate(self, account_id: str = "123456789012") -> PipelineSettings:
        """Raise SettingsError listing every problem; return self when all is well."""
        problems = []
        for f in fields(self):
            spec = f.metadata.get("setting")
            value = getattr(self, f.name)
            if spec is None:
                continue
            if spec.minimum is not None and not spec.minimum <= value <= spec.maximum:
                problems.append(f"{f.name}: {value} is out of range; use {spec.minimum} to {spec.maximum}")
            if spec.allowed and value not in spec.allowed:
                problems.append(f"{f.name}: {value!r} is not allowed; use one of {', '.join(map(str, spec.allowed))}")
        problems += _region_problems(self.region)
        problems += hec_url_problems(self.hec_url)
        if not NAME_PREFIX.match(self.name_prefix):
            problems.append(
                f"name_prefix: {self.name_prefix!r} must be 3-31 lower-case letters, digits or hyphens, "
                "starting with a letter (it names the stack, the stream, the buckets and the roles)"
            )
        else:
            longest_bucket = f"{self.name_prefix}-failed-{account_id}-{self.region}"
            if len(longest_bucket) > 63:
                problems.append(
                    f"name_prefix: {self.name_prefix!r} is too long for an S3 bucket name in {self.region} "
                    f"({len(longest_bucket)} of 63 characters); use a shorter prefix"
                )
        if self.existing_log_group and not LOG_GROUP_NAME.match(self.existing_log_group):
            problems.append(f"existing_log_group: {self.existing_log_group!r} is not a CloudWatch Logs group name")
        if self.filter_preset == "custom" and not self.custom_filter_pattern.strip():
            problems.append("custom_filter_pattern: filter_preset is 'custom'; give a CloudWatch Logs filter pattern")
        if len(self.custom_filter_pattern) > 1024:
            problems.append("custom_filter_pattern: at most 1024 characters")
        if not PROCESSOR_CODE_KEY.match(self.processor_code_key):
            problems.append("processor_code_key: set by the app (lambda/<name>.zip); leave it empty")
        if self.organization_trail and self.existing_log_group:
            problems.append("organization_trail: only applies when the app creates the trail; clear existing_log_group")
        if problems:
            raise SettingsError(problems)
        return self

    def template_parameters(self) -> list[dict[str, str]]:
        """CloudFormation Parameters for create_change_set and the exported parameters file."""
        parameters = []
        for f in fields(self):
            spec = f.metadata.get("setting")
            if spec:
                value = getattr(self, f.name)
                text = ("true" if value else "false") if isinstance(value, bool) else str(value)
                parameters.append({"ParameterKey": spec.parameter, "ParameterValue": text})
        return parameters


def _convert(value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValueError(value)
    if kind is int:
        if isinstance(value, bool):
            raise ValueError(value)
        return int(str(value).strip())
    return str(value).strip()


def known_regions() -> set[str]:
    """Regions botocore knows for the services the pipeline needs (no network)."""
    session = botocore.session.get_session()
    regions = set()
    for partition in session.get_available_partitions():
        regions |= set(session.get_available_regions("firehose", partition_name=partition))
    return regions


def _region_problems(region: str) -> list[str]:
    if not region:
        return ["region: no AWS region given; use --region (for example us-east-1) or set AWS_DEFAULT_REGION"]
    if not REGION.match(region) or region not in known_regions():
        return [f"region: {region!r} is not an AWS region where Amazon Data Firehose runs (for example us-east-1)"]
    return []


def hec_url_problems(url: str) -> list[str]:
    """Firehose only delivers to https with a host name that has a publicly trusted certificate."""
    if not url:
        return ["hec_url: give the public HTTP Event Collector URL, for example https://http-inputs-firehose-acme.splunkcloud.com"]
    parts = urlsplit(url)
    if parts.scheme != "https":
        return [f"hec_url: {url!r} must start with https:// (Firehose only delivers over TLS)"]
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        return [
            f"hec_url: {url!r} uses an IP address; Firehose needs a host name with a publicly trusted "
            "certificate (for Splunk Cloud: https://http-inputs-firehose-<stack>.splunkcloud.com)"
        ]
    except ValueError:
        pass
    if not re.fullmatch(r"[A-Za-z0-9.-]+", host) or "." not in host:
        return [f"hec_url: {host!r} is not a public host name"]
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return [f"hec_url: give only scheme, host and port ({parts.scheme}://{parts.netloc}); Firehose adds the path"]
    try:
        port = parts.port
    except ValueError:
        return [f"hec_url: {url!r} has an invalid port"]
    if port is not None and not 1 <= port <= 65535:
        return [f"hec_url: port {port} is out of range"]
    return []
