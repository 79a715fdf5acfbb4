"""The CloudFormation template: cfn-lint and checkov clean for every option (its Parameters are generated
from the settings schema: tests/test_settings.py)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from cfnlint.api import ManualArgs, lint
from cloudtrail_firehose.aws.pipeline import TEMPLATE_PATH

ROOT = Path(__file__).resolve().parents[1]


class _CfnLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub, ... as plain values: enough to inspect Parameters and Metadata."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def template() -> dict:
    return yaml.load(TEMPLATE_PATH.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


OPTIONS = {
    "ExistingLogGroupName": ["", "/aws/cloudtrail/organization"],
    "FilterPreset": ["all", "write-only", "custom"],
    "OrganizationTrail": ["false", "true"],
    "MultiRegionTrail": ["true", "false"],
    "Processor": ["native", "lambda"],
}


def with_defaults(text: str, values: dict[str, str]) -> str:
    """The template with these parameter defaults, so the linter sees one option combination."""
    document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506
    assert document  # parameters exist
    out = text
    for name, value in values.items():
        marker = f"  {name}:\n"
        start = out.index(marker)
        default_at = out.find("    Default:", start)
        line_end = out.index("\n", default_at)
        out = out[:default_at] + f'    Default: "{value}"' + out[line_end:]
    return out


@pytest.mark.parametrize(
    "combination", list(itertools.product(*OPTIONS.values())), ids=lambda c: "-".join(v or "new" for v in c)
)
def test_cfn_lint_is_clean_for_every_option_combination(combination):
    values = dict(zip(OPTIONS, combination, strict=True))
    if values["FilterPreset"] == "custom":
        values["CustomFilterPattern"] = "{ $.eventSource = iam.amazonaws.com }"
    if values["Processor"] == "lambda":
        values["ProcessorCodeKey"] = "lambda/processor-0123456789abcdef.zip"
    matches = lint(with_defaults(TEMPLATE_PATH.read_text(), values), config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


def checkov() -> str:
    executable = os.environ.get("CLOUDTRAIL_FIREHOSE_CHECKOV") or str(ROOT / ".venv/tools/checkov/bin/checkov")
    if not Path(executable).exists():
        pytest.fail("checkov is not installed: run the tests with 'python3 build.py test', which installs it")
    return executable


def test_checkov_finds_no_failed_check_and_every_skip_is_explained_and_needed():
    result = subprocess.run(
        [checkov(), "-f", str(TEMPLATE_PATH), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )  # fmt: skip
    report = json.loads(result.stdout)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] >= 40
    used = {(c["check_id"], c["resource"].split(".")[-1]) for c in report["results"]["skipped_checks"]}
    declared = set()
    for logical_id, resource in template()["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 20, f"{logical_id} {skip['id']} needs a reason"
            declared.add((skip["id"], logical_id))
    assert declared == used


def test_iam_policies_name_their_resources():
    for logical_id, resource in template()["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        trust = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert all("Condition" in statement for statement in trust), f"{logical_id}: trust needs a condition"
        for policy in resource["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                assert statement.get("Resource") not in ("*", ["*"]), f"{logical_id}: {policy['PolicyName']}"
