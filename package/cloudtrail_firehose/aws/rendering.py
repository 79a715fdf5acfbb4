"""The template as deployed: template.yaml with its one prototype flow log turned into one flow log per VPC.

CloudFormation has no loop but Fn::ForEach, which needs the AWS::LanguageExtensions transform; checkov does
not see the resources such a loop makes (docs/vpcflow-aws.md, "N VPCs"), and the IMPORT change sets of
kept_buckets.py would have to drop the transform. So template.yaml declares one AWS::EC2::FlowLog, VpcFlowLog,
and the app renders it here, before it makes a change set or exports the template: one copy per VPC id, named
VpcFlowLog<the id's hexadecimal digits> (logical ids are alphanumeric), whose ResourceId is that id. A VPC keeps
its flow log's logical id when others are added or removed, so CloudFormation changes only those. The copies
keep the prototype's Condition (CreateFlowLogs). With no VPC the template stays as it is: the driver has no VPC
only when CreateFlowLogs is false (flow logs off, or taken from a log group), so the prototype creates nothing,
and its parameters stay in use (cfn-lint). Turned on by hand in such a template, it fails on its placeholder VPC.

The cut works on template.yaml's text, as kept_buckets.import_template does, so comments and the generated
Parameters stay as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

from cloudtrail_firehose import settings as schema
from cloudtrail_firehose.aws.clients import Clients, Session, clients
from cloudtrail_firehose.aws.errors import PipelineError, aws_call
from cloudtrail_firehose.aws.settings import PipelineSettings

TEMPLATE_PATH = Path(__file__).with_name("template.yaml")
PROTOTYPE = "VpcFlowLog"
PLACEHOLDER = "vpc-00000000000000000"  # the prototype's ResourceId, replaced in every copy


def logical_id(vpc_id: str) -> str:
    """The logical id of a VPC's flow log: VpcFlowLog and the id's hexadecimal digits."""
    if not re.fullmatch(schema.VPC_ID, vpc_id):
        raise ValueError(f"not a VPC id: {vpc_id!r}")
    return PROTOTYPE + vpc_id.removeprefix("vpc-")


def render(template: str, vpc_ids: list[str]) -> str:
    """The template with the prototype flow log replaced by one per VPC id (none: the template as it is)."""
    start = template.index(f"\n  {PROTOTYPE}:\n") + 1
    following = re.compile(r"^(  [^ \n]|[^ \n])", re.M).search(template, start + len(PROTOTYPE) + 4)
    end = following.start() if following else len(template)
    block = template[start:end].rstrip("\n") + "\n"
    if block.count(f"ResourceId: {PLACEHOLDER}\n") != 1:
        raise ValueError(f"the prototype flow log {PROTOTYPE} has lost its ResourceId {PLACEHOLDER}")
    copies = []
    for vpc_id in dict.fromkeys(vpc_ids):
        copy = block.replace(f"  {PROTOTYPE}:\n", f"  {logical_id(vpc_id)}:\n", 1)
        copies.append(copy.replace(f"ResourceId: {PLACEHOLDER}\n", f"ResourceId: {vpc_id}\n"))
    if not copies:  # its condition is false whenever the driver has no VPC to give: the template stays as it is
        return template
    gap = template[start:end][len(block):]  # the blank lines after the block
    return template[:start] + "\n".join(copies) + gap + template[end:]


def vpcs_to_log(settings: PipelineSettings, client: Clients) -> list[str]:
    """The VPCs that get a flow log: none unless the stack creates flow logs; the ids given; else every VPC of
    the region (ec2:DescribeVpcs, in this account: a flow log cannot be made for another account's VPC)."""
    if not settings.creates_flow_logs:
        return []
    if settings.chosen_vpc_ids:
        return settings.chosen_vpc_ids
    ec2 = client("ec2")
    found: list[str] = []
    token: dict[str, str] = {}
    while True:
        page = aws_call("listing the region's VPCs", ec2.describe_vpcs, **token)
        found += [vpc["VpcId"] for vpc in page.get("Vpcs", []) if vpc.get("OwnerId", client.account) == client.account]
        if not page.get("NextToken"):
            break
        token = {"NextToken": page["NextToken"]}
    if not found:
        raise PipelineError(f"no VPC in {settings.region} to take flow logs from: create one, give vpc_ids, or turn "
                            "off collect_vpc_flow_logs")  # fmt: skip
    return sorted(found)


def template_text(settings: PipelineSettings, session: Session = None) -> str:
    """The template to deploy or export for these settings (session: to list the region's VPCs when vpc_ids is
    empty; the default credential chain if none)."""
    text = TEMPLATE_PATH.read_text()
    if not settings.creates_flow_logs:
        return render(text, [])
    return render(text, vpcs_to_log(settings, clients(session, settings.region)))
