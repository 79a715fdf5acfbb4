"""Preflight's permission checks: every action of deploy_policy.json simulated for the caller
(iam:SimulatePrincipalPolicy), and with a CloudFormation service role, that role's permissions, its
trust, and the caller's right to pass it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from cloudtrail_firehose.aws.checks import Check
from cloudtrail_firehose.aws.errors import explain
from cloudtrail_firehose.aws.settings import PipelineSettings

# The least-privilege policy for whoever deploys (README, Permissions); tests/standins/deploy_permissions.py derives it
# from CloudFormation's resource schemas and the app's own calls.
DEPLOY_POLICY_PATH = Path(__file__).with_name("deploy_policy.json")
# Its statements by Sid, as they split between the person and a CloudFormation service role (README,
# "CloudFormation service role"): the role does the resource work, the person drives the stack and passes it.
PASS_SERVICE_ROLE = "PassTheServiceRoleToCloudFormation"  # noqa: S105 - a statement's Sid, not a password
CALLER_WITH_SERVICE_ROLE = ("DriveTheStack", "AppCalls")  # and iam:PassRole of that role, simulated on its own
NOT_THE_SERVICE_ROLES = ("DriveTheStack", PASS_SERVICE_ROLE)
CLOUDFORMATION = "cloudformation.amazonaws.com"


def _simulations(policy: dict) -> list[tuple[list[str], dict[str, str]]]:
    """(actions, condition context) to simulate: one run per value of a statement's StringEquals condition."""
    runs = []
    for statement in policy["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        conditions = statement.get("Condition", {}).get("StringEquals", {})
        if not conditions:
            runs.append((actions, {}))
        for key, values in conditions.items():
            runs += [(actions, {key: value}) for value in ([values] if isinstance(values, str) else values)]
    return runs


def _role_behind(iam, arn: str) -> str:
    """The ARN to simulate for a caller: for an assumed-role session, its role's ARN with the role's path.

    The session's ARN (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION) holds no path, and IAM Identity Center
    roles live under /aws-reserved/sso.amazonaws.com/<region>/ (IAM Identity Center User Guide, "Referencing
    permission sets in resource policies, Amazon EKS, and AWS KMS"), so the role's ARN comes from iam:GetRole.
    """
    if ":assumed-role/" not in arn:
        return arn
    name = arn.split(":assumed-role/")[1].split("/")[0]
    return iam.get_role(RoleName=name)["Role"]["Arn"]


def _permissions(iam, arn: str, policy: dict | None = None) -> Check:
    """Simulate every action of deploy_policy.json (or of these statements) for the caller; name each one that is
    not allowed."""
    try:
        principal = _role_behind(iam, arn)
    except ClientError as error:
        name = arn.split(":assumed-role/")[1].split("/")[0]
        if error.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException"):
            why = f"iam:GetRole on role {name} is denied, so its path (and the ARN to simulate) is unknown"
        else:
            why = f"role {name} could not be read ({explain(error, 'reading the role')})"
        return Check("permissions", None, f"could not simulate permissions: {why}. Allow iam:GetRole on it (as "
                     f"{DEPLOY_POLICY_PATH.name} does), or the deploy will say if one is missing")  # fmt: skip
    except BotoCoreError as error:
        return Check("permissions", None, f"could not simulate permissions ({error}); the deploy will say if one is "
                     "missing")  # fmt: skip
    runs = _simulations(policy or json.loads(DEPLOY_POLICY_PATH.read_text()))
    denied: list[str] = []
    try:
        for actions, context in runs:
            entries = [{"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": "string"}
                       for key, value in context.items()]  # fmt: skip
            marker: dict[str, str] = {}
            while True:  # results come in pages (IAM API reference, SimulatePrincipalPolicy: IsTruncated, Marker)
                page = iam.simulate_principal_policy(PolicySourceArn=principal, ActionNames=actions,
                                                     ContextEntries=entries, **marker)  # fmt: skip
                denied += [r["EvalActionName"] + "".join(f" ({v})" for v in context.values())
                           for r in page["EvaluationResults"] if r["EvalDecision"] != "allowed"]  # fmt: skip
                if not page.get("IsTruncated"):
                    break
                marker = {"Marker": page["Marker"]}
    except (ClientError, BotoCoreError, ResponseParserError, NotImplementedError) as error:
        # Simulation is not allowed for every identity (root, some SSO roles) nor in every emulator.
        detail = f"could not simulate permissions ({error}); the deploy will say if one is missing"
        return Check("permissions", None, detail)
    total = len({action for actions, _ in runs for action in actions})
    if denied:
        return Check("permissions", False, f"{principal} is not allowed {len(denied)} of the actions the deploy "
                     f"needs: {', '.join(sorted(denied))}. Attach {DEPLOY_POLICY_PATH.name} (shipped in "
                     "lib/cloudtrail_firehose/aws/; README, Permissions) to it, then retry.")  # fmt: skip
    return Check("permissions", True, f"all {total} actions the deploy needs (deploy_policy.json) are allowed")


def permission_checks(iam, settings: PipelineSettings, identity: dict) -> list[Check]:
    """The caller's permissions, and with a CloudFormation service role, that role's and the caller's right to pass
    it: CloudFormation then acts with the role's permissions, not the caller's."""
    statements = json.loads(DEPLOY_POLICY_PATH.read_text())["Statement"]

    def only(keep) -> dict:
        return {"Version": "2012-10-17", "Statement": [s for s in statements if keep(s.get("Sid"))]}

    if not settings.cloudformation_role_arn:
        return [_permissions(iam, identity["Arn"], only(lambda sid: sid != PASS_SERVICE_ROLE))]
    checks = [_permissions(iam, identity["Arn"], only(lambda sid: sid in CALLER_WITH_SERVICE_ROLE)),
              _service_role(iam, settings, identity)]  # fmt: skip
    if checks[-1].ok is not False:
        role = _permissions(iam, settings.cloudformation_role_arn, only(lambda sid: sid not in NOT_THE_SERVICE_ROLES))
        checks.append(replace(role, name="service role permissions"))
    return checks


def _service_role(iam, settings: PipelineSettings, identity: dict) -> Check:
    """The CloudFormation service role exists in this account, trusts CloudFormation, and the caller may pass it
    (AWS CloudFormation User Guide, "CloudFormation service role"; IAM User Guide, "Grant a user permissions to
    pass a role to an AWS service")."""
    arn = settings.cloudformation_role_arn
    account, name = arn.split(":")[4], arn.rsplit("/", 1)[1]
    if account != identity["Account"]:
        return Check("service role", False, f"{arn} is in account {account}, not {identity['Account']}: a role is "
                     "passed only within its own account; create the service role in this one")  # fmt: skip
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return Check("service role", False, f"{arn} does not exist: create it (README, CloudFormation service "
                         "role), or clear cloudformation_role_arn")  # fmt: skip
        return Check("service role", None, f"could not read {arn} ({explain(error, 'reading the role')}); the deploy "
                     "says if CloudFormation cannot use it")  # fmt: skip
    if role["Arn"] != arn:
        return Check("service role", False, f"{arn} does not exist; the role named {name} is {role['Arn']}")
    if not _trusts(role.get("AssumeRolePolicyDocument") or {}, CLOUDFORMATION):
        return Check("service role", False, f"{arn} does not let {CLOUDFORMATION} assume it, so CloudFormation "
                     f"refuses it: add a trust policy statement allowing sts:AssumeRole to the service principal "
                     f"{CLOUDFORMATION}")  # fmt: skip
    try:
        principal = _role_behind(iam, identity["Arn"])
    except (ClientError, BotoCoreError) as error:
        return Check("service role", None, f"{arn} trusts CloudFormation; could not read the role behind "
                     f"{identity['Arn']} to simulate whether it may pass it ({error})")  # fmt: skip
    context = [{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": [CLOUDFORMATION],
                "ContextKeyType": "string"}]  # fmt: skip
    try:
        results = iam.simulate_principal_policy(PolicySourceArn=principal, ActionNames=["iam:PassRole"],
                                                ResourceArns=[arn], ContextEntries=context)  # fmt: skip
        results = results["EvaluationResults"]
    except (ClientError, BotoCoreError, ResponseParserError, NotImplementedError) as error:
        return Check("service role", None, f"{arn} trusts CloudFormation; could not simulate whether {principal} "
                     f"may pass it ({error})")  # fmt: skip
    if not results or results[0]["EvalDecision"] != "allowed":
        return Check("service role", False, f"{principal} may not pass {arn} to CloudFormation: allow it "
                     f"iam:PassRole on that role with iam:PassedToService {CLOUDFORMATION} (deploy_policy.json, "
                     f"statement {PASS_SERVICE_ROLE})")  # fmt: skip
    return Check("service role", True, f"{arn} trusts CloudFormation, and {principal} may pass it")


def _trusts(document: dict | str, service: str) -> bool:
    """Whether a role's trust policy lets this service principal assume it."""
    if isinstance(document, str):  # the API's URL-encoded JSON, when no SDK decoded it
        document = json.loads(unquote(document))
    statements = document.get("Statement", [])
    for statement in [statements] if isinstance(statements, dict) else statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else [principal]
        services = [services] if isinstance(services, str) else services
        if statement.get("Effect") == "Allow" and any(a.lower() in ("sts:assumerole", "sts:*", "*") for a in actions) \
                and (service in services or "*" in services):
            return True
    return False
