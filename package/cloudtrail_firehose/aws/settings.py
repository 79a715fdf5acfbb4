"""The AWS side's settings (PipelineSettings), built from the one schema in cloudtrail_firehose/settings.py.

Each field is a setting of scope "pipeline"; those with a template parameter become the stack's
Parameters. moto, and sometimes AWS, accept values that would fail later, so everything is checked
here first (the schema's rules, then what spans settings) and explained in words an admin can act on.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any

import botocore.session

from cloudtrail_firehose import settings as schema
from cloudtrail_firehose.urls import url_problem

PIPELINE = tuple(s for s in schema.SETTINGS if s.scope == "pipeline")
KINDS = {"string": str, "integer": int, "boolean": bool}


class SettingsError(ValueError):
    """One or more settings are wrong; str() lists each with what to do."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Pipeline:
    @property
    def stack_name(self) -> str:
        return self.name_prefix

    @property
    def hec_token_secret_name(self) -> str:
        return f"{self.name_prefix}/splunk-hec-token"

    @property
    def vpcflow_hec_token_secret_name(self) -> str:
        """The secret of the VPC flow logs' own HEC token (VpcFlowHecTokenSecretArn)."""
        return f"{self.name_prefix}/splunk-hec-token-vpcflow"

    @property
    def creates_flow_logs(self) -> bool:
        """Flow logs published straight to Firehose: the stack creates one per VPC (aws/rendering.py)."""
        return self.collect_vpc_flow_logs and not self.vpc_flow_log_group

    @property
    def chosen_vpc_ids(self) -> list[str]:
        """The VPC ids given, in order, once each; empty: every VPC of the region (resolved at plan)."""
        return list(dict.fromkeys(vpc_id_list(self.vpc_ids)))

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> PipelineSettings:
        """Settings from a config file or form: strings are converted; unknown keys are errors."""
        known = {s.name: s for s in PIPELINE}
        problems = [f"unknown setting {key!r}: known settings are {', '.join(sorted(known))}"
                    for key in values if key not in known]  # fmt: skip
        converted: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known or value is None:
                continue
            kind = KINDS[known[key].kind]
            try:
                converted[key] = _convert(value, kind)
            except ValueError:
                expected = "whole number" if kind is int else "true/false"
                problems.append(f"{key}: {str(value)[:60]!r} is not a {expected}")
        if problems:
            raise SettingsError(problems)
        return cls(**converted)

    def validate(self) -> PipelineSettings:
        """Raise SettingsError listing every problem; return self when all is well."""
        values = {s.name: getattr(self, s.name) for s in PIPELINE}
        problems = schema.problems(values, scopes=("pipeline",))
        flagged = {p.split(":", 1)[0] for p in problems}
        if "vpc_ids" in flagged and vpc_ids_problems(self.vpc_ids):  # which ids are wrong, not only that one is
            problems = [p for p in problems if not p.startswith("vpc_ids:")] + vpc_ids_problems(self.vpc_ids)
        if "region" not in flagged:
            problems += _region_problems(self.region)
        if "hec_url" not in flagged:
            problems += hec_url_problems(self.hec_url)
        if self.organization_trail and self.existing_log_group:
            problems.append("organization_trail: only applies when the app creates the trail; clear existing_log_group")
        problems += self._source_problems(flagged)
        if problems:
            raise SettingsError(problems)
        return self

    def _source_problems(self, flagged: set[str]) -> list[str]:
        """What spans the sources' settings: at least one source, and the VPC Flow Logs choices that go together."""
        problems = []
        if not self.collect_cloudtrail and not self.collect_vpc_flow_logs:
            problems.append("collect_cloudtrail: nothing to collect; turn on CloudTrail, VPC Flow Logs or both")
        if not self.collect_cloudtrail and self.organization_trail:
            problems.append("organization_trail: only applies while CloudTrail is collected (collect_cloudtrail)")
        if not self.collect_vpc_flow_logs:
            return problems
        if "vpc_ids" not in flagged:  # (else the schema's pattern said so; validate names the ids)
            problems += vpc_ids_problems(self.vpc_ids)
        if self.vpc_flow_log_group and self.chosen_vpc_ids:
            problems.append("vpc_ids: only applies when the app creates the flow logs; clear vpc_ids or "
                            "vpc_flow_log_group (flow logs already sending to a log group are taken from it)")
        # A log group takes at most two subscription filters (CloudWatch Logs User Guide, "CloudWatch Logs
        # quotas"); CloudTrail's events and flow records in one group would also reach both streams.
        trail_group = self.existing_log_group or schema.log_group_names(self.name_prefix)[1]
        if self.collect_cloudtrail and self.vpc_flow_log_group == trail_group:
            problems.append("vpc_flow_log_group: is the CloudTrail log group; name the group your flow logs write to")
        return problems

    def bucket_names(self, account: str) -> list[str]:
        """The stack's buckets: failed deliveries, and the trail's own when the stack creates the trail."""
        creates_trail = self.collect_cloudtrail and not self.existing_log_group
        kinds = schema.BUCKET_KINDS if creates_trail else schema.BUCKET_KINDS[:1]
        return [schema.bucket_name(self.name_prefix, kind, account, self.region) for kind in kinds]

    def template_parameters(self) -> list[dict[str, str]]:
        """CloudFormation Parameters for create_change_set and the exported parameters file (a choice with a
        template value, such as vpc_flow_record_format, becomes that value: the flow logs' LogFormat)."""
        return [{"ParameterKey": s.parameter, "ParameterValue": s.parameter_value(getattr(self, s.name))}
                for s in PIPELINE if s.parameter]  # fmt: skip


PipelineSettings = dataclasses.make_dataclass(
    "PipelineSettings",
    [(s.name, KINDS[s.kind], dataclasses.field(default=s.default, metadata={"setting": s})) for s in PIPELINE],
    bases=(_Pipeline,),
    frozen=True,
)
PipelineSettings.__module__ = __name__  # make_dataclass(module=) is Python 3.12+
PipelineSettings.__doc__ = "What a user chooses for the AWS side (fields: the schema's pipeline settings)."


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


@functools.cache
def known_regions() -> frozenset[str]:
    """Regions botocore knows for the services the pipeline needs (no network).

    Read once per process: a botocore session loads its endpoint data from disk (~75 ms), and every
    settings validation asks."""
    session = botocore.session.get_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions |= set(session.get_available_regions("firehose", partition_name=partition))
    return frozenset(regions)


def _region_problems(region: str) -> list[str]:
    if region not in known_regions():
        return [f"region: {region!r} is not an AWS region where Amazon Data Firehose runs (for example us-east-1)"]
    return []


# The stack creates one flow log per VPC; CloudFormation allows 500 resources a stack (AWS CloudFormation User
# Guide, "CloudFormation quotas"), of which the rest of the template uses about 40.
MAX_VPCS = 200


def vpc_id_list(text: str) -> list[str]:
    """The ids of a comma-separated vpc_ids value, as given (blanks around commas dropped)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def vpc_ids_problems(text: str) -> list[str]:
    """Each id that is not a VPC id (vpc- and 8 or 17 hexadecimal digits), ids given twice, too many ids."""
    ids = vpc_id_list(text)
    problems = [f"vpc_ids: {vpc_id[:40]!r} is not a VPC id (vpc- and 8 or 17 lower-case hexadecimal digits, "
                "e.g. vpc-0123456789abcdef0)" for vpc_id in ids if not re.fullmatch(schema.VPC_ID, vpc_id)]  # fmt: skip
    if text.strip() and not re.fullmatch("[ ]*[^ ,]+([ ]*,[ ]*[^ ,]+)*[ ]*", text):
        problems.append("vpc_ids: give VPC ids separated by single commas (or leave it empty for every VPC)")
    twice = sorted({vpc_id for vpc_id in ids if ids.count(vpc_id) > 1})
    if twice:
        problems.append(f"vpc_ids: {', '.join(twice)} given more than once")
    if len(ids) > MAX_VPCS:
        problems.append(f"vpc_ids: {len(ids)} VPCs; the stack holds at most {MAX_VPCS} flow logs")
    return problems


def hec_url_problems(url: str) -> list[str]:
    """What the schema's pattern cannot say about a HEC URL, by the check every outward call makes
    (urls.parse_url): the port's range, DNS's limits (labels of 1-63 characters, 253 in all)."""
    problem = url_problem(url, ("https",))
    return [f"hec_url: {problem}"] if problem else []
